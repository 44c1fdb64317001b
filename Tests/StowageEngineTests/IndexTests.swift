import Foundation
import StowageCore
import StowageEngine
import StowageTestSupport
import Testing

/// The listings the indexes serve, each as the CLI prints it.
private func listings(_ root: DataRoot) throws -> [String] {
    try [
        root.succeed(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.Names}} {{.Labels}} {{.Mounts}} {{.Status}}"]),
        root.succeed(["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"]),
        root.succeed(["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"]),
        root.succeed(["images", "-a", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"]),
        root.succeed(["system", "df"]),
        root.succeed(["volume", "ls"]),
    ]
}

private func indexFiles(_ root: DataRoot) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: root.path + "/.stowage").filter { $0.hasSuffix(".index") || $0.hasSuffix(".journal") }
        .sorted().map { root.path + "/.stowage/" + $0 }
}

/// A root with images, tags, containers (named, with volumes and labels), a removed one and a commit.
private func populatedRoot(driver: String = "vfs") throws -> DataRoot {
    let root = try DataRoot(driver: driver)
    try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
    try root.succeed(["load", "-q", "-i", Fixtures.path("links.tar")])
    try root.succeed(["tag", "fixture/base", "other:1"])
    try root.succeed(["create", "--name", "web", "-v", "data:/srv", "--label", "tier=front", "fixture/base"])
    try root.succeed(["create", "-v", "/anonymous", "fixture/links"])
    try root.succeed(["create", "--name", "gone", "fixture/base"])
    try root.succeed(["create", "--name", "kept", "other:1"])
    try root.succeed(["rm", "gone"])
    try root.succeed(["commit", "kept", "committed:1"])
    return root
}

/// Replaces a file as dockerd does (`ioutils.AtomicWriteFile`: a temporary file beside it, renamed over it).
private func writeAsDockerd(_ text: String, to path: String) throws {
    try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
    _ = rename(path + ".tmp", path)
}

