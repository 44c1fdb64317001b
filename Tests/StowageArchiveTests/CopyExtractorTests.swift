#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar
import StowageTestSupport
import Testing

/// `CopyExtractor`: `docker cp`'s extraction into a tree of a root and mounted directories.
@Suite("copy extraction")
struct CopyExtractorTests {
    /// A root filesystem with `etc/` and `data/` (an empty mount point), a volume mounted at
    /// `/data`, a read-only one at `/ro`, and a sentinel directory outside all of them.
    private struct Tree {
        let work: TemporaryDirectory
        var rootfs: String { work.join("rootfs") }
        var volume: String { work.join("volume") }
        var readOnly: String { work.join("readonly") }
        var outside: String { work.join("outside") }

        init() throws {
            work = try TemporaryDirectory("copy-extract")
            for directory in ["rootfs/etc", "rootfs/data", "rootfs/ro", "volume", "readonly", "outside"] {
                try FileManager.default.createDirectory(atPath: work.join(directory), withIntermediateDirectories: true)
            }
            _ = try work.write("rootfs/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
            _ = try work.write("outside/sentinel", "untouched\n")
        }

        var directories: [CopyExtractor.MountedDirectory] {
            [.init(path: [], directory: rootfs), .init(path: ["data"], directory: volume), .init(path: ["ro"], directory: readOnly, isReadOnly: true)]
        }

        func extract(_ entries: [HostileEntry], into destination: [String] = [], rules: CopyRules = CopyRules(),
                     renaming: (from: String, to: String)? = nil) throws {
            try CopyExtractor.extract(from: MemorySource(try hostileArchive(entries)), into: destination, of: directories,
                                      rules: rules, renaming: renaming)
        }

        var outsideUntouched: Bool {
            (try? FileManager.default.contentsOfDirectory(atPath: outside)) == ["sentinel"]
                && (try? String(contentsOfFile: outside + "/sentinel", encoding: .utf8)) == "untouched\n"
        }
    }

    private func failure(_ body: () throws -> Void) -> StowageError? {
        do { try body() } catch let error as StowageError { return error } catch { return nil }
        return nil
    }

    @Test("entries below a mount point go to the mounted directory; whiteout names are plain files")
    func routesIntoMounts() throws {
        let tree = try Tree()
        try tree.extract([.directory("data/"), .file("data/in-volume", "v"), .file("etc/.wh.passwd", "a file"),
                          .directory("data/sub/"), .hardLink("data/sub/linked", to: "data/in-volume")])
        #expect(try String(contentsOfFile: tree.volume + "/in-volume", encoding: .utf8) == "v")
        #expect(FileManager.default.fileExists(atPath: tree.volume + "/sub/linked"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree.rootfs + "/data").isEmpty)
        #expect(FileManager.default.fileExists(atPath: tree.rootfs + "/etc/passwd"))  // not whited out
        #expect(try String(contentsOfFile: tree.rootfs + "/etc/.wh.passwd", encoding: .utf8) == "a file")
        // Into the volume's own directory, named as in the container.
        try tree.extract([.file("copied", "c")], into: ["data", "sub"], renaming: nil)
        #expect(FileManager.default.fileExists(atPath: tree.volume + "/sub/copied"))
    }

