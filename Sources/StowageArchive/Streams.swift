#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Reads a file descriptor as a stream.
public final class FileSource: ByteSource {
    public let descriptor: FileDescriptor

    public init(_ descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// Opens `path` for reading.
    public convenience init(path: String) throws {
        self.init(try FileDescriptor.open(path, O_RDONLY))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try descriptor.read(into: buffer)
    }
}

/// Writes a stream to a file descriptor.
public final class FileSink: ByteSink {
    public let descriptor: FileDescriptor

    public init(_ descriptor: FileDescriptor) { self.descriptor = descriptor }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try descriptor.writeAll(bytes)
    }
}

/// Passes a stream through while computing its sha256 (on a second thread) and counting its bytes.
public final class HashingSource: ByteSource {
    private let upstream: ByteSource
    private let hasher = PipelinedHasher()
    private var finished = false
    public private(set) var byteCount: Int64 = 0

    public init(_ upstream: ByteSource) { self.upstream = upstream }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try upstream.read(into: buffer)
        if count == 0 { finished = true }
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        byteCount += Int64(count)
        return count
    }

    /// The digest of everything read. Only meaningful once the stream reached its end.
    public var digest: Digest {
        precondition(finished, "the stream was not read to its end")
        return hasher.finalize()
    }
}

/// Passes bytes to a sink while computing their sha256 (on a second thread) and counting them.
public final class HashingSink: ByteSink {
    private let downstream: ByteSink?
    private let hasher = PipelinedHasher()
    public private(set) var byteCount: Int64 = 0

    /// - Parameter downstream: where the bytes go on to; nil to only hash them.
    public init(_ downstream: ByteSink?) { self.downstream = downstream }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        byteCount += Int64(bytes.count)
        try downstream?.write(bytes)
    }

    public var digest: Digest { hasher.finalize() }
}

/// A layer blob opened for reading its tar stream: decompressed according to its magic
/// number, with its blob digest and diff_id computed as it is read. An uncompressed blob is
/// hashed once, since both digests are then of the same bytes.
public final class LayerStream: ByteSource {
    public let compression: Compression
    private let blob: HashingSource?
    private let uncompressed: HashingSource

    /// - Parameter maximumUncompressedSize: fail once the tar stream grows past this.
    public init(_ source: ByteSource, maximumUncompressedSize: Int64? = nil) throws {
        let peeking = PeekingSource(source)
        compression = Compression.detect(try peeking.peek(4))
        let tar: ByteSource
        switch compression {
        case .none:
            blob = nil
            tar = peeking
        case .gzip:
            let hashed = HashingSource(peeking)
            blob = hashed
            tar = try GzipDecompressor(hashed)
        case .zstd:
            let hashed = HashingSource(peeking)
            blob = hashed
            tar = try ZstdDecompressor(hashed)
        }
        uncompressed = HashingSource(maximumUncompressedSize.map { LimitedSource(tar, limit: $0) } ?? tar)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try uncompressed.read(into: buffer)
    }

    /// sha256 of the tar stream. Read to the end first.
    public var diffID: DiffID { DiffID(uncompressed.digest) }
    /// sha256 of the blob as received. Read to the end first.
    public var blobDigest: BlobDigest { BlobDigest(blob?.digest ?? uncompressed.digest) }
    /// Bytes of the blob read so far.
    public var compressedSize: Int64 { blob?.byteCount ?? uncompressed.byteCount }
    /// Bytes of the tar stream read so far.
    public var uncompressedSize: Int64 { uncompressed.byteCount }
}

/// Fails once more than `limit` bytes have passed: a guard against decompression bombs.
public final class LimitedSource: ByteSource {
    private let upstream: ByteSource
    private let limit: Int64
    private var count: Int64 = 0

    public init(_ upstream: ByteSource, limit: Int64) {
        self.upstream = upstream
        self.limit = limit
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let got = try upstream.read(into: buffer)
        count += Int64(got)
        if count > limit {
            throw StowageError(.limitExceeded, "layer stream exceeds the limit of \(limit) uncompressed bytes")
        }
        return got
    }
}

extension FileDescriptor {
    /// Reads the next `count` bytes in chunks of at most `buffer.count`, handing each to `body`.
    /// Returns false if the file ended first.
    func readExactly(_ count: Int64, using buffer: UnsafeMutableRawBufferPointer,
                     _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var remaining = count
        while remaining > 0 {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), remaining))])
            let got = try read(into: chunk)
            if got == 0 { return false }
            try body(UnsafeRawBufferPointer(rebasing: chunk[0..<got]))
            remaining -= Int64(got)
        }
        return true
    }
}
