#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// The btrfs driver: each layer a subvolume under `btrfs/subvolumes/<id>`, a child a snapshot
/// of its parent, so layers share their data on disk. Needs the data root on btrfs; uses
/// `btrfs` from Debian's btrfs-progs.
public final class BtrfsDriver: FullTreeDriver {
    public let name = "btrfs"
    public let home: String
    /// `btrfs.min_space`: refuse to create a layer when less is free.
    public let minimumFreeSpace: Int64?
    public var layersDirectory: String { subvolumes }
    private var subvolumes: String { home + "/subvolumes" }

    public init(dataRoot: String, minimumFreeSpace: Int64? = nil) throws {
        try FileDescriptor.ensureDirectory(dataRoot, mode: 0o711)
        let backing = try BackingFileSystem.name(of: dataRoot)
        guard backing == "btrfs" else {
            throw StowageError(.unsupported, "prerequisites for driver not satisfied (wrong filesystem?): \(dataRoot) is on \(backing), btrfs needs a btrfs filesystem; use overlay2 or vfs")
        }
        guard Subprocess.exists("btrfs") else {
            throw StowageError(.unsupported, "driver not supported: the btrfs command is missing (apt-get install -y btrfs-progs)")
        }
        home = dataRoot + "/btrfs"
        self.minimumFreeSpace = minimumFreeSpace
        try FileDescriptor.ensureDirectory(home, mode: 0o710)
        try FileDescriptor.ensureDirectory(subvolumes, mode: 0o700)
    }

    public func path(of id: LayerCacheID) -> String { subvolumes + "/" + id.rawValue }

    public func create(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        if let minimumFreeSpace {
            var info = statvfs()
            if statvfs(home, &info) == 0, Int64(info.f_bavail) * Int64(info.f_frsize) < minimumFreeSpace {
                throw StowageError(.limitExceeded, "not enough free space on \(home) for a new layer: btrfs.min_space is \(minimumFreeSpace) bytes")
            }
        }
        do {
            if let parent {
                try Subprocess.run(["btrfs", "-q", "subvolume", "snapshot", path(of: parent), path(of: id)])
            } else {
                try Subprocess.run(["btrfs", "-q", "subvolume", "create", path(of: id)])
            }
            try SystemError.check(chmod(path(of: id), 0o755), "chmod", path(of: id))
        } catch let error as SubprocessError {
            throw StowageError(.ioFailure, "cannot create btrfs layer \(id)", underlying: error)
        }
    }

    /// Deletes the subvolume and any subvolume nested in it (a container may make some).
    public func remove(_ id: LayerCacheID) throws {
        let target = path(of: id)
        guard FileDescriptor.exists(target) else { return }
        do {
            try deleteSubvolume(target)
        } catch let error as SubprocessError {
            throw StowageError(.ioFailure, "cannot remove btrfs layer \(id)", underlying: error)
        }
    }

    private func deleteSubvolume(_ path: String) throws {
        for nested in try nestedSubvolumes(of: path) {
            try deleteSubvolume(nested)
        }
        try Subprocess.run(["btrfs", "-q", "subvolume", "delete", path])
    }

    /// Subvolumes directly inside `path` (a subvolume root has inode 256).
    private func nestedSubvolumes(of path: String) throws -> [String] {
        var found: [String] = []
        func walk(_ directory: FileDescriptor, _ prefix: String) throws {
            for name in try directory.childNames() {
                guard let status = try directory.statusOfEntry(name), status.isDirectory else { continue }
                if status.inode == 256 { found.append(prefix + "/" + name); continue }
                try walk(directory.openChildDirectory(name), prefix + "/" + name)
            }
        }
        try walk(FileDescriptor.openDirectory(path), path)
        return found
    }
}
