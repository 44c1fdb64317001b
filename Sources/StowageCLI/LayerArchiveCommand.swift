import ArgumentParser
import StowageArchive
import StowageCore

/// `stowage layer archive DIR`: writes a directory as a layer tar, as Docker exports one.
struct LayerArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Write a layer directory as a tar stream, the way Docker exports a layer.")

    @Argument(help: "The layer directory.")
    var directory: String

    @Flag(help: "The directory is an overlayfs upper directory: turn 0/0 character devices and opaque xattrs into .wh. entries.")
    var overlay = false

    @Option(name: .shortAndLong, help: "Write the tar here instead of standard output.")
    var output: String?

    @Flag(help: "Print the sha256 of the stream (its diff_id) instead of the stream.")
    var digest = false

    func run() throws {
        try reportingErrors {
            try writeStream(to: output, printingDigest: digest) { sink in
                _ = try DirectoryArchiver.archive(directory, to: sink, whiteoutFormat: overlay ? .overlay : .plain)
            }
        }
    }
}
