import ArgumentParser
import StowageArchive
import StowageCore
import StowageTar

/// `stowage layer digest FILE`: the blob digest and diff_id of a layer, without applying it.
struct LayerDigestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print a layer blob's digest and its diff_id (sha256 of the uncompressed stream).")

    @Argument(help: "The layer blob; - for standard input.")
    var archive: String

    func run() throws {
        try reportingErrors {
            let stream = try LayerStream(try openInput(archive))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while try stream.read(into: buffer) > 0 {}
            print("diff_id: \(stream.diffID)")
            print("blob: \(stream.blobDigest) (\(stream.compression.rawValue), \(stream.compressedSize) bytes)")
        }
    }
}
