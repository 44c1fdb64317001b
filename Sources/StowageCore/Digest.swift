import CCrypto

/// A validated content digest, `sha256:<64 lowercase hex>`.
///
/// Only sha256 is accepted: it is the one algorithm Docker and the OCI image spec require,
/// and a digest that cannot be verified here must not be trusted.
///
/// The 32 bytes are held inline (as four integers, each eight bytes read big-endian, so that
/// comparing the integers orders digests as their hex does): copying, comparing and hashing one allocates nothing and
/// counts no references, which listings of 10,000 images do hundreds of thousands of times.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The hex encoding of the hash, 64 lowercase characters.
    public var hex: String { hexPrefix(64) }

    /// The first `count` hex characters (at most 15 make a string that allocates nothing).
    private func hexPrefix(_ count: Int) -> String {
        withUnsafeBytes(of: words) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            return String(unsafeUninitializedCapacity: count) { buffer in
                let alphabet: StaticString = "0123456789abcdef"
                for index in 0..<count {
                    let nibble = words[index / 16] >> UInt64(60 - 4 * (index % 16)) & 0xf
                    buffer[index] = alphabet.utf8Start[Int(nibble)]
                }
                return count
            }
        }
    }

    /// The algorithm name; always `sha256`.
    public var algorithm: String { "sha256" }

    public static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// Hashes the first 64 bits: the output of SHA-256 is uniform, so they key a table as
    /// well as all 256.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        (lhs.words.0, lhs.words.1, lhs.words.2, lhs.words.3) < (rhs.words.0, rhs.words.1, rhs.words.2, rhs.words.3)
    }

    /// Parses `sha256:<hex>`. Throws `StowageError(.invalidDigest)` for anything else.
    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else {
            throw StowageError(.invalidDigest, "invalid digest \"\(text)\": expected sha256:<64 hex characters>")
        }
        try self.init(hex: String(text.dropFirst(7)))
    }

    /// Accepts a bare 64-character lowercase hex string.
    public init(hex: String) throws {
        var text = hex
        guard let digest = text.withUTF8({ Digest(hexBytes: UnsafeRawBufferPointer($0)) }) else {
            throw StowageError(.invalidDigest, "invalid sha256 hex \"\(hex)\": expected 64 lowercase hex characters")
        }
        self = digest
    }

    /// The digest spelled by 64 lowercase hex characters; nil for anything else.
    public init?(hexBytes: UnsafeRawBufferPointer) {
        guard hexBytes.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let valid = withUnsafeMutableBytes(of: &words) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for (index, character) in hexBytes.enumerated() {
                let value: UInt8
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
                default: return false
                }
                words[index / 16] = words[index / 16] << 4 | UInt64(value)
            }
            return true
        }
        guard valid else { return nil }
        self.words = words
    }

    /// Calls `body` with the digest's 32 bytes, in order.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let bigEndian = (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian)
        return withUnsafeBytes(of: bigEndian, body)
    }

    /// The digest whose 32 bytes these are.
    init<Bytes: Collection>(rawBytes bytes: Bytes) where Bytes.Element == UInt8 {
        precondition(bytes.count == 32, "a sha256 digest has 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for (index, byte) in bytes.enumerated() { words[index / 8] = words[index / 8] << 8 | UInt64(byte) }
        }
        self.words = words
    }

    /// The sha256 of `bytes`.
    public static func of<Bytes: Sequence>(_ bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        var hasher = SHA256Hasher()
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    /// The first 12 hex characters, as `docker images` shows IDs.
    public var shortHex: String { hexPrefix(12) }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Incremental SHA-256 through OpenSSL's libcrypto, whose assembly uses the SHA-NI
/// instructions. A value type: copies hash independently.
public struct SHA256Hasher {
    private var context: DigestContext

    public init() { context = DigestContext() }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context.pointer, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything so far; the hasher can go on being updated.
    public func finalize() -> Digest {
        var digest = [UInt8](repeating: 0, count: 32)
        let final = context.copy()
        var length: UInt32 = 0
        EVP_DigestFinal_ex(final.pointer, &digest, &length)
        return Digest(rawBytes: digest)
    }
}

/// An owned OpenSSL digest context set up for SHA-256.
private final class DigestContext {
    let pointer: OpaquePointer

    init() {
        pointer = EVP_MD_CTX_new()
        EVP_DigestInit_ex(pointer, EVP_sha256(), nil)
    }

    private init(copying other: DigestContext) {
        pointer = EVP_MD_CTX_new()
        EVP_MD_CTX_copy_ex(pointer, other.pointer)
    }

    func copy() -> DigestContext { DigestContext(copying: self) }

    deinit { EVP_MD_CTX_free(pointer) }
}
