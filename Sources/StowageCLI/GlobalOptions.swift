import ArgumentParser
import StowageEngine

/// Options every verb that touches a data root takes, as `dockerd` names them.
struct GlobalOptions: ParsableArguments {
    /// The options, as the top-level help lists them: name and value, then what it does.
    static let summary: [(String, String)] = [
        ("--data-root <path>", "Root of persistent Stowage state (default: /var/lib/stowage)."),
        ("-s, --storage-driver <name>", "Storage driver to use (-s before the verb)."),
        ("--config <path>", "Daemon configuration file (default: /etc/stowage/daemon.json)."),
        ("--storage-opt <option>", "Storage option, such as btrfs.min_space=10G or stowage.max-layer-size=10GB (repeatable)."),
    ]

    @Option(name: .customLong("data-root"), help: ArgumentHelp(summary[0].1))
    var dataRoot: String?

    /// `-s` works before the verb only (`stowage -s vfs images`): after it, `ps -s` is sizes.
    @Option(name: .customLong("storage-driver"), help: ArgumentHelp(summary[1].1))
    var storageDriver: String?

    @Option(name: .customLong("config"), help: ArgumentHelp(summary[2].1))
    var configPath: String?

    @Option(name: .customLong("storage-opt"), help: ArgumentHelp(summary[3].1))
    var storageOptions: [String] = []

    /// The top-level help's section on them: they go before or after the verb.
    static var helpSection: String {
        let indent = 2 + (summary.map(\.0.count).max() ?? 0) + 2
        return "GLOBAL OPTIONS (before or after the verb):\n" + summary.map { name, help in
            let lines = wrapped(help, width: 79 - indent)
            let first = "  " + name + String(repeating: " ", count: indent - 2 - name.count) + (lines.first ?? "")
            return ([first] + lines.dropFirst().map { String(repeating: " ", count: indent) + $0 }).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Words in lines of at most `width` characters (a longer word stands alone).
    private static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return lines + (line.isEmpty ? [] : [line])
    }

    /// Opens the engine on the configured data root; `toRead` refuses a root that does not
    /// exist (a read verb has nothing to show there and makes nothing).
    func openEngine(toRead: Bool = false) throws -> Engine {
        var configuration = try EngineConfiguration.load(path: configPath, dataRoot: dataRoot, storageDriver: storageDriver,
                                                         storageOptions: storageOptions)
        configuration.requiresExistingRoot = toRead
        let engine = try Engine(configuration)
        var standardError = StandardErrorStream()
        for warning in engine.warnings { print(warning, to: &standardError) }
        return engine
    }
}
