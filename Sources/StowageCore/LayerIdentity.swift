/// The digest of a layer's uncompressed tar stream (`RootFS.diff_ids` in an image config).
public struct DiffID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let digest: Digest
    public init(_ digest: Digest) { self.digest = digest }
    public init(parsing text: String) throws { digest = try Digest(parsing: text) }
    public var description: String { digest.description }
    public init(from decoder: any Decoder) throws { digest = try Digest(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try digest.encode(to: encoder) }
}

/// The digest of a (usually compressed) blob as a registry or an OCI layout names it.
public struct BlobDigest: Hashable, Sendable, CustomStringConvertible, Codable {
    public let digest: Digest
    public init(_ digest: Digest) { self.digest = digest }
    public init(parsing text: String) throws { digest = try Digest(parsing: text) }
    public var description: String { digest.description }
    public init(from decoder: any Decoder) throws { digest = try Digest(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try digest.encode(to: encoder) }
}

/// A layer's identity within a stack: `chain(L1) = diff_id(L1)`,
/// `chain(Ln) = sha256("<chain(Ln-1)> <diff_id(Ln)>")`.
public struct ChainID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let digest: Digest
    public init(_ digest: Digest) { self.digest = digest }
    public init(parsing text: String) throws { digest = try Digest(parsing: text) }

    /// The chain ID of a layer with `diffID` on top of the layer `parent` (nil for a base layer).
    public init(parent: ChainID?, diffID: DiffID) {
        guard let parent else {
            digest = diffID.digest
            return
        }
        digest = Digest.of(Array("\(parent.digest) \(diffID.digest)".utf8))
    }

    /// The chain IDs of every layer of a stack, bottom first.
    public static func chain(of diffIDs: [DiffID]) -> [ChainID] {
        var result: [ChainID] = []
        result.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            result.append(ChainID(parent: result.last, diffID: diffID))
        }
        return result
    }

    public var description: String { digest.description }
    public init(from decoder: any Decoder) throws { digest = try Digest(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try digest.encode(to: encoder) }
}

/// The name of a layer's directory inside a storage driver (`cache-id` in the layer store):
/// 64 random hex digits, with `-init` for a container's init layer.
public struct LayerCacheID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Validates `text`: 64 lowercase hex digits, optionally followed by `-init`.
    public init(_ text: String) throws {
        let hex = text.hasSuffix("-init") ? text.dropLast(5) : Substring(text)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw StowageError(.invalidArgument, "invalid layer cache ID \"\(text)\": expected 64 lowercase hex digits")
        }
        rawValue = text
    }

    /// A new random ID.
    public static func random() -> LayerCacheID {
        // 256 random bits in four draws (one getrandom each), four bits a digit.
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for _ in 0..<4 {
            let word = generator.next()
            for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((word >> UInt64(shift)) & 0xF)]) }
        }
        return try! LayerCacheID(String(decoding: text, as: UTF8.self))
    }

    /// The ID of this layer's init layer.
    public var initLayer: LayerCacheID { try! LayerCacheID(rawValue + "-init") }

    public var description: String { rawValue }
}

/// An image's identity: the sha256 of its config JSON, exactly as stored.
public struct ImageID: Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    public let digest: Digest
    public init(_ digest: Digest) { self.digest = digest }
    public init(parsing text: String) throws { digest = try Digest(parsing: text) }
    public var description: String { digest.description }
    /// The 12-digit form `images` shows.
    public var shortForm: String { digest.shortHex }
    public static func < (lhs: ImageID, rhs: ImageID) -> Bool { lhs.digest < rhs.digest }
    public init(from decoder: any Decoder) throws { digest = try Digest(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try digest.encode(to: encoder) }
}
