import Foundation
import StowageCore
import StowageTestSupport
import Testing

@Suite("Choosing the storage driver as Docker does")
struct DriverSelectionTests {
    /// `info` on `root`, an empty directory made first (a read verb refuses a root that does not exist).
    private func info(_ root: String, _ extra: [String] = []) throws -> ProcessResult {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return try runProcess([try stowageBinary(), "--data-root", root] + extra + ["info"])
    }

    private func field(_ name: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ":") }
            .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
    }

    @Test("without a choice, the backing filesystem decides", arguments: [
        ("ext4", "overlay2", "extfs"), ("xfs", "overlay2", "xfs"), ("btrfs", "btrfs", "btrfs"), ("tmpfs", "overlay2", "tmpfs"),
    ])
    func byBackingFilesystem(_ type: String, _ expected: String, _ backing: String) throws {
        var loop: LoopFileSystem?
        let scratch = try TemporaryDirectory("select-\(type)")
        let root: String
        if type == "tmpfs" {
            try FileManager.default.createDirectory(atPath: scratch.join("mnt"), withIntermediateDirectories: false)
            try shell("mount -t tmpfs -o size=256m stowage-tmpfs '\(scratch.join("mnt"))'")
            root = scratch.join("mnt") + "/root"
        } else {
            loop = try LoopFileSystem(type: type, sizeMiB: type == "xfs" ? 320 : 256)
            root = loop!.mountPoint + "/root"
        }
        defer { withExtendedLifetime(loop) {}; unmountEverything(under: scratch.path) }
        let result = try info(root)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(field("Storage Driver", in: result.output) == expected, "\(type): \(result.output)")
        if expected == "overlay2" {  // docker info shows no such lines for btrfs
            #expect(field("Backing Filesystem", in: result.output) == backing)
            #expect(field("Supports d_type", in: result.output) == "true")
        }
        // The root works: an image loads and lists.
        let load = try runProcess([try stowageBinary(), "--data-root", root, "load", "-i", Fixtures.path("links.tar")])
        #expect(load.output == "Loaded image: fixture/links:latest\n", "\(load.standardError)")
    }

    @Test("drivers this kernel lacks are refused with what is missing, never replaced silently", arguments: [
        ("aufs", "AUFS was not found in /proc/filesystems"),
        ("devicemapper", "device-mapper"),
        ("zfs", "zfs was not found in /proc/filesystems"),
        ("btrfs", "prerequisites for driver not satisfied (wrong filesystem?)"),
        ("nosuchdriver", "unknown storage driver"),
    ])
    func refused(_ driver: String, _ message: String) throws {
        let scratch = try TemporaryDirectory("refuse")
        let result = try info(scratch.join("root"), ["--storage-driver", driver])
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("stowage: ") && lines[0].contains(message), "\(result.standardError)")
    }

    @Test("storage options are checked against the driver and the filesystem")
    func storageOptions() throws {
        let scratch = try TemporaryDirectory("options")
        let ext4 = try info(scratch.join("root"), ["--storage-driver", "overlay2", "--storage-opt", "overlay2.size=1G"])
        #expect(ext4.status == 1 && ext4.standardError.contains("overlay2.size needs project quotas"), "\(ext4.standardError)")
        let unknown = try info(scratch.join("root"), ["--storage-driver", "vfs", "--storage-opt", "overlay2.size=1G"])
        #expect(unknown.status == 1 && unknown.standardError.contains("unknown option overlay2.size for the vfs storage driver"))

        let xfs = try LoopFileSystem(type: "xfs", sizeMiB: 320)
        let plain = try info(xfs.mountPoint + "/root", ["--storage-driver", "overlay2", "--storage-opt", "overlay2.size=1G"])
        #expect(plain.status == 1 && plain.standardError.contains("without project quotas"), "\(plain.standardError)")

        let btrfs = try LoopFileSystem(type: "btrfs", sizeMiB: 256)
        let root = btrfs.mountPoint + "/root"
        let tooFull = try runProcess([try stowageBinary(), "--data-root", root, "--storage-opt", "btrfs.min_space=100G",
                                      "load", "-i", Fixtures.path("links.tar")])
        #expect(tooFull.status == 1 && tooFull.standardError.contains("not enough free space"), "\(tooFull.standardError)")
        let fits = try runProcess([try stowageBinary(), "--data-root", root, "--storage-opt", "btrfs.min_space=1M",
                                   "load", "-i", Fixtures.path("links.tar")])
        #expect(fits.status == 0, "\(fits.standardError)")
    }

    @Test("a root keeps the driver it has data for; another driver hides its images until switching back")
    func switching() throws {
        let scratch = try TemporaryDirectory("switch")
        let root = scratch.join("root")
        let stowage = { (arguments: [String]) throws -> ProcessResult in
            try runProcess([try stowageBinary(), "--data-root", root] + arguments)
        }
        #expect(try stowage(["--storage-driver", "vfs", "load", "-i", Fixtures.path("links.tar")]).status == 0)
        let kept = try stowage(["info"])
        #expect(field("Storage Driver", in: kept.output) == "vfs", "data of vfs keeps vfs")

        let other = try stowage(["--storage-driver", "overlay2", "images", "-q"])
        #expect(other.status == 0)
        #expect(other.output == "", "vfs images are not listed under overlay2")
        #expect(other.standardError.contains("also holds data of the vfs storage driver"), "\(other.standardError)")
        #expect(try stowage(["--storage-driver", "overlay2", "load", "-i", Fixtures.path("whiteout.tar")]).status == 0)
        #expect(try stowage(["--storage-driver", "overlay2", "images", "--format", "{{.Repository}}"]).output == "fixture/whiteout\n")

        let back = try stowage(["--storage-driver", "vfs", "images", "--format", "{{.Repository}}"])
        #expect(back.output == "fixture/links\n")
        let ambiguous = try stowage(["images"])
        #expect(ambiguous.status == 1 && ambiguous.standardError.contains("contains several valid storage drivers"))

        // The choice can also come from daemon.json.
        let config = try scratch.write("daemon.json", #"{"data-root": "\#(root)", "storage-driver": "overlay2"}"#)
        let configured = try runProcess([try stowageBinary(), "--config", config, "images", "--format", "{{.Repository}}"])
        #expect(configured.output == "fixture/whiteout\n", "\(configured.standardError)")
        try shell("umount -R '\(scratch.path)' 2>/dev/null || true")
    }
}
