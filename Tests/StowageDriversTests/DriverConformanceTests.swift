import Foundation
import StowageArchive
import StowageCore
import StowageDrivers
@testable import StowageEngine
import StowageFileSystem
import StowageLayers
import StowageTar
import StowageTestSupport
import Testing

/// The drivers that work on this machine; every test here runs against each.
let conformingDrivers = ["vfs", "overlay2", "overlay", "btrfs", "fuse-overlayfs"]

/// A data root where `driver` can work: btrfs gets a loop-mounted btrfs filesystem.
final class DriverEnvironment {
    let scratch: TemporaryDirectory
    let filesystem: LoopFileSystem?
    let dataRoot: String

    init(_ driver: String) throws {
        scratch = try TemporaryDirectory("driver-\(driver)")
        filesystem = driver == "btrfs" ? try LoopFileSystem(type: "btrfs") : nil
        dataRoot = (filesystem?.mountPoint ?? scratch.path) + "/root"
    }

    func engine(_ driver: String) throws -> Engine {
        try Engine(EngineConfiguration(dataRoot: dataRoot, storageDriver: driver))
    }
}

extension Engine {
    /// Registers a layer that no image holds, as a finished change (nothing to recover).
    func registerLayer(_ source: ByteSource, parent: ChainID?) throws -> LayerRegistration {
        let lease = try storage.leases.open()
        defer { lease.release() }
        return try storage.layers.register(source, parent: parent, lease: lease)
    }
}

/// A layer tar built in the test.
func layerTar(_ entries: [(TarHeader, [UInt8])]) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = TarWriter(sink: sink)
    for (header, data) in entries {
        try writer.writeHeader(header)
        try writer.write(data)
    }
    try writer.finish()
    return sink.bytes
}

func file(_ name: String, _ text: String, mode: Int64 = 0o644, mtime: Int64 = 1_700_000_000) -> (TarHeader, [UInt8]) {
    var header = TarHeader(name: name, typeflag: TarHeader.regularFlag)
    header.size = Int64(text.utf8.count)
    header.mode = mode
    header.modificationTime = TarTime(seconds: mtime)
    return (header, Array(text.utf8))
}

func entry(_ name: String, _ flag: UInt8, mode: Int64 = 0o755, _ configure: (inout TarHeader) -> Void = { _ in }) -> (TarHeader, [UInt8]) {
    var header = TarHeader(name: name, typeflag: flag)
    header.mode = mode
    header.modificationTime = TarTime(seconds: 1_700_000_000)
    configure(&header)
    return (header, [])
}

@Suite("One conformance suite for every storage driver", .serialized)
struct DriverConformanceTests {

