#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageDrivers
import StowageFileSystem

/// A container's read-write layer, as `layerdb/mounts/<container-id>/` records it.
public struct MountedLayer: Sendable, Equatable {
    /// The container ID (Docker names the mount after its container).
    public let name: String
    /// The driver directory of the writable layer (random, 64 hex digits).
    public let mountID: LayerCacheID
    /// The driver directory of the `-init` layer below it.
    public let initID: LayerCacheID?
    /// The image's top layer, nil for a container on an empty image.
    public let parent: ChainID?
}

/// Docker's store of read-write layers (`image/<driver>/layerdb/mounts`): for each container
/// its writable layer and `-init` layer in the driver, stacked on an image's top layer.
///
/// Creation makes the driver layers first and writes `mount-id` last, so that a mount
/// directory with a `mount-id` always names complete layers; anything less is a leftover
/// for `sweep`. Removal deletes `mount-id` first, for the same reason.
public final class MountedLayerStore: Sendable {
    /// `layerdb/mounts`.
    public let root: String
    private let layers: LayerStore
    private var driver: any DiffApplyingDriver { layers.driver }

    public init(layers: LayerStore) throws {
        self.layers = layers
        root = layers.root + "/mounts"
        try FileDescriptor.ensureDirectory(root, mode: 0o700)
    }

    /// Creates `name`'s init layer on `parent` (set up by `setUpInit` through its mounted
    /// path) and its writable layer on that; both are recorded in `lease` before they exist.
    public func create(_ name: String, parent: ChainID?, lease: Lease, setUpInit: (String) throws -> Void) throws -> MountedLayer {
        let parentLayer = try parent.map { try layers.requireLayer($0) }
        let mountID = LayerCacheID.random()
        let initID = try LayerCacheID(mountID.rawValue + "-init")
        let directory = root + "/" + name
        try lease.add(.cache(initID))
        try lease.add(.cache(mountID))
        do {
            try SystemError.check(mkdir(directory, 0o755), "mkdir", directory)
            try driver.createWritable(initID, parent: parentLayer?.cacheID)
            let initPath = try driver.get(initID)
            do {
                try setUpInit(initPath)
                try driver.put(initID)
            } catch {
                try? driver.put(initID)
                throw error
            }
            try driver.createWritable(mountID, parent: initID)
            CrashPoint.containerLayersCreated.reached()
            // One syncfs makes the layers and these files durable before mount-id records them.
            if let parent { try write(parent.description, "parent", in: directory, synced: false) }
            try write(initID.rawValue, "init-id", in: directory, synced: false)
            try FileDescriptor.openDirectory(driver.home).syncFileSystem()
            try write(mountID.rawValue, "mount-id", in: directory, synced: true)
            return MountedLayer(name: name, mountID: mountID, initID: initID, parent: parent)
        } catch {
            try? driver.remove(mountID)
            try? driver.unmount(initID)
            try? driver.remove(initID)
            try? FileDescriptor.removeTree(directory)
            throw error
        }
    }

    /// `layerdb/mounts/<name>`, where staging files of the record are written.
    public func path(of name: String) -> String { root + "/" + name }

    /// Removes whatever there is of container `name`'s read-write layer: its record, complete
    /// or not, and the driver layers a complete record names (mounted or not).
    public func removeRemains(of name: String) throws {
        if let mounted = try? layer(name) {
            try remove(mounted)
        } else {
            try FileDescriptor.removeTree(root + "/" + name)
        }
    }

    /// The read-write layer of container `name`, or nil if it has none (or only a part of one).
    public func layer(_ name: String) throws -> MountedLayer? {
        let directory = root + "/" + name
        guard let mountText = FileDescriptor.readText(directory + "/mount-id") else { return nil }
        do {
            return MountedLayer(name: name, mountID: try LayerCacheID(mountText),
                                initID: try FileDescriptor.readText(directory + "/init-id").map { try LayerCacheID($0) },
                                parent: try parent(of: name))
        } catch {
            throw StowageError(.invalidArchive, "read-write layer \(name) has corrupt metadata in \(directory)", underlying: error)
        }
    }

    /// The image layer below container `name`'s layers (one file read, for `ps -s`).
    public func parent(of name: String) throws -> ChainID? {
        let path = root + "/" + name + "/parent"
        guard let text = FileDescriptor.readText(path) else { return nil }
        do { return try ChainID(parsing: text) } catch {
            throw StowageError(.invalidArchive, "read-write layer \(name) has a corrupt parent in \(path)", underlying: error)
        }
    }

    /// Every complete read-write layer.
    public func all() throws -> [MountedLayer] {
        try FileDescriptor.openDirectory(root).childNames().compactMap { try layer($0) }
    }

    /// Removes the layer's metadata, then its driver layers (unmounted by force first).
    public func remove(_ mounted: MountedLayer) throws {
        let directory = root + "/" + mounted.name
        unlink(directory + "/mount-id")
        CrashPoint.containerLayerUnlisted.reached()
        try driver.unmount(mounted.mountID)
        try driver.remove(mounted.mountID)
        if let initID = mounted.initID {
            try driver.unmount(initID)  // a create killed while setting it up leaves it mounted
            try driver.remove(initID)
        }
        try FileDescriptor.removeTree(directory)
    }

    /// Removes the metadata and layers of every mount directory `isKept` rejects or that is
    /// incomplete; returns the driver layers of those kept (for the layer store's sweep).
    public func sweep(keeping isKept: (String) -> Bool) throws -> (removed: Int, kept: [MountedLayer]) {
        var removed = 0
        var kept: [MountedLayer] = []
        for name in try FileDescriptor.openDirectory(root).childNames() {
            if let mounted = try? layer(name), isKept(name) {
                kept.append(mounted)
                continue
            }
            // Incomplete or orphaned: its driver layers, if any, go with the layer store's
            // sweep of unknown driver directories.
            if let mounted = try? layer(name) { try? driver.unmount(mounted.mountID) }
            try FileDescriptor.removeTree(root + "/" + name)
            removed += 1
        }
        return (removed, kept)
    }

    private func write(_ value: String, _ name: String, in directory: String, synced: Bool) throws {
        try StagedFile.write(Array(value.utf8), to: directory + "/" + name, mode: 0o644, replacing: true, synced: synced)
    }
}
