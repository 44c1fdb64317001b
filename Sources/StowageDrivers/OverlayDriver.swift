#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar
import Synchronization

/// The legacy overlay driver, in Docker's layout: one lower directory per mount.
///
///     overlay/<id>/root       an image layer's complete tree: its parent's tree hard-linked,
///                             with its own diff applied (unchanged files share inodes)
///     overlay/<id>/lower-id   for a layer on top of one with a `root`: that layer's ID
///     overlay/<id>/upper      …its own changes (a container's writes)
///     overlay/<id>/work, merged
///
/// A layer with a `root` is its `root`; any other is mounted as `lower-id`'s root under its
/// own upper directory.
public final class OverlayDriver: DiffApplyingDriver {
    public let name = "overlay"
    public let home: String
    /// The stacks this process holds.
    private let mounts = Mutex(MountTracker())

    public init(dataRoot: String) throws {
        home = dataRoot + "/overlay"
        try Overlay2Driver.checkSupport(dataRoot: dataRoot)
        try FileDescriptor.ensureDirectory(home, mode: 0o710)
    }

    public func directory(of id: LayerCacheID) -> String { home + "/" + id.rawValue }
    private func rootPath(of id: LayerCacheID) -> String { directory(of: id) + "/root" }

    public func create(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        let directory = self.directory(of: id)
        guard mkdir(directory, 0o700) == 0 else {
            throw StowageError(errno == EEXIST ? .alreadyExists : .ioFailure, "cannot create overlay layer \(id)",
                               underlying: SystemError("mkdir", path: directory, errno: errno))
        }
        do {
            guard let parent else {
                try FileDescriptor.ensureDirectory(rootPath(of: id), mode: 0o755)
                return
            }
            let lowerID: String
            if FileDescriptor.exists(rootPath(of: parent)) {
                lowerID = parent.rawValue
                try FileDescriptor.ensureDirectory(directory + "/upper", mode: 0o755)
            } else {
                // The parent is itself an upper on some root: share that root, copy its upper.
                guard let parentLower = FileDescriptor.readText(self.directory(of: parent) + "/lower-id") else {
                    throw StowageError(.notFound, "overlay layer \(parent) has neither root nor lower-id")
                }
                lowerID = parentLower
                try FileDescriptor.ensureDirectory(directory + "/upper", mode: 0o755)
                try TreeCopier.copy(from: self.directory(of: parent) + "/upper", to: directory + "/upper")
            }
            try StagedFile.write(Array(lowerID.utf8), to: directory + "/lower-id", replacing: false, synced: false)
            try FileDescriptor.ensureDirectory(directory + "/work", mode: 0o700)
            try FileDescriptor.ensureDirectory(directory + "/merged", mode: 0o700)
        } catch {
            try? remove(id)
            throw error
        }
    }

    public func remove(_ id: LayerCacheID) throws {
        if isMounted(directory(of: id) + "/merged") {
            throw StowageError(.alreadyExists, "overlay layer \(id) is mounted; unmount it first")
        }
        try VFSDriver.removeDirectory(named: id.rawValue, in: home)
    }

    public func get(_ id: LayerCacheID) throws -> String {
        guard exists(id) else { throw StowageError(.notFound, "overlay layer \(id) does not exist") }
        if FileDescriptor.exists(rootPath(of: id)) { return rootPath(of: id) }
        let merged = directory(of: id) + "/merged"
        return try mounts.withLock { tracker in
            if tracker.reacquire(id) { return merged }
            guard let lowerID = FileDescriptor.readText(directory(of: id) + "/lower-id") else {
                throw StowageError(.notFound, "overlay layer \(id) has no lower-id")
            }
            let borrowed = isMounted(merged)
            if !borrowed {
                try FileDescriptor.ensureDirectory(merged, mode: 0o700)  // `put` removes it, as Docker's
                let options = "lowerdir=\(home)/\(lowerID)/root,upperdir=\(directory(of: id))/upper,workdir=\(directory(of: id))/work"
                guard stowage_mount("overlay", merged, "overlay", 0, options) == 0 else {
                    throw StowageError(.ioFailure, "cannot mount overlay layer \(id)", underlying: SystemError("mount overlay", path: merged, errno: errno))
                }
            }
            tracker.acquired(id, owned: !borrowed)
            return merged
        }
    }

