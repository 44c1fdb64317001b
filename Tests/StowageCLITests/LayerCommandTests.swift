import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("stowage layer …, run as a user runs it")
struct LayerCommandTests {
    static let layer: [UInt8] = try! ArchiveMembers(path: Fixtures.path("links.tar")).imageLayers().last!.bytes
    static let diffID = sha256(layer)

    private func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("apply prints the digests and sizes, and assemble and archive agree with them")
    func applyAssembleArchive() throws {
        let work = try TemporaryDirectory("cli")
        let blob = try work.write("layer.tar", Self.layer)
        let applied = try stowage(["layer", "apply", "--tar-split", work.join("ts.json.gz"), blob, work.join("dir")])
        #expect(applied.status == 0, "\(applied.standardError)")
        #expect(applied.output == """
            diff_id: \(Self.diffID)
            blob: \(Self.diffID) (none, \(Self.layer.count) bytes)
            tar: \(Self.layer.count) bytes, 13 entries, content 17 bytes

            """)
        #expect(try listing(work.path) == ["dir", "layer.tar", "ts.json.gz"])

        let digest = try stowage(["layer", "assemble", "--tar-split", work.join("ts.json.gz"), work.join("dir"), "--digest"])
        #expect(digest.output == Self.diffID + "\n")
        let rebuilt = try stowage(["layer", "assemble", "--tar-split", work.join("ts.json.gz"), work.join("dir"), "-o", work.join("rebuilt.tar")])
        #expect(rebuilt.status == 0)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: work.join("rebuilt.tar")))) == Self.layer)
        let toStandardOutput = try stowage(["layer", "assemble", "--tar-split", work.join("ts.json.gz"), work.join("dir")])
        #expect(Array(toStandardOutput.standardOutput) == Self.layer)

        let archived = try stowage(["layer", "archive", work.join("dir"), "--digest"])
        #expect(archived.status == 0 && archived.output.hasPrefix("sha256:"))
    }

    @Test("digest names the compression and both digests")
    func digest() throws {
        let work = try TemporaryDirectory("cli-digest")
        let gzip = Array(try runProcess(["gzip", "-c", "-n"], input: Data(Self.layer)).standardOutput)
        let blob = try work.write("layer.tar.gz", gzip)
        let result = try stowage(["layer", "digest", blob])
        #expect(result.output == "diff_id: \(Self.diffID)\nblob: \(sha256(gzip)) (gzip, \(gzip.count) bytes)\n")
        let fromStandardInput = try stowage(["layer", "digest", "-"], input: Data(gzip))
        #expect(fromStandardInput.output == result.output)
    }

    @Test("bad input is one error line, exit status 1, and nothing left behind", arguments: [
        "truncated gzip", "wrong diff_id", "escaping entry", "missing file", "existing directory",
    ])
    func badInput(_ kind: String) throws {
        let work = try TemporaryDirectory("cli-bad")
        var arguments = ["layer", "apply", "--tar-split", work.join("ts.json.gz")]
        var expectedMessage = ""
        switch kind {
        case "truncated gzip":
            let gzip = Array(try runProcess(["gzip", "-c"], input: Data(Self.layer)).standardOutput)
            arguments.append(try work.write("blob", Array(gzip.prefix(gzip.count / 2))))
            expectedMessage = "gzip stream truncated"
        case "wrong diff_id":
            arguments += ["--expect-diff-id", sha256(Array("other".utf8)), try work.write("blob", Self.layer)]
            expectedMessage = "diff_id mismatch"
        case "escaping entry":
            let tar = try shell("cd \(work.path) && mkdir -p a && echo x > a/f && tar --transform 's,^a/f,../../f,' -cf - a/f | base64 -w0")
            arguments.append(try work.write("blob", Array(Data(base64Encoded: tar)!)))
            expectedMessage = "points outside the layer"
            try FileManager.default.removeItem(atPath: work.join("a"))
        case "missing file":
            arguments.append(work.join("no-such-blob"))
            expectedMessage = "cannot read"
        default:
            arguments.append(try work.write("blob", Self.layer))
            try FileManager.default.createDirectory(atPath: work.join("dir"), withIntermediateDirectories: false)
            expectedMessage = "exists"
        }
        arguments.append(work.join("dir"))
        let before = try listing(work.path)

        let result = try stowage(arguments)
        #expect(result.status == 1)
        #expect(result.output.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("stowage: ") && lines[0].contains(expectedMessage), "\(result.standardError)")
        #expect(try listing(work.path) == before, "a failed apply left something behind")
    }
}
