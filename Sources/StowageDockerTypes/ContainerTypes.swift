import StowageCore

/// A volume or bind mount of a container, as the API shows it (Go's `types.MountPoint`).
public struct MountPoint: Codable, Sendable, Equatable {
    /// `volume` or `bind`.
    public var type: String
    /// The volume's name; omitted for a bind mount.
    public var name: String?
    public var source: String
    public var destination: String
    /// The volume's driver; omitted for a bind mount.
    public var driver: String?
    public var mode: String
    public var rw: Bool
    public var propagation: String

    enum CodingKeys: String, CodingKey {
        case type = "Type", name = "Name", source = "Source", destination = "Destination", driver = "Driver", mode = "Mode"
        case rw = "RW", propagation = "Propagation"
    }

    public init(type: String, name: String?, source: String, destination: String, driver: String?, mode: String, rw: Bool,
                propagation: String) {
        self.type = type
        self.name = name
        self.source = source
        self.destination = destination
        self.driver = driver
        self.mode = mode
        self.rw = rw
        self.propagation = propagation
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !type.isEmpty { try container.encode(type, forKey: .type) }
        if let name, !name.isEmpty { try container.encode(name, forKey: .name) }
        try container.encode(source, forKey: .source)
        try container.encode(destination, forKey: .destination)
        if let driver, !driver.isEmpty { try container.encode(driver, forKey: .driver) }
        try container.encode(mode, forKey: .mode)
        try container.encode(rw, forKey: .rw)
        try container.encode(propagation, forKey: .propagation)
    }
}

/// One container of `GET /containers/json` (Go's `types.Container`).
public struct ContainerSummary: Codable, Sendable, Equatable {
    public struct HostConfig: Codable, Sendable, Equatable {
        public var networkMode: String

        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode" }

        public init(networkMode: String) { self.networkMode = networkMode }
    }

    public var id: String
    /// With Docker's leading slash.
    public var names: [String]
    /// The image as given at create.
    public var image: String
    public var imageID: String
    public var command: String
    /// Seconds since 1970.
    public var created: Int64
    /// Published ports (none without a network).
    public var ports: [JSONValue]
    /// Omitted unless sizes were asked for, and when 0 (Go's `omitempty`).
    public var sizeRw: Int64?
    public var sizeRootFs: Int64?
    public var labels: [String: String]
    public var state: String
    public var status: String
    public var hostConfig: HostConfig
    /// `{"Networks": {name: endpoint}}` as stored.
    public var networkSettings: JSONValue
    public var mounts: [MountPoint]

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command", created = "Created"
        case ports = "Ports", sizeRw = "SizeRw", sizeRootFs = "SizeRootFs", labels = "Labels", state = "State", status = "Status"
        case hostConfig = "HostConfig", networkSettings = "NetworkSettings", mounts = "Mounts"
    }

    public init(id: String, names: [String], image: String, imageID: String, command: String, created: Int64, ports: [JSONValue] = [],
                sizeRw: Int64? = nil, sizeRootFs: Int64? = nil, labels: [String: String], state: String, status: String,
                hostConfig: HostConfig, networkSettings: JSONValue, mounts: [MountPoint]) {
        self.id = id
        self.names = names
        self.image = image
        self.imageID = imageID
        self.command = command
        self.created = created
        self.ports = ports
        self.sizeRw = sizeRw
        self.sizeRootFs = sizeRootFs
        self.labels = labels
        self.state = state
        self.status = status
        self.hostConfig = hostConfig
        self.networkSettings = networkSettings
        self.mounts = mounts
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(names, forKey: .names)
        try container.encode(image, forKey: .image)
        try container.encode(imageID, forKey: .imageID)
        try container.encode(command, forKey: .command)
        try container.encode(created, forKey: .created)
        try container.encode(ports, forKey: .ports)
        if let sizeRw, sizeRw != 0 { try container.encode(sizeRw, forKey: .sizeRw) }  // omitempty: 0 is left out
        if let sizeRootFs, sizeRootFs != 0 { try container.encode(sizeRootFs, forKey: .sizeRootFs) }
        try container.encode(labels, forKey: .labels)
        try container.encode(state, forKey: .state)
        try container.encode(status, forKey: .status)
        try container.encode(hostConfig, forKey: .hostConfig)
        try container.encode(networkSettings, forKey: .networkSettings)
        try container.encode(mounts, forKey: .mounts)
    }
}

/// A container's `State` as the API shows it (Go's `types.ContainerState`).
public struct ContainerState: Codable, Sendable, Equatable {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public var status: String
    public var running: Bool
    public var paused: Bool
    public var restarting: Bool
    public var oomKilled: Bool
    public var dead: Bool
    public var pid: Int64
    public var exitCode: Int64
    public var error: String
    public var startedAt: String
    public var finishedAt: String
    /// Omitted without a health check.
    public var health: JSONValue?

    enum CodingKeys: String, CodingKey {
        case status = "Status", running = "Running", paused = "Paused", restarting = "Restarting", oomKilled = "OOMKilled"
        case dead = "Dead", pid = "Pid", exitCode = "ExitCode", error = "Error", startedAt = "StartedAt", finishedAt = "FinishedAt"
        case health = "Health"
    }