    public func put(_ id: LayerCacheID) throws {
        // Under the lock, so that no concurrent `get` borrows the stack being unmounted.
        try mounts.withLock { tracker in
            guard tracker.release(id) else { return }
            try unmountStack(directory(of: id) + "/merged", of: id, driver: name)
        }
    }

    public func unmount(_ id: LayerCacheID) throws {
        mounts.withLock { $0.forget(id) }
        try unmountStack(directory(of: id) + "/merged", of: id, driver: name)
    }

    public func exists(_ id: LayerCacheID) -> Bool { FileDescriptor.exists(directory(of: id)) }

    /// Unmounts every stack this process mounted.
    public func cleanup() throws {
        for id in mounts.withLock({ $0.owned }) { try unmount(id) }
    }

    public func layerIDs() throws -> [LayerCacheID] {
        try VFSDriver.layerIDs(in: home)
    }

    public func status() throws -> [(String, String)] {
        [("Backing Filesystem", try BackingFileSystem.name(of: home)),
         ("Supports d_type", String(try BackingFileSystem.supportsDType(at: home)))]
    }

    public func metadata(_ id: LayerCacheID) throws -> [String: String]? {
        if FileDescriptor.exists(rootPath(of: id)) { return ["RootDir": rootPath(of: id)] }
        let lowerID = FileDescriptor.readText(directory(of: id) + "/lower-id") ?? ""
        return ["LowerDir": home + "/" + lowerID + "/root", "MergedDir": directory(of: id) + "/merged",
                "UpperDir": directory(of: id) + "/upper", "WorkDir": directory(of: id) + "/work"]
    }

    /// On a parent with a `root`: hard-link that root into a new one and apply the diff to it
    /// (files the diff replaces are unlinked first, so the parent's stay intact). A base
    /// layer is applied into its empty `root`.
    public func applyDiff(_ id: LayerCacheID, from stream: ByteSource, options: ApplyOptions,
                          tarSplit: TarSplitWriter?) throws -> LayerApplyResult {
        var plain = options
        plain.whiteoutFormat = .plain
        let directory = self.directory(of: id)
        if FileDescriptor.exists(rootPath(of: id)) {
            return try LayerApplier.apply(from: stream, into: rootPath(of: id), options: plain, tarSplit: tarSplit)
        }
        guard let lowerID = FileDescriptor.readText(directory + "/lower-id"),
              FileDescriptor.exists(home + "/" + lowerID + "/root"),
              (try? FileDescriptor.openDirectory(directory + "/upper").isEmptyDirectory()) == true else {
            // A layer over an upper: apply through the mounted stack (Docker's naive path).
            let merged = try get(id)
            defer { try? put(id) }
            var overlay = options
            overlay.whiteoutFormat = .plain
            return try LayerApplier.apply(from: stream, into: merged, options: overlay, tarSplit: tarSplit)
        }
        let staging = directory + "/tmproot"
        try FileDescriptor.ensureDirectory(staging, mode: 0o755)
        do {
            try TreeCopier.copy(from: home + "/" + lowerID + "/root", to: staging, linkingFiles: true)
            let result = try LayerApplier.apply(from: stream, into: staging, options: plain, tarSplit: tarSplit)
            try FileDescriptor.rename(staging, to: rootPath(of: id), noReplace: true)
            return result
        } catch {
            try? FileDescriptor.openDirectory(directory).removeEntry("tmproot")
            throw error
        }
    }
}
