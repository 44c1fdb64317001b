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

/// One entry of a hostile layer, written with Stowage's own tar writer.
enum HostileEntry {
    case file(String, String = "payload", mode: Int64 = 0o644)
    case directory(String)
    case symlink(String, to: String)
    case hardLink(String, to: String)
    case device(String)
    case header(TarHeader, data: [UInt8] = [])

    var header: (TarHeader, [UInt8]) {
        switch self {
        case .file(let name, let text, let mode):
            var header = TarHeader(name: name, typeflag: TarHeader.regularFlag)
            header.size = Int64(text.utf8.count)
            header.mode = mode
            return (header, Array(text.utf8))
        case .directory(let name):
            var header = TarHeader(name: name, typeflag: TarHeader.directoryFlag)
            header.mode = 0o755
            return (header, [])
        case .symlink(let name, let target):
            var header = TarHeader(name: name, typeflag: TarHeader.symbolicLinkFlag)
            header.linkName = target
            header.mode = 0o777
            return (header, [])
        case .hardLink(let name, let target):
            var header = TarHeader(name: name, typeflag: TarHeader.hardLinkFlag)
            header.linkName = target
            header.mode = 0o777
            return (header, [])
        case .device(let name):
            var header = TarHeader(name: name, typeflag: TarHeader.characterDeviceFlag)
            header.deviceMajor = 1
            header.deviceMinor = 3
            header.mode = 0o666
            return (header, [])
        case .header(let header, let data):
            return (header, data)
        }
    }
}

/// What a hostile layer must come to.
enum HostileOutcome {
    /// The apply fails with this error code.
    case refused(StowageError.Code)
    /// The apply succeeds with the danger neutralised; the closure checks the target.
    case contained((_ target: String) throws -> Void)
}

struct HostileCase: CustomTestStringConvertible, Sendable {
    let name: String
    /// Builds the entries; gets the absolute path of the sentinel tree outside the target.
    let entries: @Sendable (_ outside: String) -> [HostileEntry]
    let outcome: @Sendable () -> HostileOutcome
    var options: ApplyOptions = ApplyOptions()
    /// Whether a tar-split record is written, which refuses duplicate paths; off for the cases
    /// that test what replacing an entry does.
    var recordsTarSplit = true

    var testDescription: String { name }
}

private func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

