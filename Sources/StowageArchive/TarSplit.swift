#if canImport(FoundationEssentials)
import FoundationEssentials  // Data and JSONDecoder without the start-up cost of all of Foundation
#else
import Foundation
#endif
import StowageCore
import StowageTar

/// One record of Docker's `tar-split.json.gz` (vbatts/tar-split's storage package): either raw
/// bytes of the tar stream that are not file data (headers, padding), or a file whose data
/// lives on disk, with its size and the CRC-64 of its data.
public enum TarSplitEntry: Sendable, Equatable {
    case segment([UInt8])
    /// `crc64` is nil for entries whose size is 0 (Go leaves the payload null then).
    case file(name: [UInt8], size: Int64, crc64: [UInt8]?)
}

/// Writes a tar-split record: newline-delimited JSON, gzip-compressed, byte-compatible with
/// what Go's encoding/json writes for tar-split's `storage.Entry`.
public final class TarSplitWriter {
    private let compressor: GzipCompressor
    private var position = 0
    private var seenNames: Set<String> = []
    private var line: [UInt8] = []

    public init(sink: ByteSink) throws {
        // The fastest level: the record is mostly base64 of tar headers and is read back only
        // by `save`, `push` and `diff`; level 6 (Go's default) made compressing it a tenth of
        // a layer's apply time, for a record a fifth smaller.
        compressor = try GzipCompressor(sink, level: 1)
    }

    /// Adds raw bytes of the tar stream. An empty segment is written only when `keepEmpty`:
    /// tar-split ends every record with one, for the end of the stream.
    public func addSegment(_ bytes: [UInt8], keepEmpty: Bool = false) throws {
        guard !bytes.isEmpty || keepEmpty else { return }
        line.removeAll(keepingCapacity: true)
        append(#"{"type":2,"payload":""#)
        line.append(contentsOf: Data(bytes).base64EncodedData())
        append(#"","position":\#(position)}"#)
        try flushLine()
    }

    /// Adds a file entry. Throws if a file with the same cleaned name was added before:
    /// tar-split (and so Docker) cannot reassemble archives with duplicate paths.
    public func addFile(name: [UInt8], size: Int64, crc64: [UInt8]?) throws {
        let cleaned = LayerPath.cleanForComparison(name)
        guard seenNames.insert(cleaned).inserted else {
            throw StowageError(.invalidArchive,
                               "layer has more than one entry for \"\(String(decoding: name, as: UTF8.self))\"; duplicate paths cannot be stored")
        }
        line.removeAll(keepingCapacity: true)
        append(#"{"type":1,"#)
        if let text = String(validating: name, as: UTF8.self) {
            if !text.isEmpty {
                append(#""name":"#)
                appendJSONString(text)
                append(",")
            }
        } else {
            append(#""name_raw":""#)
            line.append(contentsOf: Data(name).base64EncodedData())
            append(#"","#)
        }
        if size != 0 { append(#""size":\#(size),"#) }
        if let crc64 {
            append(#""payload":""#)
            line.append(contentsOf: Data(crc64).base64EncodedData())
            append(#"","#)
        } else {
            append(#""payload":null,"#)
        }
        append(#""position":\#(position)}"#)
        try flushLine()
    }

    /// Flushes and writes the gzip trailer.
    public func finish() throws {
        try compressor.finish()
    }

    private func append(_ text: String) { line.append(contentsOf: text.utf8) }

    private func flushLine() throws {
        line.append(UInt8(ascii: "\n"))
        try compressor.write(line)
        position += 1
    }

    /// A JSON string as Go's encoding/json writes it (HTML-safe escaping included).
    private func appendJSONString(_ text: String) {
        let hex = Array("0123456789abcdef".utf8)
        line.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\r": append("\\r")
            case "\t": append("\\t")
            case _ where scalar.value < 0x20, "<", ">", "&", "\u{2028}", "\u{2029}":
                let value = scalar.value
                append("\\u")
                for shift in stride(from: 12, through: 0, by: -4) { line.append(hex[Int((value >> UInt32(shift)) & 0xf)]) }
            default:
                line.append(contentsOf: String(scalar).utf8)
            }
        }
        line.append(UInt8(ascii: "\""))
    }
}

/// Reads a tar-split record written by Docker or by `TarSplitWriter`.
public final class TarSplitReader {
    private let lines: LineSource
    private let decoder = JSONDecoder()
    private var seenNames: Set<String> = []

    private struct RawEntry: Decodable {
        var type: Int
        var name: String?
        var name_raw: Data?
        var size: Int64?
        var payload: Data?
    }

    /// - Parameter source: the gzip-compressed record (plain JSON lines are accepted too).
    public init(source: ByteSource) {
        lines = LineSource(DecompressingSource(source))
    }

    /// The next entry, or nil at the end.
    public func next() throws -> TarSplitEntry? {
        while let line = try lines.nextLine() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            let raw: RawEntry
            do {
                raw = try decoder.decode(RawEntry.self, from: Data(line))
            } catch {
                throw StowageError(.invalidArchive, "tar-split record has an unreadable entry: \(error)")
            }
            switch raw.type {
            case 2:
                return .segment(Array(raw.payload ?? Data()))
            case 1:
                let name = raw.name.map { Array($0.utf8) } ?? raw.name_raw.map { Array($0) } ?? []
                guard seenNames.insert(LayerPath.cleanForComparison(name)).inserted else {
                    throw StowageError(.invalidArchive, "tar-split record names \"\(String(decoding: name, as: UTF8.self))\" twice")
                }
                let size = raw.size ?? 0
                guard size >= 0 else { throw StowageError(.invalidArchive, "tar-split record has a negative size") }
                return .file(name: name, size: size, crc64: raw.payload.map { Array($0) })
            default:
                throw StowageError(.invalidArchive, "tar-split record has an entry of unknown type \(raw.type)")
            }
        }
        return nil
    }
}

/// Splits a stream into newline-terminated lines.
final class LineSource {
    private let upstream: ByteSource
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    init(_ upstream: ByteSource) { self.upstream = upstream }

    func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                return line
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            let got = try chunk.withUnsafeMutableBytes { try upstream.read(into: $0) }
            if got == 0 { ended = true } else { buffer.append(contentsOf: chunk[0..<got]) }
        }
    }
}
