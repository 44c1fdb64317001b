@testable import StowageTar
import Testing

/// Details where Go's archive/tar (and so Docker) has one specific answer, so that Stowage's
/// archives of the same tree are byte-identical to Docker's.
@Suite("Writer layout as Go's archive/tar")
struct GoLayoutTests {
    @Test("PAX header blocks are named path.Join(dir, \"PaxHeaders.0\", base)", arguments: [
        ("etc/motd", "etc/PaxHeaders.0/motd"),
        ("motd", "PaxHeaders.0/motd"),
        ("a/b/", "a/b/PaxHeaders.0"),
        ("./etc/motd", "etc/PaxHeaders.0/motd"),
        ("a/../b", "PaxHeaders.0/b"),
        ("/abs/x", "/abs/PaxHeaders.0/x"),
        ("d\u{e9}j\u{e0}/vu", "dj/PaxHeaders.0/vu"),
    ])
    func paxHeaderName(_ name: String, _ expected: String) {
        #expect(String(decoding: TarWriter.paxHeaderName(for: Array(name.utf8)), as: UTF8.self) == expected)
    }

    @Test("a long directory name with a trailing slash is split into ustar prefix and name, not PAX")
    func ustarSplitKeepsTrailingSlash() throws {
        let name = String(repeating: "p", count: 60) + "/" + String(repeating: "n", count: 60) + "/"
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        try writer.writeHeader(TarHeader(name: name, typeflag: TarHeader.directoryFlag))
        try writer.finish()
        #expect(sink.bytes.count == 3 * TarBlock.size)  // one header, no PAX record
        #expect(sink.bytes[0] == UInt8(ascii: "n"))
        #expect(sink.bytes[345] == UInt8(ascii: "p"))
        let reader = TarReader(source: MemorySource(sink.bytes))
        #expect(try reader.next()?.name == name)
    }
}
