import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("tag, rmi, image prune and load messages, side by side with the real docker")
struct ImageVerbTests {
    /// The links fixture renamed to `fixture/whiteout:latest`, so loading it takes that tag
    /// from the whiteout image.
    private func retaggedLinks(in scratch: TemporaryDirectory) throws -> String {
        let tree = scratch.join("retagged")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: false)
        try shell("tar -xf '\(Fixtures.path("links.tar"))' -C '\(tree)' && sed -i 's,fixture/links:latest,fixture/whiteout:latest,' '\(tree)/manifest.json' && rm '\(tree)/repositories'")
        let archive = scratch.join("retagged.tar")
        try shell("tar -cf '\(archive)' -C '\(tree)' .")
        return archive
    }

    @Test("the same commands print the same lines as docker")
    func sameAsDocker() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let retagged = try retaggedLinks(in: root.scratch)
        let links = try Fixtures.expected("links").imageID

        let script: [[String]] = [
            ["load", "-i", Fixtures.path("whiteout+links.tar")],
            ["tag", "fixture/links", "mine:v1"],
            ["tag", "fixture/links:latest", "localhost:5000/team/mine"],
            ["images"],
            ["rmi", "mine:v1"],
            ["rmi", "localhost:5000/team/mine:latest"],
            ["tag", String(links.dropFirst(7).prefix(12)), "second"],
            ["load", "-i", retagged],
            ["images", "-a"],
            ["images", "--filter", "dangling=true", "-q"],
            ["images", "--filter", "reference=fixture/*"],
            ["images", "fixture/links"],
            ["rmi", "second"],
            ["image", "prune", "-f"],
            ["images"],
            ["rmi", "fixture/whiteout"],
            ["images"],
            ["load", "-i", Fixtures.path("base.tar")],
            ["rmi", "fixture/links"],
            ["images", "-a"],
        ]
        for arguments in script {
            let docker = try runProcess(["docker", "--host", "unix://\(engine.socket)"] + arguments)
            let stowage = try root.run(arguments)
            #expect(stowage.status == docker.status, "\(arguments): \(stowage.standardError)")
            #expect(Self.rows(stowage.output) == Self.rows(docker.output),
                    "\(arguments.joined(separator: " ")):\n\(stowage.output)-- docker:\n\(docker.output)")
        }
    }

    @Test("rmi with containers and committed parents keeps and deletes what docker's does, to the same layers")
    func removalWithContainersAndParents() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = SideOfComparison { try root.run($0) }
        let docker = SideOfComparison { try runProcess(["docker", "--host", "unix://\(engine.socket)"] + $0) }
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("whiteout+links.tar")],
            ["create", "--name", "c1", "fixture/links"], ["commit", "c1", "x:1"], ["rm", "c1"],
            ["create", "--name", "c2", "x:1"], ["commit", "c2", "y:1"], ["rm", "c2"],
            ["rmi", "x:1"],  // only untags: y:1 is its child
            ["images", "-a", "-q"],
            ["rmi", "<x>"],  // refused, even with -f: a child
            ["rmi", "-f", "<x>"],
            ["create", "--name", "c3", "y:1"],
            ["rmi", "y:1"],  // refused: c3 uses it
            ["rmi", "<y>"],
            ["rmi", "-f", "y:1"],  // deletes y and its untagged parent x; c3 keeps their layers
            ["images", "-a"],
            ["ps", "-a", "--format", "{{.Image}} {{.Names}} {{.Command}}"],
            ["diff", "c3"],
            ["rm", "c3"],  // and now the layers go
            ["images", "-a"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            #expect(mine.status == theirs.status, "\(arguments): \(mine.error) -- docker: \(theirs.error)")
            #expect(mine.output == theirs.output && mine.error == theirs.error,
                    "\(arguments.joined(separator: " ")):\n\(mine.output)\(mine.error)-- docker:\n\(theirs.output)\(theirs.error)")
        }
        let layers = { (dataRoot: String) in try FileManager.default.contentsOfDirectory(atPath: dataRoot + "/image/vfs/layerdb/sha256").sorted() }
        #expect(try layers(root.path) == layers(engine.dataRoot))
        #expect(try root.driverLayers().count == FileManager.default.contentsOfDirectory(atPath: engine.dataRoot + "/vfs/dir").count)
    }

    @Test("save writes byte for byte what docker save writes, for names, repositories and IDs; several images hold the same members")
    func saveSameAsDocker() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let base = try Fixtures.expected("base").imageID
        for run in [{ try root.succeed($0) }, { try engine.docker($0) }] {
            for fixture in ["base", "whiteout+links", "many-layers"] { _ = try run(["load", "-i", Fixtures.path(fixture + ".tar")]) }
            _ = try run(["tag", "fixture/base", "other:v2"])
            _ = try run(["tag", "fixture/base", "fixture/base:v2"])
        }
        let save = { (arguments: [String], side: String) throws -> [UInt8] in
            let path = root.scratch.join("\(side).tar")
            if side == "docker" { _ = try engine.docker(["save", "-o", path] + arguments) } else { try root.succeed(["save", "-o", path] + arguments) }
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        // Docker's own save of one image is the same bytes every time: so must Stowage's be.
        for names in [["fixture/base"], ["fixture/base:latest"], ["fixture/links"], ["fixture/whiteout"], ["fixture/many-layers"],
                      [String(base.dropFirst(7).prefix(12))], [base], ["other"], ["fixture/base:v2", "fixture/base"]] {
            let (mine, theirs) = (try save(names, "stowage"), try save(names, "docker"))
            #expect(mine == theirs, "save \(names): \(mine.count) bytes -- docker: \(theirs.count)")
        }
        // Several images: docker orders them at random (a Go map), so the members and the
        // manifest's items are compared as sets.
        let names = ["fixture/links", "other:v2", "fixture/whiteout"]
        let (mine, theirs) = (try save(names, "stowage"), try save(names, "docker"))
        let members = { (bytes: [UInt8], side: String) throws -> [String: [UInt8]] in
            let path = root.scratch.join("\(side)-members.tar")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            var files = try ArchiveMembers(path: path).files
            let manifest = files.removeValue(forKey: "manifest.json") ?? []
            let items = try JSONSerialization.jsonObject(with: Data(manifest)) as? [Any] ?? []
            let sorted = try items.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self) }.sorted()
            files["manifest items"] = Array(sorted.joined(separator: "\n").utf8)
            // Which directory holds a shared layer tar and which links to it follows the order.
            let layerTars = files.filter { $0.key.hasSuffix("/layer.tar") }
            for name in layerTars.keys { files.removeValue(forKey: name) }
            files["layer tars"] = Array(Set(layerTars.values.map { sha256($0) }).sorted().joined(separator: "\n").utf8)
            return files
        }
        #expect(try members(mine, "stowage") == members(theirs, "docker"))
        // An image saved by ID keeps no name: RepoTags null and no repositories, as docker's.
        let byID = root.scratch.join("by-id.tar")
        try root.succeed(["save", "-o", byID, base])
        let files = try ArchiveMembers(path: byID).files
        #expect(files["repositories"] == nil && String(decoding: files["manifest.json"] ?? [], as: UTF8.self).contains(#""RepoTags":null"#))
    }

    @Test("an image named in several repositories is removed by ID only with -f")
    func conflict() throws {
        let root = try DataRoot()
        try root.succeed(["load", "-i", Fixtures.path("links.tar")])
        try root.succeed(["tag", "fixture/links", "other/name:v2"])
        let refused = try root.run(["rmi", "6920e7a9ca9f"])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("conflict: unable to delete 6920e7a9ca9f (must be forced) - image is referenced in multiple repositories"))
        let forced = try root.succeed(["rmi", "-f", "6920e7a9ca9f"])
        #expect(forced.hasPrefix("Untagged: fixture/links:latest\nUntagged: other/name:v2\nDeleted: sha256:6920e7a9ca9f"))
        #expect(try root.layerDirectories() == [])
        #expect(try root.driverLayers() == [])
    }

    @Test("info states what docker info states of the same root and machine; a read verb refuses a data root that does not exist")
    func info() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        for run in [{ try root.succeed($0) }, { try engine.docker($0) }] {
            _ = try run(["load", "-i", Fixtures.path("links.tar")])
            _ = try run(["create", "--name", "c1", "fixture/links"])
        }
        // The lines both engines can state alike (a daemon's plugins, runtimes and version differ).
        let facts = ["Containers:", "Running:", "Paused:", "Stopped:", "Images:", "Storage Driver:", "Logging Driver:", "Cgroup Driver:",
                     "Cgroup Version:", "Kernel Version:", "Operating System:", "OSType:", "Architecture:", "CPUs:", "Total Memory:",
                     "Name:", "Debug Mode:", "Experimental:", "Live Restore Enabled:"]
        let lines = { (text: String) in
            text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { line in facts.contains { line.hasPrefix($0) } }
        }
        let serverPart = { (text: String) in String(text[(text.range(of: "Server:")?.lowerBound ?? text.startIndex)...]) }
        let mine = try root.succeed(["info"])
        let theirs = serverPart(try engine.docker(["info"]))
        #expect(lines(mine) == lines(theirs), "\(mine)-- docker:\n\(theirs)")
        #expect(mine.contains(" Docker Root Dir: \(root.path)\n"))
        let format = "{{.Containers}} {{.ContainersStopped}} {{.Images}} {{.Driver}} {{.DriverStatus}} {{.NCPU}} {{.MemTotal}} {{.OSType}} {{.KernelVersion}}"
        #expect(try root.succeed(["info", "--format", format]) == engine.docker(["info", "--format", format]))
        let other = try runProcess([try stowageBinary(), "--data-root", root.path, "--storage-driver", "zfs", "images"])
        #expect(other.status == 1 && other.standardError.contains("zfs was not found in /proc/filesystems"), "\(other.standardError)")
        let missing = try runProcess([try stowageBinary(), "--data-root", root.path + "-missing", "images"])
        #expect(missing.status == 1 && missing.standardError == "stowage: data root \(root.path)-missing does not exist: nothing was stored there yet\n")
        #expect(!FileManager.default.fileExists(atPath: root.path + "-missing"))
    }

    /// One engine's side of a comparison: the IDs it made (commits, containers) shown as
    /// `<x>`, `<y>`, `<c1>`… so both sides read alike, and `<x>` in arguments replaced by its
    /// ID; its data root shown as `<root>`. Listings are sorted: images made within one
    /// second tie, ordered at random.
    final class SideOfComparison {
        private let execute: ([String]) throws -> ProcessResult
        /// What to show as a token; IDs also by their 12-character prefix.
        private var names: [(id: String, token: String, isID: Bool)] = []

        init(dataRoot: String? = nil, _ execute: @escaping ([String]) throws -> ProcessResult) {
            self.execute = execute
            if let dataRoot { names.append((dataRoot, "<root>", false)) }
        }

        /// Stowage on `root`.
        static func stowage(_ root: DataRoot, environment: [String: String]? = nil) -> SideOfComparison {
            SideOfComparison(dataRoot: root.path) { try root.run($0, environment: environment) }
        }

        /// The docker CLI on `engine`.
        static func docker(_ engine: DockerEngine, environment: [String: String]? = nil) -> SideOfComparison {
            SideOfComparison(dataRoot: engine.dataRoot) {
                try runProcess(["docker", "--host", "unix://\(engine.socket)"] + $0, environment: environment)
            }
        }

        /// Expects the two sides' runs of `arguments` to end with the same status and print the
        /// same standard output.
        static func expectSameStatusAndOutput(_ arguments: [String], _ mine: (status: Int32, output: String, error: String),
                                              _ theirs: (status: Int32, output: String, error: String),
                                              sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(mine.status == theirs.status, "\(arguments): \(mine.error) -- docker: \(theirs.error)", sourceLocation: sourceLocation)
            #expect(mine.output == theirs.output, "\(arguments.joined(separator: " ")):\n\(mine.output)-- docker:\n\(theirs.output)",
                    sourceLocation: sourceLocation)
        }

        /// Shows `text` as `token` from now on.
        func name(_ text: String, as token: String) { names.append((text, token, false)) }

        func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
            let arguments = arguments.map { argument in names.first { $0.token == argument }.map { String($0.id.prefix(12)) } ?? argument }
            let result = try execute(arguments)
            let made = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if arguments.first == "commit" { names.append((String(made.dropFirst("sha256:".count)), "<\(arguments[2].prefix(1))>", true)) }
            if arguments.first == "create" { names.append((made, "<\(arguments[2])>", true)) }
            var output = result.output
            var error = result.standardError.replacingOccurrences(of: "Error response from daemon: ", with: "")
                .replacingOccurrences(of: "stowage: ", with: "")
            for (id, token, isID) in names {
                for form in isID ? [id, String(id.prefix(12))] : [id] {
                    output = output.replacingOccurrences(of: form, with: token)
                    error = error.replacingOccurrences(of: form, with: token)
                }
            }
            if arguments.first == "images" || arguments.first == "diff" {
                output = output.split(separator: "\n").sorted().joined(separator: "\n")
            }
            return (result.status, output, error)
        }
    }

    /// Output lines with the rows of one image in a stable order: docker orders an image's
    /// names at random (a Go map).
    private static func rows(_ output: String) -> [String] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first?.hasPrefix("REPOSITORY") == true else { return lines }
        return [lines[0]] + lines.dropFirst().sorted()
    }
}
