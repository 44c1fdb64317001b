/// A malformed or unsupported tar stream, with the byte offset of the block where it was found
/// and the entry it belongs to, when known.
public struct TarError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The stream ended inside a header, a special entry or an entry's data.
        case truncated
        /// The header block's checksum does not match its bytes.
        case checksumMismatch(stored: Int64, computed: Int64)
        /// A numeric field holds something that is not a number.
        case invalidNumber(field: String)
        /// A size that is negative or too large to be real.
        case invalidSize(Int64)
        /// A PAX extended header that is not a well-formed list of `length key=value\n` records.
        case invalidPAXRecord(String)
        /// A zero block followed by a non-zero block.
        case invalidEndOfArchive
        /// A GNU long name, long link or PAX header larger than the 1 MiB allowed.
        case specialEntryTooLarge(Int64)
        /// A feature this reader refuses (for example GNU sparse files).
        case unsupported(String)
        /// The writer was handed an impossible header or more or less data than announced.
        case invalidHeader(String)
    }

    public let kind: Kind
    /// Offset of the header block (or data) where the problem was found.
    public let offset: Int64
    /// The entry's name, when it was already known.
    public let entry: String?

    public init(_ kind: Kind, offset: Int64, entry: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.entry = entry
    }

    public var description: String {
        let place = entry.map { "entry \"\($0)\" at offset \(offset)" } ?? "offset \(offset)"
        switch kind {
        case .truncated: return "tar stream truncated: \(place)"
        case .checksumMismatch(let stored, let computed):
            return "tar header checksum mismatch at \(place): header says \(stored), bytes sum to \(computed)"
        case .invalidNumber(let field): return "tar header has an invalid \(field) field at \(place)"
        case .invalidSize(let size): return "tar entry size \(size) is not possible at \(place)"
        case .invalidPAXRecord(let why): return "invalid PAX extended header at \(place): \(why)"
        case .invalidEndOfArchive: return "tar end-of-archive marker is followed by data at \(place)"
        case .specialEntryTooLarge(let size): return "tar special entry of \(size) bytes exceeds the 1 MiB limit at \(place)"
        case .unsupported(let what): return "unsupported tar feature at \(place): \(what)"
        case .invalidHeader(let why): return "cannot write tar header at \(place): \(why)"
        }
    }
}
