#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Rebuilds a layer's original tar stream from its tar-split record and the layer's files,
/// byte for byte, so the result hashes to the layer's diff_id. Each file's CRC-64 is checked.
public enum TarSplitAssembler {
    /// The length of the tar stream a record describes, from the record alone.
    public static func streamLength(record: ByteSource) throws -> Int64 {
        let reader = TarSplitReader(source: record)
        var length: Int64 = 0
        while let entry = try reader.next() {
            switch entry {
            case .segment(let bytes): length += Int64(bytes.count)
            case .file(_, let size, _): length += size
            }
        }
        return length
    }

    /// Writes the reassembled tar to `sink`; returns the number of bytes written.
    /// - Parameters:
    ///   - record: the tar-split record (gzip-compressed JSON lines).
    ///   - directory: where the layer's files are; names are resolved inside it, never outside.
    @discardableResult
    public static func assemble(record: ByteSource, directory: String, to sink: ByteSink) throws -> Int64 {
        let root = try wrap("open layer directory \(directory)") { try FileDescriptor.openDirectory(directory) }
        let reader = TarSplitReader(source: record)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var written: Int64 = 0
        while let entry = try reader.next() {
            switch entry {
            case .segment(let bytes):
                try sink.write(bytes)
                written += Int64(bytes.count)
            case .file(let name, let size, let expected):
                guard size > 0 else { continue }
                let text = String(decoding: name, as: UTF8.self)
                let relative = try LayerPath.components(name).joined(separator: "/")
                let file = try wrap("open \"\(text)\" in layer \(directory)") {
                    try root.openInRoot(relative, O_RDONLY | O_NOFOLLOW)
                }
                var crc = CRC64()
                let complete = try file.readExactly(size, using: buffer) { bytes in
                    crc.update(bytes)
                    try sink.write(bytes)
                }
                guard complete else {
                    throw StowageError(.invalidArchive, "layer file \"\(text)\" is shorter than the \(size) bytes its tar-split record says")
                }
                written += size
                if let expected, expected != crc.bytes {
                    throw StowageError(.digestMismatch, "layer file \"\(text)\" does not match its tar-split checksum: it changed since the layer was stored")
                }
            }
        }
        return written
    }

    static func wrap<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot \(what)", underlying: error)
        }
    }
}
