#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// The vfs driver: every layer is a complete copy of its parent with its own diff applied,
/// under `vfs/dir/<cache-id>`. Works on any filesystem; copies share extents where the
/// filesystem can reflink (btrfs, xfs) and are made in the kernel otherwise.
public final class VFSDriver: FullTreeDriver {
    public let name = "vfs"
    public let home: String
    public var layersDirectory: String { directories }
    private var directories: String { home + "/dir" }

    /// Opens (creating if needed) the driver's home below `dataRoot`.
    public init(dataRoot: String) throws {
        home = dataRoot + "/vfs"
        try FileDescriptor.ensureDirectory(home, mode: 0o710)
        try FileDescriptor.ensureDirectory(home + "/dir", mode: 0o710)
    }

    public func path(of id: LayerCacheID) -> String { directories + "/" + id.rawValue }

    public func create(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        let target = path(of: id)
        guard mkdir(target, 0o755) == 0 else {
            throw StowageError(errno == EEXIST ? .alreadyExists : .ioFailure, "cannot create vfs layer \(id)",
                               underlying: SystemError("mkdir", path: target, errno: errno))
        }
        guard let parent else { return }
        do {
            try TreeCopier.copy(from: path(of: parent), to: target)
        } catch {
            try? remove(id)
            throw StowageError(.ioFailure, "cannot copy vfs layer \(parent) into \(id)", underlying: error)
        }
    }

    public func remove(_ id: LayerCacheID) throws {
        try Self.removeDirectory(named: id.rawValue, in: directories)
    }

    // MARK: - Helpers shared by drivers

    /// The layers in `directory`: every layer directory, and those half removed (named
    /// `<id>-removing`), which `remove(id)` finishes.
    static func layerIDs(in directory: String) throws -> [LayerCacheID] {
        try FileDescriptor.openDirectory(directory).childNames().compactMap { name in
            try? LayerCacheID(name.hasSuffix("-removing") ? String(name.dropLast("-removing".count)) : name)
        }
    }

    /// Renames `name` to `name-removing` first, so an interrupted removal is recognisable
    /// and finished later (by removing the same layer again), then deletes it without
    /// following symlinks.
    static func removeDirectory(named name: String, in parentPath: String) throws {
        let parent = try FileDescriptor.openDirectory(parentPath)
        let doomed = name.hasSuffix("-removing") ? name : name + "-removing"
        if doomed != name {
            do {
                try parent.rename(name, to: doomed, in: parent)
            } catch let error as SystemError where error.errno == ENOENT {
                // Gone already, or half removed by an interrupted removal: finish that.
                guard try parent.statusOfEntry(doomed) != nil else { return }
            }
        }
        do {
            try parent.removeEntry(doomed)
        } catch {
            throw StowageError(.ioFailure, "cannot remove \(parentPath)/\(name)", underlying: error)
        }
    }
}
