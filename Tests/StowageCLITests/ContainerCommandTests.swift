import Foundation
import StowageCore
import StowageTestSupport
import Testing

/// Containers through the `stowage` verbs, compared with what the real Docker reports for
/// the same writes made by `docker run`.
@Suite("stowage create, mount, diff, ps -s, commit, rm, volumes", .serialized)
struct ContainerCommandTests {
    /// The writes, relative to the container's root: a new file, a change, deletions, an
    /// opaque re-create, a directory rename.
    static let writes = "echo hello > newfile && echo x >> etc/passwd && rm bin/ls && mkdir -p d1/sub && echo a > d1/sub/f"
        + " && rm -rf tmp && mkdir tmp && mv var/lib/app var/lib/app2 && rm -rf root && mkdir root && echo r > root/x"
        + " && touch etc/motd"

    /// The drivers of the driver conformance suite (StowageDriversTests).
    static let drivers = ["vfs", "overlay2", "overlay", "btrfs", "fuse-overlayfs"]
    /// The single-image fixtures, each built by Docker from base.
    static let fixtures = ["base", "whiteout", "links", "many-layers"]

    /// A data root for one driver, with fixtures loaded; btrfs gets a loop-mounted btrfs
    /// filesystem, which a Docker engine for the same comparison can share.
    final class Root {
        let directory: TemporaryDirectory
        let filesystem: LoopFileSystem?
        let driver: String
        let path: String

        init(driver: String, fixtures: [String] = ["base"]) throws {
            directory = try TemporaryDirectory("ctr")
            filesystem = driver == "btrfs" ? try LoopFileSystem(type: "btrfs", sizeMiB: 1024) : nil
            self.driver = driver
            path = (filesystem?.mountPoint ?? directory.path) + "/root"
            for fixture in fixtures { try run(["load", "-i", Fixtures.path(fixture + ".tar")]) }
        }

        deinit { unmountEverything(under: directory.path) }

        /// A Docker engine with the same driver, its data root beside this one.
        func docker() throws -> DockerEngine {
            try DockerEngine(storageDriver: driver, dataRoot: filesystem.map { $0.mountPoint + "/docker" })
        }

        /// Runs a verb on this root; throws unless it succeeds.
        @discardableResult
        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
            let result = try stowage(["--data-root", path, "-s", driver] + arguments)
            guard result.status == 0 else {
                throw FixtureError(description: "stowage \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.standardError)")
            }
            return result.output
        }

