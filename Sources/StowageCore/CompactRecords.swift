/// A compact binary encoding for Stowage's own index files: little-endian integers,
/// length-prefixed UTF-8 strings, digests as their 32 bytes, and a SHA-256 trailer (64 hex characters) over everything before it, so that a
/// torn or corrupt file is told apart from a valid one. Reading it costs a small fraction of
/// decoding the JSON files it summarises.
public struct CompactWriter {
    public private(set) var bytes: [UInt8] = []

    /// Starts a file with its magic (format name and version).
    public init(magic: String) {
        string(magic)
    }

    /// Starts a record to embed in a file (`embed(_:)`): no magic.
    public init() {}

    public mutating func integer(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        integer(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// A digest as its 32 bytes (half the size of its hex, and nothing to parse).
    public mutating func digest(_ value: Digest) {
        value.withBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func optionalDigest(_ value: Digest?) {
        bool(value != nil)
        if let value { digest(value) }
    }

    public mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    public mutating func optionalInteger(_ value: Int64?) {
        bool(value != nil)
        if let value { integer(value) }
    }

    public mutating func optionalBool(_ value: Bool?) {
        bytes.append(value.map { $0 ? 1 : 0 } ?? 2)
    }

    /// Length-prefixed raw bytes (an embedded record, read back with `CompactReader(embedded:)`).
    public mutating func embed<Bytes: Collection>(_ value: Bytes) where Bytes.Element == UInt8 {
        integer(value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func strings(_ values: [String]) {
        integer(values.count)
        for value in values { string(value) }
    }

    /// The encoded file: everything written, then its SHA-256.
    public func finished() -> [UInt8] {
        bytes + Array(Digest.of(bytes).hex.utf8)
    }
}

/// Reads what `CompactWriter` wrote; every read throws `CompactReader.Malformed` past the end
/// or at a value that cannot be, so a reader never trusts a damaged file.
public struct CompactReader {
    public struct Malformed: Error {
        public init() {}
    }

    private let bytes: ArraySlice<UInt8>
    private var offset: Int
    private let end: Int

    /// Checks the trailer and the magic; throws `Malformed` when either is wrong.
    public init(_ file: [UInt8], magic: String) throws {
        guard file.count >= 64 else { throw Malformed() }
        end = file.count - 64
        bytes = file[...]
        offset = 0
        guard Digest.of(file[0..<end]).hex.utf8.elementsEqual(file[end...]) else { throw Malformed() }
        guard try string() == magic else { throw Malformed() }
    }

    /// Reads bytes embedded in a file whose trailer was checked already (no trailer, no magic).
    public init(embedded bytes: ArraySlice<UInt8>) {
        self.bytes = bytes  // (shares the file's storage: indices are the file's)
        offset = bytes.startIndex
        end = bytes.endIndex
    }

    public var isAtEnd: Bool { offset == end }

    /// Where the next read starts, as an index into the bytes read.
    public var position: Int { offset }

    /// What `CompactWriter.embed(_:)` wrote.
    public mutating func embedded() throws -> ArraySlice<UInt8> {
        let length = try count()
        defer { offset += length }
        return bytes[offset..<offset + length]
    }

    /// Skips what `CompactWriter.embed(_:)` wrote.
    public mutating func skipEmbedded() throws {
        offset += try count()
    }

    public mutating func integer() throws -> Int64 {
        guard end - offset >= 8 else { throw Malformed() }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return Int64(bitPattern: value)
    }

    public mutating func count() throws -> Int {
        let value = try integer()
        guard value >= 0, value <= Int64(end - offset) else { throw Malformed() }
        return Int(value)
    }

    public mutating func bool() throws -> Bool {
        guard offset < end, bytes[offset] <= 1 else { throw Malformed() }
        defer { offset += 1 }
        return bytes[offset] == 1
    }

    public mutating func string() throws -> String {
        let length = try count()
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }

    /// The string at `range` (from `stringRange()`).
    public func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// Where the next string's bytes are in the file, without making a `String` of them.
    public mutating func stringRange() throws -> Range<Int> {
        let length = try count()
        defer { offset += length }
        return offset..<offset + length
    }

    /// What `CompactWriter.digest(_:)` wrote.
    public mutating func digest() throws -> Digest {
        guard end - offset >= 32 else { throw Malformed() }
        defer { offset += 32 }
        return Digest(rawBytes: bytes[offset..<offset + 32])
    }

    public mutating func optionalDigest() throws -> Digest? {
        try bool() ? try digest() : nil
    }

    public mutating func optionalString() throws -> String? {
        try bool() ? try string() : nil
    }

    public mutating func optionalInteger() throws -> Int64? {
        try bool() ? try integer() : nil
    }

    public mutating func optionalBool() throws -> Bool? {
        guard offset < end, bytes[offset] <= 2 else { throw Malformed() }
        defer { offset += 1 }
        return bytes[offset] == 2 ? nil : bytes[offset] == 1
    }

    public mutating func strings() throws -> [String] {
        let count = try count()
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try string()) }
        return values
    }
}
