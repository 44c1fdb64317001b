import ArgumentParser
import StowageEngine

/// The `stowage` command: Docker's storage verbs, without a daemon.
public struct StowageCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "A container image and layer storage engine.",
        usage: "stowage [<global options>] <verb> [<arguments>]",
        discussion: GlobalOptions.helpSection,
        version: Engine.version,
        subcommands: [LoadCommand.self, SaveCommand.self, ImportCommand.self, PsCommand.self, RemoveContainerCommand.self, ImagesCommand.self,
                      HistoryCommand.self, InspectCommand.self, TagCommand.self, RemoveImageCommand.self, ImageCommand.self,
                      InfoCommand.self, LayerCommand.self, CreateCommand.self, MountCommand.self, UnmountCommand.self,
                      DiffCommand.self, CommitCommand.self, ExportCommand.self, CopyCommand.self, RenameCommand.self, ContainerCommand.self, VolumeCommand.self,
                      SystemCommand.self, CheckCommand.self, VersionCommand.self]
    )
    public init() {}

    /// Runs the command line. Global options may come before the verb, as with `dockerd`
    /// and `docker` (`stowage --data-root /tmp/r images`): they are moved after it.
    public static func run(_ arguments: [String]) {
        let arguments = movingGlobalOptions(arguments)
        if let verb = arguments.first, let command = leafCommands[verb] {
            runDirectly(command, Array(arguments.dropFirst()))
        }
        if let refusal = unknownVerb(arguments) {
            var standardError = StandardErrorStream()
            print(refusal, to: &standardError)
            exit(withError: ExitCode.failure)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if let usage = usageError(error, arguments: arguments) {
                var standardError = StandardErrorStream()
                print(usage.message, to: &standardError)
                exit(withError: ExitCode(usage.status))
            }
            exit(withError: error)
        }
        exit()
    }

    /// A command line that does not parse, said as docker says it: what is wrong in one line,
    /// where the help is in another; exit 125 for a flag, 1 for a wrong number of arguments.
    /// Nil for what is not a usage error (help, a failure of the command itself).
    static func usageError(_ error: any Error, arguments: [String]) -> (message: String, status: Int32)? {
        guard !(error is ExitCode), exitCode(for: error) == .validationFailure else { return nil }  // a command's own exit status passes
        let verb = verbPath(arguments)
        var text = message(for: error)
        var status: Int32 = 125
        if text.hasPrefix("Unknown option '") {
            text = "unknown flag: " + text.dropFirst("Unknown option '".count).prefix { $0 != "'" }  // without a "Did you mean"
        } else if text.hasPrefix("Missing value for '") {
            text = "flag needs an argument: " + (text.dropFirst("Missing value for '".count).split(separator: " ").first ?? "")
        } else if text.hasPrefix("Missing expected argument") || text.hasPrefix("Unexpected argument") {
            status = 1
        }
        return ("stowage: \(text.split(separator: "\n").first ?? "")\nSee 'stowage \(verb)\(verb.isEmpty ? "" : " ")--help'.", status)
    }

    /// The verb the arguments name, with its group: `images`, `image ls`, `volume create`.
    static func verbPath(_ arguments: [String]) -> String {
        guard let first = arguments.first, !first.hasPrefix("-") else { return "" }
        guard groupVerbs.contains(first), let second = arguments.dropFirst().first,
              let group = configuration.subcommands.first(where: { $0.configuration.commandName == first }),
              group.configuration.subcommands.contains(where: { $0.configuration.commandName == second || $0.configuration.aliases.contains(second) })
        else { return first }
        return first + " " + second
    }

    /// What docker says, exiting 1, for a verb or help topic it does not have: `stowage:
    /// 'imagse' is not a stowage command.` (not a complaint about the global options before
    /// it), `unknown help topic: nosuch`. Nil when the verb is known or absent.
    static func unknownVerb(_ arguments: [String]) -> String? {
        let isVerb = { (word: String) in leafCommands[word] != nil || groupVerbs.contains(word) }
        guard let verb = arguments.first, !verb.hasPrefix("-") else { return nil }
        if verb == "help" {
            guard let topic = arguments.dropFirst().first, !topic.hasPrefix("-"), !isVerb(topic) else { return nil }
            return "unknown help topic: \(topic)"
        }
        return isVerb(verb) ? nil : "stowage: '\(verb)' is not a stowage command.\nSee 'stowage --help'"
    }

    /// The verbs that are commands of their own (not groups), by name and alias.
    static let leafCommands: [String: any ParsableCommand.Type] = {
        var commands: [String: any ParsableCommand.Type] = [:]
        for command in configuration.subcommands {
            guard let name = command.configuration.commandName, !groupVerbs.contains(name) else { continue }
            for verb in [name] + command.configuration.aliases where commands[verb] == nil { commands[verb] = command }
        }
        return commands
    }()

    /// Parses and runs one verb's command by itself, sparing the parse of the whole command
    /// tree (about a millisecond of every start). Returns only when the arguments do not
    /// parse (or ask for help): the whole tree then parses them again and reports as usual.
    private static func runDirectly(_ command: any ParsableCommand.Type, _ arguments: [String]) {
        guard var parsed = try? command.parse(arguments) else { return }
        do {
            try parsed.run()
        } catch {
            command.exit(withError: error)
        }
        command.exit()
    }

    static let globalOptionsWithValue: Set<String> = ["--data-root", "--storage-driver", "-s", "--config", "--storage-opt"]

    /// Verbs that only group others: `image ls`, `volume rm`, …
    static let groupVerbs: Set<String> = ["image", "container", "volume", "system", "layer"]

    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                // `-s` before the verb is dockerd's storage driver; after it, `ps -s` means sizes.
                leading += [argument == "-s" ? "--storage-driver" : argument, arguments[index + 1]]
                index += 2
            } else if let equals = argument.firstIndex(of: "="), globalOptionsWithValue.contains(String(argument[..<equals])) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        // Right after the verb (`volume ls`: after both words), so that verbs that pass
        // their trailing arguments on (`create IMAGE CMD…`) do not take them.
        var rest = Array(arguments[index...])
        let verbLength = rest.first.map { groupVerbs.contains($0) ? 2 : 1 } ?? 0
        rest.insert(contentsOf: leading, at: min(verbLength, rest.count))
        return rest
    }
}
