import ArgumentParser
import StowageArchive
import StowageCore
import StowageTar

/// `stowage layer apply ARCHIVE DIR`: applies a layer blob into a new directory.
struct LayerApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a layer (tar, tar.gz or tar.zst) into a new directory, printing its digests.")

    @Argument(help: "The layer blob; - for standard input.")
    var archive: String

    @Argument(help: "The directory to create; it must not exist.")
    var directory: String

    @Option(name: .customLong("tar-split"), help: "Write the tar-split record (tar-split.json.gz) here.")
    var tarSplitPath: String?

    @Flag(help: "Write whiteouts in overlayfs form (0/0 character devices, opaque xattrs).")
    var overlay = false

    @Option(name: .customLong("expect-diff-id"), help: "Fail unless the uncompressed stream has this sha256.")
    var expectedDiffID: String?

    @Flag(name: .customLong("no-devices"), help: "Refuse device node entries.")
    var noDevices = false

    func run() throws {
        try reportingErrors {
            var options = ApplyOptions()
            options.whiteoutFormat = overlay ? .overlay : .plain
            options.allowDeviceNodes = !noDevices
            options.expectedDiffID = try expectedDiffID.map { try DiffID(parsing: $0) }
            let source = try openInput(archive)
            let staged = try StagedDirectory(finalPath: directory)
            var record: StagedFile?
            do {
                var writer: TarSplitWriter?
                if let tarSplitPath {
                    record = try StagedFile(finalPath: tarSplitPath)
                    writer = try TarSplitWriter(sink: FileSink(record!.descriptor))
                }
                let result = try LayerApplier.apply(from: source, into: staged.stagingPath, options: options, tarSplit: writer)
                try record?.commit()
                try staged.commit()
                print("diff_id: \(result.diffID)")
                print("blob: \(result.blobDigest) (\(result.compression.rawValue), \(result.compressedSize) bytes)")
                print("tar: \(result.uncompressedSize) bytes, \(result.entryCount) entries, content \(result.contentSize) bytes")
            } catch {
                record?.discard()
                staged.discard()
                throw error
            }
        }
    }
}
