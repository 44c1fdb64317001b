import Foundation
import StowageCore
import StowageTestSupport
import Testing

/// Builds broken variants of the links fixture in a scratch directory.
private func brokenArchive(_ kind: String, in scratch: TemporaryDirectory) throws -> String {
    let tree = scratch.join("tree-\(kind)")
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    let source = kind == "unknown media type" ? "links-oci.tar" : "links.tar"
    try shell("tar -xf '\(Fixtures.path(source))' -C '\(tree)'")
    let output = scratch.join("\(kind.replacingOccurrences(of: " ", with: "-")).tar")
    let edit = """
        import hashlib, json, os, sys
        tree, kind = sys.argv[1], sys.argv[2]
        def load(path): return json.load(open(os.path.join(tree, path)))
        def dump(path, value):
            with open(os.path.join(tree, path), "w") as f: json.dump(value, f)
        if kind in ("missing file", "manifest names a missing layer", "extra file", "config digest differs from its name", "layer diff_id differs"):
            manifest = load("manifest.json")
            entry = manifest[0]
            if kind == "missing file":
                os.remove(os.path.join(tree, entry["Layers"][-1]))
            elif kind == "manifest names a missing layer":
                entry["Layers"][-1] = "0" * 64 + "/layer.tar"
            elif kind == "extra file":
                open(os.path.join(tree, "notes.txt"), "w").write("not part of an image\\n")
            elif kind == "config digest differs from its name":
                with open(os.path.join(tree, entry["Config"]), "a") as f: f.write(" ")
            else:
                config = load(entry["Config"])
                config["rootfs"]["diff_ids"][-1] = "sha256:" + "1" * 64
                data = json.dumps(config).encode()
                os.remove(os.path.join(tree, entry["Config"]))
                entry["Config"] = hashlib.sha256(data).hexdigest() + ".json"
                open(os.path.join(tree, entry["Config"]), "wb").write(data)
            dump("manifest.json", manifest)
        elif kind == "unknown media type":
            index = load("index.json")
            path = "blobs/sha256/" + index["manifests"][0]["digest"][7:]
            manifest = load(path)
            manifest["layers"][-1]["mediaType"] = "application/vnd.example.unknown.layer"
            data = json.dumps(manifest).encode()
            digest = hashlib.sha256(data).hexdigest()
            open(os.path.join(tree, "blobs/sha256", digest), "wb").write(data)
            index["manifests"][0]["digest"] = "sha256:" + digest
            index["manifests"][0]["size"] = len(data)
            dump("index.json", index)
        """
    if kind == "truncated archive" {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("links.tar")))
        try bytes.prefix(bytes.count * 3 / 4).write(to: URL(fileURLWithPath: output))
        return output
    }
    _ = try runProcess(["python3", "-c", edit, tree, kind])
    try shell("tar -cf '\(output)' -C '\(tree)' .")
    return output
}

@Suite("Bad input, crashes and concurrent loads leave a consistent data root")
struct RobustnessTests {
    @Test("a bad archive is one error line, exit status 1, and the data root exactly as before", arguments: [
        ("missing file", "missing from the archive"),
        ("extra file", "unexpected file notes.txt"),
        ("manifest names a missing layer", "missing from the archive"),
        ("config digest differs from its name", "not the sha256:"),
        ("layer diff_id differs", "diff_id mismatch"),
        ("unknown media type", "unknown media type"),
        ("truncated archive", "truncated"),
    ])
    func badArchive(_ kind: String, _ message: String) throws {
        let root = try DataRoot()
        try root.succeed(["load", "-i", Fixtures.path("whiteout.tar")])
        let archive = try brokenArchive(kind, in: root.scratch)
        let before = try root.listing()

        let result = try root.run(["load", "-i", archive])
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("stowage: ") && lines[0].contains(message), "\(kind): \(result.standardError)")
        #expect(try root.listing() == before, "\(kind) left something behind")
    }

    @Test("a full disk fails the load cleanly")
    func fullDisk() throws {
        let root = try DataRoot()
        try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: false)
        try shell("mount -t tmpfs -o size=1m stowage-full '\(root.path)'")
        defer { _ = try? runProcess(["umount", root.path]) }
        try root.succeed(["images"])
        let before = try root.listing()
        let result = try root.run(["load", "-i", Fixtures.path("base.tar")])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("stowage: ") && result.standardError.contains("No space left on device"), "\(result.standardError)")
        #expect(try root.listing() == before)
    }

    @Test("a load killed at any step leaves a root the next command makes consistent, and loading again works",
          arguments: ["layer-applied", "layers-stored", "image-stored", "references-staged"], ["vfs", "overlay2"])
    func crash(_ point: String, _ driver: String) throws {
        let root = try DataRoot(driver: driver)
        try root.succeed(["load", "-i", Fixtures.path("whiteout.tar")])
        let killed = try root.run(["load", "-i", Fixtures.path("links.tar")], environment: ["STOWAGE_TEST_CRASH_AT": point])
        #expect(killed.status == SIGKILL, "the load was not killed at \(point)")

        try root.succeed(["images"])  // the next command sweeps
        let leftovers = try root.listing().filter {
            $0.hasPrefix("tmp/") || $0.hasPrefix("image/\(root.driver)/layerdb/tmp/") || $0.contains("-removing") || $0.contains(".partial-")
        }
        #expect(leftovers == [], "after a crash at \(point)")
        let cacheIDs = try root.layerDirectories().map {
            try String(contentsOfFile: root.metadata + "/layerdb/sha256/\($0)/cache-id", encoding: .utf8)
        }
        let directories = try root.driverLayers()
        #expect(Set(directories) == Set(cacheIDs), "every layer directory belongs to a layer and back")

        #expect(try root.succeed(["load", "-i", Fixtures.path("links.tar")]) == "Loaded image: fixture/links:latest\n")
        let images = try root.succeed(["images", "--format", "{{.Repository}}"])
        #expect(images.split(separator: "\n").sorted() == ["fixture/links", "fixture/whiteout"])
        #expect(try root.layerDirectories().count == 4)
    }

    @Test("two processes loading images that share a base at once both finish, the base stored once",
          arguments: ["vfs", "overlay2"])
    func concurrentLoads(_ driver: String) throws {
        for _ in 0..<3 {
            let root = try DataRoot(driver: driver)
            let binary = try stowageBinary()
            let processes = ["whiteout.tar", "links.tar"].map { archive -> Process in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["--data-root", root.path, "--storage-driver", root.driver, "load", "-q", "-i", Fixtures.path(archive)]
                process.standardOutput = FileHandle.nullDevice
                return process
            }
            for process in processes { try process.run() }
            for process in processes { process.waitUntilExit() }
            #expect(processes.map(\.terminationStatus) == [0, 0])
            let images = try root.succeed(["images", "--format", "{{.Repository}}"])
            #expect(images.split(separator: "\n").sorted() == ["fixture/links", "fixture/whiteout"])
            #expect(try root.layerDirectories().count == 4)
            #expect(try root.driverLayers().count == 4)
        }
    }
}
