import StowageCore
import StowageImages

/// What `create` records of a new container, written as Docker 20.10 writes
/// `config.v2.json` and `hostconfig.json`, field for field, so that Docker opens it.
struct ContainerDocument {
    /// One `-v` of the container.
    struct Mount {
        enum Kind { case volume, bind }
        let kind: Kind
        /// The volume name (empty for a bind), or the host path of a bind.
        let name: String
        /// For a volume: `<root>/volumes/<name>/_data`; for a bind: the host path.
        let source: String
        let destination: String
        let readOnly: Bool
        /// An anonymous volume: made for this container, without a name from the user.
        let anonymous: Bool
        /// The `-v` text as given (`myvol:/etc:ro`); nil for an anonymous volume.
        let bind: String?
    }

    let id: String
    let name: String
    let created: (seconds: Int64, nanoseconds: Int64)
    let image: ImageID
    let config: ContainerConfig
    let mounts: [Mount]
    let driver: String
    /// `HostConfig.NetworkMode`: `default`, `bridge`, `none` or `host`.
    var networkMode = "default"

    /// The network the container's endpoint is recorded for: `bridge` for the default mode.
    private var networkName: String { networkMode == "default" ? "bridge" : networkMode }

    /// `config.v2.json`.
    var configJSON: String {
        let command = (config.Entrypoint ?? []) + (config.Cmd ?? [])
        let path = command.first ?? ""
        let arguments = JSONValue.array(command.dropFirst().map(JSONValue.string)).serialized()
        let mountPoints = JSONValue.sortedObject(Dictionary(mounts.map { ($0.destination, $0.mountPointJSON) },
                                                            uniquingKeysWith: { $1 })).serialized()
        return "{\"StreamConfig\":{},\"State\":" + Self.createdState + ",\"ID\":" + JSONValue.quote(id)
            + ",\"Created\":" + JSONValue.quote(Timestamp.formatRFC3339Nano(seconds: created.seconds, nanoseconds: created.nanoseconds))
            + ",\"Managed\":false,\"Path\":" + JSONValue.quote(path) + ",\"Args\":" + arguments
            + ",\"Config\":" + config.inspectJSON.serialized() + ",\"Image\":" + JSONValue.quote(image.description)
            + ",\"NetworkSettings\":" + networkSettings + ",\"LogPath\":\"\",\"Name\":" + JSONValue.quote("/" + name)
            + ",\"Driver\":" + JSONValue.quote(driver)
            + ",\"OS\":\"linux\",\"MountLabel\":\"\",\"ProcessLabel\":\"\",\"RestartCount\":0,\"HasBeenStartedBefore\":false,"
            + "\"HasBeenManuallyStopped\":false,\"MountPoints\":" + mountPoints
            + ",\"SecretReferences\":null,\"ConfigReferences\":null,\"AppArmorProfile\":\"\",\"HostnamePath\":\"\","
            + "\"HostsPath\":\"\",\"ShmPath\":\"\",\"ResolvConfPath\":\"\",\"SeccompProfile\":\"\",\"NoNewPrivileges\":false,"
            + "\"LocalLogCacheMeta\":{\"HaveNotifyEnabled\":false}}\n"
    }

    /// `hostconfig.json`: Docker's defaults, with the binds given.
    var hostConfigJSON: String {
        let binds = mounts.compactMap(\.bind)
        return "{\"Binds\":" + (binds.isEmpty ? "null" : JSONValue.array(binds.map(JSONValue.string)).serialized())
            + Self.hostConfigDefaults.replacing("\"NetworkMode\":\"default\"", with: "\"NetworkMode\":" + JSONValue.quote(networkMode)) + "\n"
    }

    private static let createdState = "{\"Running\":false,\"Paused\":false,\"Restarting\":false,\"OOMKilled\":false,"
        + "\"RemovalInProgress\":false,\"Dead\":false,\"Pid\":0,\"ExitCode\":0,\"Error\":\"\","
        + "\"StartedAt\":\"0001-01-01T00:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":null}"

    private var networkSettings: String {
        Self.networkSettingsTemplate.replacing("\"Networks\":{\"bridge\":", with: "\"Networks\":{" + JSONValue.quote(networkName) + ":")
    }

    private static let networkSettingsTemplate = "{\"Bridge\":\"\",\"SandboxID\":\"\",\"HairpinMode\":false,"
        + "\"LinkLocalIPv6Address\":\"\",\"LinkLocalIPv6PrefixLen\":0,\"Networks\":{\"bridge\":{\"IPAMConfig\":null,"
        + "\"Links\":null,\"Aliases\":null,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\","
        + "\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"\","
        + "\"DriverOpts\":null,\"IPAMOperational\":false}},\"Service\":null,\"Ports\":null,\"SandboxKey\":\"\","
        + "\"SecondaryIPAddresses\":null,\"SecondaryIPv6Addresses\":null,\"IsAnonymousEndpoint\":false,\"HasSwarmEndpoint\":false}"

    private static let hostConfigDefaults = ",\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},"
        + "\"NetworkMode\":\"default\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
        + "\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"CapAdd\":null,\"CapDrop\":null,"
        + "\"CgroupnsMode\":\"host\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
        + "\"IpcMode\":\"private\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,"
        + "\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\","
        + "\"ShmSize\":67108864,\"Runtime\":\"runc\",\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,"
        + "\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],"
        + "\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,"
        + "\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],"
        + "\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"KernelMemory\":0,\"KernelMemoryTCP\":0,"
        + "\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":null,\"OomKillDisable\":false,\"PidsLimit\":null,"
        + "\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,"
        + "\"MaskedPaths\":[\"/proc/asound\",\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
        + "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/proc/scsi\",\"/sys/firmware\"],"
        + "\"ReadonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}"
}

extension ContainerDocument.Mount {
    /// The `MountPoints` entry, as Docker's `volume/mounts.MountPoint` marshals.
    var mountPointJSON: JSONValue {
        var members: [(String, JSONValue)] = [
            ("Source", .string(anonymous ? "" : source)), ("Destination", .string(destination)), ("RW", .bool(!readOnly)),
            ("Name", .string(kind == .volume ? name : "")), ("Driver", .string(kind == .volume ? "local" : "")),
            ("Type", .string(kind == .volume ? "volume" : "bind")),
        ]
        let mode = readOnly ? "ro" : (kind == .volume && !anonymous ? "z" : "")
        if !mode.isEmpty { members.append(("Relabel", .string(mode))) }
        if kind == .bind { members.append(("Propagation", .string("rslave"))) }
        var spec: [(String, JSONValue)] = []
        if !anonymous {
            spec = [("Type", .string(kind == .volume ? "volume" : "bind")), ("Source", .string(kind == .volume ? name : source)),
                    ("Target", .string(destination))]
            if readOnly { spec.append(("ReadOnly", .bool(true))) }
        }
        members += [("Spec", .object(spec)), ("SkipMountpointCreation", .bool(false))]
        return .object(members)
    }
}
