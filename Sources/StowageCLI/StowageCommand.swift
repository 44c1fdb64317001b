import ArgumentParser

/// The `stowage` command: Docker's storage verbs, without a daemon.
public struct StowageCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "A container image and layer storage engine.",
        subcommands: [LayerCommand.self]
    )
    public init() {}
}
