import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("Data roots and archives shared with the real Docker engine")
struct DockerInteropTests {
    @Test("docker load accepts stowage save output with the same image IDs; skopeo reads save --format oci")
    func dockerLoadsStowageSave() throws {
        let root = try DataRoot()
        try root.succeed(["load", "-i", Fixtures.path("whiteout+links.tar")])
        let archive = root.scratch.join("saved.tar")
        try root.succeed(["save", "-o", archive, "fixture/whiteout", "fixture/links:latest"])

        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let output = try engine.docker(["load", "-i", archive])
        #expect(output == "Loaded image: fixture/whiteout:latest\nLoaded image: fixture/links:latest\n")
        let ids = try engine.docker(["images", "--no-trunc", "--format", "{{.Repository}} {{.ID}}"])
        #expect(ids.split(separator: "\n").sorted() == [
            "fixture/links \(try Fixtures.expected("links").imageID)",
            "fixture/whiteout \(try Fixtures.expected("whiteout").imageID)",
        ])

        let oci = root.scratch.join("saved-oci.tar")
        try root.succeed(["save", "--format", "oci", "-o", oci, "fixture/links"])
        do {
            let inspected = try runProcess(["skopeo", "inspect", "--raw", "oci-archive:" + oci])
            #expect(inspected.status == 0, "\(inspected.standardError)")
            let layers = try runProcess(["skopeo", "inspect", "oci-archive:" + oci])
            #expect(layers.status == 0, "\(layers.standardError)")
            #expect(layers.output.contains(try Fixtures.expected("links").diffIDs[1].dropFirst(7)))
        }
        // And Stowage reads its own OCI output back.
        let again = try DataRoot()
        #expect(try again.succeed(["load", "-i", oci]) == "Loaded image: fixture/links:latest\n")
        #expect(try again.succeed(["images", "-q", "--no-trunc"]) == (try Fixtures.expected("links").imageID) + "\n")
    }

    @Test("dockerd opens a data root Stowage wrote and runs its images")
    func dockerdOpensStowageRoot() throws {
        let root = try DataRoot()
        try root.succeed(["load", "-i", Fixtures.path("whiteout+links.tar")])
        try root.succeed(["load", "-i", Fixtures.path("base.tar")])
        try root.succeed(["tag", "fixture/base", "localhost:5000/base/copy:v1"])
        let ours = try root.succeed(["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])

        let engine = try DockerEngine(storageDriver: "vfs", dataRoot: root.path)
        defer { engine.stop() }
        let theirs = try engine.docker(["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        #expect(theirs.split(separator: "\n").sorted() == ours.split(separator: "\n").sorted())
        #expect(try engine.docker(["run", "--rm", "--network", "none", "fixture/base", "cat", "/etc/motd"]).hasPrefix("hello"))
        #expect(try engine.docker(["run", "--rm", "--network", "none", "fixture/whiteout", "cat", "/var/lib/app/c.txt"]) == "new\n")
        let history = try engine.docker(["history", "--no-trunc", "--human=false", "--format", "{{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", "fixture/links"])
        #expect(history.split(separator: "\n").map(String.init) == (try Fixtures.expected("links").history))

        // The default tables and inspect's JSON, exactly as the docker CLI prints them.
        for arguments in [["images"], ["images", "-a", "--digests"], ["images", "--no-trunc"], ["images", "-q"],
                          ["history", "fixture/whiteout"], ["history", "--no-trunc", "fixture/links"],
                          ["history", "-q", "fixture/links"], ["history", "-H=false", "fixture/links"],
                          ["history", "--human=false", "--no-trunc", "fixture/whiteout"],
                          ["image", "inspect", "fixture/links", "fixture/whiteout"]] {
            var docker = try engine.docker(arguments)
            var stowage = try root.succeed(arguments.first == "image" ? Array(arguments.dropFirst()) : arguments)
            if arguments[0] == "images" {
                // docker orders the rows of an image with several names at random (a Go map).
                docker = Self.sortedRows(docker)
                stowage = Self.sortedRows(stowage)
            }
            #expect(stowage == docker, "\(arguments.joined(separator: " ")):\n\(stowage)\n-- docker:\n\(docker)")
        }
    }

    private static func sortedRows(_ table: String) -> String {
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let header = lines.first, header.hasPrefix("REPOSITORY") else { return lines.sorted().joined(separator: "\n") }
        return ([header] + lines.dropFirst().sorted()).joined(separator: "\n")
    }

    @Test("Stowage lists and saves a data root dockerd wrote")
    func stowageOpensDockerRoot() throws {
        let scratch = try TemporaryDirectory("docker-root")
        let dataRoot = scratch.join("root")
        do {
            let engine = try DockerEngine(storageDriver: "vfs", dataRoot: dataRoot)
            defer { engine.stop() }
            try engine.docker(["load", "-i", Fixtures.path("whiteout+links.tar")])
            try engine.docker(["tag", "fixture/links", "example.com/team/links:v2"])
        }
        let stowage = { (arguments: [String]) throws -> String in
            let result = try runProcess([try stowageBinary(), "--data-root", dataRoot] + arguments)
            guard result.status == 0 else { throw FixtureError(description: result.standardError) }
            return result.output
        }
        let listed = try stowage(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        #expect(listed.split(separator: "\n").sorted() == [
            "example.com/team/links:v2 6920e7a9ca9f", "fixture/links:latest 6920e7a9ca9f", "fixture/whiteout:latest 7f3e179404ad",
        ])
        let history = try stowage(["history", "--no-trunc", "--human=false", "--format", "{{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}", "fixture/whiteout"])
        #expect(history.split(separator: "\n").map(String.init) == (try Fixtures.expected("whiteout").history))

        let saved = scratch.join("saved.tar")
        _ = try stowage(["save", "-o", saved, "fixture/whiteout"])
        let layers = try ArchiveMembers(path: saved).imageLayers()
        #expect(layers.map { sha256($0.bytes) } == (try Fixtures.expected("whiteout").diffIDs))
    }
}