@Suite("Indexes: caches of what listings need, never the truth")
struct IndexTests {
    @Test("listings are the same with the indexes, without them, and with them damaged")
    func sameWithAndWithoutIndexes() throws {
        let root = try populatedRoot()
        let expected = try listings(root)
        #expect(try indexFiles(root).map { ($0 as NSString).lastPathComponent }
            == ["containers.index", "containers.journal", "images-vfs.index", "references-vfs.index"])
        #expect(try listings(root) == expected)  // served from the indexes now
        for file in try indexFiles(root) { try FileManager.default.removeItem(atPath: file) }
        #expect(try listings(root) == expected)
        for file in try indexFiles(root) {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            bytes[bytes.count / 2] ^= 0x55
            try bytes.write(to: URL(fileURLWithPath: file))
        }
        #expect(try listings(root) == expected)
        for file in try indexFiles(root) { try Data("stowage".utf8).write(to: URL(fileURLWithPath: file)) }
        #expect(try listings(root) == expected)
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("containers added, removed or renamed behind Stowage's back are seen; an edit nothing announces is flagged by check")
    func foreignChanges() throws {
        let root = try populatedRoot()
        _ = try listings(root)
        let containers = root.path + "/containers"
        let web = try root.succeed(["ps", "-a", "-q", "--no-trunc", "--filter", "name=web"]).trimmingCharacters(in: .whitespacesAndNewlines)
        // Another tool adds a container (a copy of web's files under a new ID and name).
        let newID = String(repeating: "ab", count: 32)
        try FileManager.default.createDirectory(atPath: containers + "/" + newID, withIntermediateDirectories: false)
        let config = try String(contentsOfFile: containers + "/" + web + "/config.v2.json", encoding: .utf8)
        try config.replacingOccurrences(of: web, with: newID).replacingOccurrences(of: "\"/web\"", with: "\"/copy\"")
            .write(toFile: containers + "/" + newID + "/config.v2.json", atomically: false, encoding: .utf8)
        #expect(try root.succeed(["ps", "-a", "--format", "{{.Names}}"]).split(separator: "\n").contains("copy"))
        // ... and removes it again.
        try FileManager.default.removeItem(atPath: containers + "/" + newID)
        #expect(!(try root.succeed(["ps", "-a", "--format", "{{.Names}}"]).split(separator: "\n").contains("copy")))
        #expect(try root.succeed(["create", "--name", "copy", "fixture/base"]).count == 65)

        // A rename in place, as dockerd makes it while it runs: dockerd rewrites its volume
        // database whenever it starts, which the index is sealed with.
        let renamed = config.replacingOccurrences(of: "\"/web\"", with: "\"/site\"")
        try writeAsDockerd(renamed, to: containers + "/" + web + "/config.v2.json")
        try Data("bolt".utf8).write(to: URL(fileURLWithPath: root.path + "/volumes/metadata.db"))
        #expect(try root.succeed(["ps", "-a", "--filter", "name=site", "-q", "--no-trunc"]) == web + "\n")

        // The same edit with nothing announcing it: the index still says `site`, and check says so.
        try writeAsDockerd(config, to: containers + "/" + web + "/config.v2.json")
        let check = try root.run(["check"])
        #expect(check.status == 1 && check.output.contains("container index") && check.output.contains(web), "\(check.status) \(check.output) \(check.standardError)")
        try root.succeed(["check", "--repair"])
        #expect(try root.succeed(["ps", "-a", "--filter", "name=web", "-q", "--no-trunc"]) == web + "\n")
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("after dockerd created, renamed and removed containers and loaded and removed images, listings show what is there")
    func afterDockerd() throws {
        let root = try populatedRoot()
        _ = try listings(root)
        let docker = try DockerEngine(storageDriver: "vfs", dataRoot: root.path)
        defer { docker.stop() }
        try docker.docker(["create", "--network", "none", "--name", "fromdocker", "fixture/base", "/bin/true"])
        try docker.docker(["rename", "web", "renamed"])
        try docker.docker(["rm", "kept"])
        try docker.docker(["rmi", "committed:1"])
        try docker.docker(["load", "-i", Fixtures.path("whiteout.tar")])
        docker.stop()
        let afterDocker = try listings(root)
        for file in try indexFiles(root) { try FileManager.default.removeItem(atPath: file) }
        #expect(try listings(root) == afterDocker)
        let names = try root.succeed(["ps", "-a", "--format", "{{.Names}}"]).split(separator: "\n").sorted()
        #expect(names.contains("fromdocker") && names.contains("renamed") && !names.contains("web") && !names.contains("kept"), "\(names)")
        #expect(try root.succeed(["images", "--format", "{{.Repository}}"]).contains("fixture/whiteout"))
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("an image removed or added by another tool just after the image index was stamped is seen")
    func imageChangeAfterStamp() throws {
        let root = try DataRoot(driver: "vfs")
        try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
        try root.succeed(["load", "-q", "-i", Fixtures.path("links.tar")])
        let content = root.path + "/image/vfs/imagedb/content/sha256/"
        let links = try root.succeed(["images", "-q", "--no-trunc", "fixture/links"]).dropFirst("sha256:".count).prefix(64)
        let all = try root.succeed(["images", "-q"])
        // Only a change at least two seconds old vouches for the directory: wait, then list, so
        // that the index is written with the directory's stamp.
        Thread.sleep(forTimeInterval: 2.1)
        #expect(try root.succeed(["images", "-q"]) == all)
        // Within the same second (or tick of the filesystem's clock), as dockerd's rmi and load would.
        let aside = root.path + "/links-config"
        #expect(rename(content + links, aside) == 0)
        #expect(!(try root.succeed(["images", "-q", "--no-trunc"]).contains(String(links))))
        #expect(rename(aside, content + links) == 0)
        #expect(try root.succeed(["images", "-q"]) == all)
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("leftovers made just after an open recorded the layer and config directories clean are swept by the next open")
    func leftoversAfterCleanListings() throws {
        let root = try DataRoot(driver: "overlay2")
        try root.succeed(["load", "-q", "-i", Fixtures.path("links.tar")])
        Thread.sleep(forTimeInterval: 2.1)  // settled: the open records the listings clean
        _ = try root.succeed(["images"])
        #expect(FileManager.default.fileExists(atPath: root.path + "/.stowage/clean-listings-overlay2"))
        let half = String(repeating: "4", count: 64)
        let staging = "image/overlay2/imagedb/content/sha256/" + String(repeating: "5", count: 64) + ".partial-999999-abcd"
        try shell("mkdir overlay2/\(half) image/overlay2/layerdb/sha256/\(half)-removing && printf \(half) > image/overlay2/layerdb/sha256/\(half)-removing/cache-id && echo x > \(staging)",
                  directory: root.path)
        _ = try root.succeed(["images"])
        for leftover in ["overlay2/" + half, "image/overlay2/layerdb/sha256/\(half)-removing", staging] {
            #expect(!FileManager.default.fileExists(atPath: root.path + "/" + leftover), "\(leftover) was not swept")
        }
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("a load records its images in the image index: the first listing after it reads no image config")
    func loadFillsImageIndex() throws {
        let root = try DataRoot(driver: "vfs")
        try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
        let id = try root.succeed(["images", "-q", "--no-trunc"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let config = root.path + "/image/vfs/imagedb/content/sha256/" + id.dropFirst("sha256:".count)
        let original = try Data(contentsOf: URL(fileURLWithPath: config))
        try FileManager.default.removeItem(atPath: root.path + "/.stowage/images-vfs.index")
        try root.succeed(["rmi", "fixture/base"])
        try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
        // The config damaged in place (no directory change): a listing that read it would drop the image.
        try Data("{".utf8).write(to: URL(fileURLWithPath: config))
        #expect(try root.succeed(["images", "-q", "--no-trunc"]) == id + "\n")
        try FileManager.default.removeItem(atPath: root.path + "/.stowage/images-vfs.index")
        #expect(try root.succeed(["images", "-q", "--no-trunc"]) == "")
        try original.write(to: URL(fileURLWithPath: config))
        #expect(try root.succeed(["images", "-q", "--no-trunc"]) == id + "\n")
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("the container journal grows by one frame per change and is folded into a new snapshot once it is large")
    func journalCompaction() throws {
        let root = try DataRoot(driver: "vfs")
        try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
        let engine = try Engine(EngineConfiguration(dataRoot: root.path, storageDriver: "vfs"))
        defer { engine.close() }
        let journal = root.path + "/.stowage/containers.journal"
        let size = { (try? FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int) ?? 0 }
        var sizes: [Int] = []
        var made: [String] = []
        for round in 0..<160 {
            made.append(try engine.containers.create(ContainerCreation(image: "fixture/base", name: "c\(round)")))
            if round % 3 == 0 { try engine.containers.remove(made.removeFirst(), force: true, removeVolumes: true) }
            sizes.append(size())
        }
        #expect(zip(sizes, sizes.dropFirst()).contains { $1 < $0 }, "never compacted: \(sizes.suffix(5))")
        #expect(sizes.max()! < 200 << 10)
        let withIndex = try listings(root)
        #expect(try root.succeed(["ps", "-a", "-q"]).split(separator: "\n").count == made.count)
        for file in try indexFiles(root) { try FileManager.default.removeItem(atPath: file) }
        #expect(try listings(root) == withIndex)
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("create checks names in the snapshot's names section; a damaged section is not trusted")
    func damagedNamesSection() throws {
        let root = try populatedRoot()
        for file in try indexFiles(root) { try FileManager.default.removeItem(atPath: file) }
        _ = try listings(root)  // a snapshot of every container, no journal
        let snapshot = root.path + "/.stowage/containers.index"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        let web = try #require(bytes.range(of: Data("/web".utf8)))
        bytes[web.lowerBound + 1] = UInt8(ascii: "x")  // "/xeb": the section no longer matches its SHA-256
        try bytes.write(to: URL(fileURLWithPath: snapshot))
        let taken = try root.run(["create", "--name", "web", "fixture/base"])
        #expect(taken.status != 0 && taken.standardError.contains("is already in use"), "\(taken.standardError)")
        #expect(try root.succeed(["create", "--name", "xeb", "fixture/base"]).count == 65)
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("a kill at any step of a change keeps the index valid or detected: listings match the files after every point")
    func killDuringIndexUpdates() throws {
        for (syscall, command) in [("renameat2", ["create", "--name", "new", "fixture/base"]), ("unlinkat", ["rm", "web"]),
                                   ("write", ["create", "--name", "new", "fixture/base"]), ("unlink", ["rm", "web"])] {
            var point = 1
            while point < 40 {
                let root = try populatedRoot()
                _ = try listings(root)
                let result = try runProcess(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=\(syscall)",
                                             "-e", "inject=\(syscall):signal=KILL:when=\(point)",
                                             try stowageBinary(), "--data-root", root.path, "--storage-driver", root.driver] + command)
                let withIndex = try listings(root)
                for file in try indexFiles(root) { try FileManager.default.removeItem(atPath: file) }
                #expect(try listings(root) == withIndex, "\(syscall) #\(point) of \(command)")
                #expect(try root.succeed(["check"]) == "", "\(syscall) #\(point) of \(command)")
                if result.status == 0 { break }  // the command made fewer calls: every point is done
                point += 1
            }
        }
    }
}