    @Test("names and links that climb out stay inside the tree or are refused")
    func hostileNames() throws {
        let tree = try Tree()
        #expect(failure { try tree.extract([.file("../../../../../../\(tree.outside)/climbed")]) }?.code == .unsafePath)
        #expect(failure { try tree.extract([.hardLink("stolen", to: "../../../../../../\(tree.outside)/sentinel")]) }?.code == .unsafePath)
        // A symlink as a parent resolves inside the directory it stands in, never on the host:
        // to a directory missing there it is refused, one climbing up stops at the root.
        let absolute = failure { try tree.extract([.symlink("esc", to: tree.outside), .file("esc/through-absolute", "x")]) }
        #expect(absolute?.code == .unsafePath)
        try tree.extract([.symlink("up", to: "../../../../../../../.."), .file("up/etc/through-relative", "y")])
        #expect(FileManager.default.fileExists(atPath: tree.rootfs + "/etc/through-relative"))
        // The final component is never followed: the link itself is replaced.
        try tree.extract([.symlink("etc/shadowed", to: tree.outside + "/sentinel")])
        try tree.extract([.file("etc/shadowed", "replaced the link")])
        #expect(try String(contentsOfFile: tree.rootfs + "/etc/shadowed", encoding: .utf8) == "replaced the link")
        #expect(tree.outsideUntouched)
        // A hard link may not reach from one mounted directory into another.
        #expect(failure { try tree.extract([.hardLink("data/cross", to: "etc/passwd")]) }?.code == .unsupported)
    }

    @Test("no entry replaces a directory with a file or a file with a directory, as docker cp refuses")
    func noOverwriteDirNonDir() throws {
        let tree = try Tree()
        let fileOverDirectory = failure { try tree.extract([.file("etc", "flat")]) }
        #expect(fileOverDirectory?.description.contains("cannot overwrite directory \"/etc\" with non-directory \"/\"") == true)
        let directoryOverFile = failure { try tree.extract([.directory("passwd/")], into: ["etc"]) }
        #expect(directoryOverFile?.description.contains("cannot overwrite non-directory \"/etc/passwd\" with directory \"/etc\"") == true)
        #expect(FileManager.default.fileExists(atPath: tree.rootfs + "/etc/passwd"))
        // A file over a file is replaced; a directory over a directory is merged.
        try tree.extract([.directory("etc/"), .file("etc/passwd", "new")])
        #expect(try String(contentsOfFile: tree.rootfs + "/etc/passwd", encoding: .utf8) == "new")
    }

    @Test("the destination keeps its own metadata; owners are the tar's, one given, or left alone")
    func metadataAndOwners() throws {
        let tree = try Tree()
        #expect(chmod(tree.rootfs + "/etc", 0o750) == 0)
        var owned = HostileEntry.file("owned", "o").header.0
        (owned.uid, owned.gid) = (1234, 5678)
        try tree.extract([.directory("./"), .header(owned, data: Array("o".utf8))], into: ["etc"])
        var status = stat()
        #expect(stat(tree.rootfs + "/etc", &status) == 0 && status.st_mode & 0o7777 == 0o750)
        #expect(stat(tree.rootfs + "/etc/owned", &status) == 0 && status.st_uid == 1234 && status.st_gid == 5678)
        try tree.extract([.header(owned, data: Array("o".utf8))], into: ["etc"], rules: CopyRules(ownership: .fixed(uid: 7, gid: 8)))
        #expect(stat(tree.rootfs + "/etc/owned", &status) == 0 && status.st_uid == 7 && status.st_gid == 8)
        try tree.extract([.header(owned, data: Array("o".utf8))], into: ["etc"], rules: CopyRules(ownership: .unchanged))
        #expect(stat(tree.rootfs + "/etc/owned", &status) == 0 && status.st_uid == geteuid())
    }

    @Test("a read-only mount is refused; renaming rebases the root entry and hard link targets")
    func readOnlyAndRenaming() throws {
        let tree = try Tree()
        #expect(failure { try tree.extract([.file("ro/x")]) }?.description.contains("/ro is mounted read-only") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree.readOnly).isEmpty)
        try tree.extract([.directory("src/"), .file("src/a", "a"), .hardLink("src/b", to: "src/a")], into: ["etc"],
                         renaming: ("src", "renamed"))
        #expect(FileManager.default.fileExists(atPath: tree.rootfs + "/etc/renamed/b"))
        #expect(!FileManager.default.fileExists(atPath: tree.rootfs + "/etc/src"))
        try tree.extract([.directory("./"), .file("./c", "c")], into: ["etc"], renaming: (".", "dotted"))
        #expect(FileManager.default.fileExists(atPath: tree.rootfs + "/etc/dotted/c"))
    }
}
