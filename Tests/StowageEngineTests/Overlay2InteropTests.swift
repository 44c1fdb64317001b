import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("overlay2 data roots shared with the real Docker engine")
struct Overlay2InteropTests {
    /// Per layer (by chain ID): the files under `diff/` (with type and mode), the depth of
    /// `lower`, and the length of `link`.
    private func shape(of dataRoot: String) throws -> [String: String] {
        let layerDB = dataRoot + "/image/overlay2/layerdb/sha256"
        var shapes: [String: String] = [:]
        for chain in try FileManager.default.contentsOfDirectory(atPath: layerDB) {
            let cacheID = try String(contentsOfFile: layerDB + "/" + chain + "/cache-id", encoding: .utf8)
            let directory = dataRoot + "/overlay2/" + cacheID
            let files = try shell("cd '\(directory)/diff' && find . -printf '%p %y %m\\n' | sort")
            let lower = (try? String(contentsOfFile: directory + "/lower", encoding: .utf8)) ?? ""
            let lowerShape = lower.isEmpty ? "none" : lower.split(separator: ":").map { "\($0.count)" }.joined(separator: ":")
            let link = try String(contentsOfFile: directory + "/link", encoding: .utf8)
            let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().joined(separator: ",")
            shapes[chain] = "entries=\(entries) lower=\(lowerShape) link=\(link.count)\n\(files)"
        }
        return shapes
    }

    @Test("Stowage lays out overlay2 layers as dockerd does, and dockerd runs images from a Stowage root")
    func sameLayoutAsDocker() throws {
        let docker = try DockerEngine(storageDriver: "overlay2")
        defer { docker.stop() }
        try docker.docker(["load", "-i", Fixtures.path("whiteout+links.tar")])
        docker.stop()

        let root = try DataRoot(driver: "overlay2")
        try root.succeed(["load", "-i", Fixtures.path("whiteout+links.tar")])
        let theirs = try shape(of: docker.dataRoot), ours = try shape(of: root.path)
        #expect(Set(ours.keys) == Set(theirs.keys))
        for (chain, expected) in theirs {
            // dockerd creates `work` and `merged` lazily for some layers; compare the rest.
            let normalise = { (text: String) in
                text.replacingOccurrences(of: ",merged", with: "").replacingOccurrences(of: ",work", with: "")
            }
            #expect(normalise(ours[chain] ?? "") == normalise(expected), "layer \(chain)")
        }

        let engine = try DockerEngine(storageDriver: "overlay2", dataRoot: root.path)
        defer { engine.stop() }
        // inspect's GraphDriver is what dockerd derives from the same layout.
        for image in ["fixture/links", "fixture/whiteout"] {
            let theirs = try engine.docker(["image", "inspect", image])
            let ours = try root.succeed(["inspect", image])
            let graphDriver = { (text: String) -> String in
                let objects = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
                let value = objects?.first?["GraphDriver"] ?? [:]
                return String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
            }
            #expect(graphDriver(ours) == graphDriver(theirs), "\(image)")
            #expect(graphDriver(ours).contains("LowerDir"))
        }
        let listing = try engine.docker(["run", "--rm", "--network", "none", "fixture/links", "ls", "/data/links"])
        #expect(listing == "abs\nhard\nsoft\nt\n")
        #expect(try engine.docker(["run", "--rm", "--network", "none", "fixture/whiteout", "cat", "/var/lib/app/c.txt"]) == "new\n")
        let missing = try runProcess(["docker", "--host", "unix://\(engine.socket)", "run", "--rm", "--network", "none", "fixture/whiteout", "ls", "/etc/motd"])
        #expect(missing.status != 0, "the whiteout hides /etc/motd under dockerd too")
    }
}
