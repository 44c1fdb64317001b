import CCrypto

/// A validated content digest, `sha256:<64 lowercase hex>`.
///
/// Only sha256 is accepted: it is the one algorithm Docker and the OCI image spec require,
/// and a digest that cannot be verified here must not be trusted.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The hex encoding of the hash, 64 lowercase characters.
    public let hex: String

    /// The algorithm name; always `sha256`.
    public var algorithm: String { "sha256" }

    /// Hashes the first 16 hex digits: the output of SHA-256 is uniform, so 64 bits of it
    /// key a table as well as all 256, at a quarter of the work (listings of 10,000 images
    /// look digests up tens of thousands of times).
    public func hash(into hasher: inout Hasher) {
        var hex = hex
        hex.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0).prefix(16))) }
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
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw StowageError(.invalidDigest, "invalid sha256 hex \"\(hex)\": expected 64 lowercase hex characters")
        }
        self.hex = hex
    }

    /// A digest from hex Stowage checked when it wrote it (its own checksummed index files).
    package init(trustedHex: String) { self.hex = trustedHex }

    /// The sha256 of `bytes`.
    public static func of<Bytes: Sequence>(_ bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        var hasher = SHA256Hasher()
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:\(hex)" }

    /// The first 12 hex characters, as `docker images` shows IDs.
    public var shortHex: String { String(hex.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

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
        let alphabet = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(64)
        for byte in digest {
            chars.append(alphabet[Int(byte >> 4)])
            chars.append(alphabet[Int(byte & 0x0f)])
        }
        return Digest(trustedHex: String(decoding: chars, as: UTF8.self))
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
