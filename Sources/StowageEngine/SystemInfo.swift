#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageDockerTypes
import StowageFileSystem

extension Engine {
    /// `info`: this root's counts and the machine's facts.
    public func info() throws -> Info {
        let containers = try storage.listedContainers()
        let running = containers.count { $0.State?.Running == true && $0.State?.Paused != true }
        let paused = containers.count { $0.State?.Paused == true }
        let system = HostFacts.operatingSystem
        let runtimes = ["runc", "crun"].filter(Self.isOnPath)
        return Info(
            containers: containers.count, containersRunning: running, containersPaused: paused,
            containersStopped: containers.count - running - paused, images: try images.ids().count,
            driver: driverName, driverStatus: try driverStatus().map { [$0.0, $0.1] }, cgroupVersion: HostFacts.cgroupVersion,
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
