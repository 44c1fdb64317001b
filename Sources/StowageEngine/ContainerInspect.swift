import StowageCore
import StowageDockerTypes
import StowageFileSystem

/// `docker container inspect`'s object, assembled from the container's `config.v2.json` and
/// `hostconfig.json` as dockerd's `getInspectData` assembles it (API 1.41): its keys in
/// dockerd's order, `Config` and `HostConfig` as stored.
struct ContainerInspection {
    let file: [(String, JSONValue)]
    let hostConfig: JSONValue
    let graphDriver: GraphDriverData
    let mounts: [MountPoint]
    /// `SizeRw` and `SizeRootFs`, when asked for.
    let sizes: (rw: Int64, rootFS: Int64)?

    func member(_ key: String) -> JSONValue? { file.first { $0.0 == key }?.1 }

    var object: ContainerJSON {
        let string = { (key: String) -> String in if case .string(let value)? = member(key) { value } else { "" } }
        let args: [String] = if case .array(let values)? = member("Args") {
            values.compactMap { if case .string(let value) = $0 { value } else { nil } }
        } else { [] }
        let restarts: Int64 = if case .integer(let count)? = member("RestartCount") { count } else { 0 }
        return ContainerJSON(
            id: string("ID"), created: string("Created"), path: string("Path"), args: args, state: state, image: string("Image"),
            resolvConfPath: string("ResolvConfPath"), hostnamePath: string("HostnamePath"), hostsPath: string("HostsPath"),
            logPath: string("LogPath"), name: string("Name"), restartCount: restarts, driver: string("Driver"),
            platform: string("OS"), mountLabel: string("MountLabel"), processLabel: string("ProcessLabel"),
            appArmorProfile: string("AppArmorProfile"), execIDs: execIDs, hostConfig: hostConfig, graphDriver: graphDriver,
            sizeRw: sizes?.rw, sizeRootFs: sizes?.rootFS, mounts: mounts, config: member("Config") ?? .null,
            networkSettings: networkSettings)
    }

    /// `State` with its `Status` word first and without the fields dockerd keeps to itself.
    private var state: ContainerState? {
        guard case .object(let stored)? = member("State") else { return nil }
        let value = { (key: String) in stored.first { $0.0 == key }?.1 }
        let flag = { (key: String) -> Bool in value(key) == .bool(true) }
        let number = { (key: String) -> Int64 in if case .integer(let number)? = value(key) { number } else { 0 } }
        let text = { (key: String, fallback: String) -> String in if case .string(let text)? = value(key) { text } else { fallback } }
        return ContainerState(status: status(stored), running: flag("Running"), paused: flag("Paused"), restarting: flag("Restarting"),
                              oomKilled: flag("OOMKilled"), dead: flag("Dead"), pid: number("Pid"), exitCode: number("ExitCode"),
                              error: text("Error", ""), startedAt: text("StartedAt", "0001-01-01T00:00:00Z"),
                              finishedAt: text("FinishedAt", "0001-01-01T00:00:00Z"), health: value("Health"))
    }

    /// Docker's `State.StateString()`.
    private func status(_ stored: [(String, JSONValue)]) -> String {
        let flag = { (key: String) in stored.first { $0.0 == key }?.1 == .bool(true) }
        if flag("Running") { return flag("Paused") ? "paused" : flag("Restarting") ? "restarting" : "running" }
        if flag("RemovalInProgress") { return "removing" }
        if flag("Dead") { return "dead" }
        let started = stored.first { $0.0 == "StartedAt" }?.1
        return started == nil || started == .string("0001-01-01T00:00:00Z") ? "created" : "exited"
    }

    private var execIDs: [String]? {
        guard case .object(let execs)? = member("ExecCommands"), !execs.isEmpty else { return nil }
        return execs.map(\.0)
    }

    /// The network endpoints as the API shows them, by name, without dockerd's own fields.
    var networks: [(String, JSONValue)] {
        guard case .object(let stored)? = member("NetworkSettings"),
              case .object(let endpoints)? = stored.first(where: { $0.0 == "Networks" })?.1 else { return [] }
        return endpoints.map { name, endpoint in
            guard case .object(let fields) = endpoint else { return (name, endpoint) }
            return (name, .object(fields.filter { $0.0 != "IPAMOperational" }))
        }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }

    /// `HostConfig.NetworkMode` as stored.
    var networkMode: String {
        guard case .object(let fields) = hostConfig, case .string(let mode)? = fields.first(where: { $0.0 == "NetworkMode" })?.1 else { return "" }
        return mode
    }

