#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StowageArchive
import StowageCore
import StowageDistribution
import StowageEngine
import StowageFileSystem

/// `stowage load`: images from a docker-archive or an OCI layout (file, directory or stdin).
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load an image from a tar archive, an OCI layout directory, or STDIN.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Read from tar archive file or OCI layout directory, instead of STDIN.")
    var input: String?

    @Flag(name: .shortAndLong, help: "Suppress the load output.")
    var quiet = false

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            let loader = engine.images.makeLoader()
            let showProgress = !quiet && isatty(1) == 1
            loader.report = { line in
                if showProgress { print("\r\u{1b}[K", terminator: "") }
                print(line)
            }
            if showProgress {
                let bar = ProgressBar(label: "Loading layer", descriptor: 1)
                loader.progress = { done, total in bar.show(done, of: total) }
            }
            if let input, Self.isFileOrDirectory(input) {
                try engine.images.load(path: input, with: loader)
            } else if let input {
                try engine.images.load(from: try openInput(input), named: input, with: loader)  // a pipe, as `-i <(…)`
            } else {
                guard isatty(0) == 0 else {
                    throw StowageError(.invalidArgument, "requested load from stdin, but stdin is empty (use -i FILE or redirect)")
                }
                try engine.images.load(from: try openInput("-"), named: "standard input", with: loader)
            }
        }
    }

    /// A regular file or a directory (an OCI layout), which can be read where it is; a
    /// missing path too, so that the load names it in its error.
    private static func isFileOrDirectory(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return true }
        return (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFDIR
    }
}

/// `stowage import`: a one-layer image from a root filesystem tarball (a file or `-`).
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import the contents from a tarball to create a filesystem image.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("c"), .customLong("change")], help: "Apply Dockerfile instruction to the created image.")
    var changes: [String] = []

    @Option(name: [.customShort("m"), .customLong("message")], help: "Set commit message for imported image.")
    var message: String?

    @Argument(help: "The tarball (plain, gzip, zstd), or - for standard input.")
    var file: String

    @Argument(help: "The new image's name, REPOSITORY[:TAG].")
    var reference: String?

    func run() throws {
        try reportingErrors {
            var request = ImageImport(reference: reference)
            request.message = message
            request.changes = changes
            print(try global.openEngine().images.importImage(from: try openInput(file), request))
        }
    }
}

/// `stowage save`: images as a docker-archive or an OCI layout.
struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save one or more images to a tar archive (streamed to STDOUT by default).")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Write to a file, instead of STDOUT.")
    var output: String?

    @Option(help: "Archive format: docker (docker-archive) or oci (OCI image layout).")
    var format: String = "docker"

    @Argument(help: "Images, by name or ID.")
    var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("\"save\" requires at least 1 argument.") }
    }

    func run() throws {
        try reportingErrors {
            guard let archiveFormat = ArchiveFormat(rawValue: format) else {
                throw StowageError(.invalidArgument, "unknown archive format \"\(format)\": use docker or oci")
            }
            try refuseTerminalOutput(output)
            let engine = try global.openEngine(toRead: true)
            // As docker's, silent; on a terminal (with -o), a bar on standard error.
            let bar = output != nil && isatty(2) == 1 ? ProgressBar(label: "Saving layer", descriptor: 2) : nil
            try writeStream(to: output, printingDigest: false) { sink in
                try engine.images.save(images, format: archiveFormat, to: sink) { done, total in bar?.show(done, of: total) }
            }
            bar?.finish()
        }
    }
}

/// A progress line as the docker CLI draws one on a terminal, redrawn in place:
/// `Loading layer [===========>                                       ]        3/13`.
final class ProgressBar {
    private let label: String
    private let descriptor: Int32
    private var drawn = false

    init(label: String, descriptor: Int32) {
        self.label = label
        self.descriptor = descriptor
    }

    func show(_ done: Int, of total: Int) {
        // jsonmessage's bar: a `>` always, after one `=` per 2 %.
        let filled = total == 0 ? 50 : min(50, done * 100 / total / 2)
        let count = String(done)
        let numbers = String(repeating: " ", count: max(0, 8 - count.count)) + count + "/" + String(total)
        write("\r\(label) [" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: 50 - filled) + "] " + numbers)
        drawn = true
    }

    /// Ends the line, when one was drawn.
    func finish() {
        if drawn { write("\n") }
        drawn = false
    }

    private func write(_ text: String) {
        fflush(nil)
        var text = text
        text.withUTF8 { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
}
