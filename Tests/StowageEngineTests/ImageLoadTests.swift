import Foundation
import StowageCore
import StowageTestSupport
import Testing

/// A data root in a temporary directory, used through the built `stowage` with one storage driver.
final class DataRoot {
    let scratch: TemporaryDirectory
    let path: String
    let driver: String

    init(_ label: String = "root", driver: String = "vfs") throws {
        scratch = try TemporaryDirectory(label)
        path = scratch.join("root")
        self.driver = driver
    }

    /// Runs `stowage --data-root ROOT --storage-driver DRIVER ARGUMENTS…`.
    @discardableResult
    func run(_ arguments: [String], input: Data? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
        try runProcess([try stowageBinary(), "--data-root", path, "--storage-driver", driver] + arguments,
                       input: input, environment: environment)
    }

    /// Makes the data root's layout (an empty store), as the first command on it would.
    func makeEmpty() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try succeed(["images"])
    }

    /// Runs and requires success; returns standard output.
    @discardableResult
    func succeed(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        guard result.status == 0 else {
            throw FixtureError(description: "stowage \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return result.output
    }

    /// Every path under the root with its type and size, for before/after comparisons; the
    /// indexes (`.stowage/*.index`, caches any command may write) are left out.
    func listing() throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
        var lines: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasPrefix(".stowage/"), relative.hasSuffix(".index") { continue }
            var st = stat()
            lstat(path + "/" + relative, &st)
            let isRegular = st.st_mode & S_IFMT == S_IFREG
            lines.append("\(relative) \(String(st.st_mode & S_IFMT, radix: 8)) \(isRegular ? String(st.st_size) : "")")
        }
        return lines.sorted()
    }

    /// `image/<driver>`, the metadata root.
    var metadata: String { path + "/image/" + driver }

    func layerDirectories() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: metadata + "/layerdb/sha256").sorted()
    }

    /// The driver's layer directories (`vfs/dir/*`, `overlay2/*` but `l`).
    func driverLayers() throws -> [String] {
        let home = driver == "vfs" ? path + "/vfs/dir" : path + "/" + driver
        return try FileManager.default.contentsOfDirectory(atPath: home).filter { $0 != "l" }.sorted()
    }
}

@Suite("Loading Docker's fixture images")
struct ImageLoadTests {
    static let dockerArchives = ["base", "whiteout", "links", "many-layers"]

    @Test("IDs, tags, layers, chain IDs and history agree with what Docker reported", arguments: dockerArchives, ["vfs", "overlay2"])
    func agreesWithDocker(_ name: String, _ driver: String) throws {
        let expected = try Fixtures.expected(name)
        let root = try DataRoot(driver: driver)
        let loaded = try root.succeed(["load", "-i", Fixtures.path(name + ".tar")])
        #expect(loaded == expected.repoTags.map { "Loaded image: \($0)\n" }.joined())

        let inspect = try root.succeed(["inspect", expected.repoTags[0]])
        let object = try #require((try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]])?.first)
        #expect(object["Id"] as? String == expected.imageID)
        #expect(object["RepoTags"] as? [String] == expected.repoTags)
        #expect((object["RootFS"] as? [String: Any])?["Layers"] as? [String] == expected.diffIDs)
        #expect((object["GraphDriver"] as? [String: Any])?["Name"] as? String == driver)
        #expect(try root.layerDirectories() == expected.chainIDs.map { String($0.dropFirst(7)) }.sorted())

        let history = try root.succeed(["history", "--no-trunc", "--human=false",
                                        "--format", "{{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}", expected.repoTags[0]])
        let sizes = driver == "overlay2" ? Self.overlay2Sizes : [:]
        let expectedHistory = expected.history.map { row in
            var fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if let size = sizes[fields[2]] { fields[2] = String(size) }
            return fields.joined(separator: "\t")
        }
        #expect(history.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == expectedHistory)

        let imageSize = expected.history.reduce(Int64(0)) { total, row in
            let size = row.split(separator: "\t", omittingEmptySubsequences: false)[2]
            return total + (sizes[String(size)] ?? Int64(size)!)
        }
        #expect(driver != "vfs" || imageSize == expected.size)
        let images = try root.succeed(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"])
        #expect(images == "\(expected.imageID) \(expected.repoTags[0]) \(humanSize(imageSize))\n")
    }

    /// Where dockerd 20.10's overlay2 counts a layer otherwise than vfs (the fixtures' figures):
    /// it stores `directory.Size` of the applied `diff/`, in which symbolic links count their
    /// target's length. Read with `docker history --human=false` from a dockerd on overlay2;
    /// keyed by the vfs size of the layer. (The container tests compare every driver with a
    /// live dockerd.)
    static let overlay2Sizes: [String: Int64] = ["1982302": 1_982_421, "17": 29]

    @Test("two images in one archive share their base layer, stored once")
    func sharedBase() throws {
        let root = try DataRoot()
        let output = try root.succeed(["load", "-i", Fixtures.path("whiteout+links.tar")])
        #expect(output == "Loaded image: fixture/whiteout:latest\nLoaded image: fixture/links:latest\n")
        let chains = Set(try Fixtures.expected("whiteout").chainIDs + Fixtures.expected("links").chainIDs)
        #expect(try root.layerDirectories() == chains.map { String($0.dropFirst(7)) }.sorted())
        #expect(chains.count == 4)
        #expect(try root.driverLayers().count == 4)

        // Loading the base alone again applies nothing new.
        let before = try root.listing()
        #expect(try root.succeed(["load", "-i", Fixtures.path("base.tar")]) == "Loaded image: fixture/base:latest\n")
        let added = Set(try root.listing()).subtracting(before)
        #expect(added.allSatisfy { $0.hasPrefix("image/vfs/imagedb/") || $0.hasPrefix("image/vfs/repositories.json") }, "\(added)")
    }

    @Test("OCI layouts load from a tar and from a directory, with the same layers as the Docker image",
          arguments: [("whiteout-oci.tar", "whiteout", "Loaded image: fixture/whiteout:latest\n"),
                      ("links-oci.tar", "links", nil)])
    func ociLayouts(_ archive: String, _ name: String, _ message: String?) throws {
        let expected = try Fixtures.expected(name)
        for asDirectory in [false, true] {
            let root = try DataRoot()
            var source = Fixtures.path(archive)
            if asDirectory {
                source = root.scratch.join("layout")
                try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: false)
                try shell("tar -xf '\(Fixtures.path(archive))' -C '\(source)'")
            }
            let output = try root.succeed(["load", "-i", source])
            if let message {
                #expect(output == message)
            } else {
                #expect(output.hasPrefix("Loaded image ID: sha256:"), "\(output)")
            }
            #expect(try root.layerDirectories() == expected.chainIDs.map { String($0.dropFirst(7)) }.sorted())
        }
    }

    @Test("load reads standard input")
    func standardInput() throws {
        let root = try DataRoot()
        let archive = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("base.tar")))
        let result = try root.run(["load"], input: archive)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.output == "Loaded image: fixture/base:latest\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/tmp") == [])
    }

    private func humanSize(_ bytes: Int64) -> String {
        var size = Double(bytes)
        var units = ["B", "kB", "MB", "GB"]
        while size >= 1000, units.count > 1 {
            size /= 1000
            units.removeFirst()
        }
        return String(format: "%.3g", size) + units[0]
    }
}