private func contents(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

@Suite("Hostile layer archives never reach outside the target directory")
struct HostileArchiveTests {
    static let cases: [HostileCase] = [
        // Names that climb out.
        HostileCase(name: "../ escape", entries: { _ in [.file("../stowage-escaped")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "a/../../ escape", entries: { _ in [.directory("a/"), .file("a/../../stowage-escaped")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "deep ../ escape", entries: { _ in [.file("a/b/c/../../../../../../../../stowage-escaped")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "absolute name lands inside", entries: { outside in [.file(outside + "/secret", "overwritten")] }, outcome: {
            .contained { (target: String) throws in
                #expect(exists(target + "/tmp"))
                #expect(try contents(target + "/" + findFile(named: "secret", under: target)) == "overwritten")
            }
        }),
        HostileCase(name: "/../ escape", entries: { _ in [.file("/../stowage-escaped")] }, outcome: { .refused(.unsafePath) }),

        // Symlinks, then entries written through them.
        HostileCase(name: "relative symlink climbing out", entries: { _ in [.symlink("link", to: "../outside")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "relative symlink climbing out from a subdirectory", entries: { _ in
            [.directory("a/"), .symlink("a/link", to: "../../outside"), .file("a/link/secret", "overwritten")]
        }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "symlink to / then a file through it", entries: { _ in
            [.symlink("root-link", to: "/"), .file("root-link/stowage-escaped", "inside")]
        }, outcome: {
            .contained { (target: String) throws in #expect(try contents(target + "/stowage-escaped") == "inside") }
        }),
        HostileCase(name: "absolute symlink to the outside directory then a file through it", entries: { outside in
            [.symlink("link", to: outside), .file("link/secret", "overwritten")]
        }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "absolute symlink to an outside file then a file of the same name", entries: { outside in
            [.symlink("victim", to: outside + "/secret"), .file("victim", "replaced the link, not the target")]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target + "/victim", &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
            }
        }, recordsTarSplit: false),
        HostileCase(name: "symlink chain ending outside, then a file through the first link", entries: { outside in
            [.symlink("a", to: "b"), .symlink("b", to: "c"), .symlink("c", to: outside + "/dir"), .file("a/new", "x")]
        }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "symlink chain ending at the root, then a file through it", entries: { _ in
            [.directory("d/"), .symlink("d/up", to: "/d/../"), .symlink("hop", to: "d/up"), .file("hop/stowage-escaped", "inside")]
        }, outcome: {
            .contained { (target: String) throws in #expect(try contents(target + "/stowage-escaped") == "inside") }
        }),
        HostileCase(name: "symlink replacing a directory already used", entries: { outside in
            [.directory("d/"), .file("d/x", "first"), .symlink("d", to: outside), .file("d/y", "second")]
        }, outcome: { .refused(.unsafePath) }, recordsTarSplit: false),
        HostileCase(name: "symlink to / replacing a directory already used", entries: { _ in
            [.directory("d/"), .file("d/x", "first"), .symlink("d", to: "/"), .file("d/y", "second")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/y") == "second")
                var st = stat()
                #expect(lstat(target + "/d", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
            }
        }, recordsTarSplit: false),
        HostileCase(name: "directory entry named like a symlink that points out", entries: { outside in
            [.symlink("d", to: outside + "/dir"), .directory("d/"), .file("d/inner", "inside")]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target + "/d", &st) == 0 && st.st_mode & S_IFMT == S_IFDIR)
                #expect(try contents(target + "/d/inner") == "inside")
            }
        }, recordsTarSplit: false),
        HostileCase(name: "dangling symlinks stay dangling", entries: { outside in
            [.symlink("dangling-absolute", to: outside + "/missing/deeper"), .symlink("dangling-relative", to: "nowhere/at/all")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/dangling-relative") == "nowhere/at/all")
                #expect(!exists(target + "/nowhere"))
            }
        }),
        HostileCase(name: "symlink with xattrs and a mode pointing at an outside file", entries: { outside in
            var header = TarHeader(name: "link", typeflag: TarHeader.symbolicLinkFlag)
            header.linkName = outside + "/secret"
            header.mode = 0o4777
            header.uid = 4242
            header.xattrs = ["trusted.stowage-hostile": Array("x".utf8)]
            return [.header(header)]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target + "/link", &st) == 0 && st.st_uid == 4242)
            }
        }),

        // Hard links.
        HostileCase(name: "hard link to ../outside/secret", entries: { _ in [.hardLink("h", to: "../outside/secret")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "hard link to an absolute outside path", entries: { outside in [.hardLink("h", to: outside + "/secret")] }, outcome: { .refused(.ioFailure) }),
        HostileCase(name: "hard link to /etc/passwd", entries: { _ in [.hardLink("h", to: "/etc/passwd")] }, outcome: { .refused(.ioFailure) }),
        HostileCase(name: "hard link through a symlinked directory that points out", entries: { outside in
            [.symlink("link", to: outside), .hardLink("h", to: "link/secret")]
        }, outcome: { .refused(.ioFailure) }),
        HostileCase(name: "hard link to a symlink that points out, with a mode", entries: { outside in
            [.symlink("link", to: outside + "/secret"), .hardLink("h", to: "link")]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target + "/h", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
            }
        }),
        HostileCase(name: "hard link climbing out after a symlink", entries: { _ in
            [.symlink("link", to: "/"), .hardLink("h", to: "link/../../outside/secret")]
        }, outcome: { .refused(.unsafePath) }),

        // Duplicates and odd names.
        HostileCase(name: "duplicate entries (tar-split cannot store them)", entries: { _ in
            [.file("twice", "first"), .file("twice", "second")]
        }, outcome: { .refused(.invalidArchive) }),
        HostileCase(name: "duplicate entries spelled differently", entries: { _ in
            [.file("a/twice", "first"), .file("./a//twice", "second")]
        }, outcome: { .refused(.invalidArchive) }),
        HostileCase(name: "regular file named . (the root)", entries: { _ in [.file(".", "x")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "symlink named . pointing up", entries: { _ in [.symlink("./", to: "..")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "empty name", entries: { _ in [.file("", "x")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "NUL inside a PAX path", entries: { _ in
            var header = TarHeader(nameBytes: Array("inside".utf8) + [0] + Array("/../../stowage-escaped".utf8), typeflag: TarHeader.regularFlag)
            header.size = 1
            return [.header(header, data: [1])]
        }, outcome: { .refused(.invalidArchive) }),
        HostileCase(name: "file below an existing regular file", entries: { _ in [.file("plain", "x"), .file("plain/below", "y")] }, outcome: { .refused(.ioFailure) }),

        // Whiteouts.
        HostileCase(name: "whiteout of ..", entries: { _ in [.file(".wh...")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "whiteout of .. in a subdirectory", entries: { _ in [.directory("a/"), .file("a/.wh..")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "bare .wh.", entries: { _ in [.file(".wh.")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: ".wh. naming a path outside", entries: { _ in [.file("../outside/.wh.secret")] }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: ".wh. through a symlink that points out", entries: { outside in
            [.symlink("link", to: outside), .file("link/.wh.secret")]
        }, outcome: { .contained { (_: String) throws in } }),
        HostileCase(name: "opaque marker through a symlink that points out", entries: { outside in
            [.symlink("link", to: outside + "/dir"), .file("link/.wh..wh..opq")]
        }, outcome: { .refused(.unsafePath) }),
        HostileCase(name: "opaque marker through a symlink to /", entries: { _ in
            [.file("kept", "x"), .symlink("link", to: "/"), .file("link/.wh..wh..opq")]
        }, outcome: {
            .contained { (target: String) throws in #expect(exists(target + "/kept")) }  // created by this layer
        }),

        // Size and shape.
        HostileCase(name: "a 5000-byte name with a 300-byte component", entries: { _ in
            [.file(String(repeating: "n/", count: 2350) + String(repeating: "x", count: 300), "x")]
        }, outcome: { .refused(.ioFailure) }),
        HostileCase(name: "2000 nested directories", entries: { _ in
            [.file(String(repeating: "d/", count: 2000) + "leaf", "deep")]
        }, outcome: { .contained { (_: String) throws in } }),
        HostileCase(name: "device node where devices are not allowed", entries: { _ in [.device("dev-null")] }, outcome: { .refused(.unsafePath) },
                    options: { var options = ApplyOptions(); options.allowDeviceNodes = false; return options }()),
    ]

    /// Builds the archive, applies it to `target`, and checks the outcome and the sentinel.
    @Test("hostile archive", arguments: cases)
    func hostile(_ hostile: HostileCase) throws {
        let work = try TemporaryDirectory("hostile")
        let outside = work.join("outside"), target = work.join("target")
        try makeSentinel(outside)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let before = try TreeSnapshot(outside)
        let beforeXattrs = try sentinelXattrs(outside)
        let topLevel = try FileManager.default.contentsOfDirectory(atPath: work.path).sorted()

        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        for entry in hostile.entries(outside) {
            let (header, data) = entry.header
            try writer.writeHeader(header)
            try writer.write(data)
        }
        try writer.finish()

        var thrown: StowageError?
        do {
            _ = try LayerApplier.apply(from: MemorySource(sink.bytes), into: target, options: hostile.options,
                                       tarSplit: hostile.recordsTarSplit ? try TarSplitWriter(sink: MemorySink()) : nil)
        } catch let error as StowageError {
            thrown = error
        }
        switch hostile.outcome() {
        case .refused(let code):
            #expect(thrown?.code == code, "\(hostile.name): \(thrown.map { "\($0)" } ?? "applied without error")")
        case .contained(let check):
            #expect(thrown == nil, "\(hostile.name): \(thrown.map { "\($0)" } ?? "")")
            if thrown == nil { try check(target) }
        }

        // Nothing outside the target changed: the sentinel tree, its xattrs, the work
        // directory's top level, and the places a `..` would reach.
        let after = try TreeSnapshot(outside)
        #expect(after == before, "\(hostile.name) changed the sentinel:\n\(after.difference(from: before))")
        #expect(try sentinelXattrs(outside) == beforeXattrs)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() == topLevel)
        for place in ["/tmp", "/", work.path] {
            #expect(!exists(place + "/stowage-escaped"), "\(hostile.name) wrote \(place)/stowage-escaped")
        }
    }

    @Test("a failed apply into a staged directory leaves nothing behind once discarded")
    func stagedDiscard() throws {
        let work = try TemporaryDirectory("hostile-staged")
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        for entry: HostileEntry in [.directory("ok/"), .file("ok/file", "fine"), .file("../stowage-escaped")] {
            let (header, data) = entry.header
            try writer.writeHeader(header)
            try writer.write(data)
        }
        try writer.finish()
        let staged = try StagedDirectory(finalPath: work.join("layer"))
        #expect(throws: StowageError.self) {
            _ = try LayerApplier.apply(from: MemorySource(sink.bytes), into: staged.stagingPath)
        }
        staged.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path) == [])
    }

    private func makeSentinel(_ outside: String) throws {
        try FileManager.default.createDirectory(atPath: outside + "/dir", withIntermediateDirectories: true)
        try "secret\n".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
        try "inner\n".write(toFile: outside + "/dir/inner", atomically: false, encoding: .utf8)
        #expect(chmod(outside + "/secret", 0o600) == 0)
        #expect(symlink("secret", outside + "/alias") == 0)
    }

    private func sentinelXattrs(_ outside: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for name in ["secret", "dir", "dir/inner", "."] {
            result[name] = try FileDescriptor.open(outside + "/" + name, O_RDONLY).extendedAttributeNames().sorted()
        }
        return result
    }
}

/// The path, relative to `root`, of the first file named `name` below it.
private func findFile(named name: String, under root: String) throws -> String {
    guard let found = FileManager.default.enumerator(atPath: root)?.first(where: { ($0 as! String).hasSuffix("/" + name) }) as? String else {
        throw FixtureError(description: "no \(name) under \(root)")
    }
    return found
}
