import ArgumentParser
import StowageArchive
import StowageCore
import StowageTar

/// `stowage layer assemble`: rebuilds a layer's original tar from tar-split and its files.
struct LayerAssembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assemble",
        abstract: "Rebuild a layer's original tar stream from its tar-split record and directory.")

    @Option(name: .customLong("tar-split"), help: "The tar-split record (tar-split.json.gz).")
    var tarSplitPath: String

    @Argument(help: "The layer directory.")
    var directory: String

    @Option(name: .shortAndLong, help: "Write the tar here instead of standard output.")
    var output: String?

    @Flag(help: "Print the sha256 of the rebuilt stream (its diff_id) instead of the stream.")
    var digest = false

    func run() throws {
        try reportingErrors {
            let record = try FileSource(path: tarSplitPath)
            try writeStream(to: output, printingDigest: digest) { sink in
                _ = try TarSplitAssembler.assemble(record: record, directory: directory, to: sink)
            }
        }
    }
}
