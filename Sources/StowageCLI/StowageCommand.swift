import ArgumentParser

/// The `stowage` command: Docker's storage verbs, without a daemon.
public struct StowageCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "A container image and layer storage engine.",
        subcommands: [LoadCommand.self, SaveCommand.self, ImagesCommand.self, HistoryCommand.self, InspectCommand.self,
                      TagCommand.self, RemoveImageCommand.self, ImageCommand.self, InfoCommand.self, LayerCommand.self]
    )
    public init() {}

    /// Runs the command line. Global options may come before the verb, as with `dockerd`
    /// and `docker` (`stowage --data-root /tmp/r images`): they are moved after it.
    public static func run(_ arguments: [String]) {
        main(movingGlobalOptions(arguments))
    }

    static let globalOptionsWithValue: Set<String> = ["--data-root", "--storage-driver", "-s", "--config", "--storage-opt"]

    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if let equals = argument.firstIndex(of: "="), globalOptionsWithValue.contains(String(argument[..<equals])) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}
