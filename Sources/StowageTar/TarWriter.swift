/// Writes a tar stream: ustar headers where the fields fit, PAX extended headers where they
/// do not (long names and link names, large sizes and IDs, sub-second times, xattrs), as
/// Go's archive/tar does. Call `writeHeader`, then write exactly `dataSize` bytes, repeat,
/// then `finish()`.
public final class TarWriter {
    private let sink: ByteSink
    private var remainingData: Int64 = 0
    private var pendingPadding: Int64 = 0
    private var currentName = ""
    /// Bytes written so far.
    public private(set) var offset: Int64 = 0

    public init(sink: ByteSink) { self.sink = sink }

    /// Writes the header of the next entry (after padding the previous one).
    public func writeHeader(_ header: TarHeader) throws {
        try closeEntry()
        currentName = header.name
        var records: [(key: String, value: [UInt8])] = []
        var block = [UInt8](repeating: 0, count: TarBlock.size)

        // Name: in `name`, split across `prefix`, or in a PAX record.
        if header.nameBytes.count <= 100, isASCII(header.nameBytes) {
            put(&block, header.nameBytes, TarBlock.name)
        } else if let (prefix, name) = splitUSTARPath(header.nameBytes) {
            put(&block, name, TarBlock.name)
            put(&block, prefix, TarBlock.prefix)
        } else {
            records.append((PAXRecords.path, header.nameBytes))
            put(&block, Array(asciiFallback(header.nameBytes).prefix(100)), TarBlock.name)
        }
        if header.linkNameBytes.count <= 100, isASCII(header.linkNameBytes) {
            put(&block, header.linkNameBytes, TarBlock.linkName)
        } else {
            records.append((PAXRecords.linkPath, header.linkNameBytes))
            put(&block, Array(asciiFallback(header.linkNameBytes).prefix(100)), TarBlock.linkName)
        }
        try putNumber(&block, header.mode, TarBlock.mode, paxKey: nil, records: &records)
        try putNumber(&block, Int64(header.uid), TarBlock.uid, paxKey: PAXRecords.uid, records: &records)
        try putNumber(&block, Int64(header.gid), TarBlock.gid, paxKey: PAXRecords.gid, records: &records)
        try putNumber(&block, header.size, TarBlock.size_, paxKey: PAXRecords.size, records: &records)
        if header.modificationTime.nanoseconds != 0 {
            records.append((PAXRecords.mtime, PAXRecords.format(header.modificationTime)))
        }
        try putNumber(&block, header.modificationTime.seconds, TarBlock.mtime, paxKey: PAXRecords.mtime, records: &records)
        if let atime = header.accessTime { records.append((PAXRecords.atime, PAXRecords.format(atime))) }
        if let ctime = header.changeTime { records.append((PAXRecords.ctime, PAXRecords.format(ctime))) }
        block[TarBlock.typeflag] = header.typeflag
        put(&block, TarBlock.ustarMagic, TarBlock.magic)
        put(&block, TarBlock.ustarVersion, TarBlock.version)
        for (value, range, key) in [(header.userName, TarBlock.userName, PAXRecords.userName),
                                    (header.groupName, TarBlock.groupName, PAXRecords.groupName)] {
            let bytes = Array(value.utf8)
            if bytes.count <= range.count, isASCII(bytes) {
                put(&block, bytes, range)
            } else {
                records.append((key, bytes))
                put(&block, Array(asciiFallback(bytes).prefix(range.count)), range)
            }
        }
        try putNumber(&block, Int64(header.deviceMajor), TarBlock.deviceMajor, paxKey: nil, records: &records)
        try putNumber(&block, Int64(header.deviceMinor), TarBlock.deviceMinor, paxKey: nil, records: &records)
        for (name, value) in header.xattrs { records.append((PAXRecords.xattrPrefix + name, value)) }
        for (key, value) in header.paxRecords { records.append((key, Array(value.utf8))) }

        if !records.isEmpty {
            try writePAXHeader(records, for: header)
        }
        Self.sealChecksum(&block)
        try emit(block)
        remainingData = header.dataSize
        pendingPadding = TarReader.padding(for: remainingData)
    }

