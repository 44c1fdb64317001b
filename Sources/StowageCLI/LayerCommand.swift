import ArgumentParser

/// `stowage layer …`: the archive pipeline on its own, for a layer blob and a directory.
struct LayerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layer",
        abstract: "Apply, digest, reassemble and archive single layers.",
        subcommands: [LayerApplyCommand.self, LayerAssembleCommand.self, LayerArchiveCommand.self, LayerDigestCommand.self,
                      LayerProbeCommand.self]
    )
}
