import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("OCI layouts with zstd layers, nested indexes and several platforms")
struct OCILayoutTests {
    /// The links image as an OCI layout with zstd-compressed layers, behind a nested index
    /// that offers an arm64 image first and the amd64 one second.
    private func multiPlatformLayout(in scratch: TemporaryDirectory, compressor: String) throws -> String {
        let layout = scratch.join("layout-\(compressor)")
        try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: false)
        let docker = scratch.join("docker-\(compressor)")
        try FileManager.default.createDirectory(atPath: docker, withIntermediateDirectories: false)
        try shell("tar -xf '\(Fixtures.path("links.tar"))' -C '\(docker)'")
        let script = """
            import hashlib, json, os, subprocess, sys
            docker, layout, compressor = sys.argv[1], sys.argv[2], sys.argv[3]
            blobs = os.path.join(layout, "blobs", "sha256")
            os.makedirs(blobs)
            def put(data):
                digest = hashlib.sha256(data).hexdigest()
                open(os.path.join(blobs, digest), "wb").write(data)
                return {"digest": "sha256:" + digest, "size": len(data)}
            manifest = json.load(open(os.path.join(docker, "manifest.json")))[0]
            config = open(os.path.join(docker, manifest["Config"]), "rb").read()
            layers = []
            for path in manifest["Layers"]:
                raw = open(os.path.join(docker, path), "rb").read()
                packed = subprocess.run([compressor, "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
                kind = "zstd" if compressor == "zstd" else "gzip"
                layers.append(dict(put(packed), mediaType="application/vnd.oci.image.layer.v1.tar+" + kind))
            def image(config_bytes):
                return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": dict(put(config_bytes), mediaType="application/vnd.oci.image.config.v1+json"),
                    "layers": layers}).encode()
            arm_config = json.loads(config)
            arm_config["architecture"] = "arm64"
            arm = dict(put(image(json.dumps(arm_config).encode())), mediaType="application/vnd.oci.image.manifest.v1+json",
                       platform={"architecture": "arm64", "os": "linux", "variant": "v8"})
            amd = dict(put(image(config)), mediaType="application/vnd.oci.image.manifest.v1+json",
                       platform={"architecture": "amd64", "os": "linux"})
            nested = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                     "manifests": [arm, amd]}).encode())
            index = {"schemaVersion": 2, "manifests": [dict(nested, mediaType="application/vnd.oci.image.index.v1+json",
                     annotations={"io.containerd.image.name": "example.com/multi/links:v1",
                                  "org.opencontainers.image.ref.name": "v1"})]}
            json.dump(index, open(os.path.join(layout, "index.json"), "w"))
            json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(layout, "oci-layout"), "w"))
            """
        let result = try runProcess(["python3", "-c", script, docker, layout, compressor])
        guard result.status == 0 else { throw FixtureError(description: result.standardError) }
        return layout
    }

    @Test("the linux/amd64 image of a nested multi-platform index loads, named by its annotation, and says so",
          arguments: ["zstd", "gzip"])
    func multiPlatform(_ compressor: String) throws {
        let root = try DataRoot()
        let layout = try multiPlatformLayout(in: root.scratch, compressor: compressor)
        let output = try root.succeed(["load", "-i", layout])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("Chose linux/amd64") == true && lines.first?.contains("linux/arm64/v8") == true, "\(output)")
        #expect(lines.last == "Loaded image: example.com/multi/links:v1")
        #expect(try root.succeed(["images", "-q", "--no-trunc"]) == (try Fixtures.expected("links").imageID) + "\n")
        let expected = try Fixtures.expected("links")
        #expect(try root.layerDirectories() == expected.chainIDs.map { String($0.dropFirst(7)) }.sorted())

        // Saved again as docker-archive, the layers are the original uncompressed ones.
        let saved = root.scratch.join("saved.tar")
        try root.succeed(["save", "-o", saved, "example.com/multi/links:v1"])
        #expect(try ArchiveMembers(path: saved).imageLayers().map { sha256($0.bytes) } == expected.diffIDs)
    }

    @Test("a layer whose blob does not match its descriptor's digest is refused, leaving nothing")
    func blobDigestMismatch() throws {
        let root = try DataRoot()
        let layout = try multiPlatformLayout(in: root.scratch, compressor: "gzip")
        // Swap the bytes of one layer blob for another valid gzip stream.
        let blobs = layout + "/blobs/sha256"
        let names = try FileManager.default.contentsOfDirectory(atPath: blobs)
        let layerBlob = try #require(names.first { name in
            (try? Data(contentsOf: URL(fileURLWithPath: blobs + "/" + name)).prefix(2)) == Data([0x1f, 0x8b])
                && ((try? FileManager.default.attributesOfItem(atPath: blobs + "/" + name)[.size] as? Int) ?? 0) < 4096
        })
        let size = (try FileManager.default.attributesOfItem(atPath: blobs + "/" + layerBlob)[.size] as? Int) ?? 0
        var replacement = Array(try runProcess(["gzip", "-c"], input: Data("tampered".utf8)).standardOutput)
        replacement += [UInt8](repeating: 0, count: max(0, size - replacement.count))  // same size, trailing garbage
        try Data(replacement.prefix(size)).write(to: URL(fileURLWithPath: blobs + "/" + layerBlob))
        try root.makeEmpty()
        let before = try root.listing()
        let result = try root.run(["load", "-i", layout])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("stowage: "), "\(result.standardError)")
        #expect(try root.listing() == before)
    }
}
