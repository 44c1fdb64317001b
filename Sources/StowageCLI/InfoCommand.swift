import ArgumentParser
import StowageCore
import StowageEngine
import StowageFileSystem

/// `stowage info`: the storage part of `docker info`.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display storage-wide information.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            let root = engine.configuration.dataRoot
            var lines = [" Images: \(try engine.images.ids().count)", " Storage Driver: \(engine.driverName)"]
            let status = try engine.driverStatus()
            let statusKeys = Set(status.map(\.0))
            for (key, value) in status { lines.append("  \(key): \(value)") }
            if !statusKeys.contains("Backing Filesystem") {
                lines.append("  Backing Filesystem: \(try BackingFileSystem.name(of: root))")
            }
            if !statusKeys.contains("Supports d_type") {
                lines.append("  Supports d_type: \(try BackingFileSystem.supportsDType(at: root + "/tmp"))")
            }
            lines.append(" Docker Root Dir: \(root)")
            print("Server:\n" + lines.joined(separator: "\n"))
        }
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
