/// A pull-based stream of bytes: each stage of a layer pipeline (file, decompressor, hasher,
/// tar reader) is one, reading from the stage below.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes and returns how many; 0 means the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A source that can move forward without reading, such as a regular file: a tar reader
/// skips entry data it is not asked for with `skip` instead of reading it.
public protocol SkippableByteSource: ByteSource {
    /// Moves `count` bytes forward. Skipping past the end is not an error here: the next
    /// read returns 0.
    func skip(_ count: Int64) throws
}

/// A push-based consumer of bytes (a file, a compressor, a hasher, a tar writer's output).
public protocol ByteSink: AnyObject {
    /// Consumes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Bytes held in memory, as a source. For tests, small specials and fuzzing.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}

/// Collects written bytes in memory.
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

extension ByteSink {
    /// Writes an array's bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}
