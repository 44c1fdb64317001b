import CZlib
import CZstd
import StowageCore
import StowageTar

/// The compression of a layer blob, recognised by its magic number.
public enum Compression: String, Sendable, Equatable {
    case none, gzip, zstd

    /// Recognises the compression from a stream's first bytes.
    public static func detect(_ prefix: some Collection<UInt8>) -> Compression {
        let bytes = Array(prefix.prefix(4))
        if bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b { return .gzip }
        if bytes.count >= 4, bytes == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }
}

/// Wraps a source so that the bytes it yields are decompressed according to their magic number.
public final class DecompressingSource: ByteSource {
    private let upstream: ByteSource
    private var decoder: ByteSource?
    public private(set) var compression: Compression = .none

    public init(_ upstream: ByteSource) { self.upstream = upstream }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let decoder { return try decoder.read(into: buffer) }
        let peek = PeekingSource(upstream)
        let prefix = try peek.peek(4)
        compression = Compression.detect(prefix)
        let chosen: ByteSource
        switch compression {
        case .none: chosen = peek
        case .gzip: chosen = try GzipDecompressor(peek)
        case .zstd: chosen = try ZstdDecompressor(peek)
        }
        decoder = chosen
        return try chosen.read(into: buffer)
    }
}

/// A source that can look at its first bytes before handing them on.
final class PeekingSource: ByteSource {
    private let upstream: ByteSource
    private var pending: [UInt8] = []

    init(_ upstream: ByteSource) { self.upstream = upstream }

    func peek(_ count: Int) throws -> [UInt8] {
        var scratch = [UInt8](repeating: 0, count: count)
        while pending.count < count {
            let got = try scratch.withUnsafeMutableBytes { try upstream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(count - pending.count)])) }
            if got == 0 { break }
            pending.append(contentsOf: scratch[0..<got])
        }
        return pending
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if pending.isEmpty { return try upstream.read(into: buffer) }
        let count = min(buffer.count, pending.count)
        pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
        pending.removeFirst(count)
        return count
    }
}

private let compressedChunk = 256 * 1024

/// Streaming gzip decompression (zlib), multi-member streams included.
public final class GzipDecompressor: ByteSource {
    private let upstream: ByteSource
    private var stream = z_stream()
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: compressedChunk, alignment: 16)
    private var upstreamEnded = false
    private var memberEnded = false
    private var compressedOffset: Int64 = 0

    public init(_ upstream: ByteSource) throws {
        self.upstream = upstream
        let status = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw StowageError(.internalError, "gzip: cannot initialise zlib (\(status))") }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if stream.avail_in == 0, !upstreamEnded {
                let got = try upstream.read(into: input)
                if got == 0 { upstreamEnded = true }
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(got)
                compressedOffset += Int64(got)
            }
            if memberEnded {
                // Another gzip member may follow (concatenated gzip streams are one stream).
                if stream.avail_in == 0 && upstreamEnded { return 0 }
                if stream.avail_in == 0 { continue }
                inflateReset(&stream)
                memberEnded = false
            }
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(buffer.count)
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                if produced > 0 { return produced }
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if upstreamEnded && stream.avail_in == 0 {
                    throw StowageError(.invalidArchive, "gzip stream truncated after \(compressedOffset) compressed bytes")
                }
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw StowageError(.invalidArchive, "gzip stream corrupt near compressed byte \(compressedOffset): \(reason)")
            }
        }
    }
}

/// Streaming zstd decompression (libzstd), multi-frame streams included.
public final class ZstdDecompressor: ByteSource {
    private let upstream: ByteSource
    private let context: OpaquePointer
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: compressedChunk, alignment: 16)
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var upstreamEnded = false
    private var frameComplete = true
    private var compressedOffset: Int64 = 0

    public init(_ upstream: ByteSource) throws {
        self.upstream = upstream
        guard let context = ZSTD_createDCtx() else { throw StowageError(.internalError, "zstd: cannot create a context") }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(context)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if inBuffer.pos == inBuffer.size, !upstreamEnded {
                let got = try upstream.read(into: input)
                if got == 0 { upstreamEnded = true }
                inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: got, pos: 0)
                compressedOffset += Int64(got)
            }
            if inBuffer.pos == inBuffer.size, upstreamEnded {
                guard frameComplete else {
                    throw StowageError(.invalidArchive, "zstd stream truncated after \(compressedOffset) compressed bytes")
                }
                return 0
            }
            var outBuffer = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                let reason = String(cString: ZSTD_getErrorName(hint))
                throw StowageError(.invalidArchive, "zstd stream corrupt near compressed byte \(compressedOffset): \(reason)")
            }
            frameComplete = hint == 0
            if outBuffer.pos > 0 { return outBuffer.pos }
        }
    }
}

/// Streaming gzip compression (zlib) into a sink.
public final class GzipCompressor: ByteSink {
    private let downstream: ByteSink
    private var stream = z_stream()
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: compressedChunk, alignment: 16)
    private var finished = false

    /// - Parameter level: 1 (fastest) to 9 (smallest); zlib's default is 6.
    public init(_ downstream: ByteSink, level: Int32 = Z_DEFAULT_COMPRESSION) throws {
        self.downstream = downstream
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw StowageError(.internalError, "gzip: cannot initialise zlib (\(status))") }
    }

    deinit {
        deflateEnd(&stream)
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        try pump(Z_NO_FLUSH)
    }

    /// Flushes the compressor and writes the gzip trailer.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        stream.next_in = nil
        stream.avail_in = 0
        try pump(Z_FINISH)
    }

    private func pump(_ flush: Int32) throws {
        repeat {
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let status = deflate(&stream, flush)
            guard status != Z_STREAM_ERROR else { throw StowageError(.internalError, "gzip: compression failed") }
            let produced = output.count - Int(stream.avail_out)
            if produced > 0 { try downstream.write(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            if flush == Z_FINISH, status == Z_STREAM_END { return }
        } while stream.avail_out == 0 || (flush == Z_FINISH)
    }
}
