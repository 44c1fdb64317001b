import Foundation
import StowageTestSupport
import Testing

@Suite("cp between containers and the local filesystem, side by side with the real docker")
struct CopyTests {
    /// One side of the comparison: its data root, its own output and bind directories.
    private struct Side {
        let name: String
        let output: String
        let bind: String
        let execute: ([String], Data?) throws -> ProcessResult

        /// Runs `arguments` with `<out>`, `<bind>` and `<src>` put in; what it printed with
        /// this side's directories and the tools' prefixes taken out.
        func run(_ arguments: [String], source: String, input: Data? = nil) throws -> (status: Int32, output: String, bytes: Data, error: String) {
            let arguments = arguments.map {
                $0.replacingOccurrences(of: "<out>", with: output).replacingOccurrences(of: "<bind>", with: bind)
                    .replacingOccurrences(of: "<src>", with: source)
            }
            let result = try execute(arguments, input)
            // The docker CLI logs its tar writer's end when dockerd refused the copy.
            let error = result.standardError.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("time=") }.joined(separator: "\n")
                .replacingOccurrences(of: "Error response from daemon: ", with: "")
                .replacingOccurrences(of: "Error processing tar file(exit status 1): ", with: "")
                .replacingOccurrences(of: "stowage: ", with: "")
                .replacingOccurrences(of: output, with: "<out>")
            return (result.status, result.output, result.standardOutput, error)
        }
    }

    @Test("cp in both directions, with trailing / and /., links, volumes, bind mounts and -, does what docker's does")
    func sameAsDocker() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let local = try TemporaryDirectory("cp")
        let source = local.join("src")
        _ = try local.write("src/a", "hi\n")
        _ = try local.write("src/sub/b", "x\n")
        _ = try local.write("src/.wh.kept", "a file named like a whiteout\n")
        _ = try local.write("readonly/r", "r\n")
        #expect(chown(source + "/a", 1234, 5678) == 0 && chmod(source + "/a", 0o640) == 0)
        var times = [timespec(tv_sec: 1_577_836_800, tv_nsec: 0), timespec(tv_sec: 1_577_836_800, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, source + "/a", &times, 0) == 0)
        let sides = ["stowage", "docker"].map { name in
            Side(name: name, output: local.join("out-\(name)"), bind: local.join("bind-\(name)")) { arguments, input in
                name == "docker"
                    ? try runProcess(["docker", "--host", "unix://\(engine.socket)"] + arguments, input: input)
                    : try root.run(arguments, input: input)
            }
        }
        for side in sides {
            for directory in [side.output, side.bind] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            for arguments in [["load", "-i", Fixtures.path("links.tar")],
                              ["create", "--name", "web", "-v", "vv:/data", "-v", "<bind>:/bound", "-v", "\(local.join("readonly")):/ro:ro", "fixture/links"]] {
                let result = try side.run(arguments, source: source)
                #expect(result.status == 0, "\(side.name) \(arguments): \(result.error)")
            }
        }
        let stream = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("links.tar")))  // a tar like any other
        let script: [[String]] = [
            // Into the container.
            ["cp", "<src>/a", "web:/data/"], ["cp", "<src>", "web:/srv/"], ["cp", "<src>", "web:/newdir"],
            ["cp", "<src>/a", "web:/nodir/"], ["cp", "<src>/a", "web:/etc/passwd2"], ["cp", "<src>", "web:/data/empty"],
            ["cp", "<src>/a", "web:/data/emptydir/../x"], ["cp", "<src>/.", "web:/dotdest"], ["cp", "<src>/.", "web:/dotdest"],
            ["cp", "<src>/nope", "web:/"], ["cp", "<src>/a", "web:/bound/"], ["cp", "<src>/sub", "web:/bound/deeper"],
            ["cp", "<src>/a", "web:/data/nope/x"], ["cp", "<src>", "web:/data/a/"], ["cp", "<src>/a", "web:/data/links/"],
            ["cp", "<src>/a", "web:/ro/"], ["cp", "<src>/a", "nosuch:/"], ["cp", "-a", "<src>/a", "web:/data/owned"],
            // Through a link in the container: the container's /etc/passwd, never the host's.
            ["cp", "<src>/a", "web:/data/links/abs"],
            ["cp", "-", "web:/data/empty"], ["cp", "-", "web:/streamed"], ["cp", "-", "web:/data/emptydir"],
            // Out of it.
            ["cp", "web:/data", "-"], ["cp", "web:/data/.", "-"], ["cp", "web:/data/links/", "-"], ["cp", "-L", "web:/data/links/soft", "-"],
            ["cp", "web:/etc/passwd", "-"], ["cp", "web:/bound", "-"],
            ["cp", "web:/data/a", "<out>/"], ["cp", "web:/data", "<out>/d1"], ["cp", "web:/data/.", "<out>/d2"],
            ["cp", "web:/data/links/soft", "<out>/"], ["cp", "-L", "web:/data/links/soft", "<out>/followed"],
            ["cp", "web:/data/links", "<out>/links/"], ["cp", "web:/data/a", "<out>/nodir/"], ["cp", "web:/data", "<out>/nodir/x"],
            ["cp", "web:/data/a", "<out>/d1/suid"], ["cp", "web:/data", "<out>/d1/suid"], ["cp", "web:/etc/mtab", "<out>/"],
            ["cp", "-L", "web:/etc/mtab", "<out>/mtab2"], ["cp", "-L", "web:/data/links/abs", "<out>/abs2"],
            ["cp", "web:/srv", "<out>/srv"], ["cp", "web:/nodir/x", "<out>/"], ["cp", "nosuch:/etc", "<out>/"],
            ["cp", "web:/data/a", "web:/data/b"], ["cp", "<out>/a", "<out>/b"],
            ["diff", "web"],
        ]
        for arguments in script {
            let input = arguments.contains("-") && arguments.last != "-" ? stream : nil
            let (mine, theirs) = (try sides[0].run(arguments, source: source, input: input), try sides[1].run(arguments, source: source, input: input))
            let shown = arguments.joined(separator: " ")
            #expect(mine.status == theirs.status, "\(shown): \(mine.error) -- docker: \(theirs.error)")
            if arguments.last == "-" {
                #expect(try Self.listing(mine.bytes) == Self.listing(theirs.bytes), "\(shown)")
            } else if arguments.first == "diff" {
                #expect(Set(mine.output.split(separator: "\n")) == Set(theirs.output.split(separator: "\n")), "\(mine.output)-- docker:\n\(theirs.output)")
            } else {
                #expect(mine.output == theirs.output, "\(shown):\n\(mine.output)-- docker:\n\(theirs.output)")
            }
            // dockerd names host paths in one message (lstat of the container's file on the host).
            if !arguments.contains("web:/data/a/") {
                #expect(mine.error == theirs.error, "\(shown):\n\(mine.error)-- docker:\n\(theirs.error)")
            }
        }
        // What both wrote locally, and what both containers hold now.
        let (mine, theirs) = (try TreeSnapshot(sides[0].output, includeTimes: false), try TreeSnapshot(sides[1].output, includeTimes: false))
        #expect(mine == theirs, "\(mine.difference(from: theirs))")
        #expect(try TreeSnapshot(sides[0].bind, includeTimes: false) == TreeSnapshot(sides[1].bind, includeTimes: false))
        for side in sides {
            var status = stat()
            #expect(stat(side.output + "/a", &status) == 0 && status.st_mtim.tv_sec == 1_577_836_800 && status.st_uid == 0, "\(side.name)")
        }
        let whole = (try sides[0].run(["cp", "web:/", "-"], source: source), try sides[1].run(["cp", "web:/", "-"], source: source))
        #expect(try Self.listing(whole.0.bytes) == Self.listing(whole.1.bytes))
        // The volume holds what was copied below its mount point.
        #expect(FileManager.default.fileExists(atPath: root.path + "/volumes/vv/_data/a"))
        #expect(FileManager.default.fileExists(atPath: root.path + "/volumes/vv/_data/links/lib/libc.so") == false)
        #expect(try String(contentsOfFile: "/etc/passwd", encoding: .utf8).hasPrefix("root:"))
    }

    @Test("links in the container that point at host paths resolve inside it; a corrupt stream is refused")
    func containedByTheContainer() throws {
        let root = try DataRoot()
        let local = try TemporaryDirectory("cp-contained")
        let outside = local.join("outside")
        _ = try local.write("outside/sentinel", "untouched\n")
        _ = try local.write("file", "payload\n")
        try root.succeed(["load", "-i", Fixtures.path("links.tar")])
        try root.succeed(["create", "--name", "web", "fixture/links"])
        // A link to the host's directory, and one climbing out, made inside the container.
        let links = local.join("links")
        try FileManager.default.createDirectory(atPath: links, withIntermediateDirectories: true)
        #expect(symlink(outside, links + "/hostlink") == 0 && symlink("../../../../../../..\(outside)", links + "/climbing") == 0)
        let stream = try runProcess(["tar", "-C", links, "-cf", "-", "hostlink", "climbing"]).standardOutput
        #expect(try root.run(["cp", "-", "web:/"], input: stream).status == 0)
        for destination in ["web:/hostlink/", "web:/hostlink", "web:/climbing/", "web:/climbing/x"] {
            let result = try root.run(["cp", local.join("file"), destination])
            #expect(result.status == 1, "\(destination): \(result.standardError)")
        }
        for source in ["web:/hostlink/", "web:/climbing/.", "web:/hostlink/sentinel"] {
            let result = try root.run(["cp", source, "-"])
            #expect(result.status == 1 && result.standardError.contains("Could not find the file"), "\(source): \(result.standardError)")
        }
        // Followed with -L inside the container, which has no such path.
        #expect(try root.run(["cp", "-L", "web:/hostlink", local.join("copied")]).standardError.contains("Could not find the file \(outside)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["sentinel"])
        #expect(try String(contentsOfFile: outside + "/sentinel", encoding: .utf8) == "untouched\n")
        // A stream cut short, and one that is no tar.
        let cut = try root.run(["cp", "-", "web:/tmp"], input: stream.prefix(700))
        #expect(cut.status == 1 && cut.standardError.contains("malformed"), "\(cut.standardError)")
        let garbage = try root.run(["cp", "-", "web:/tmp"], input: Data(repeating: 0x41, count: 2048))
        #expect(garbage.status == 1, "\(garbage.standardError)")
        #expect(try root.run(["check"]).status == 0)
    }

    /// A tar stream's entries as `tar -tv` lists them, without times (the init layer's files
    /// and directories that took copies differ by when each side made them).
    static func listing(_ tar: Data) throws -> [String] {
        let result = try runProcess(["tar", "--numeric-owner", "-tvf", "-"], input: tar)
        return result.output.split(separator: "\n").map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return ([fields[0], fields[1], fields[2]] + fields.dropFirst(5)).joined(separator: " ")
        }
    }
}
