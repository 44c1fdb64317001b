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
    /// A character device (1, 3: /dev/null's numbers).
    case device(String)
    case blockDevice(String)
    case fifo(String)
    /// A regular file of `size` zero bytes, streamed in chunks, never held in memory.
    case zeros(String, size: Int64)
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
        case .device(let name), .blockDevice(let name):
            var header = TarHeader(name: name, typeflag: {
                if case .device = self { return TarHeader.characterDeviceFlag } else { return TarHeader.blockDeviceFlag }
            }())
            header.deviceMajor = 1
            header.deviceMinor = 3
            header.mode = 0o666
            return (header, [])
        case .fifo(let name):
            var header = TarHeader(name: name, typeflag: TarHeader.fifoFlag)
            header.mode = 0o644
            return (header, [])
        case .zeros(let name, let size):
            var header = TarHeader(name: name, typeflag: TarHeader.regularFlag)
            header.size = size
            return (header, [])
        case .header(let header, let data):
            return (header, data)
        }
    }

    func write(to writer: TarWriter) throws {
        let (header, data) = self.header
        try writer.writeHeader(header)
        if case .zeros(_, let size) = self {
            try writeZeros(size, to: { try writer.write($0) })
        } else {
            try writer.write(data)
        }
    }
}

private let zeroChunk = [UInt8](repeating: 0, count: 1 << 20)

private func writeZeros(_ size: Int64, to write: ([UInt8]) throws -> Void) throws {
    var remaining = size
    while remaining > 0 {
        let count = Int(min(remaining, Int64(zeroChunk.count)))
        try write(count == zeroChunk.count ? zeroChunk : Array(zeroChunk[0..<count]))
        remaining -= Int64(count)
    }
}

/// A tar of `entries`, gzip'd when asked, with `trailingZeros` bytes after the end-of-archive blocks.
func hostileArchive(_ entries: [HostileEntry], gzip: Bool = false, trailingZeros: Int64 = 0) throws -> [UInt8] {
    let sink = MemorySink()
    let compressor = gzip ? try GzipCompressor(sink) : nil
    let out: ByteSink = compressor.map { $0 as ByteSink } ?? sink
    let writer = TarWriter(sink: out)
    for entry in entries { try entry.write(to: writer) }
    try writer.finish()
    try writeZeros(trailingZeros, to: { try out.write($0) })
    try compressor?.finish()
    return sink.bytes
}

/// What a hostile layer must come to.
enum HostileOutcome {
    /// The apply fails with this error code; its message names `naming` (the offending
    /// entry), and the system call underneath failed with `errno`, when given.
    case refused(StowageError.Code, naming: String? = nil, errno: Int32? = nil)
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
    /// A harmless lower layer applied (plainly) into the target first, as the parent of the hostile one.
    var lower: @Sendable (_ outside: String) -> [HostileEntry] = { _ in [] }
    var gzip = false
    var trailingZeros: Int64 = 0

    var testDescription: String { name }
}

private func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

private func fileType(_ path: String) -> mode_t? {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
}