    /// The stored settings as the API shows them: the default (bridge) network's addresses
    /// lifted to the top, `Ports` never null, and the endpoints without dockerd's own fields.
    private var networkSettings: JSONValue {
        guard case .object(let stored)? = member("NetworkSettings") else { return .null }
        let value = { (key: String, fallback: JSONValue) in stored.first { $0.0 == key }?.1 ?? fallback }
        let networks = self.networks
        let bridge = networks.first { $0.0 == "bridge" }?.1
        let fromBridge = { (key: String, fallback: JSONValue) -> JSONValue in
            guard case .object(let fields)? = bridge else { return fallback }
            return fields.first { $0.0 == key }?.1 ?? fallback
        }
        let ports = value("Ports", .null)
        var members: [(String, JSONValue)] = []
        for key in ["Bridge", "SandboxID"] { members.append((key, value(key, .string("")))) }
        members += [("HairpinMode", value("HairpinMode", .bool(false))), ("LinkLocalIPv6Address", value("LinkLocalIPv6Address", .string(""))),
                    ("LinkLocalIPv6PrefixLen", value("LinkLocalIPv6PrefixLen", .integer(0))),
                    ("Ports", ports == .null ? .object([]) : ports), ("SandboxKey", value("SandboxKey", .string(""))),
                    ("SecondaryIPAddresses", value("SecondaryIPAddresses", .null)),
                    ("SecondaryIPv6Addresses", value("SecondaryIPv6Addresses", .null))]
        for key in ["EndpointID", "Gateway", "GlobalIPv6Address"] { members.append((key, fromBridge(key, .string("")))) }
        members.append(("GlobalIPv6PrefixLen", fromBridge("GlobalIPv6PrefixLen", .integer(0))))
        members.append(("IPAddress", fromBridge("IPAddress", .string(""))))
        members.append(("IPPrefixLen", fromBridge("IPPrefixLen", .integer(0))))
        for key in ["IPv6Gateway", "MacAddress"] { members.append((key, fromBridge(key, .string("")))) }
        members.append(("Networks", .object(networks)))
        return .object(members)
    }

    /// `Mounts`: each mount point as the API's `MountPoint` (its `Mode` is stored as `Relabel`), by destination.
    static func mounts(_ stored: JSONValue?, volumePath: (String) throws -> String?) throws -> [MountPoint] {
        guard case .object(let points)? = stored else { return [] }
        var mounts: [MountPoint] = []
        for (_, point) in points {
            guard case .object(let fields) = point else { continue }
            let value = { (key: String) in fields.first { $0.0 == key }?.1 }
            let text = { (key: String) -> String in if case .string(let string)? = value(key) { string } else { "" } }
            let name = text("Name")
            var source = text("Source")
            if text("Type") == "volume", source.isEmpty, !name.isEmpty { source = try volumePath(name) ?? "" }
            mounts.append(MountPoint(type: text("Type"), name: name, source: source, destination: text("Destination"),
                                     driver: text("Driver"), mode: text("Relabel"), rw: value("RW") == .bool(true),
                                     propagation: text("Propagation")))
        }
        return mounts.sorted { $0.destination < $1.destination }
    }
}

extension ContainerService {
    /// `docker container inspect`'s object for the container `text` names (ID, prefix or
    /// name); with `sizes`, its `SizeRw` and `SizeRootFs` too.
    public func inspect(_ text: String, sizes: Bool = false) throws -> ContainerJSON {
        try inspection(of: try storage.resolveContainer(text), sizes: sizes).object
    }

    /// The container's stored documents, read for `inspect` and the API's listing.
    func inspection(of record: ContainerRecord, sizes: Bool) throws -> ContainerInspection {
        let text = record.ID
        let directory = storage.containers.directory(of: record.ID)
        guard let configText = FileDescriptor.readText(directory + "/config.v2.json", limit: 16 << 20) else {
            throw StowageError(.notFound, "No such container: \(text)")
        }
        guard case .object(let file) = try JSONValue(parsing: Array(configText.utf8), what: directory + "/config.v2.json") else {
            throw StowageError(.invalidArchive, "\(directory)/config.v2.json is not a JSON object")
        }
        let hostConfig = try FileDescriptor.readText(directory + "/hostconfig.json", limit: 16 << 20)
            .map { try JSONValue(parsing: Array($0.utf8), what: directory + "/hostconfig.json") } ?? .null
        let mounted = try storage.mountedLayers.layer(record.ID)
        let driverData = try mounted.flatMap { try storage.driver.metadata($0.mountID) }
        var measured: (Int64, Int64)?
        if sizes, let mounted {
            let state = ContainerMountState.read(in: directory)
            let rw = try containerSize(record, mounted, state: state)
            measured = (rw, try rw + (mounted.parent.map { try storage.layers.stack($0).reduce(0) { $0 + $1.size } } ?? 0))
        }
        let mounts = try ContainerInspection.mounts(file.first { $0.0 == "MountPoints" }?.1) { name in
            try storage.volumes.volume(name)?.mountpoint
        }
        return ContainerInspection(file: file, hostConfig: hostConfig, graphDriver: GraphDriverData(data: driverData, name: storage.driver.name),
                                   mounts: mounts, sizes: measured)
    }
}
