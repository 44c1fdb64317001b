import Foundation
import StowageArchive
import StowageCore
import StowageTar
import StowageTestSupport
import Testing

@Suite("Compressed layers: detection by magic, streaming, digests and damage")
struct CompressionTests {
    /// The links fixture's top layer: hard link, symlinks, setuid file, long path.
    static let layer: [UInt8] = {
        let layers = try! ArchiveMembers(path: Fixtures.path("links.tar")).imageLayers()
        return layers.last!.bytes
    }()
    static let diffID = sha256(layer)

    private func compress(_ tool: [String], _ bytes: [UInt8]) throws -> [UInt8] {
        let result = try runProcess(tool, input: Data(bytes))
        #expect(result.status == 0, "\(tool): \(result.standardError)")
        return Array(result.standardOutput)
    }

    private func apply(_ blob: [UInt8], options: ApplyOptions = ApplyOptions()) throws -> LayerApplyResult {
        let work = try TemporaryDirectory("compression")
        let target = work.join("layer")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        return try LayerApplier.apply(from: MemorySource(blob), into: target, options: options,
                                      tarSplit: try TarSplitWriter(sink: MemorySink()))
    }

    @Test("gzip and zstd written by their own tools are recognised and give the same diff_id", arguments: [
        (["gzip", "-c", "-9"], Compression.gzip),
        (["gzip", "-c", "-1"], Compression.gzip),
        (["zstd", "-c", "-q", "-19"], Compression.zstd),
        (["zstd", "-c", "-q", "--long=27"], Compression.zstd),
        (["cat"], Compression.none),
    ])
    func recognised(_ tool: [String], _ expected: Compression) throws {
        let blob = try compress(tool, Self.layer)
        let result = try apply(blob)
        #expect(result.compression == expected)
        #expect(result.diffID.description == Self.diffID)
        #expect(result.blobDigest.description == sha256(blob))
        #expect(result.compressedSize == Int64(blob.count))
        #expect(result.uncompressedSize == Int64(Self.layer.count))
    }

    @Test("a gzip stream of several members (as pigz or concatenation makes) is one stream")
    func multiMemberGzip() throws {
        let half = Self.layer.count / 2
        let blob = try compress(["gzip", "-c"], Array(Self.layer[..<half])) + compress(["gzip", "-c"], Array(Self.layer[half...]))
        #expect(try apply(blob).diffID.description == Self.diffID)
    }

    @Test("Stowage's gzip output is read by gzip(1) and by Stowage")
    func gzipOut() throws {
        let compressed = MemorySink()
        let compressor = try GzipCompressor(compressed)
        try Self.layer.withUnsafeBytes { try compressor.write($0) }
        try compressor.finish()
        #expect(try compress(["gzip", "-dc"], compressed.bytes) == Self.layer)
        #expect(try apply(compressed.bytes).diffID.description == Self.diffID)
    }

    @Test("a truncated compressed stream is one invalid-archive error naming the codec", arguments: [
        (["gzip", "-c"], "gzip"), (["zstd", "-c", "-q"], "zstd"),
    ])
    func truncated(_ tool: [String], _ codec: String) throws {
        let blob = try compress(tool, Self.layer)
        for cut in [blob.count / 2, blob.count - 1, 12] {
            let error = try #require(throws: StowageError.self) { _ = try apply(Array(blob[..<cut])) }
            #expect(error.code == .invalidArchive)
            #expect("\(error)".contains(codec), "\(error)")
        }
    }

    @Test("a corrupt compressed stream is an invalid-archive error", arguments: [
        (["gzip", "-c"], "gzip"), (["zstd", "-c", "-q"], "zstd"),
    ])
    func corrupt(_ tool: [String], _ codec: String) throws {
        var blob = try compress(tool, Self.layer)
        for index in stride(from: blob.count / 3, to: blob.count / 3 + 64, by: 1) { blob[index] ^= 0x5a }
        let error = try #require(throws: StowageError.self) { _ = try apply(blob) }
        #expect(error.code == .invalidArchive)
        #expect("\(error)".contains(codec), "\(error)")
    }

    @Test("a gzip trailer whose CRC does not match is refused")
    func badTrailer() throws {
        var blob = try compress(["gzip", "-c"], Self.layer)
        blob[blob.count - 6] ^= 0xff  // inside the CRC32
        let error = try #require(throws: StowageError.self) { _ = try apply(blob) }
        #expect(error.code == .invalidArchive)
    }

    @Test("an unexpected diff_id or blob digest is a digest mismatch naming both")
    func digestMismatch() throws {
        let blob = try compress(["gzip", "-c"], Self.layer)
        let wrong = Digest.of(Array("not this layer".utf8))
        var options = ApplyOptions()
        options.expectedDiffID = DiffID(wrong)
        var error = try #require(throws: StowageError.self) { _ = try apply(blob, options: options) }
        #expect(error.code == .digestMismatch)
        #expect("\(error)".contains(wrong.description) && "\(error)".contains(Self.diffID), "\(error)")

        options = ApplyOptions()
        options.expectedBlobDigest = BlobDigest(wrong)
        error = try #require(throws: StowageError.self) { _ = try apply(blob, options: options) }
        #expect(error.code == .digestMismatch)
        #expect("\(error)".contains(sha256(blob)), "\(error)")

        options = ApplyOptions()
        options.expectedDiffID = try DiffID(Digest(parsing: Self.diffID))
        options.expectedBlobDigest = try BlobDigest(Digest(parsing: sha256(blob)))
        #expect(try apply(blob, options: options).diffID.description == Self.diffID)
    }

    @Test("a decompression bomb stops at the configured limit")
    func bomb() throws {
        // 256 MiB of zeros in one entry is about 256 KB of gzip.
        let size: Int64 = 256 << 20
        let tar = try compress(["sh", "-c", "head -c \(size) /dev/zero > /tmp/.stowage-bomb-$$ && tar -C /tmp --transform s/.*/zeros/ -cf - .stowage-bomb-$$ | gzip -c; rm -f /tmp/.stowage-bomb-$$"], [])
        #expect(tar.count < 1 << 20)
        var options = ApplyOptions()
        options.maximumUncompressedSize = 16 << 20
        let error = try #require(throws: StowageError.self) { _ = try apply(tar, options: options) }
        #expect(error.code == .limitExceeded, "\(error)")
    }
}
