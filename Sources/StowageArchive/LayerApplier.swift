#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Applies a layer stream (plain, gzip or zstd tar) to a directory in one pass: the blob
/// digest and the diff_id are computed while the entries are written, and the tar-split
/// record is written alongside.
///
/// Nothing outside `directory` is created, changed, read or followed: every parent path is
/// resolved by the kernel as if `directory` were `/` (openat2 RESOLVE_IN_ROOT), the final
/// component is never followed, and entry names or hard link targets that climb out with `..`
/// are refused. Symlink targets are stored as written (`ok -> ../lib`, as Docker stores
/// them): resolved inside the layer, `..` above the root stays at the root.
public enum LayerApplier {
    static let largestTrailingSegment = 1 << 20

    /// - Parameters:
    ///   - source: the layer blob, compressed or not.
    ///   - directory: an existing directory: empty, a copy of the parent layer (`.plain`
    ///     whiteouts) or an overlay upper directory (`.overlay` whiteouts).
    ///   - tarSplit: where to record the raw tar bytes; `finish()` is called on it.
    /// - Throws: `StowageError` naming the entry and the cause. On error the directory is left
    ///   partly written: callers apply into a staging directory and remove it on failure.
    public static func apply(from source: ByteSource, into directory: String,
                             options: ApplyOptions = ApplyOptions(),
                             tarSplit: TarSplitWriter? = nil) throws -> LayerApplyResult {
        let root = try TarSplitAssembler.wrap("open layer directory \(directory)") { try FileDescriptor.openDirectory(directory) }
        let stream = try LayerStream(source, maximumUncompressedSize: options.maximumUncompressedSize)
        let reader = TarReader(source: stream)
        let writer = EntryWriter(root: root, options: options)
        var contentSize: Int64 = 0
        var entryCount = 0

        let recorder = tarSplit.map { TarSplitRecorder(writer: $0) }
        let observe: PayloadObserver? = recorder.map { recorder in { recorder.fileData($0) } }
        do {
            while let header = try reader.next() {
                recorder?.segment(reader.rawBytes)
                contentSize += header.size
                entryCount += 1
                try writer.write(header, data: reader, observe: header.size > 0 ? observe : nil)
                try writer.drain(reader, observe: header.size > 0 ? observe : nil)
                recorder?.endFile(name: header.nameBytes, size: header.size)
            }
            recorder?.segment(reader.rawBytes)
            // What follows the end-of-archive blocks is recorded as tar-split (v0.11, in
            // Docker 20.10) does: in chunks of up to 1 MiB, then one empty segment for EOF.
            var trailing: [UInt8] = []
            try writer.drainTrailing(reader) { chunk in
                trailing.append(contentsOf: chunk)
                if trailing.count >= Self.largestTrailingSegment {
                    recorder?.segment(trailing)
                    trailing.removeAll(keepingCapacity: true)
                }
            }
            recorder?.segment(trailing)
            recorder?.finalSegment([])
            try writer.finish()
            try recorder?.finish()
        } catch let error as TarError {
            recorder?.abandon()
            throw StowageError(.invalidArchive, "layer tar is malformed", underlying: error)
        } catch {
            recorder?.abandon()
            throw error
        }

        let result = LayerApplyResult(
            diffID: stream.diffID, blobDigest: stream.blobDigest,
            compression: stream.compression, compressedSize: stream.compressedSize,
            uncompressedSize: stream.uncompressedSize, contentSize: contentSize, entryCount: entryCount)
        if let expected = options.expectedBlobDigest, expected != result.blobDigest {
            throw StowageError(.digestMismatch, "layer blob digest mismatch: expected \(expected), got \(result.blobDigest)")
        }
        if let expected = options.expectedDiffID, expected != result.diffID {
            throw StowageError(.digestMismatch, "layer diff_id mismatch: expected \(expected), got \(result.diffID)")
        }
        return result
    }
}
