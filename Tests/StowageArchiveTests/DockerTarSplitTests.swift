import Foundation
import StowageArchive
import StowageCore
import StowageTar
import StowageTestSupport
import Testing

@Suite("tar-split records shared with the real Docker engine")
struct DockerTarSplitTests {
    private func readAll(_ source: ByteSource) throws -> [UInt8] {
        try source.readAll()
    }

    private func contents(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("Stowage reads the records dockerd writes, and dockerd saves layers from the records Stowage writes",
          arguments: ["links.tar", "whiteout.tar"])
    func recordsInteroperate(_ archive: String) throws {
        let expected = try Fixtures.expected(archive.replacingOccurrences(of: ".tar", with: ""))
        let layers = try ArchiveMembers(path: Fixtures.path(archive)).imageLayers()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        try engine.docker(["load", "-i", Fixtures.path(archive)])
        let layerDB = engine.dataRoot + "/image/vfs/layerdb/sha256"
        let work = try TemporaryDirectory("tarsplit-docker")

        for (index, layer) in layers.enumerated() {
            let chainID = expected.chainIDs[index].replacingOccurrences(of: "sha256:", with: "")
            let diffID = expected.diffIDs[index]
            let record = layerDB + "/" + chainID + "/tar-split.json.gz"
            let dockerRecord = try contents(record)
            let cacheID = String(decoding: try contents(layerDB + "/" + chainID + "/cache-id"), as: UTF8.self)

            // Docker's record reassembles the layer from Docker's own vfs directory...
            let fromDockerDir = HashingSink(nil)
            _ = try TarSplitAssembler.assemble(record: MemorySource(dockerRecord),
                                               directory: engine.dataRoot + "/vfs/dir/" + cacheID, to: fromDockerDir)
            #expect(fromDockerDir.digest.description == diffID, "\(archive) layer \(index): Docker's record on Docker's files")

            // ...and from a directory Stowage applied.
            let ours = work.join("layer\(index)")
            try FileManager.default.createDirectory(atPath: ours, withIntermediateDirectories: false)
            let stowageRecord = MemorySink()
            _ = try LayerApplier.apply(from: MemorySource(layer.bytes), into: ours,
                                       tarSplit: try TarSplitWriter(sink: stowageRecord))
            let fromOurDir = HashingSink(nil)
            _ = try TarSplitAssembler.assemble(record: MemorySource(dockerRecord), directory: ours, to: fromOurDir)
            #expect(fromOurDir.digest.description == diffID, "\(archive) layer \(index): Docker's record on Stowage's files")

            // The JSON inside is the same, line for line (the gzip framing may differ).
            let dockerJSON = try readAll(GzipDecompressor(MemorySource(dockerRecord)))
            let stowageJSON = try readAll(GzipDecompressor(MemorySource(stowageRecord.bytes)))
            let stowageLines = String(decoding: stowageJSON, as: UTF8.self).split(separator: "\n")
            let dockerLines = String(decoding: dockerJSON, as: UTF8.self).split(separator: "\n")
            let firstDifference = zip(stowageLines, dockerLines).first { $0 != $1 }
            #expect(stowageJSON == dockerJSON,
                    "\(archive) layer \(index): tar-split JSON differs from Docker's (\(stowageLines.count) vs \(dockerLines.count) lines), first at\n\(firstDifference.map { "\($0)\n\($1)" } ?? "the end: \(stowageLines.suffix(2).map { $0.prefix(120) }) vs \(dockerLines.suffix(3).map { $0.prefix(120) })")")

            // Hand Docker Stowage's record in place of its own.
            try Data(stowageRecord.bytes).write(to: URL(fileURLWithPath: record))
        }

        // dockerd reassembles `docker save` output from the records: it must read Stowage's.
        try engine.restart()
        let saved = work.join("saved.tar")
        try engine.docker(["save", "-o", saved, expected.imageID])
        let savedLayers = try ArchiveMembers(path: saved).imageLayers()
        #expect(savedLayers.map { sha256($0.bytes) } == expected.diffIDs,
                "docker save from Stowage's tar-split records changed the layers")
    }
}

@Suite("tar-split records written as Go's encoding/json writes them")
struct TarSplitEncodingTests {
    @Test("names are escaped as Go escapes them, payloads are padded base64, byte for byte")
    func encoding() throws {
        let sink = MemorySink()
        let writer = try TarSplitWriter(sink: sink)
        let names = ["plain/file", "a<b>&c\"d\\e", "tab\tnew\nline\r\u{1}", "line\u{2028}para\u{2029}", "€uro/é/\u{2030}", ""]
        for name in names { try writer.addFile(name: Array(name.utf8), size: 3, crc64: [1, 2, 3, 4, 5, 6, 7, 8]) }
        let segments: [[UInt8]] = [[0xff], [0xfb, 0xff], [0, 1, 2], Array(0..<200)]
        for segment in segments { try writer.addSegment(segment) }
        try writer.finish()
        let lines = try GzipDecompressor(MemorySource(sink.bytes)).readAll().split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }

        let goNames = [#"plain/file"#, #"a\u003cb\u003e\u0026c\"d\\e"#, #"tab\tnew\nline\r\u0001"#, #"line\u2028para\u2029"#,
                       "€uro/é/\u{2030}"]
        for (index, name) in goNames.enumerated() {
            #expect(lines[index] == #"{"type":1,"name":"\#(name)","size":3,"payload":"AQIDBAUGBwg=","position":\#(index)}"#)
        }
        #expect(lines[5] == #"{"type":1,"size":3,"payload":"AQIDBAUGBwg=","position":5}"#)
        for (offset, segment) in segments.enumerated() {
            let position = names.count + offset
            #expect(lines[position] == #"{"type":2,"payload":"\#(Data(segment).base64EncodedString())","position":\#(position)}"#)
        }
    }
}