    public init(status: String, running: Bool, paused: Bool, restarting: Bool, oomKilled: Bool, dead: Bool, pid: Int64,
                exitCode: Int64, error: String, startedAt: String, finishedAt: String, health: JSONValue?) {
        self.status = status
        self.running = running
        self.paused = paused
        self.restarting = restarting
        self.oomKilled = oomKilled
        self.dead = dead
        self.pid = pid
        self.exitCode = exitCode
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.health = health
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(running, forKey: .running)
        try container.encode(paused, forKey: .paused)
        try container.encode(restarting, forKey: .restarting)
        try container.encode(oomKilled, forKey: .oomKilled)
        try container.encode(dead, forKey: .dead)
        try container.encode(pid, forKey: .pid)
        try container.encode(exitCode, forKey: .exitCode)
        try container.encode(error, forKey: .error)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        if let health, health != .null { try container.encode(health, forKey: .health) }
    }
}

/// `GET /containers/{id}/json` (Go's `types.ContainerJSON`, API 1.41). `Config`,
/// `HostConfig` and `NetworkSettings` are the stored documents as dockerd shows them.
public struct ContainerJSON: Codable, Sendable, Equatable {
    public var id: String
    public var created: String
    public var path: String
    public var args: [String]
    public var state: ContainerState?
    public var image: String
    public var resolvConfPath: String
    public var hostnamePath: String
    public var hostsPath: String
    public var logPath: String
    public var name: String
    public var restartCount: Int64
    public var driver: String
    public var platform: String
    public var mountLabel: String
    public var processLabel: String
    public var appArmorProfile: String
    public var execIDs: [String]?
    public var hostConfig: JSONValue
    public var graphDriver: GraphDriverData
    /// Only when sizes were asked for.
    public var sizeRw: Int64?
    public var sizeRootFs: Int64?
    public var mounts: [MountPoint]
    public var config: JSONValue
    public var networkSettings: JSONValue

    enum CodingKeys: String, CodingKey {
        case id = "Id", created = "Created", path = "Path", args = "Args", state = "State", image = "Image"
        case resolvConfPath = "ResolvConfPath", hostnamePath = "HostnamePath", hostsPath = "HostsPath", logPath = "LogPath"
        case name = "Name", restartCount = "RestartCount", driver = "Driver", platform = "Platform", mountLabel = "MountLabel"
        case processLabel = "ProcessLabel", appArmorProfile = "AppArmorProfile", execIDs = "ExecIDs", hostConfig = "HostConfig"
        case graphDriver = "GraphDriver", sizeRw = "SizeRw", sizeRootFs = "SizeRootFs", mounts = "Mounts", config = "Config"
        case networkSettings = "NetworkSettings"
    }

    public init(id: String, created: String, path: String, args: [String], state: ContainerState?, image: String,
                resolvConfPath: String, hostnamePath: String, hostsPath: String, logPath: String, name: String,
                restartCount: Int64, driver: String, platform: String, mountLabel: String, processLabel: String,
                appArmorProfile: String, execIDs: [String]?, hostConfig: JSONValue, graphDriver: GraphDriverData,
                sizeRw: Int64?, sizeRootFs: Int64?, mounts: [MountPoint], config: JSONValue, networkSettings: JSONValue) {
        self.id = id
        self.created = created
        self.path = path
        self.args = args
        self.state = state
        self.image = image
        self.resolvConfPath = resolvConfPath
        self.hostnamePath = hostnamePath
        self.hostsPath = hostsPath
        self.logPath = logPath
        self.name = name
        self.restartCount = restartCount
        self.driver = driver
        self.platform = platform
        self.mountLabel = mountLabel
        self.processLabel = processLabel
        self.appArmorProfile = appArmorProfile
        self.execIDs = execIDs
        self.hostConfig = hostConfig
        self.graphDriver = graphDriver
        self.sizeRw = sizeRw
        self.sizeRootFs = sizeRootFs
        self.mounts = mounts
        self.config = config
        self.networkSettings = networkSettings
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(created, forKey: .created)
        try container.encode(path, forKey: .path)
        try container.encode(args, forKey: .args)
        try container.encodeIfPresent(state, forKey: .state)
        try container.encode(image, forKey: .image)
        try container.encode(resolvConfPath, forKey: .resolvConfPath)
        try container.encode(hostnamePath, forKey: .hostnamePath)
        try container.encode(hostsPath, forKey: .hostsPath)
        try container.encode(logPath, forKey: .logPath)
        try container.encode(name, forKey: .name)
        try container.encode(restartCount, forKey: .restartCount)
        try container.encode(driver, forKey: .driver)
        try container.encode(platform, forKey: .platform)
        try container.encode(mountLabel, forKey: .mountLabel)
        try container.encode(processLabel, forKey: .processLabel)
        try container.encode(appArmorProfile, forKey: .appArmorProfile)
        try container.encodeIfPresent(execIDs, forKey: .execIDs)
        try container.encode(hostConfig, forKey: .hostConfig)
        try container.encode(graphDriver, forKey: .graphDriver)
        if let sizeRw { try container.encode(sizeRw, forKey: .sizeRw) }  // omitempty
        if let sizeRootFs { try container.encode(sizeRootFs, forKey: .sizeRootFs) }
        try container.encode(mounts, forKey: .mounts)
        try container.encode(config, forKey: .config)
        try container.encode(networkSettings, forKey: .networkSettings)
    }
}
