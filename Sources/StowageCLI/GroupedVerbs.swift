import ArgumentParser

/// A top-level verb under the name and aliases its group gives it, as docker's: `container
/// ls` is also `container ps` and `container list`, `image rm` also `image rmi`; the top
/// level has no `ls` and its `rm` removes containers.
protocol GroupedVerb: ParsableCommand {
    associatedtype Verb: ParsableCommand
    var verb: Verb { get }
}

extension GroupedVerb {
    func run() throws {
        var verb = self.verb
        try verb.run()
    }
}

/// `stowage container ls`: `ps`.
struct ContainerListCommand: GroupedVerb {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: PsCommand.configuration.abstract,
                                                    usage: "stowage container ls [<options>]", aliases: ["ps", "list"])
    @OptionGroup var verb: PsCommand
}

/// `stowage container rm`: `rm`.
struct ContainerRemoveCommand: GroupedVerb {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: RemoveContainerCommand.configuration.abstract,
                                                    usage: "stowage container rm [<options>] <container> ...",
                                                    aliases: ["remove"])
    @OptionGroup var verb: RemoveContainerCommand
}

/// `stowage image ls`: `images`.
struct ImageListCommand: GroupedVerb {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: ImagesCommand.configuration.abstract,
                                                    usage: "stowage image ls [<options>] [<repository>]", aliases: ["list"])
    @OptionGroup var verb: ImagesCommand
}

/// `stowage image rm`: `rmi`.
struct ImageRemoveCommand: GroupedVerb {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: RemoveImageCommand.configuration.abstract,
                                                    usage: "stowage image rm [<options>] <image> ...",
                                                    aliases: ["rmi", "remove"])
    @OptionGroup var verb: RemoveImageCommand
}
