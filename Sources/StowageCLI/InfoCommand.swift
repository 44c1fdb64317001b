import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine
import StowageFileSystem

/// `stowage info`: `docker info`'s server part, for this root and machine.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display system-wide information.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Format the output using the given Go template, such as '{{json .}}'.")
    var format: String?

    func run() throws {
        try reportingErrors {
            let template = try format.map { try ListingFormat($0, context: .info, executeErrorPrefix: "") }
            let info = try global.openEngine(toRead: true).info()
            if let template {
                print(try template.render([try info.dockerJSON]), terminator: "")
                return
            }
            print(Self.text(info), terminator: "")
        }
    }

    /// The report as docker prints it.
    static func text(_ info: Info) -> String {
        var lines = ["Server:",
                     " Containers: \(info.containers)", "  Running: \(info.containersRunning)", "  Paused: \(info.containersPaused)",
                     "  Stopped: \(info.containersStopped)", " Images: \(info.images)", " Server Version: \(info.serverVersion)",
                     " Storage Driver: \(info.driver)"]
        lines += info.driverStatus.map { "  " + $0.joined(separator: ": ") }
        lines += [" Logging Driver: \(info.loggingDriver)", " Cgroup Driver: \(info.cgroupDriver)", " Cgroup Version: \(info.cgroupVersion)",
                  " Plugins:", "  Volume: local", "  Network: host null", "  Log: \(info.loggingDriver)",
                  " Runtimes: \(info.runtimes.joined(separator: " "))", " Default Runtime: \(info.defaultRuntime)",
                  " Kernel Version: \(info.kernelVersion)", " Operating System: \(info.operatingSystem)", " OSType: \(info.osType)",
                  " Architecture: \(info.architecture)", " CPUs: \(info.cpuCount)", " Total Memory: \(Units.binarySize(info.memoryTotal))",
                  " Name: \(info.name)", " Docker Root Dir: \(info.dockerRootDir)", " Debug Mode: false", " Experimental: false",
                  " Live Restore Enabled: false"]
        return lines.map { $0 + "\n" }.joined() + "\n"
    }
}

/// `stowage version`: the version and platform, as the Client part of `docker version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the Stowage version information.")

    func run() throws {
        let rows: [(String, String)] = [("Version:", Engine.version), ("OS/Arch:", "linux/" + HostFacts.goArchitecture),
                                        ("Storage drivers:", Engine.storageDrivers.joined(separator: ", "))]
        let lines = rows.map { name, value in " " + name + String(repeating: " ", count: 19 - name.count) + value }
        print("Stowage:\n" + lines.joined(separator: "\n"))
    }
}