        /// Mounts the container, runs the writes in its root, unmounts.
        func write(_ container: String, _ script: String) throws {
            let merged = try run(["mount", container]).trimmingCharacters(in: .whitespacesAndNewlines)
            guard merged.hasPrefix(path + "/") else { throw FixtureError(description: "mount printed \(merged)") }
            _ = try shell("set -e; cd '\(merged)' && " + script)
            try run(["unmount", container])
        }
    }

    @Test("diff, ps -s and the committed layer agree with Docker's for the same writes on every fixture", arguments: drivers)
    func agreesWithDocker(driver: String) throws {
        let root = try Root(driver: driver, fixtures: Self.fixtures)
        let docker = try root.docker()
        defer { docker.stop() }
        for fixture in Self.fixtures {
            try docker.docker(["load", "-i", Fixtures.path(fixture + ".tar")])
        }
        // The same command as Docker's container, so that the commit's history says the same.
        let command = ["sh", "-c", "cd / && " + Self.writes]
        for fixture in Self.fixtures {
            let image = "fixture/\(fixture)", name = "c-\(fixture)"
            try root.run(["create", "--name", name, image] + command)
            try root.write(name, Self.writes)
            try docker.docker(["run", "--network", "none", "--name", name, image] + command)

            let ours = try root.run(["diff", name]).split(separator: "\n").map(String.init)
            let theirs = try docker.docker(["diff", name]).split(separator: "\n").map(String.init)
            // Docker lists a naive diff in map order: compare the lines, not their order.
            #expect(ours.sorted() == theirs.sorted(), "diff of \(fixture) on \(driver)")
        }

        let sizes = ["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"]
        let ourSizes = try root.run(sizes).split(separator: "\n").sorted()
        let theirSizes = try docker.docker(sizes).split(separator: "\n").sorted()
        #expect(ourSizes == theirSizes, "ps -s on \(driver)")
        #expect(ourSizes.first == "c-base 58B (virtual 1.98MB)")

        for fixture in Self.fixtures {
            let name = "c-\(fixture)", committed = "fixture/committed-\(fixture):1"
            try root.run(["commit", "-m", "msg", "-a", "me", name, committed])
            try docker.docker(["commit", "-m", "msg", "-a", "me", name, committed])
            let history = ["history", "--format", "{{.CreatedBy}}|{{.Size}}|{{.Comment}}", committed]
            let ourHistory = try root.run(history), theirHistory = try docker.docker(history)
            #expect(ourHistory == theirHistory, "history of \(fixture) on \(driver)")
            // The docker CLI prints `&`, `<`, `>` as they are in `inspect` (its encoder does not
            // escape HTML) but escaped in `{{json .}}` (json.Marshal), as the files on disk are.
            let inspect = ["image", "inspect", committed], json = ["history", "--no-trunc", "--format", "{{json .}}", committed]
            for (arguments, shown) in [(inspect, "cd / && echo hello > newfile"), (json, #"cd / \u0026\u0026 echo hello \u003e newfile"#)] {
                let ourText = try root.run(arguments), theirText = try docker.docker(arguments)
                #expect(theirText.contains(shown) && ourText.contains(shown), "\(arguments):\n\(ourText)\n-- docker:\n\(theirText)")
            }

            let ours = root.directory.join("ours-\(fixture).tar"), theirs = root.directory.join("theirs-\(fixture).tar")
            try root.run(["save", "-o", ours, committed])
            try docker.docker(["save", "-o", theirs, committed])
            let list = { (archive: String) throws -> [String] in
                let layer = try ArchiveMembers(path: archive).imageLayers().last!.bytes
                return try runProcess(["tar", "-t"], input: Data(layer)).output.split(separator: "\n").map(String.init)
            }
            #expect(try list(ours) == list(theirs), "committed layer of \(fixture) on \(driver)")
        }

        // Layer sizes as each driver counts them, image by image and in all. (Images made in
        // the same second may be listed in either order.)
        let images = ["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]
        let ourImages = try root.run(images).split(separator: "\n").sorted()
        let theirImages = try docker.docker(images).split(separator: "\n").sorted()
        #expect(ourImages == theirImages, "images on \(driver)")
        let ourUsage = try root.run(["system", "df"]), theirUsage = try docker.docker(["system", "df"])
        #expect(ourUsage == theirUsage, "system df on \(driver)")
    }

    @Test("an unchanged container commits an empty layer step, as Docker's", arguments: drivers)
    func unchangedCommit(driver: String) throws {
        let root = try Root(driver: driver)
        try root.run(["create", "--name", "c1", "fixture/base"])
        let before = try FileManager.default.contentsOfDirectory(atPath: root.path + "/image/\(driver)/layerdb/sha256").count
        try root.run(["commit", "c1", "fixture/unchanged"])
        #expect(try root.run(["history", "--format", "{{.CreatedBy}}|{{.Size}}", "fixture/unchanged"]) == "/bin/sh|0B\n|1.98MB\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/image/\(driver)/layerdb/sha256").count == before)

        // Once the container is gone, one prune removes the commit and the image it stands on.
        try root.run(["rm", "c1"])
        let pruned = try root.run(["image", "prune", "-a", "-f"])
        #expect(pruned.contains("untagged: fixture/unchanged:latest") && pruned.contains("untagged: fixture/base:latest"))
        #expect(try root.run(["images", "-a", "-q"]).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/image/\(driver)/layerdb/sha256").isEmpty)
    }

    @Test("system df, and container, image and system prune free what they report, as Docker's")
    func pruneAccounting() throws {
        let root = try Root(driver: "overlay2", fixtures: ["base", "whiteout"])
        let docker = try root.docker()
        defer { docker.stop() }
        for fixture in ["base", "whiteout"] { try docker.docker(["load", "-i", Fixtures.path(fixture + ".tar")]) }
        // The same containers on both sides: two with writes (and data in an anonymous volume on
        // /root, which the image has: a missing mount point would be made by the runtime when
        // Docker's container starts, and Stowage runs nothing), one unchanged.
        let writes = "echo hello > newfile && echo x >> etc/passwd && rm -rf var/lib/app"
        for (name, image) in [("w1", "fixture/base"), ("w2", "fixture/whiteout")] {
            let volumesBefore = Set(try root.run(["volume", "ls", "-q"]).split(separator: "\n"))
            try root.run(["create", "--name", name, "-v", "/root", image, "sh", "-c", "cd / && " + writes + " && echo data > root/x"])
            try root.write(name, writes)
            let volume = try #require(Set(try root.run(["volume", "ls", "-q"]).split(separator: "\n")).subtracting(volumesBefore).first)
            try "data\n".write(toFile: root.path + "/volumes/\(volume)/_data/x", atomically: false, encoding: .utf8)
            try docker.docker(["run", "--network", "none", "--name", name, "-v", "/root", image, "sh", "-c",
                               "cd / && " + writes + " && echo data > root/x"])
            let ourDiff = try root.run(["diff", name]).split(separator: "\n").sorted()
            let theirDiff = try docker.docker(["diff", name]).split(separator: "\n").sorted()
            #expect(ourDiff == theirDiff, "diff of \(name)")
        }
        try root.run(["create", "--name", "idle", "fixture/base"])
        try docker.docker(["create", "--name", "idle", "fixture/base"])
        #expect(try root.run(["system", "df"]) == docker.docker(["system", "df"]))

        let reclaimedLine = { (output: String) in output.split(separator: "\n").last.map(String.init) ?? "" }
        // What df calls reclaimable is what the prune then reports.
        let containersRow = try root.run(["system", "df"]).split(separator: "\n").first { $0.hasPrefix("Containers") }
        let reclaimable = try #require(containersRow?.split(separator: " ", omittingEmptySubsequences: true).dropLast().last)
        let ours = try root.run(["container", "prune", "-f"]), theirs = try docker.docker(["container", "prune", "-f"])
        #expect(reclaimedLine(ours) == "Total reclaimed space: \(reclaimable)")
        #expect(reclaimedLine(ours) == reclaimedLine(theirs))
        #expect(ours.split(separator: "\n").count == theirs.split(separator: "\n").count)
        #expect(try root.run(["system", "df"]) == docker.docker(["system", "df"]))

        // The anonymous volumes are unused now (Docker 20.10 prunes every unused volume; both
        // are anonymous here, which is what Stowage prunes without -a).
        let ourSystem = try root.run(["system", "prune", "--volumes", "-f"])
        let theirSystem = try docker.docker(["system", "prune", "--volumes", "-f"])
        #expect(reclaimedLine(ourSystem) == reclaimedLine(theirSystem))
        #expect(ourSystem.split(separator: "\n").count == theirSystem.split(separator: "\n").count)
        #expect(ourSystem.hasPrefix("Deleted Volumes:\n"))
        #expect(try root.run(["system", "df"]) == docker.docker(["system", "df"]))

        let ourImages = try root.run(["image", "prune", "-a", "-f"]), theirImages = try docker.docker(["image", "prune", "-a", "-f"])
        #expect(reclaimedLine(ourImages) == reclaimedLine(theirImages))
        #expect(ourImages.split(separator: "\n").sorted() == theirImages.split(separator: "\n").sorted())
        #expect(try root.run(["system", "df"]) == docker.docker(["system", "df"]))
        #expect(try root.run(["images", "-a", "-q"]).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/overlay2").filter { $0 != "l" }.isEmpty)
    }

    @Test("create writes Docker's files; rm leaves no layer, mount or metadata; a named volume outlives its container")
    func removeAndVolumes() throws {
        let root = try Root(driver: "overlay2")
        let layersBefore = try FileManager.default.contentsOfDirectory(atPath: root.path + "/overlay2").sorted()
        let id = try root.run(["create", "--name", "c1", "-v", "data:/etc", "-v", "/srv", "fixture/base"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64)
        // Found by its ID, a prefix of it, its name and its name with the slash.
        for name in [id, String(id.prefix(12)), "c1", "/c1"] {
            #expect(try root.run(["diff", name]).isEmpty, "\(name)")
        }
        #expect(throws: FixtureError.self) { try root.run(["diff", "c1x"]) }  // no such container
        let mounts = root.path + "/image/overlay2/layerdb/mounts/" + id
        let mountID = try String(contentsOfFile: mounts + "/mount-id", encoding: .utf8)
        #expect(try String(contentsOfFile: mounts + "/init-id", encoding: .utf8) == mountID + "-init")
        #expect(try String(contentsOfFile: mounts + "/parent", encoding: .utf8) == "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10")
        let initFiles = try shell("cd '\(root.path)/overlay2/\(mountID)-init/diff' && find . | sort")
        #expect(initFiles == ".\n./.dockerenv\n./dev\n./dev/console\n./dev/pts\n./dev/shm\n./etc\n./etc/hostname\n./etc/hosts\n./etc/mtab\n./etc/resolv.conf\n./proc\n./sys\n")
        let config = try String(contentsOfFile: root.path + "/containers/\(id)/config.v2.json", encoding: .utf8)
        #expect(config.hasPrefix("{\"StreamConfig\":{},\"State\":{\"Running\":false,"))
        #expect(config.contains("\"Name\":\"/c1\",\"Driver\":\"overlay2\""))
        // The volume was filled from the image's /etc at create.
        #expect(FileManager.default.fileExists(atPath: root.path + "/volumes/data/_data/passwd"))
        #expect(throws: FixtureError.self) { try root.run(["create", "--name", "c1", "fixture/base"]) }  // name taken

        let merged = try root.run(["mount", "c1"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(merged.hasPrefix(root.path))
        try "kept".write(toFile: root.path + "/volumes/data/_data/note", atomically: false, encoding: .utf8)
        #expect(throws: FixtureError.self) { try root.run(["rm", "c1"]) }  // mounted
        #expect(throws: FixtureError.self) { try root.run(["volume", "rm", "data"]) }  // in use
        #expect(throws: FixtureError.self) { try root.run(["rmi", "fixture/base"]) }  // in use
        try root.run(["rm", "-f", "-v", "c1"])

        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/overlay2").sorted() == layersBefore)
        #expect(!FileManager.default.fileExists(atPath: mounts))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/containers").isEmpty)
        #expect(!(try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)).contains(root.path))
        // The named volume stays with its data; the anonymous one went with -v.
        #expect(try root.run(["volume", "ls", "-q"]) == "data\n")
        try root.run(["create", "--name", "c2", "-v", "data:/etc", "fixture/base"])
        let again = try root.run(["mount", "c2"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: root.path + "/volumes/data/_data/note"))
        #expect(again.hasPrefix(root.path))
        try root.run(["unmount", "c2"])
        try root.run(["rm", "c2"])
        #expect(try root.run(["volume", "prune", "-a", "-f"]).hasPrefix("Deleted Volumes:\ndata\n"))
    }

    @Test("a create that is refused says why in one line and leaves nothing behind")
    func refusedCreate() throws {
        let root = try Root(driver: "overlay2")
        // (An image layer keeps the `committed` mark it gets when a layer is first made on it,
        // as with dockerd: it only says that the layer never changes again. The indexes in
        // `.stowage/` are caches of what is there, and may be written by any command.)
        let listing = { try shell("cd '\(root.path)' && find . ! -name '*.lock' ! -name committed ! -name '*.index' | sort") }
        let before = try listing()
        let refusals: [([String], String)] = [
            (["nosuch/image"], "No such image: nosuch/image"),
            (["-v", "/etc/passwd", "fixture/base"], "cannot mount volume over existing file, file exists "),
            (["-v", "data:relative", "fixture/base"], "invalid volume specification: 'data:relative'"),
            (["-v", "/etc:/etc:zz", "fixture/base"], "invalid mode: zz"),
            (["--name", "x", "fixture/base"], "Invalid container name (x)"),
            (["-v", "bad name:/x", "fixture/base"], "includes invalid characters for a local volume name"),
        ]
        for (arguments, message) in refusals {
            let result = try stowage(["--data-root", root.path, "-s", "overlay2", "create"] + arguments)
            #expect(result.status == 1, "\(arguments)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("stowage: ") && lines[0].contains(message), "\(arguments): \(result.standardError)")
        }
        #expect(try listing() == before)
        #expect(!(try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)).contains(root.path))
    }

    @Test("rm, rmi and volume rm report each failed item on its own line, go on with the others, and rm -f ignores missing containers")
    func perItemFailures() throws {
        let root = try Root(driver: "vfs")
        try root.run(["create", "--name", "kept", "fixture/base"])
        try root.run(["create", "--name", "gone", "fixture/base"])
        try root.run(["volume", "create", "v1"])
        let cases: [([String], output: String, errors: [String])] = [
            (["rm", "nosuch1", "gone", "nosuch2"], "gone\n", ["No such container: nosuch1", "No such container: nosuch2"]),
            (["rmi", "nosuch:1", "nosuch:2"], "", ["No such image: nosuch:1", "No such image: nosuch:2"]),
            (["volume", "rm", "nov", "v1"], "v1\n", ["no such volume"]),
        ]
        for (arguments, output, errors) in cases {
            let result = try stowage(["--data-root", root.path, "-s", "vfs"] + arguments)
            let lines = result.standardError.split(separator: "\n").map(String.init)
            #expect(result.status == 1 && result.output == output, "\(arguments): \(result.output)")
            #expect(lines.count == errors.count && zip(lines, errors).allSatisfy { $0.hasPrefix("stowage: ") && !$0.dropFirst(9).contains("stowage:") && $0.contains($1) },
                    "\(arguments): \(result.standardError)")
        }
        // As docker's `rm -f`: a container that is not there is no failure.
        let forced = try stowage(["--data-root", root.path, "-s", "vfs", "rm", "-f", "nosuch", "kept"])
        #expect(forced.status == 0 && forced.output == "kept\n" && forced.standardError.isEmpty, "\(forced.standardError)")
    }

    @Test("a misspelled verb or help topic is named as docker names it, exit 1, not blamed on the global options")
    func unknownVerbs() throws {
        let directory = try TemporaryDirectory("verbs")
        let misspelled = try stowage(["--data-root", directory.path + "/root", "imagse"])
        #expect(misspelled.status == 1 && misspelled.standardError == "stowage: 'imagse' is not a stowage command.\nSee 'stowage --help'\n",
                "\(misspelled.standardError)")
        let topic = try stowage(["help", "nosuch"])
        #expect(topic.status == 1 && topic.standardError == "unknown help topic: nosuch\n", "\(topic.standardError)")
        let help = try stowage(["help", "images"])
        #expect(help.status == 0 && help.output.contains("--filter"), "\(help.output)")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/root"))
        // Usage errors: one line saying what is wrong, where the help is; 125 for a flag, 1 for arguments.
        for (arguments, status, message) in [(["images", "--bogus"], Int32(125), "stowage: unknown flag: --bogus\nSee 'stowage images --help'.\n"),
                                             (["ps", "--filter"], 125, "stowage: flag needs an argument: --filter\nSee 'stowage ps --help'.\n"),
                                             (["volume", "create", "--nope"], 125, "stowage: unknown flag: --nope\nSee 'stowage volume create --help'.\n"),
                                             (["tag", "a"], 1, "stowage: Missing expected argument '<target>'\nSee 'stowage tag --help'.\n")] {
            let result = try stowage(["--data-root", directory.path + "/root"] + arguments)
            #expect(result.status == status && result.standardError == message, "\(arguments): \(result.status) \(result.standardError)")
        }
    }

    @Test("the help lists the global options and each verb once under its own names; version and --version")
    func helpAndVersion() throws {
        let help = try stowage(["--help"])
        #expect(help.status == 0 && help.output.contains("GLOBAL OPTIONS") && help.output.contains("--data-root <path>"), "\(help.output)")
        let verbs = help.output.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.map { $0.split(separator: " ")[0] }
        #expect(verbs.contains("ps") && verbs.contains("rm") && verbs.contains("images") && verbs.contains("rmi"))
        #expect(!help.output.contains("ps, ls") && !help.output.contains("images, ls") && !help.output.contains("rmi, rm"), "\(help.output)")
        let groups = [(["image", "--help"], "ls, list"), (["image", "--help"], "rm, rmi, remove"), (["container", "--help"], "ls, ps, list"),
                      (["container", "--help"], "rm, remove")]
        for (arguments, aliases) in groups {
            #expect(try stowage(arguments).output.contains(aliases), "\(arguments) lacks \(aliases)")
        }
        let root = try Root(driver: "vfs")
        try root.run(["create", "--name", "c1", "fixture/base"])
        #expect(try root.run(["image", "list", "-q"]) == root.run(["images", "-q"]))
        #expect(try root.run(["container", "list", "-a", "-q"]) == root.run(["ps", "-a", "-q"]))
        #expect(try root.run(["container", "ps", "-a", "-q"]).count == 13)
        #expect(try stowage(["--version"]).output == "0.1.0\n")
        let version = try stowage(["version"])
        #expect(version.status == 0 && version.output.hasPrefix("Stowage:\n Version:           0.1.0\n OS/Arch:           linux/"), "\(version.output)")
    }

    @Test("a data root on a read-only mount can be read by every reading verb, and refuses every change, saying why",
          arguments: ["vfs", "overlay2", "btrfs"])
    func readOnlyRoot(driver: String) throws {
        let root = try Root(driver: driver, fixtures: ["whiteout+links"])
        try root.run(["volume", "create", "data"])
        try root.run(["create", "--name", "c1", "-v", "data:/data", "fixture/links"])
        try root.write("c1", Self.writes)
        let readOnly = root.directory.join("read-only")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        _ = try shell("mount --bind '\(root.path)' '\(readOnly)' && mount -o remount,bind,ro '\(readOnly)'")
        defer { _ = try? shell("umount '\(readOnly)'") }
        let reads: [[String]] = [["images", "-a"], ["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}} {{.Mounts}} {{.Status}}"], ["history", "fixture/links"], ["inspect", "-f", "{{.Name}} {{.Driver}}", "c1"],
                                 ["image", "inspect", "-f", "{{.Id}}", "fixture/whiteout"], ["volume", "ls"], ["volume", "inspect", "-f", "{{.Name}}", "data"],
                                 ["system", "df"], ["info", "--format", "{{.Images}} {{.Containers}} {{.Driver}}"], ["diff", "c1"], ["check"]]
        for arguments in reads {
            let result = try stowage(["--data-root", readOnly] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            #expect(result.output == (try root.run(arguments)).replacingOccurrences(of: root.path, with: readOnly), "\(arguments)")
        }
        // Streams come out byte for byte as from the writable root.
        for arguments in [["export", "c1"], ["save", "fixture/links"], ["cp", "c1:/data", "-"], ["cp", "c1:/etc/.", "-"]] {
            let result = try stowage(["--data-root", readOnly] + arguments)
            let writable = try stowage(["--data-root", root.path] + arguments)
            #expect(result.status == 0 && result.output == writable.output, "\(arguments): \(result.standardError)")
        }
        let before = try shell("cd '\(root.path)' && find . -printf '%p %s %T@\\n' | sort")
        let changes: [[String]] = [["load", "-i", Fixtures.path("base.tar")], ["create", "fixture/links"], ["rm", "c1"], ["rmi", "fixture/whiteout"],
                                   ["tag", "fixture/links", "other:1"], ["volume", "create", "v2"], ["volume", "rm", "data"], ["mount", "c1"],
                                   ["unmount", "c1"], ["commit", "c1", "x:1"], ["rename", "c1", "c2"], ["image", "prune", "-f"],
                                   ["container", "prune", "-f"], ["system", "prune", "-f"], ["cp", Fixtures.path("base.tar"), "c1:/"]]
        for arguments in changes {
            let result = try stowage(["--data-root", readOnly] + arguments)
            #expect(result.status == 1 && result.standardError.contains("is on a read-only filesystem: it can be read, not changed"),
                    "\(arguments): \(result.standardError)")
        }
        #expect(try shell("cd '\(root.path)' && find . -printf '%p %s %T@\\n' | sort") == before)
    }

    @Test("a read-only data root without Stowage's own files (as dockerd leaves one) can be read")
    func readOnlyDockerRoot() throws {
        let root = try Root(driver: "vfs", fixtures: ["base"])
        try root.run(["create", "--name", "c1", "fixture/base"])
        _ = try shell("cd '\(root.path)' && rm -rf .stowage .stowage.lock .stowage-graph.lock tmp image/vfs/leases image/vfs/.repositories.lock")
        let readOnly = root.directory.join("read-only")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        _ = try shell("mount --bind '\(root.path)' '\(readOnly)' && mount -o remount,bind,ro '\(readOnly)'")
        defer { _ = try? shell("umount '\(readOnly)'") }
        for arguments in [["images", "-q"], ["ps", "-a", "-q"], ["inspect", "-f", "{{.Name}}", "c1"], ["volume", "ls"], ["system", "df"], ["check"]] {
            let result = try stowage(["--data-root", readOnly] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
        }
        #expect(try stowage(["--data-root", readOnly, "save", "fixture/base"]).output.count == (try stowage(["--data-root", root.path, "save", "fixture/base"]).output.count))
    }

    @Test("the README's command table is the built stowage's help")
    func readmeCommandTable() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let check = try runProcess(["python3", repository.path + "/Scripts/readme-commands.py", try stowageBinary(), "--check"])
        #expect(check.status == 0, "\(check.standardError)")
    }

    @Test("save and export refuse to write an archive to a terminal, as docker's do")
    func refusesTerminal() throws {
        let root = try Root(driver: "vfs")
        try root.run(["create", "--name", "c1", "fixture/base"])
        for verb in [["save", "fixture/base"], ["export", "c1"]] {
            // `script` gives the command a pseudo-terminal as its standard output.
            let command = ([try stowageBinary(), "--data-root", root.path, "-s", "vfs"] + verb).joined(separator: " ")
            let result = try runProcess(["script", "-qec", command, "/dev/null"])
            #expect(result.status == 1 && result.output.contains("stowage: cowardly refusing to save to a terminal. Use the -o flag or redirect"),
                    "\(verb): \(result.output)")
        }
    }

    @Test("SIGKILL during create, commit and rm leaves a consistent root after the next start",
          arguments: ["container-layers-created", "container-layers-recorded", "commit-layer-registered", "container-unlisted", "container-layer-unlisted"])
    func crash(point: String) throws {
        let root = try Root(driver: "overlay2")
        let layers = { try FileManager.default.contentsOfDirectory(atPath: root.path + "/overlay2").sorted() }
        let before = try layers()
        if point.hasPrefix("container-layers") {
            let killed = try runProcess([stowageBinary(), "--data-root", root.path, "-s", "overlay2", "create", "fixture/base"],
                                        environment: ["STOWAGE_TEST_CRASH_AT": point])
            #expect(killed.status != 0)
        } else {
            try root.run(["create", "--name", "c1", "fixture/base"])
            try root.write("c1", "echo hello > newfile")
            let verb = point == "commit-layer-registered" ? ["commit", "c1", "x:1"] : ["rm", "c1"]
            let killed = try runProcess([stowageBinary(), "--data-root", root.path, "-s", "overlay2"] + verb,
                                        environment: ["STOWAGE_TEST_CRASH_AT": point])
            #expect(killed.status != 0)
            if point == "commit-layer-registered" { try root.run(["rm", "c1"]) }
        }
        // The next command sweeps: no container, no mounts entry, no layer beyond the image's.
        let listed = try root.run(["ps", "-a", "-q"])
        #expect(listed.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/image/overlay2/layerdb/mounts").isEmpty)
        #expect(try layers() == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/containers").isEmpty)
    }
}