    /// Writes entry data; never more than the header announced.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard Int64(bytes.count) <= remainingData else {
            throw TarError(.invalidHeader("more data than the header's size"), offset: offset, entry: currentName)
        }
        try sink.write(bytes)
        offset += Int64(bytes.count)
        remainingData -= Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Pads the last entry and writes the two zero blocks that end an archive.
    public func finish() throws {
        try closeEntry()
        try emit([UInt8](repeating: 0, count: 2 * TarBlock.size))
    }

    // MARK: - Internals

    private func closeEntry() throws {
        guard remainingData == 0 else {
            throw TarError(.invalidHeader("\(remainingData) bytes of data missing"), offset: offset, entry: currentName)
        }
        if pendingPadding > 0 {
            try emit([UInt8](repeating: 0, count: Int(pendingPadding)))
            pendingPadding = 0
        }
    }

    private func emit(_ bytes: [UInt8]) throws {
        try sink.write(bytes)
        offset += Int64(bytes.count)
    }

    private func writePAXHeader(_ records: [(key: String, value: [UInt8])], for header: TarHeader) throws {
        let data = PAXRecords.encode(records)
        var block = [UInt8](repeating: 0, count: TarBlock.size)
        put(&block, Self.paxHeaderName(for: header.nameBytes), TarBlock.name)
        var ignored: [(key: String, value: [UInt8])] = []
        try putNumber(&block, 0, TarBlock.mode, paxKey: nil, records: &ignored)
        try putNumber(&block, 0, TarBlock.uid, paxKey: nil, records: &ignored)
        try putNumber(&block, 0, TarBlock.gid, paxKey: nil, records: &ignored)
        try putNumber(&block, Int64(data.count), TarBlock.size_, paxKey: nil, records: &ignored)
        try putNumber(&block, 0, TarBlock.mtime, paxKey: nil, records: &ignored)
        block[TarBlock.typeflag] = UInt8(ascii: "x")
        put(&block, TarBlock.ustarMagic, TarBlock.magic)
        put(&block, TarBlock.ustarVersion, TarBlock.version)
        Self.sealChecksum(&block)
        try emit(block)
        try emit(data)
        let padding = TarReader.padding(for: Int64(data.count))
        if padding > 0 { try emit([UInt8](repeating: 0, count: Int(padding))) }
    }

    private func put(_ block: inout [UInt8], _ bytes: [UInt8], _ range: Range<Int>) {
        for (index, byte) in bytes.prefix(range.count).enumerated() { block[range.lowerBound + index] = byte }
    }

    /// Octal when it fits; otherwise a PAX record (if the field has one) or base-256.
    private func putNumber(_ block: inout [UInt8], _ value: Int64, _ range: Range<Int>,
                           paxKey: String?, records: inout [(key: String, value: [UInt8])]) throws {
        let digits = range.count - 1
        let octalLimit: Int64 = digits >= 21 ? .max : (1 << (3 * Int64(digits))) - 1
        if value >= 0, value <= octalLimit {
            let text = Array(String(value, radix: 8).utf8)
            let padded = [UInt8](repeating: UInt8(ascii: "0"), count: digits - text.count) + text
            put(&block, padded, range)
            return
        }
        if let paxKey {
            if !records.contains(where: { $0.key == paxKey }) { records.append((paxKey, Array(String(value).utf8))) }
            put(&block, [UInt8](repeating: UInt8(ascii: "0"), count: digits), range)
            return
        }
        // Base-256, two's complement, big-endian, with the marker bit set over the first byte's
        // top bit (as Go's formatNumeric). The bit below the marker is the sign, so an n-byte
        // field holds -2^(8n-2) ..< 2^(8n-2): every value the reader can produce.
        var bytes = [UInt8](repeating: value < 0 ? 0xff : 0, count: range.count)
        var remaining = value
        for index in stride(from: range.count - 1, through: 0, by: -1) {
            bytes[index] = UInt8(truncatingIfNeeded: remaining)
            remaining >>= 8
        }
        guard bytes[0] & 0xc0 == (value < 0 ? 0xc0 : 0) else {
            throw TarError(.invalidHeader("\(value) does not fit a \(range.count)-byte numeric field"),
                           offset: offset, entry: currentName)
        }
        bytes[0] |= 0x80
        put(&block, bytes, range)
    }

    private func isASCII(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 < 0x80 && $0 != 0 } }

    private func asciiFallback(_ bytes: [UInt8]) -> [UInt8] { bytes.filter { $0 < 0x80 && $0 != 0 } }

    /// Splits a long ustar path into prefix (≤155) and name (≤100) at a slash, exactly as Go's
    /// archive/tar does (a trailing slash stays with the name).
    private func splitUSTARPath(_ path: [UInt8]) -> ([UInt8], [UInt8])? {
        guard path.count > TarBlock.name.count, isASCII(path) else { return nil }
        var length = path.count
        if length > TarBlock.prefix.count + 1 {
            length = TarBlock.prefix.count + 1
        } else if path[length - 1] == UInt8(ascii: "/") {
            length -= 1
        }
        guard let slash = path[..<length].lastIndex(of: UInt8(ascii: "/")), slash > 0 else { return nil }
        let name = Array(path[(slash + 1)...])
        guard !name.isEmpty, name.count <= TarBlock.name.count, slash <= TarBlock.prefix.count else { return nil }
        return (Array(path[..<slash]), name)
    }

    /// The name of a PAX header block as Go's archive/tar makes it:
    /// `path.Join(dir, "PaxHeaders.0", base)`, then ASCII only, at most 100 bytes, no trailing slash.
    static func paxHeaderName(for name: [UInt8]) -> [UInt8] {
        let slash = UInt8(ascii: "/")
        let split = name.lastIndex(of: slash).map { $0 + 1 } ?? 0
        let joined = Array(name[..<split]) + Array("/PaxHeaders.0/".utf8) + Array(name[split...])
        var cleaned = cleanPath(joined, absolute: name.first == slash).filter { $0 < 0x80 && $0 != 0 }
        if cleaned.count > TarBlock.name.count { cleaned = Array(cleaned.prefix(TarBlock.name.count)) }
        while cleaned.last == slash { cleaned.removeLast() }
        return cleaned
    }

    /// Go's `path.Clean` on bytes: no empty or `.` components, `..` folded where it can be.
    private static func cleanPath(_ path: [UInt8], absolute: Bool) -> [UInt8] {
        let slash = UInt8(ascii: "/")
        var components: [ArraySlice<UInt8>] = []
        for component in path.split(separator: slash) {
            if component.elementsEqual([UInt8(ascii: ".")]) { continue }
            if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if let last = components.last, !last.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                    components.removeLast()
                    continue
                }
                if absolute { continue }
            }
            components.append(component)
        }
        let body = Array(components.joined(separator: [slash]))
        if absolute { return [slash] + body }
        return body.isEmpty ? [UInt8(ascii: ".")] : body
    }

    static func sealChecksum(_ block: inout [UInt8]) {
        let sum = block.withUnsafeBytes { TarBlock.checksums($0).unsigned }
        let text = Array(String(sum, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - text.count) + text + [0, UInt8(ascii: " ")]
        for (index, byte) in padded.enumerated() { block[TarBlock.checksum.lowerBound + index] = byte }
    }
}
