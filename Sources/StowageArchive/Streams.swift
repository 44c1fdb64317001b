#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Reads a file descriptor as a stream (from its current offset).
public final class FileSource: SkippableByteSource {
    public let descriptor: FileDescriptor

    public init(_ descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// Opens `path` for reading.
    public convenience init(path: String) throws {
        self.init(try FileDescriptor.open(path, O_RDONLY))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try descriptor.read(into: buffer)
    }

    /// Seeks forward; a pipe, which cannot seek, is read and discarded instead.
    public func skip(_ count: Int64) throws {
        if lseek(descriptor.rawValue, off_t(count), SEEK_CUR) >= 0 { return }
        guard errno == ESPIPE else { throw SystemError("lseek", path: descriptor.path, errno: errno) }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var left = count
        while left > 0 {
            let got = try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(min(left, 1 << 16))]))
            if got == 0 { return }
            left -= Int64(got)
        }
    }
}

/// Reads `length` bytes of a file from `offset` with `pread`, leaving the file offset alone,
/// so that several ranges of one open file can be read independently.
public final class FileRangeSource: ByteSource {
    public let descriptor: FileDescriptor
    private var position: Int64
    private let end: Int64

    public init(_ descriptor: FileDescriptor, offset: Int64, length: Int64) {
        self.descriptor = descriptor
        position = offset
        end = offset + length
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), end - position))
        guard wanted > 0 else { return 0 }
        while true {
            let got = pread(descriptor.rawValue, buffer.baseAddress, wanted, off_t(position))
            if got >= 0 {
                if got == 0 {
                    throw StowageError(.invalidArchive, "\(descriptor.path) ends before byte \(end): truncated")
                }
                position += Int64(got)
                return got
            }
            if errno != EINTR { throw SystemError("pread", path: descriptor.path, errno: errno) }
        }
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

extension ByteSource {
    /// Everything left in the stream; more than `limit` bytes is an error (for JSON documents
    /// and other small files read whole).
    public func readAll(limit: Int = 64 << 20, what: @autoclosure () -> String = "stream") throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if got == 0 { return output }
            output.append(contentsOf: chunk[0..<got])
            if output.count > limit {
                throw StowageError(.limitExceeded, "\(what()) is larger than \(limit) bytes")
            }
        }
    }
}
