import StowageCore

/// What `docker info` reports (`GET /info`, Go's `types.Info`): the counts of a data root and
/// the facts of the machine that an engine without a daemon can state truthfully. The fields a
/// daemon has and Stowage has not, such as swarm and registry settings, are left out.
public struct Info: Codable, Sendable, Equatable {
    public var containers: Int
    public var containersRunning: Int
    public var containersPaused: Int
    public var containersStopped: Int
    public var images: Int
    /// The storage driver, and its lines (`["Backing Filesystem", "extfs"]`, …; none for vfs).
    public var driver: String
    public var driverStatus: [[String]]
    public var loggingDriver: String
    public var cgroupDriver: String
    /// `1` or `2`.
    public var cgroupVersion: String
    public var kernelVersion: String
    public var operatingSystem: String
    public var osVersion: String
    public var osType: String
    /// As `uname -m`: `x86_64`.
    public var architecture: String
    public var cpuCount: Int
    public var memoryTotal: Int64
    public var dockerRootDir: String
    /// The host name.
    public var name: String
    public var serverVersion: String
    /// The OCI runtimes found on `PATH`, by name.
    public var runtimes: [String]
    public var defaultRuntime: String
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case containers = "Containers", containersRunning = "ContainersRunning", containersPaused = "ContainersPaused"
        case containersStopped = "ContainersStopped", images = "Images", driver = "Driver", driverStatus = "DriverStatus"
        case plugins = "Plugins", loggingDriver = "LoggingDriver", cgroupDriver = "CgroupDriver", cgroupVersion = "CgroupVersion"
        case kernelVersion = "KernelVersion", operatingSystem = "OperatingSystem", osVersion = "OSVersion", osType = "OSType"
        case architecture = "Architecture", cpuCount = "NCPU", memoryTotal = "MemTotal", dockerRootDir = "DockerRootDir"
        case name = "Name", labels = "Labels", experimentalBuild = "ExperimentalBuild", serverVersion = "ServerVersion"
        case runtimes = "Runtimes", defaultRuntime = "DefaultRuntime", liveRestoreEnabled = "LiveRestoreEnabled", warnings = "Warnings"
    }

    public init(containers: Int, containersRunning: Int, containersPaused: Int, containersStopped: Int, images: Int,
                driver: String, driverStatus: [[String]], loggingDriver: String = "json-file", cgroupDriver: String = "cgroupfs",
                cgroupVersion: String, kernelVersion: String, operatingSystem: String, osVersion: String, osType: String = "linux",
                architecture: String, cpuCount: Int, memoryTotal: Int64, dockerRootDir: String, name: String,
                serverVersion: String, runtimes: [String], defaultRuntime: String = "runc", warnings: [String]) {
        self.containers = containers
        self.containersRunning = containersRunning
        self.containersPaused = containersPaused
        self.containersStopped = containersStopped
        self.images = images
        self.driver = driver
        self.driverStatus = driverStatus
        self.loggingDriver = loggingDriver
        self.cgroupDriver = cgroupDriver
        self.cgroupVersion = cgroupVersion
        self.kernelVersion = kernelVersion
        self.operatingSystem = operatingSystem
        self.osVersion = osVersion
        self.osType = osType
        self.architecture = architecture
        self.cpuCount = cpuCount
        self.memoryTotal = memoryTotal
        self.dockerRootDir = dockerRootDir
        self.name = name
        self.serverVersion = serverVersion
        self.runtimes = runtimes
        self.defaultRuntime = defaultRuntime
        self.warnings = warnings
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let runtimes = try container.decodeIfPresent([String: JSONValue].self, forKey: .runtimes) ?? [:]
        self.init(
            containers: try container.decode(Int.self, forKey: .containers),
            containersRunning: try container.decode(Int.self, forKey: .containersRunning),
            containersPaused: try container.decode(Int.self, forKey: .containersPaused),
            containersStopped: try container.decode(Int.self, forKey: .containersStopped),
            images: try container.decode(Int.self, forKey: .images), driver: try container.decode(String.self, forKey: .driver),
            driverStatus: try container.decodeIfPresent([[String]].self, forKey: .driverStatus) ?? [],
            loggingDriver: try container.decode(String.self, forKey: .loggingDriver),
            cgroupDriver: try container.decode(String.self, forKey: .cgroupDriver),
            cgroupVersion: try container.decode(String.self, forKey: .cgroupVersion),
            kernelVersion: try container.decode(String.self, forKey: .kernelVersion),
            operatingSystem: try container.decode(String.self, forKey: .operatingSystem),
            osVersion: try container.decode(String.self, forKey: .osVersion), osType: try container.decode(String.self, forKey: .osType),
            architecture: try container.decode(String.self, forKey: .architecture), cpuCount: try container.decode(Int.self, forKey: .cpuCount),
            memoryTotal: try container.decode(Int64.self, forKey: .memoryTotal),
            dockerRootDir: try container.decode(String.self, forKey: .dockerRootDir), name: try container.decode(String.self, forKey: .name),
            serverVersion: try container.decode(String.self, forKey: .serverVersion), runtimes: runtimes.keys.sorted(),
            defaultRuntime: try container.decode(String.self, forKey: .defaultRuntime),
            warnings: try container.decodeIfPresent([String].self, forKey: .warnings) ?? [])
    }

    /// Keys in dockerd's order; no driver lines or warnings are `null`, as Go's nil slices.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(containers, forKey: .containers)
        try container.encode(containersRunning, forKey: .containersRunning)
        try container.encode(containersPaused, forKey: .containersPaused)
        try container.encode(containersStopped, forKey: .containersStopped)
        try container.encode(images, forKey: .images)
        try container.encode(driver, forKey: .driver)
        try container.encode(driverStatus.isEmpty ? nil : driverStatus, forKey: .driverStatus)
        try container.encode(JSONValue.object([("Volume", .strings(["local"])), ("Network", .strings(["host", "null"])),
                                               ("Authorization", .null), ("Log", .strings([loggingDriver]))]), forKey: .plugins)
        try container.encode(loggingDriver, forKey: .loggingDriver)
        try container.encode(cgroupDriver, forKey: .cgroupDriver)
        try container.encode(cgroupVersion, forKey: .cgroupVersion)
        try container.encode(kernelVersion, forKey: .kernelVersion)
        try container.encode(operatingSystem, forKey: .operatingSystem)
        try container.encode(osVersion, forKey: .osVersion)
        try container.encode(osType, forKey: .osType)
        try container.encode(architecture, forKey: .architecture)
        try container.encode(cpuCount, forKey: .cpuCount)
        try container.encode(memoryTotal, forKey: .memoryTotal)
        try container.encode(dockerRootDir, forKey: .dockerRootDir)
        try container.encode(name, forKey: .name)
        try container.encode([String](), forKey: .labels)
        try container.encode(false, forKey: .experimentalBuild)
        try container.encode(serverVersion, forKey: .serverVersion)
        try container.encode(JSONValue.object(runtimes.map { ($0, .object([("path", .string($0))])) }), forKey: .runtimes)
        try container.encode(defaultRuntime, forKey: .defaultRuntime)
        try container.encode(false, forKey: .liveRestoreEnabled)
        try container.encode(warnings.isEmpty ? nil : warnings, forKey: .warnings)
    }
}
