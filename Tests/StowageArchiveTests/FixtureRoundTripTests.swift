import Foundation
import StowageArchive
import StowageCore
import StowageTar
import StowageTestSupport
import Testing

@Suite("Docker's fixture images through the layer pipeline")
struct FixtureRoundTripTests {
    @Test("every layer of every fixture applies, hashes to its diff_id and reassembles byte for byte through tar-split",
          arguments: Fixtures.archives)
    func layersRoundTrip(_ archive: String) throws {
        let members = try ArchiveMembers(path: Fixtures.path(archive))
        let expected = try Fixtures.expectedDiffIDs(archive: archive)
        var seen: Set<String> = []
        for (name, blob) in members.layerBlobs {
            let work = try TemporaryDirectory("fixture")
            let layer = work.join("layer")
            try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: false)
            let record = MemorySink()
            let result = try LayerApplier.apply(from: MemorySource(blob), into: layer,
                                                tarSplit: try TarSplitWriter(sink: record))
            #expect(result.blobDigest.description == sha256(blob), "\(name)")
            #expect(expected.contains(result.diffID.description), "\(archive) \(name): \(result.diffID) is not one of Docker's diff_ids")
            seen.insert(result.diffID.description)

            let rebuilt = HashingSink(nil)
            let written = try TarSplitAssembler.assemble(record: MemorySource(record.bytes), directory: layer, to: rebuilt)
            #expect(rebuilt.digest == result.diffID.digest, "\(archive) \(name): reassembled tar differs from the original")
            #expect(written == result.uncompressedSize)
        }
        #expect(seen == expected, "\(archive): diff_ids found \(seen.sorted()) expected \(expected.sorted())")
    }

    @Test("an uncompressed layer's bytes come back identical from tar-split")
    func identicalBytes() throws {
        let members = try ArchiveMembers(path: Fixtures.path("links.tar"))
        for (_, blob) in members.layerBlobs {
            let work = try TemporaryDirectory("identical")
            let layer = work.join("layer")
            try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: false)
            let record = MemorySink()
            _ = try LayerApplier.apply(from: MemorySource(blob), into: layer, tarSplit: try TarSplitWriter(sink: record))
            let rebuilt = MemorySink()
            try TarSplitAssembler.assemble(record: MemorySource(record.bytes), directory: layer, to: rebuilt)
            #expect(rebuilt.bytes == blob)
        }
    }

    @Test("layer sizes are the sum of entry sizes, as Docker stores them")
    func layerSizes() throws {
        let expected = try Fixtures.expected("whiteout")
        let members = try ArchiveMembers(path: Fixtures.path("whiteout.tar"))
        var total: Int64 = 0
        for (_, blob) in members.layerBlobs {
            let work = try TemporaryDirectory("size")
            try FileManager.default.createDirectory(atPath: work.join("l"), withIntermediateDirectories: false)
            total += try LayerApplier.apply(from: MemorySource(blob), into: work.join("l")).contentSize
        }
        #expect(total == expected.size)
    }
}