private func contents(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

private func linkTarget(_ path: String) throws -> String {
    try FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// The value of an extended attribute of exactly `path` (a symlink itself, not its target).
private func linkXattr(_ path: String, _ name: String) -> [UInt8]? {
    (try? FileDescriptor.open(path, FileDescriptor.pathOnly | O_NOFOLLOW).extendedAttribute(name)) ?? nil
}

/// The errno of the system call at the bottom of an error's chain of causes.
private func rootErrno(_ error: any Error) -> Int32? {
    if let error = error as? SystemError { return error.errno }
    if let error = error as? StowageError, let underlying = error.underlying { return rootErrno(underlying) }
    return nil
}

private func options(_ change: (inout ApplyOptions) -> Void) -> ApplyOptions {
    var options = ApplyOptions()
    change(&options)
    return options
}

@Suite("Hostile layer archives never reach outside the target directory")
struct HostileArchiveTests {
    static let cases: [HostileCase] = [
        // Names that climb out.
        HostileCase(name: "../ escape", entries: { _ in [.file("../stowage-escaped")] },
                    outcome: { .refused(.unsafePath, naming: "../stowage-escaped") }),
        HostileCase(name: "a/../../ escape", entries: { _ in [.directory("a/"), .file("a/../../stowage-escaped")] },
                    outcome: { .refused(.unsafePath, naming: "a/../../stowage-escaped") }),
        HostileCase(name: "deep ../ escape", entries: { _ in [.file("a/b/c/../../../../../../../../stowage-escaped")] },
                    outcome: { .refused(.unsafePath, naming: "a/b/c/../../../../") }),
        HostileCase(name: "absolute name lands inside", entries: { outside in [.file(outside + "/secret", "overwritten")] }, outcome: {
            .contained { (target: String) throws in
                #expect(exists(target + "/tmp"))
                #expect(try contents(target + "/" + findFile(named: "secret", under: target)) == "overwritten")
            }
        }),
        HostileCase(name: "absolute /stowage-escaped lands at the layer root", entries: { _ in [.file("/stowage-escaped-abs", "inside")] }, outcome: {
            .contained { (target: String) throws in #expect(try contents(target + "/stowage-escaped-abs") == "inside") }
        }),
        HostileCase(name: "absolute /etc/x lands at target/etc/x", entries: { _ in [.file("/etc/stowage-x", "inside")] }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/etc/stowage-x") == "inside")
                #expect(!exists("/etc/stowage-x"))
            }
        }),
        // Docker cleans "/../escape" to "/escape"; Stowage refuses any `..` above the root.
        HostileCase(name: "/../ escape", entries: { _ in [.file("/../stowage-escaped")] },
                    outcome: { .refused(.unsafePath, naming: "/../stowage-escaped") }),

        // Symlinks, then entries written through them.
        // A target climbing above the root is stored as written, as Docker stores it; what is
        // written through it resolves inside the layer (`..` above the root is the root).
        HostileCase(name: "relative symlink climbing out is stored as written", entries: { _ in [.symlink("link", to: "../outside")] },
                    outcome: {
            .contained { (target: String) throws in #expect(try linkTarget(target + "/link") == "../outside") }
        }),
        HostileCase(name: "symlink to .. then a file through it lands at the root", entries: { _ in
            [.symlink("link", to: ".."), .file("link/stowage-escaped", "x")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/stowage-escaped") == "x")
                #expect(try linkTarget(target + "/link") == "..")
            }
        }),
        HostileCase(name: "ok -> ../lib, then a file through it lands in the layer's lib", entries: { _ in
            [.directory("lib/"), .symlink("ok", to: "../lib"), .file("ok/f", "inside")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/lib/f") == "inside")
                #expect(try linkTarget(target + "/ok") == "../lib")
            }
        }),
        HostileCase(name: "relative symlink climbing out from a subdirectory", entries: { _ in
            [.directory("a/"), .symlink("a/link", to: "../../outside"), .file("a/link/secret", "overwritten")]
        }, outcome: { .refused(.unsafePath, naming: "a/link") }),
        HostileCase(name: "symlink to / then a file through it", entries: { _ in
            [.symlink("root-link", to: "/"), .file("root-link/stowage-escaped", "inside")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/stowage-escaped") == "inside")
                #expect(try linkTarget(target + "/root-link") == "/")
            }
        }),
        HostileCase(name: "absolute symlink to the outside directory then a file through it", entries: { outside in
            [.symlink("link", to: outside), .file("link/secret", "overwritten")]
        }, outcome: { .refused(.unsafePath, naming: "link") }),
        HostileCase(name: "absolute symlink to an outside file then a file of the same name", entries: { outside in
            [.symlink("victim", to: outside + "/secret"), .file("victim", "replaced the link, not the target")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(fileType(target + "/victim") == S_IFREG)
                #expect(try contents(target + "/victim") == "replaced the link, not the target")
            }
        }, recordsTarSplit: false),
        HostileCase(name: "symlink chain ending outside, then a file through the first link", entries: { outside in
            [.symlink("a", to: "b"), .symlink("b", to: "c"), .symlink("c", to: outside + "/dir"), .file("a/new", "x")]
        }, outcome: { .refused(.unsafePath, naming: "\"a\"") }),
        HostileCase(name: "relative symlink chain a -> b -> ../outside, then a/file", entries: { _ in
            [.symlink("a", to: "b"), .symlink("b", to: "../outside"), .file("a/file", "x")]
        }, outcome: { .refused(.unsafePath, naming: "\"a\": a symlink to a missing directory") }),
        HostileCase(name: "symlink chain ending at the root, then a file through it", entries: { _ in
            [.directory("d/"), .symlink("d/up", to: "/d/../"), .symlink("hop", to: "d/up"), .file("hop/stowage-escaped", "inside")]
        }, outcome: {
            .contained { (target: String) throws in #expect(try contents(target + "/stowage-escaped") == "inside") }
        }),
        HostileCase(name: "symlink loop a -> b -> a, then a file through it", entries: { _ in
            [.symlink("a", to: "b"), .symlink("b", to: "a"), .file("a/x", "x")]
        }, outcome: { .refused(.ioFailure, naming: "a/x", errno: ELOOP) }),
        HostileCase(name: "symlink to its own absolute path (etc -> /etc), then etc/passwd", entries: { _ in
            [.symlink("etc", to: "/etc"), .file("etc/passwd", "root::0:0::/:/bin/sh\n")]
        }, outcome: { .refused(.ioFailure, naming: "etc/passwd", errno: ELOOP) }),
        HostileCase(name: "symlink replacing a directory already used", entries: { outside in
            [.directory("d/"), .file("d/x", "first"), .symlink("d", to: outside), .file("d/y", "second")]
        }, outcome: { .refused(.unsafePath, naming: "\"d\"") }, recordsTarSplit: false),
        HostileCase(name: "symlink to ../outside replacing a directory already used", entries: { _ in
            [.directory("d/"), .file("d/x", "first"), .symlink("d", to: "../outside"), .file("d/y", "second")]
        }, outcome: { .refused(.unsafePath, naming: "\"d\": a symlink to a missing directory") }, recordsTarSplit: false),
        HostileCase(name: "symlink to / replacing a directory already used", entries: { _ in
            [.directory("d/"), .file("d/x", "first"), .symlink("d", to: "/"), .file("d/y", "second")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/y") == "second")
                #expect(fileType(target + "/d") == S_IFLNK)
            }
        }, recordsTarSplit: false),
        // Directory times are set after the last entry; by then `d` leads outside.
        HostileCase(name: "directory times set after the parent became a symlink that points out", entries: { outside in
            [.directory("d/"), .directory("d/dir/"), .symlink("d", to: outside)]
        }, outcome: {
            .contained { (target: String) throws in #expect(fileType(target + "/d") == S_IFLNK) }
        }, recordsTarSplit: false),
        HostileCase(name: "directory entry named like a symlink that points out", entries: { outside in
            [.symlink("d", to: outside + "/dir"), .directory("d/"), .file("d/inner", "inside")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(fileType(target + "/d") == S_IFDIR)
                #expect(try contents(target + "/d/inner") == "inside")
            }
        }, recordsTarSplit: false),
        HostileCase(name: "directory entry named like a lower layer's symlink that points out", entries: { _ in
            [.directory("d/"), .file("d/inner", "inside")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(fileType(target + "/d") == S_IFDIR)
                #expect(try contents(target + "/d/inner") == "inside")
            }
        }, lower: { outside in [.symlink("d", to: outside + "/dir")] }),
        HostileCase(name: "file through a lower layer's symlink that points out", entries: { _ in
            [.file("etc/secret", "overwritten")]
        }, outcome: { .refused(.unsafePath, naming: "etc") }, lower: { outside in [.symlink("etc", to: outside)] }),
        HostileCase(name: "file named like a lower layer's symlink to an outside file", entries: { _ in
            [.file("victim", "replaced")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(fileType(target + "/victim") == S_IFREG)
                #expect(try contents(target + "/victim") == "replaced")
            }
        }, lower: { outside in [.symlink("victim", to: outside + "/secret")] }),
        HostileCase(name: "dangling symlinks stay dangling", entries: { outside in
            [.symlink("dangling-absolute", to: outside + "/missing/deeper"), .symlink("dangling-relative", to: "nowhere/at/all")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try linkTarget(target + "/dangling-relative") == "nowhere/at/all")
                #expect(try linkTarget(target + "/dangling-absolute").hasSuffix("/outside/missing/deeper"))
                #expect(!exists(target + "/nowhere"))
            }
        }),
        HostileCase(name: "dangling symlink, then a file through it", entries: { outside in
            [.symlink("dangling", to: outside + "/missing"), .file("dangling/new", "x")]
        }, outcome: { .refused(.unsafePath, naming: "dangling") }),
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
                #expect(linkXattr(target + "/link", "trusted.stowage-hostile") == Array("x".utf8))
            }
        }),
        HostileCase(name: "trusted.overlay.opaque on a symlink pointing out, applied plain", entries: { outside in
            var header = TarHeader(name: "link", typeflag: TarHeader.symbolicLinkFlag)
            header.linkName = outside + "/dir"
            header.xattrs = [Whiteout.overlayOpaqueXattr: Array("y".utf8)]
            return [.header(header)]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(linkXattr(target + "/link", Whiteout.overlayOpaqueXattr) == Array("y".utf8))
            }
        }),
        HostileCase(name: "trusted.overlay.opaque on a directory, applied plain: only an attribute", entries: { _ in
            var header = TarHeader(name: "d/", typeflag: TarHeader.directoryFlag)
            header.mode = 0o755
            header.xattrs = [Whiteout.overlayOpaqueXattr: Array("y".utf8)]
            return [.header(header), .file("d/new", "new")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try contents(target + "/d/kept") == "lower")  // not treated as opaque
                #expect(try contents(target + "/d/new") == "new")
            }
        }, lower: { _ in [.directory("d/"), .file("d/kept", "lower")] }),

        // Hard links.
        HostileCase(name: "hard link to ../outside/secret", entries: { _ in [.hardLink("h", to: "../outside/secret")] },
                    outcome: { .refused(.unsafePath, naming: "\"h\"") }),
        HostileCase(name: "hard link to an absolute outside path", entries: { outside in [.hardLink("h", to: outside + "/secret")] },
                    outcome: { .refused(.ioFailure, naming: "\"h\"", errno: ENOENT) }),
        HostileCase(name: "hard link to /etc/passwd", entries: { _ in [.hardLink("h", to: "/etc/passwd")] },
                    outcome: { .refused(.ioFailure, naming: "\"h\"", errno: ENOENT) }),
        HostileCase(name: "hard link through a symlinked directory that points out", entries: { outside in
            [.symlink("link", to: outside), .hardLink("h", to: "link/secret")]
        }, outcome: { .refused(.ioFailure, naming: "\"h\"", errno: ENOENT) }),
        HostileCase(name: "hard link through a lower layer's symlink to ../outside", entries: { _ in
            [.hardLink("h", to: "link/secret")]
        }, outcome: { .refused(.ioFailure, naming: "\"h\"", errno: ENOENT) },
                    lower: { outside in [.symlink("link", to: outside)] }),
        HostileCase(name: "hard link to a symlink that points out, with a mode", entries: { outside in
            [.symlink("link", to: outside + "/secret"), .hardLink("h", to: "link")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(fileType(target + "/h") == S_IFLNK)
            }
        }),
        HostileCase(name: "hard link to a symlink whose ..-laden target is safe only where it was", entries: { _ in
            [.directory("inside/"), .directory("a/b/"), .symlink("a/b/l", to: "../../inside"),
             .hardLink("h", to: "a/b/l"), .file("h/x", "through")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try linkTarget(target + "/h") == "../../inside")  // the link itself is fine
                #expect(try contents(target + "/inside/x") == "through")  // writing through it stays inside
            }
        }),
        HostileCase(name: "hard link to a symlink whose ..-laden target climbs out", entries: { _ in
            [.directory("a/"), .symlink("a/l", to: "../../outside/secret"), .hardLink("h", to: "a/l")]
        }, outcome: {
            .contained { (target: String) throws in  // a second name for the link itself, not its target
                #expect(fileType(target + "/h") == S_IFLNK)
                #expect(try linkTarget(target + "/h") == "../../outside/secret")
            }
        }),
        HostileCase(name: "hard link climbing out after a symlink", entries: { _ in
            [.symlink("link", to: "/"), .hardLink("h", to: "link/../../outside/secret")]
        }, outcome: { .refused(.unsafePath, naming: "\"h\"") }),
        HostileCase(name: "hard link to the layer root", entries: { _ in [.hardLink("h", to: "/")] },
                    outcome: { .refused(.unsafePath, naming: "\"h\"") }),
        HostileCase(name: "hard link to a directory", entries: { _ in [.directory("d/"), .hardLink("h", to: "d")] },
                    outcome: { .refused(.ioFailure, naming: "\"h\"", errno: EPERM) }),
        HostileCase(name: "hard link named like a lower layer's symlink that points out", entries: { _ in
            [.file("source", "data"), .hardLink("victim", to: "source")]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target + "/victim", &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_nlink == 2)
                #expect(try contents(target + "/victim") == "data")
            }
        }, lower: { outside in [.symlink("victim", to: outside + "/secret")] }),

        // Duplicates and odd names.
        HostileCase(name: "duplicate entries (tar-split cannot store them)", entries: { _ in
            [.file("twice", "first"), .file("twice", "second")]
        }, outcome: { .refused(.invalidArchive, naming: "\"twice\"") }),
        HostileCase(name: "duplicate entries spelled differently", entries: { _ in
            [.file("a/twice", "first"), .file("./a//twice", "second")]
        }, outcome: { .refused(.invalidArchive, naming: "twice") }),
        HostileCase(name: "duplicate entries without tar-split: the last one wins", entries: { _ in
            [.file("twice", "first"), .file("twice", "second")]
        }, outcome: {
            .contained { (target: String) throws in #expect(try contents(target + "/twice") == "second") }
        }, recordsTarSplit: false),
        HostileCase(name: "regular file named . (the root)", entries: { _ in [.file(".", "x")] },
                    outcome: { .refused(.unsafePath, naming: "\".\"") }),
        HostileCase(name: "symlink named ./ pointing up", entries: { _ in [.symlink("./", to: "..")] },
                    outcome: { .refused(.unsafePath, naming: "\"./\"") }),
        HostileCase(name: "symlink named . pointing to /", entries: { _ in [.symlink(".", to: "/")] },
                    outcome: { .refused(.unsafePath, naming: "\".\"") }),
        HostileCase(name: ". and ./ directory entries apply to the root itself", entries: { _ in
            [.directory("."), .directory("./"), .file("./inside", "x")]
        }, outcome: {
            .contained { (target: String) throws in
                var st = stat()
                #expect(lstat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_mode & 0o7777 == 0o755)
                #expect(try contents(target + "/inside") == "x")
            }
        }, recordsTarSplit: false),
        HostileCase(name: "empty name", entries: { _ in [.file("", "x")] }, outcome: { .refused(.unsafePath, naming: "\"\"") }),
        HostileCase(name: "NUL inside a PAX path", entries: { _ in
            var header = TarHeader(nameBytes: Array("inside".utf8) + [0] + Array("/../../stowage-escaped".utf8), typeflag: TarHeader.regularFlag)
            header.size = 1
            return [.header(header, data: [1])]
        }, outcome: { .refused(.invalidArchive, naming: "NUL") }),
        HostileCase(name: "NUL inside a PAX linkpath (\"..\\0x\" would read as \"..\")", entries: { _ in
            var header = TarHeader(name: "link", typeflag: TarHeader.symbolicLinkFlag)
            header.linkNameBytes = Array("..".utf8) + [0] + Array("x".utf8)
            return [.header(header), .file("link/stowage-escaped", "x")]
        }, outcome: { .refused(.invalidArchive, naming: "NUL") }),
        HostileCase(name: "file below an existing regular file", entries: { _ in [.file("plain", "x"), .file("plain/below", "y")] },
                    outcome: { .refused(.ioFailure, naming: "plain/below", errno: ENOTDIR) }),

        // Whiteouts.
        HostileCase(name: "whiteout of ..", entries: { _ in [.file(".wh...")] }, outcome: { .refused(.unsafePath, naming: ".wh...") }),
        HostileCase(name: "whiteout of .. in a subdirectory", entries: { _ in [.directory("a/"), .file("a/.wh...")] },
                    outcome: { .refused(.unsafePath, naming: "a/.wh...") }),
        HostileCase(name: "whiteout of . in a subdirectory", entries: { _ in [.directory("a/"), .file("a/.wh..")] },
                    outcome: { .refused(.unsafePath, naming: "a/.wh..") }),
        HostileCase(name: "whiteout of .. on an overlay upper directory", entries: { _ in [.file(".wh...")] },
                    outcome: { .refused(.unsafePath, naming: ".wh...") }, options: options { $0.whiteoutFormat = .overlay }),
        HostileCase(name: "bare .wh.", entries: { _ in [.file(".wh.")] }, outcome: { .refused(.unsafePath, naming: "\".wh.\"") }),
        HostileCase(name: "../.wh.secret", entries: { _ in [.file("../.wh.secret")] },
                    outcome: { .refused(.unsafePath, naming: "../.wh.secret") }),
        HostileCase(name: ".wh. naming a path outside", entries: { _ in [.file("../outside/.wh.secret")] },
                    outcome: { .refused(.unsafePath, naming: "../outside/.wh.secret") }),
        HostileCase(name: "/../.wh. naming the target's sibling", entries: { _ in [.file("/../.wh.outside")] },
                    outcome: { .refused(.unsafePath, naming: "/../.wh.outside") }),
        HostileCase(name: ".wh. through a symlink that points out", entries: { outside in
            [.symlink("link", to: outside), .file("link/.wh.secret")]
        }, outcome: {
            .contained { (target: String) throws in #expect(fileType(target + "/link") == S_IFLNK) }
        }),
        HostileCase(name: ".wh. through a lower layer's symlink that points out", entries: { _ in
            [.file("link/.wh.inner")]
        }, outcome: {
            .contained { (target: String) throws in #expect(fileType(target + "/link") == S_IFLNK) }
        }, lower: { outside in [.symlink("link", to: outside + "/dir")] }),
        HostileCase(name: ".wh. through a symlink that points out, on an overlay upper directory", entries: { outside in
            [.symlink("link", to: outside), .file("link/.wh.secret")]
        }, outcome: { .refused(.unsafePath, naming: "link") }, options: options { $0.whiteoutFormat = .overlay }),
        HostileCase(name: "whiteout of a lower symlink that points out removes the link only", entries: { _ in
            [.file(".wh.link")]
        }, outcome: {
            .contained { (target: String) throws in #expect(!exists(target + "/link")) }
        }, lower: { outside in [.symlink("link", to: outside)] }),
        HostileCase(name: "whiteout of a lower directory holding symlinks that point out", entries: { _ in
            [.file(".wh.d")]
        }, outcome: {
            .contained { (target: String) throws in #expect(!exists(target + "/d")) }
        }, lower: { outside in
            [.directory("d/"), .symlink("d/abs", to: outside + "/dir"), .directory("d/sub/"), .symlink("d/sub/secret", to: outside + "/secret")]
        }),
        HostileCase(name: "opaque marker through a symlink that points out", entries: { outside in
            [.symlink("link", to: outside + "/dir"), .file("link/.wh..wh..opq")]
        }, outcome: { .refused(.unsafePath, naming: "link") }),
        HostileCase(name: "opaque marker through a symlink that points out, on an overlay upper directory", entries: { outside in
            [.symlink("link", to: outside + "/dir"), .file("link/.wh..wh..opq")]
        }, outcome: { .refused(.unsafePath, naming: "link") }, options: options { $0.whiteoutFormat = .overlay }),
        HostileCase(name: "opaque marker through a symlink to /", entries: { _ in
            [.file("kept", "x"), .symlink("link", to: "/"), .file("link/.wh..wh..opq")]
        }, outcome: {
            .contained { (target: String) throws in #expect(exists(target + "/kept")) }  // created by this layer
        }),
        HostileCase(name: "opaque marker over a lower directory whose children point out", entries: { _ in
            [.directory("d/"), .file("d/.wh..wh..opq"), .file("d/new", "new")]
        }, outcome: {
            .contained { (target: String) throws in
                #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/d") == ["new"])
            }
        }, lower: { outside in
            [.directory("d/"), .symlink("d/abs", to: outside + "/dir"), .directory("d/sub/"), .symlink("d/sub/secret", to: outside + "/secret")]
        }),

        // Size and shape.
        HostileCase(name: "a 300-byte name component", entries: { _ in [.file(String(repeating: "x", count: 300), "x")] },
                    outcome: { .refused(.ioFailure, naming: String(repeating: "x", count: 300), errno: ENAMETOOLONG) }),
        HostileCase(name: "a 5000-byte name with a 300-byte component", entries: { _ in
            [.file(String(repeating: "n/", count: 2350) + String(repeating: "x", count: 300), "x")]
        }, outcome: { .refused(.ioFailure, errno: ENAMETOOLONG) }),
        HostileCase(name: "a 5000-byte PAX path of short components", entries: { _ in
            [.file(String(repeating: "n/", count: 2500) + "leaf", "x")]
        }, outcome: { .refused(.ioFailure, errno: ENAMETOOLONG) }),
        HostileCase(name: "a 5000-byte symlink target", entries: { _ in
            [.symlink("long", to: String(repeating: "t/", count: 2500))]
        }, outcome: { .refused(.ioFailure, naming: "\"long\"", errno: ENAMETOOLONG) }),
        HostileCase(name: "2000 nested directories", entries: { _ in
            [.file(String(repeating: "d/", count: 2000) + "leaf", "deep")]
        }, outcome: {
            .contained { (target: String) throws in
                let root = try FileDescriptor.openDirectory(target)
                _ = try root.openInRoot(String(repeating: "d/", count: 2000) + "leaf", O_RDONLY)
            }
        }),
        HostileCase(name: "gzip bomb: 64 MiB of zeros in one file, limit 1 MiB", entries: { _ in
            [.zeros("bomb", size: 64 << 20)]
        }, outcome: { .refused(.limitExceeded) },
                    options: options { $0.maximumUncompressedSize = 1 << 20 }, gzip: true),
        HostileCase(name: "gzip bomb after the end of the archive, limit 1 MiB", entries: { _ in
            [.file("small", "x")]
        }, outcome: { .refused(.limitExceeded) },
                    options: options { $0.maximumUncompressedSize = 1 << 20 }, gzip: true, trailingZeros: 64 << 20),
        HostileCase(name: "device node where devices are not allowed", entries: { _ in [.device("dev-null")] },
                    outcome: { .refused(.unsafePath, naming: "dev-null") },
                    options: options { $0.allowDeviceNodes = false }),
        HostileCase(name: "block device where devices are not allowed", entries: { _ in [.blockDevice("disk")] },
                    outcome: { .refused(.unsafePath, naming: "disk") },
                    options: options { $0.allowDeviceNodes = false }),
        HostileCase(name: "FIFO where devices are not allowed (a FIFO is not a device)", entries: { _ in [.fifo("pipe")] },
                    outcome: { .contained { (target: String) throws in #expect(fileType(target + "/pipe") == S_IFIFO) } },
                    options: options { $0.allowDeviceNodes = false }),
    ]

    /// Builds the archive, applies it to `target`, and checks the outcome and that nothing
    /// outside the target changed, whether the apply failed or not.
    @Test("hostile archive", arguments: cases)
    func hostile(_ hostile: HostileCase) throws {
        let work = try TemporaryDirectory("hostile")
        let outside = work.join("outside"), target = work.join("target")
        try makeSentinel(work)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let lower = hostile.lower(outside)
        if !lower.isEmpty {
            _ = try LayerApplier.apply(from: MemorySource(try hostileArchive(lower)), into: target)
        }
        let before = try snapshotBeside(target, in: work)
        let beforeXattrs = try sentinelXattrs(outside)
        let passwd = try TreeSnapshot("/etc/passwd")

        let archive = try hostileArchive(hostile.entries(outside), gzip: hostile.gzip, trailingZeros: hostile.trailingZeros)
        var thrown: StowageError?
        do {
            _ = try LayerApplier.apply(from: MemorySource(archive), into: target, options: hostile.options,
                                       tarSplit: hostile.recordsTarSplit ? try TarSplitWriter(sink: MemorySink()) : nil)
        } catch let error as StowageError {
            thrown = error
        }
        switch hostile.outcome() {
        case .refused(let code, let naming, let errno):
            let error = try #require(thrown, "\(hostile.name): applied without error")
            #expect(error.code == code, "\(hostile.name): \(error)")
            if let naming {
                #expect("\(error)".contains(naming), "\(hostile.name): the error does not name \(naming): \(error)")
            }
            if let errno {
                #expect(rootErrno(error) == errno, "\(hostile.name): \(error)")
            }
        case .contained(let check):
            #expect(thrown == nil, "\(hostile.name): \(thrown.map { "\($0)" } ?? "")")
            if thrown == nil { try check(target) }
        }

        // Nothing outside the target changed: everything beside it in the work directory (the
        // sentinel tree, its xattrs, the top-level listing), and the places a `..` or an
        // absolute name would reach.
        let after = try snapshotBeside(target, in: work)
        #expect(after == before, "\(hostile.name) changed something beside the target:\n\(difference(after, before))")
        #expect(try sentinelXattrs(outside) == beforeXattrs)
        #expect(try TreeSnapshot("/etc/passwd") == passwd)
        for place in ["/tmp", "/", work.path, "/etc"] {
            #expect(!exists(place + "/stowage-escaped"), "\(hostile.name) wrote \(place)/stowage-escaped")
        }
        #expect(!exists("/stowage-escaped-abs") && !exists("/etc/stowage-x") && !exists("/tmp/inside"))
    }

    @Test("a failed apply into a staged directory leaves nothing behind once discarded",
          arguments: [false, true])
    func stagedDiscard(gzip: Bool) throws {
        let work = try TemporaryDirectory("hostile-staged")
        try "keep\n".write(toFile: work.join("neighbour"), atomically: false, encoding: .utf8)
        let listing = try FileManager.default.contentsOfDirectory(atPath: work.path).sorted()
        let neighbour = try TreeSnapshot(work.join("neighbour"))
        var locked = TarHeader(name: "ok/locked/", typeflag: TarHeader.directoryFlag)
        locked.mode = 0o500
        let archive = try hostileArchive([
            .directory("ok/"), .file("ok/file", "fine"), .symlink("ok/abs", to: work.join("neighbour")),
            .file(String(repeating: "deep/", count: 50) + "leaf", "x"), .header(locked), .file("ok/locked/inner", "x", mode: 0o400),
            .fifo("ok/pipe"), .file("../stowage-escaped"),
        ], gzip: gzip)
        let staged = try StagedDirectory(finalPath: work.join("layer"))
        #expect(exists(staged.stagingPath))
        let error = #expect(throws: StowageError.self) {
            _ = try LayerApplier.apply(from: MemorySource(archive), into: staged.stagingPath,
                                       tarSplit: try TarSplitWriter(sink: MemorySink()))
        }
        #expect(error?.code == .unsafePath)
        #expect(exists(staged.stagingPath + "/ok/locked/inner"))  // the partial tree is there until discarded
        staged.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() == listing)
        #expect(!exists(staged.finalPath) && !exists(staged.stagingPath))
        #expect(try TreeSnapshot(work.join("neighbour")) == neighbour)
        #expect(!exists("/tmp/stowage-escaped"))
    }

    /// The sentinel tree `outside/` next to the target, plus a loose file and a symlink at the top.
    private func makeSentinel(_ work: TemporaryDirectory) throws {
        let outside = work.join("outside")
        try FileManager.default.createDirectory(atPath: outside + "/dir", withIntermediateDirectories: true)
        try "secret\n".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
        try "inner\n".write(toFile: outside + "/dir/inner", atomically: false, encoding: .utf8)
        #expect(chmod(outside + "/secret", 0o600) == 0)
        #expect(symlink("secret", outside + "/alias") == 0)
        #expect(symlink("dir", outside + "/dir-link") == 0)
        try "top\n".write(toFile: work.join("top-level-file"), atomically: false, encoding: .utf8)
        #expect(symlink("outside/secret", work.join("top-level-link")) == 0)
    }

    /// A snapshot of everything in `work` except `target` and what is below it.
    private func snapshotBeside(_ target: String, in work: TemporaryDirectory) throws -> [String: String] {
        var result: [String: String] = [:]
        var st = stat()
        #expect(lstat(work.path, &st) == 0)
        result["."] = "mode=\(String(st.st_mode, radix: 8)) mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
        let targetName = String(target.dropFirst(work.path.count + 1))
        for name in try FileManager.default.contentsOfDirectory(atPath: work.path) where name != targetName {
            for (path, line) in try TreeSnapshot(work.join(name)).entries {
                result[path == "." ? name : name + "/" + path] = line
            }
        }
        return result
    }

    private func difference(_ after: [String: String], _ before: [String: String]) -> String {
        Set(after.keys).union(before.keys).sorted().compactMap { key in
            after[key] == before[key] ? nil : "\(key): \(before[key] ?? "absent") => \(after[key] ?? "absent")"
        }.joined(separator: "\n")
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
