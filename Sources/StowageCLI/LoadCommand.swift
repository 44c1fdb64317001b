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
                loader.progress = { done, total in
                    let width = 50
                    let filled = total == 0 ? width : done * width / total
                    let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
                    print("\rLoading layer [\(bar)]  \(done)/\(total)", terminator: "")
                    fflush(nil)
                }
            }
            if let input {
                try engine.images.load(path: input, with: loader)
            } else {
                try loadFromStandardInput(engine, loader)
            }
        }
    }

    /// A stream cannot be indexed: it is spooled to the data root's tmp directory first.
    private func loadFromStandardInput(_ engine: Engine, _ loader: ImageLoader) throws {
        let spoolDirectory = engine.configuration.dataRoot + "/tmp"
        guard isatty(0) == 0 else {
            throw StowageError(.invalidArgument, "requested load from stdin, but stdin is empty (use -i FILE or redirect)")
        }
        let spool = spoolDirectory + "/load-" + LayerCacheID.random().rawValue.prefix(16) + ".tar"
        let file = try StagedFile(finalPath: spool, mode: 0o600)
        defer {
            file.discard()
            unlink(spool)
        }
        let input = FileSource(FileDescriptor(adopting: dup(0), path: "standard input"))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let got = try input.read(into: buffer)
            if got == 0 { break }
            try file.descriptor.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            total += got
        }
        guard total > 0 else { throw StowageError(.invalidArchive, "unexpected EOF: standard input is empty") }
        try engine.images.load(path: file.stagingPath, with: loader)
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
            try writeStream(to: output, printingDigest: false) { sink in
                try engine.images.save(images, format: archiveFormat, to: sink)
            }
        }
    }
}
