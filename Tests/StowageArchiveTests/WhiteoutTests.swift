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

@Suite("Whiteouts: plain deletion, overlay form, and back to tar")
struct WhiteoutTests {
    /// Applies an image's layers one on top of the other into `directory` (a vfs-style copy).
    private func applyStack(_ layers: [(name: String, bytes: [UInt8])], into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        for layer in layers {
            _ = try LayerApplier.apply(from: MemorySource(layer.bytes), into: directory)
        }
    }

    /// Applies each layer into its own overlay upper directory; returns them bottom first.
    private func applyOverlayUppers(_ layers: [(name: String, bytes: [UInt8])], under work: TemporaryDirectory) throws -> [String] {
        var options = ApplyOptions()
        options.whiteoutFormat = .overlay
        return try layers.enumerated().map { index, layer in
            let upper = work.join("upper\(index)")
            try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: false)
            _ = try LayerApplier.apply(from: MemorySource(layer.bytes), into: upper, options: options)
            return upper
        }
    }

    @Test("on a plain directory a whiteout deletes and an opaque directory hides the lower files")
    func plainDeletion() throws {
        let layers = try ArchiveMembers(path: Fixtures.path("whiteout.tar")).imageLayers()
        let work = try TemporaryDirectory("whiteout-plain")
        let root = work.join("root")
        try applyStack(layers, into: root)

        #expect(!FileManager.default.fileExists(atPath: root + "/etc/motd"))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/passwd"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/app") == ["c.txt"])
        // No marker files are left behind.
        let all = try FileManager.default.subpathsOfDirectory(atPath: root)
        #expect(all.filter { $0.contains(".wh.") } == [])
    }

    @Test("on an overlay upper directory whiteouts become 0/0 devices and opaque xattrs")
    func overlayForm() throws {
        let layers = try ArchiveMembers(path: Fixtures.path("whiteout.tar")).imageLayers()
        let work = try TemporaryDirectory("whiteout-overlay")
        let uppers = try applyOverlayUppers(layers, under: work)

        var st = stat()
        #expect(lstat(uppers[1] + "/etc/motd", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0)
        let app = try FileDescriptor.openDirectory(uppers[2] + "/var/lib/app")
        #expect(try app.extendedAttribute(Whiteout.overlayOpaqueXattr) == Array("y".utf8))
        #expect(try app.childNames() == ["c.txt"])
        #expect(!FileManager.default.fileExists(atPath: uppers[2] + "/var/lib/app/.wh..wh..opq"))
    }

    @Test("the overlay form mounted by the kernel shows the same tree as the plain stack",
          arguments: ["whiteout.tar", "links.tar", "many-layers.tar"])
    func kernelOverlayAgreesWithPlainStack(_ archive: String) throws {
        let layers = try ArchiveMembers(path: Fixtures.path(archive)).imageLayers()
        let work = try TemporaryDirectory("whiteout-mount")
        let plain = work.join("plain")
        try applyStack(layers, into: plain)
        let uppers = try applyOverlayUppers(layers, under: work)
        let merged = work.join("merged")
        try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: false)

        let lowers = uppers.reversed().joined(separator: ":")
        try shell("mount -t overlay overlay -o lowerdir=\(lowers) \(merged)")
        defer {
            _ = try? runProcess(["umount", merged])
            withExtendedLifetime(work) {}  // removed only after the unmount
        }

        var expected = try TreeSnapshot(plain).entries
        var actual = try TreeSnapshot(merged).entries
        // The roots' own times are when the test made them; hard link counts differ by design
        // (overlay copies are per layer).
        for key in ["."] { expected[key] = nil; actual[key] = nil }
        let strip = { (entries: [String: String]) in entries.mapValues { $0.replacingOccurrences(of: #" nlink=\d+"#, with: "", options: .regularExpression) } }
        #expect(strip(actual) == strip(expected),
                "\(archive): merged view differs from plain stack:\n\(differences(strip(expected), strip(actual)))")
    }

    @Test("a layer Docker exported, applied in overlay form and archived again, has Docker's diff_id",
          arguments: ["whiteout.tar", "links.tar", "many-layers.tar"])
    func reverseConversionReproducesDockerBytes(_ archive: String) throws {
        let layers = try ArchiveMembers(path: Fixtures.path(archive)).imageLayers()
        let work = try TemporaryDirectory("whiteout-export")
        let uppers = try applyOverlayUppers(layers, under: work)
        // The bottom layer came from `docker import` (names start with "./"); the others are
        // Docker's own exports of its overlay2 upper directories.
        for (layer, upper) in zip(layers, uppers).dropFirst() {
            let exported = MemorySink()
            let result = try DirectoryArchiver.archive(upper, to: exported, whiteoutFormat: .overlay)
            let ours = try entryListing(exported.bytes), docker = try entryListing(layer.bytes)
            #expect(result.diffID.description == sha256(layer.bytes), "\(archive) \(layer.name):\n\(ours)\n-- Docker's:\n\(docker)")
            #expect(exported.bytes == layer.bytes)
        }
    }

    @Test("a plain tree archived and applied again is the same tree")
    func plainArchiveRoundTrip() throws {
        let work = try TemporaryDirectory("archive-plain")
        let original = work.join("original")
        try applyStack(try ArchiveMembers(path: Fixtures.path("links.tar")).imageLayers(), into: original)
        try FileManager.default.createDirectory(atPath: original + "/fifo-dir", withIntermediateDirectories: false)
        #expect(mkfifo(original + "/fifo-dir/pipe", 0o640) == 0)
        try shell("mknod -m 0666 '\(original)/fifo-dir/null' c 1 3")
        try FileDescriptor.openDirectory(original + "/fifo-dir").setExtendedAttribute("user.note", Array("kept".utf8))
        // Docker's archives keep whole seconds only.
        try shell("touch -h -d @1795406084 '\(original)/fifo-dir/pipe' '\(original)/fifo-dir/null' '\(original)/fifo-dir'")

        let tar = MemorySink()
        let archived = try DirectoryArchiver.archive(original, to: tar)
        let copy = work.join("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        let applied = try LayerApplier.apply(from: MemorySource(tar.bytes), into: copy)
        #expect(applied.diffID == archived.diffID)
        #expect(applied.contentSize == archived.contentSize)

        var expected = try TreeSnapshot(original).entries
        var actual = try TreeSnapshot(copy).entries
        expected["."] = nil
        actual["."] = nil
        #expect(actual == expected, "\(differences(expected, actual))")
        let copied = try FileDescriptor.openDirectory(copy + "/fifo-dir")
        #expect(try copied.extendedAttribute("user.note") == Array("kept".utf8))

        // Archiving the copy gives the same bytes again.
        let again = try DirectoryArchiver.archive(copy, to: HashingSink(nil))
        #expect(again.diffID == archived.diffID)
    }

    @Test("whiteouts of nothing, of '..' and bare markers are refused or ignored, never followed")
    func invalidWhiteouts() throws {
        for name in [".wh.", ".wh..", ".wh...", "a/.wh.."] {
            let sink = MemorySink()
            let writer = TarWriter(sink: sink)
            try writer.writeHeader(TarHeader(name: name, typeflag: UInt8(ascii: "0")))
            try writer.finish()
            let work = try TemporaryDirectory("whiteout-invalid")
            let target = work.join("target")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            #expect(throws: StowageError.self, "\(name)") {
                _ = try LayerApplier.apply(from: MemorySource(sink.bytes), into: target)
            }
        }
    }

    private func differences(_ expected: [String: String], _ actual: [String: String]) -> String {
        Set(expected.keys).union(actual.keys).sorted().compactMap { key in
            expected[key] == actual[key] ? nil : "\(key): expected \(expected[key] ?? "absent"), got \(actual[key] ?? "absent")"
        }.joined(separator: "\n")
    }

    private func entryListing(_ tar: [UInt8]) throws -> String {
        let reader = TarReader(source: MemorySource(tar))
        var lines: [String] = []
        while let header = try reader.next() {
            lines.append("\(header.name) \(Character(UnicodeScalar(header.typeflag))) \(String(header.mode, radix: 8)) \(header.uid):\(header.gid) \(header.userName):\(header.groupName) \(header.size) \(header.modificationTime.seconds) \(header.linkName) \(header.xattrs.keys.sorted())")
        }
        return lines.joined(separator: "\n")
    }
}