    /// What a mounted image looks like: every path's type, mode, owner, size, content digest,
    /// link target and times.
    private func snapshot(of image: String, in engine: Engine) throws -> [String: String] {
        let id = try engine.images.resolve(image)
        let top = try #require(try engine.images.layers(of: id).last)
        let path = try engine.storage.driver.get(top.cacheID)
        defer { try? engine.storage.driver.put(top.cacheID) }
        var entries = try TreeSnapshot(path).entries
        entries["."] = nil
        return entries.mapValues { $0.replacingOccurrences(of: #" nlink=\d+"#, with: "", options: .regularExpression) }
    }

    @Test("every fixture loads and reads identically under every driver", arguments: ["whiteout+links.tar", "base.tar", "many-layers.tar"])
    func fixturesReadIdentically(_ archive: String) throws {
        var views: [String: [String: [String: String]]] = [:]
        for driver in conformingDrivers {
            let environment = try DriverEnvironment(driver)
            let engine = try environment.engine(driver)
            #expect(engine.storage.driver.name == driver)
            let ids = try engine.images.load(path: Fixtures.path(archive), with: engine.images.makeLoader())
            var perImage: [String: [String: String]] = [:]
            for id in ids { perImage[id.description] = try snapshot(of: id.description, in: engine) }
            views[driver] = perImage
            withExtendedLifetime(environment) {}
        }
        let reference = try #require(views["vfs"])
        for driver in conformingDrivers.dropFirst() {
            for (image, expected) in reference {
                let actual = try #require(views[driver]?[image])
                #expect(actual == expected, "\(driver) \(image): \(Self.difference(expected, actual))")
            }
        }
        if archive == "whiteout+links.tar", let whiteout = reference["sha256:7f3e179404ad50882bd2f1264c4a03e26542ce19a6fde7921d45ff6ccc36d8f5"] {
            #expect(whiteout["etc/motd"] == nil, "the whiteout hides /etc/motd")
            #expect(whiteout.keys.filter { $0.hasPrefix("var/lib/app/") }.sorted() == ["var/lib/app/c.txt"], "the opaque directory hides the lower files")
        }
    }

    @Test("special files survive: hard links, symlinks, xattrs, owners, setuid, times, devices, FIFOs", arguments: conformingDrivers)
    func specialFiles(_ driverName: String) throws {
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        let tar = try layerTar([
            entry("bin/", TarHeader.directoryFlag),
            file("bin/tool", "#!/bin/sh\n", mode: 0o4755),
            entry("bin/tool-link", TarHeader.hardLinkFlag, mode: 0o4755) { $0.linkName = "bin/tool" },
            entry("bin/relative", TarHeader.symbolicLinkFlag, mode: 0o777) { $0.linkName = "tool" },
            entry("bin/absolute", TarHeader.symbolicLinkFlag, mode: 0o777) { $0.linkName = "/etc/passwd" },
            entry("tmp/", TarHeader.directoryFlag, mode: 0o1777),
            file("owned", "data") ,
            entry("dev/", TarHeader.directoryFlag),
            entry("dev/null", TarHeader.characterDeviceFlag, mode: 0o666) { $0.deviceMajor = 1; $0.deviceMinor = 3 },
            entry("dev/loop9", TarHeader.blockDeviceFlag, mode: 0o660) { $0.deviceMajor = 7; $0.deviceMinor = 9 },
            entry("fifo", TarHeader.fifoFlag, mode: 0o640),
            {
                var (header, data) = file("xattrs", "x")
                header.xattrs = ["user.comment": Array("kept".utf8), "security.capability": [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
                header.uid = 1234
                header.gid = 5678
                header.modificationTime = TarTime(seconds: 1_234_567_890, nanoseconds: 5)
                return (header, data)
            }(),
        ])
        let layer = try engine.registerLayer(MemorySource(tar), parent: nil).layer
        let child = try engine.registerLayer(MemorySource(try layerTar([file("added", "on top")])), parent: layer.chainID).layer
        for record in [layer, child] {
            let root = try engine.storage.driver.get(record.cacheID)
            defer { try? engine.storage.driver.put(record.cacheID) }
            var st = stat()
            #expect(lstat(root + "/bin/tool", &st) == 0 && st.st_mode & 0o7777 == 0o4755)
            // The legacy overlay driver shares unchanged files with the parent by hard links.
            #expect(driverName == "overlay" || st.st_nlink == 2)
            var linked = stat()
            #expect(lstat(root + "/bin/tool-link", &linked) == 0 && linked.st_ino == st.st_ino)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/absolute") == "/etc/passwd")
            #expect(lstat(root + "/tmp", &st) == 0 && st.st_mode & 0o7777 == 0o1777)
            #expect(lstat(root + "/dev/null", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == makedevice(1, 3))
            #expect(lstat(root + "/dev/loop9", &st) == 0 && st.st_mode & S_IFMT == S_IFBLK)
            #expect(lstat(root + "/fifo", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO && st.st_mode & 0o777 == 0o640)
            #expect(lstat(root + "/xattrs", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678)
            #expect(st.st_mtim.tv_sec == 1_234_567_890 && st.st_mtim.tv_nsec == 5)
            let handle = try FileDescriptor.open(root + "/xattrs", O_RDONLY)
            #expect(try handle.extendedAttribute("user.comment") == Array("kept".utf8))
            #expect(try handle.extendedAttribute("security.capability") != nil)
        }
        let top = try engine.storage.driver.get(child.cacheID)
        #expect(FileManager.default.fileExists(atPath: top + "/added"))
        try engine.storage.driver.put(child.cacheID)
    }

    @Test("chains of 1, 2 and 40 layers stack, each layer replacing the last one's file", arguments: conformingDrivers)
    func chains(_ driverName: String) throws {
        for depth in [1, 2, 40] {
            let environment = try DriverEnvironment(driverName)
            let engine = try environment.engine(driverName)
            defer { withExtendedLifetime(environment) {} }
            var parent: ChainID?
            var records: [ChainID] = []
            for level in 0..<depth {
                var entries = [file("level-\(level)", "\(level)\n")]
                if level > 0 { entries.append(file(".wh.level-\(level - 1)", "")) }
                let record = try engine.registerLayer(MemorySource(try layerTar(entries)), parent: parent).layer
                parent = record.chainID
                records.append(record.chainID)
            }
            let top = try engine.storage.layers.requireLayer(parent!)
            let path = try engine.storage.driver.get(top.cacheID)
            #expect(try FileManager.default.contentsOfDirectory(atPath: path) == ["level-\(depth - 1)"], "depth \(depth)")
            try engine.storage.driver.put(top.cacheID)
            for chainID in records.reversed() {
                try engine.storage.layers.remove(try engine.storage.layers.requireLayer(chainID))
            }
            #expect(try engine.storage.driver.layerIDs() == [])
        }
    }

    @Test("changes follow docker diff's conventions, and diff then apply gives the same diff_id", arguments: conformingDrivers)
    func diffRoundTrip(_ driverName: String) throws {
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        let base = try engine.registerLayer(MemorySource(try layerTar([
            entry("etc/", TarHeader.directoryFlag), file("etc/motd", "hello\n"), file("etc/passwd", "root\n"),
            entry("app/", TarHeader.directoryFlag), file("app/a.txt", "a"), file("app/b.txt", "b"),
            entry("keep/", TarHeader.directoryFlag), file("keep/same", "same"),
        ])), parent: nil).layer
        let top = try engine.registerLayer(MemorySource(try layerTar([
            entry("etc/", TarHeader.directoryFlag), file(".wh.gone", ""), file("etc/.wh.motd", ""),
            file("etc/passwd", "root\nuser\n", mtime: 1_700_000_100),
            entry("app/", TarHeader.directoryFlag), file("app/.wh..wh..opq", ""), file("app/c.txt", "c"),
            entry("new/", TarHeader.directoryFlag), file("new/file", "n"),
        ])), parent: base.chainID).layer

        let changes = try engine.storage.driver.changes(top.cacheID, parent: base.cacheID).map(\.description)
        #expect(changes == ["C /app", "D /app/a.txt", "D /app/b.txt", "A /app/c.txt", "C /etc", "D /etc/motd", "C /etc/passwd",
                            "A /new", "A /new/file"], "\(driverName)")

        // "root\nuser\n" + "c" + "n": what the layer adds or changes.
        #expect(try engine.storage.driver.diffSize(top.cacheID, parent: base.cacheID) == 12, "\(driverName)")

        let first = MemorySink()
        let exported = try engine.storage.driver.diff(top.cacheID, parent: base.cacheID, to: first)
        let again = try engine.registerLayer(MemorySource(first.bytes), parent: base.chainID).layer
        #expect(again.diffID == exported.diffID)
        let second = MemorySink()
        let reexported = try engine.storage.driver.diff(again.cacheID, parent: base.cacheID, to: second)
        #expect(reexported.diffID == exported.diffID, "\(driverName): diff → apply → diff changed the bytes")
        let original = try engine.storage.driver.get(top.cacheID)
        let copy = try engine.storage.driver.get(again.cacheID)
        var expected = try TreeSnapshot(original).entries, actual = try TreeSnapshot(copy).entries
        expected["."] = nil
        actual["."] = nil
        #expect(actual == expected)
        try engine.storage.driver.put(top.cacheID)
        try engine.storage.driver.put(again.cacheID)
    }

    @Test("a writable layer's changes are the naive diff's of the two whole trees", arguments: conformingDrivers)
    func writableChangesMatchFullWalk(_ driverName: String) throws {
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        var entries: [(TarHeader, [UInt8])] = []
        for directory in ["a", "a/b", "a/b/c", "keep", "keep/deep", "gone", "gone/sub", "moved", "opq", "meta", "swap", "swap/sub",
                          "lower", "lower/hidden"] {
            entries.append(entry(directory + "/", TarHeader.directoryFlag))
            for index in 0..<3 { entries.append(file("\(directory)/f\(index)", "\(directory) \(index)\n")) }
        }
        let bottom = try engine.registerLayer(MemorySource(try layerTar(entries)), parent: nil).layer
        // A middle layer with a whiteout, an opaque directory and a file that hides a directory.
        let base = try engine.registerLayer(MemorySource(try layerTar([
            entry("a/", TarHeader.directoryFlag), entry("a/b/", TarHeader.directoryFlag), file("a/b/.wh.f2", ""),
            entry("lower/", TarHeader.directoryFlag), file("lower/.wh..wh..opq", ""), file("lower/only", "only\n"),
            file("keep/deep2", "file over nothing\n"), file("swap/.wh.f1", ""),
        ])), parent: bottom.chainID).layer
        let writable = LayerCacheID.random()
        try engine.storage.driver.createWritable(writable, parent: base.cacheID)
        defer { try? engine.storage.driver.remove(writable) }
        let path = try engine.storage.driver.get(writable)
        defer { try? engine.storage.driver.put(writable) }
        // Writes of every kind: new files deep down, a change, metadata only, copy-up without a
        // change, deletions, a removed tree, an opaque re-create, a renamed tree, links.
        try shell("""
            set -e; cd '\(path)'
            echo new > a/b/c/new; mkdir -p fresh/x; echo y > fresh/x/y
            echo more >> a/b/f1; chmod 600 meta/f0; chown 1:1 meta/f1; touch -d @1700000000 meta/f2; chmod 700 meta
            cat keep/f0 >> /dev/null; : >> keep/f1
            rm a/f2; rm -rf gone; rm -rf opq && mkdir opq && echo o > opq/only
            mv moved renamed; ln a/f0 hard; ln -s a/b soft
            rm -rf swap/sub && echo f > swap/sub; rm swap/f0 && mkdir swap/f0 && echo in > swap/f0/in
            echo more >> lower/only; touch a/b/f2
            """)
        let parentPath = try engine.storage.driver.get(base.cacheID)
        defer { try? engine.storage.driver.put(base.cacheID) }
        let full = try NaiveDiff.changes(layer: path, parent: parentPath)
        #expect(try engine.storage.driver.changes(writable, parent: base.cacheID) == full, "\(driverName)")
        #expect(full.contains(Change(path: "/a/b/c/new", kind: .added)) && full.contains(Change(path: "/gone", kind: .deleted)))
        #expect(!full.contains { $0.path.hasPrefix("/keep") }, "copy-up without a change is no change")
    }

    @Test("get and put are reference counted, and a mounted layer cannot be removed", arguments: ["overlay2", "fuse-overlayfs", "overlay"])
    func referenceCounting(_ driverName: String) throws {
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        let base = try engine.registerLayer(MemorySource(try layerTar([file("a", "a")])), parent: nil).layer
        let top = try engine.registerLayer(MemorySource(try layerTar([file("b", "b")])), parent: base.chainID).layer
        // A writable layer on the image, as a container has.
        let driver = engine.storage.driver
        let writable = LayerCacheID.random()
        try driver.create(writable, parent: top.cacheID)
        let first = try driver.get(writable)
        let second = try driver.get(writable)
        #expect(first == second)
        #expect(Self.mounted(first))
        try "written".write(toFile: first + "/new", atomically: false, encoding: .utf8)
        #expect(try FileManager.default.contentsOfDirectory(atPath: first).sorted() == ["a", "b", "new"])
        try driver.put(writable)
        #expect(Self.mounted(first), "one get is still held")
        let refused = #expect(throws: StowageError.self) { try driver.remove(writable) }
        #expect(refused?.message.contains("mounted") == true)
        try driver.put(writable)
        #expect(!Self.mounted(first))
        try driver.remove(writable)
        #expect(!driver.exists(writable))
    }

    @Test("btrfs removes a layer with subvolumes nested in it")
    func btrfsNestedSubvolumes() throws {
        let environment = try DriverEnvironment("btrfs")
        let engine = try environment.engine("btrfs")
        defer { withExtendedLifetime(environment) {} }
        let layer = try engine.registerLayer(MemorySource(try layerTar([file("a", "a")])), parent: nil).layer
        let writable = LayerCacheID.random()
        try engine.storage.driver.createWritable(writable, parent: layer.cacheID)
        let path = try engine.storage.driver.get(writable)
        try shell("btrfs -q subvolume create '\(path)/nested' && btrfs -q subvolume create '\(path)/nested/deeper'")
        try engine.storage.driver.remove(writable)
        #expect(!engine.storage.driver.exists(writable))
        #expect(try engine.storage.driver.layerIDs() == [layer.cacheID])
    }

    @Test("more than 128 lower layers are refused clearly")
    func depthLimit() throws {
        let scratch = try TemporaryDirectory("depth")
        let driver = try Overlay2Driver(dataRoot: scratch.join("root"))
        var parent: LayerCacheID?
        for _ in 0...Overlay2Driver.maximumDepth {
            let id = LayerCacheID.random()
            try driver.create(id, parent: parent)
            parent = id
        }
        let error = #expect(throws: StowageError.self) { try driver.create(LayerCacheID.random(), parent: parent) }
        #expect(error?.message.contains("max depth exceeded") == true)
        #expect(Self.mounted(scratch.path) == false)
    }

    /// Whether a filesystem is mounted on `path`: its device differs from its parent's. (A read of
    /// `/proc/self/mountinfo` can miss entries while other tests mount and unmount in parallel.)
    private static func mounted(_ path: String) -> Bool {
        var own = stat(), parent = stat()
        guard stat(path, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    private static func difference(_ expected: [String: String], _ actual: [String: String]) -> String {
        Set(expected.keys).union(actual.keys).sorted().compactMap { key in
            expected[key] == actual[key] ? nil : "\(key): \(expected[key] ?? "absent") vs \(actual[key] ?? "absent")"
        }.prefix(10).joined(separator: "\n")
    }
}

private func makedevice(_ major: UInt32, _ minor: UInt32) -> UInt64 {
    (UInt64(major & 0xfffff000) << 32) | (UInt64(major & 0xfff) << 8) | (UInt64(minor & 0xffffff00) << 12) | UInt64(minor & 0xff)
}
