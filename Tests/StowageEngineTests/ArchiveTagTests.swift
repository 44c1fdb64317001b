import Foundation
import StowageTestSupport
import Testing

/// The links fixture with its manifest's RepoTags replaced by `tags`.
private func retagged(_ tags: [String], in root: DataRoot) throws -> String {
    let tree = root.scratch.join("tree-\(abs(tags.hashValue))")
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    try shell("tar -xf '\(Fixtures.path("links.tar"))' -C '\(tree)'")
    let edit = """
        import json, sys
        path = sys.argv[1] + "/manifest.json"
        manifest = json.load(open(path))
        manifest[0]["RepoTags"] = json.loads(sys.argv[2])
        json.dump(manifest, open(path, "w"))
        """
    let json = String(decoding: try JSONSerialization.data(withJSONObject: tags), as: UTF8.self)
    _ = try runProcess(["python3", "-c", edit, tree, json])
    let output = tree + ".tar"
    try shell("tar -cf '\(output)' -C '\(tree)' .")
    return output
}

@Suite("Names an archive gives its images")
struct ArchiveTagTests {
    @Test("a RepoTags entry with a digest, without a tag, or naming an image ID is refused, leaving the root as it was", arguments: [
        ("x@sha256:0123456789012345678901234567890123456789012345678901234567890123", "invalid tag"),
        ("x:v1@sha256:0123456789012345678901234567890123456789012345678901234567890123", "refusing to create a tag with a digest reference"),
        ("fixture/untagged", "invalid tag"),
        ("0123456789012345678901234567890123456789012345678901234567890123", "cannot specify 64-byte hexadecimal strings"),
    ])
    func refusedTag(_ tag: String, _ message: String) throws {
        let root = try DataRoot(driver: "vfs")
        try root.succeed(["load", "-q", "-i", Fixtures.path("whiteout.tar")])
        let archive = try retagged(["fixture/links:ok", tag], in: root)
        let before = try root.listing()
        let result = try root.run(["load", "-i", archive])
        #expect(result.status == 1 && result.standardError.hasPrefix("stowage: ") && result.standardError.contains(message), "\(result.standardError)")
        #expect(try root.listing() == before)
    }

    @Test("2,000 tags of one archive are stored with one write of repositories.json")
    func manyTags() throws {
        let root = try DataRoot(driver: "vfs")
        let tags = (0..<2000).map { "many/tag\($0 % 7):v\($0)" }
        let archive = try retagged(tags, in: root)
        let trace = root.scratch.join("renames")
        let result = try runProcess(["strace", "-f", "-qq", "-o", trace, "-e", "trace=rename,renameat,renameat2",
                                     try stowageBinary(), "--data-root", root.path, "--storage-driver", "vfs", "load", "-q", "-i", archive])
        #expect(result.status == 0, "\(result.standardError)")
        let renames = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("repositories.json\"") && $0.contains("partial") }
        #expect(renames.count == 1, "\(renames.count) renames of repositories.json")
        let listed = try root.succeed(["images", "--format", "{{.Repository}}:{{.Tag}}"]).split(separator: "\n").map(String.init)
        #expect(Set(listed) == Set(tags))
    }
}

@Suite("Layout directories hold only regular files where files are expected")
struct LayoutDirectoryTests {
    @Test("a FIFO where the manifest, the config or a layer should be is refused at once, never waited on",
          arguments: ["manifest.json", "config", "layer"])
    func fifo(_ what: String) throws {
        let root = try DataRoot(driver: "vfs")
        let tree = root.scratch.join("layout")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try shell("tar -xf '\(Fixtures.path("links.tar"))' -C '\(tree)'")
        let target: String
        switch what {
        case "manifest.json": target = "manifest.json"
        case "config": target = try shell("ls '\(tree)' | grep '.json$' | grep -v manifest | head -1").trimmingCharacters(in: .whitespacesAndNewlines)
        default: target = try shell("cd '\(tree)' && ls */layer.tar | tail -1").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try shell("rm '\(tree)/\(target)' && mkfifo '\(tree)/\(target)'")
        let result = try runProcess(["timeout", "20", try stowageBinary(), "--data-root", root.path, "--storage-driver", "vfs", "load", "-i", tree])
        #expect(result.status == 1, "\(what): exit \(result.status) (124 means it waited on the FIFO)")
        #expect(result.standardError.contains("is a FIFO, not a regular file"), "\(result.standardError)")
    }
}
