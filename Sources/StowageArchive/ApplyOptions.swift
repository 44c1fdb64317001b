#if canImport(Glibc)
import Glibc
#endif
import StowageCore

/// How to apply a layer stream.
public struct ApplyOptions: Sendable {
    /// How whiteouts are written.
    public var whiteoutFormat: Whiteout.Format = .plain
    /// Whether character and block device entries may be created.
    public var allowDeviceNodes = true
    /// Whether uid/gid from the tar are restored (needs root).
    public var restoreOwnership = geteuid() == 0
    /// Refuse streams that decompress to more than this many bytes.
    public var maximumUncompressedSize: Int64?
    /// When set, the stream's diff_id must be this; a mismatch is an error.
    public var expectedDiffID: DiffID?
    /// When set, the digest of the bytes as received must be this.
    public var expectedBlobDigest: BlobDigest?
    /// When set, the stream is a copy (`docker cp`, Docker's `Untar`), not a layer.
    public var copy: CopyRules?

    public init() {}
}

/// How extracting a copy (`docker cp` into a container) differs from applying a layer:
/// `.wh.` names are files like any other, an entry never replaces a directory with a
/// non-directory or the other way round (Docker's `NoOverwriteDirNonDir`), and an entry
/// naming the destination itself leaves it as it is.
public struct CopyRules: Sendable {
    /// Who owns what a copy writes.
    public enum Ownership: Sendable {
        /// The tar's owners (`docker cp` into a container).
        case fromArchive
        /// One owner for every entry (`docker cp -a`: the container's user).
        case fixed(uid: UInt32, gid: UInt32)
        /// Whoever writes: no `chown` (`docker cp` out of a container, Docker's `NoLchown`).
        case unchanged
    }

    public var ownership: Ownership

    public init(ownership: Ownership = .fromArchive) {
        self.ownership = ownership
    }
}

/// What an apply computed in its single pass over the stream.
public struct LayerApplyResult: Sendable, Equatable {
    /// sha256 of the uncompressed tar stream.
    public let diffID: DiffID
    /// sha256 of the bytes as received (equal to the diff_id's digest when uncompressed).
    public let blobDigest: BlobDigest
    public let compression: Compression
    /// Bytes received.
    public let compressedSize: Int64
    /// Bytes of the uncompressed tar stream.
    public let uncompressedSize: Int64
    /// Sum of the entries' sizes: what Docker stores as a layer's `size`.
    public let contentSize: Int64
    public let entryCount: Int
}

extension LayerApplyResult {
    /// The same result with another `contentSize`, for drivers that store a layer's size as
    /// Docker's driver of the same name does.
    public func replacingContentSize(_ size: Int64) -> LayerApplyResult {
        LayerApplyResult(diffID: diffID, blobDigest: blobDigest, compression: compression, compressedSize: compressedSize,
                         uncompressedSize: uncompressedSize, contentSize: size, entryCount: entryCount)
    }
}
