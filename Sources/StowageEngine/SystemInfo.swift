#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// What `docker info` reports (the Engine API's `SystemInfo`): the counts of this root and
/// the facts of this machine that an engine without a daemon can state truthfully.
public struct SystemInfo: Sendable {
    public var containers: Int
    public var containersRunning: Int
    public var containersPaused: Int
    public var containersStopped: Int
    public var images: Int
    /// The storage driver, and its lines (`Backing Filesystem`, …; none for vfs).
    public var driver: String
    public var driverStatus: [(String, String)]
    public var loggingDriver = "json-file"
    public var cgroupDriver = "cgroupfs"
    /// `1` or `2`.
    public var cgroupVersion: String
    public var kernelVersion: String
    public var operatingSystem: String
    public var osVersion: String
    public var osType = "linux"
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
    public var defaultRuntime = "runc"
    public var warnings: [String]

    /// Docker's JSON for `GET /info`, keys in dockerd's order (the fields a daemon has and
    /// Stowage has not, such as swarm and registry settings, left out).
    public var json: JSONValue {
        .object([
            ("Containers", .integer(Int64(containers))), ("ContainersRunning", .integer(Int64(containersRunning))),
            ("ContainersPaused", .integer(Int64(containersPaused))), ("ContainersStopped", .integer(Int64(containersStopped))),
            ("Images", .integer(Int64(images))), ("Driver", .string(driver)),
            ("DriverStatus", driverStatus.isEmpty ? .null : .array(driverStatus.map { .array([.string($0.0), .string($0.1)]) })),
            ("Plugins", .object([("Volume", .strings(["local"])), ("Network", .strings(["host", "null"])), ("Authorization", .null),
                                 ("Log", .strings([loggingDriver]))])),
            ("LoggingDriver", .string(loggingDriver)), ("CgroupDriver", .string(cgroupDriver)), ("CgroupVersion", .string(cgroupVersion)),
            ("KernelVersion", .string(kernelVersion)), ("OperatingSystem", .string(operatingSystem)), ("OSVersion", .string(osVersion)),
            ("OSType", .string(osType)), ("Architecture", .string(architecture)), ("NCPU", .integer(Int64(cpuCount))),
            ("MemTotal", .integer(memoryTotal)), ("DockerRootDir", .string(dockerRootDir)), ("Name", .string(name)),
            ("Labels", .array([])), ("ExperimentalBuild", .bool(false)), ("ServerVersion", .string(serverVersion)),
            ("Runtimes", .object(runtimes.map { ($0, .object([("path", .string($0))])) })), ("DefaultRuntime", .string(defaultRuntime)),
            ("LiveRestoreEnabled", .bool(false)), ("Warnings", warnings.isEmpty ? .null : .strings(warnings)),
        ])
    }
}

extension Engine {
    /// `info`: this root's counts and the machine's facts.
    public func info() throws -> SystemInfo {
        let containers = try storage.listedContainers()
        let running = containers.count { $0.State?.Running == true && $0.State?.Paused != true }
        let paused = containers.count { $0.State?.Paused == true }
        let system = HostFacts.operatingSystem
        let runtimes = ["runc", "crun"].filter(Self.isOnPath)
        return SystemInfo(
            containers: containers.count, containersRunning: running, containersPaused: paused,
            containersStopped: containers.count - running - paused, images: try images.ids().count,
            driver: driverName, driverStatus: try driverStatus(), cgroupVersion: HostFacts.cgroupVersion,
            kernelVersion: HostFacts.kernelVersion, operatingSystem: system.name, osVersion: system.version,
            architecture: HostFacts.machine, cpuCount: HostFacts.cpuCount, memoryTotal: HostFacts.totalMemory,
            dockerRootDir: configuration.dataRoot, name: HostFacts.hostName, serverVersion: Self.version,
            runtimes: runtimes, defaultRuntime: runtimes.first ?? "runc", warnings: warnings)
    }

    /// Whether an executable of that name is in a directory of `PATH`.
    private static func isOnPath(_ name: String) -> Bool {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
    }
}
