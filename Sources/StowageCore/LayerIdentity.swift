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
