#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// Recovery: what changes that did not complete left, rolled back or finished.
///
/// Every change announces in its lease what it is about to make or remove before it does,
/// and names its staging files after the lease. When the owner of a lease is gone, the lease
/// says where to look: nothing else needs a walk of the root.
extension StorageGraph {
    /// Recovers every abandoned lease. Cheap when there is none: one directory listing and
    /// one lock attempt per lease in flight.
    func recoverAbandonedLeases() throws {
        let abandoned = try leases.claimAbandoned()
        guard !abandoned.isEmpty else { return }
        try graph.withExclusive { try recoverClaimed(abandoned) }
    }

    /// Recovers and releases claimed leases; call it holding the graph lock.
    func recoverClaimed(_ abandoned: [AbandonedLease]) throws {
        for lease in abandoned where lease.isCurrent {
            try recover(lease.typedEntries, leaseID: lease.id)
            lease.release()
        }
    }

    /// Rolls back what a change that did not complete made, and finishes what it removed.
    /// Idempotent; call it holding the graph lock.
    func recover(_ entries: [LeaseEntry], leaseID: String) throws {
        try removeStaging(of: leaseID, volumeNames: entries.compactMap { if case .volume(let name) = $0 { name } else { nil } })
        var candidates: Set<ChainID> = []
        var keptCacheIDs: Set<LayerCacheID> = []

        for case .container(let id) in entries {
            if try containers.record(id) == nil {
                // Half made or half removed: gone, as a completed removal leaves it.
                try mountedLayers.removeRemains(of: id)
                try containerIndex.change(affecting: [id]) { _ in try containers.removeDirectory(id) }
            } else {
                StagedFile.removeAbandoned(in: containers.directory(of: id))
                StagedFile.removeAbandoned(in: mountedLayers.path(of: id))
                if let mounted = try mountedLayers.layer(id) {
                    keptCacheIDs.insert(mounted.mountID)
                    if let initID = mounted.initID { keptCacheIDs.insert(initID) }
                }
            }
        }
        for entry in entries {
            switch entry {
            case .deletingImage(let id), .newImage(let id):
                candidates.formUnion(try deleteImageIfUnused(id))
            case .deletingUsedImage(let id):
                candidates.formUnion(try deleteImageIfUnused(id, evenIfContainersUseIt: true))
            case .image(let id):
                StagedFile.removeAbandoned(in: images.metadataPath(of: id))
            case .newVolume(let name):
                let usedByContainers = try volumeUsers()[name] != nil
                let usedByChanges = try leases.liveEntries(excluding: [leaseID]).contains(LeaseEntry.volume(name).description)
                if !usedByContainers, !usedByChanges, try volumes.volume(name) != nil {
                    try volumes.remove(name, stagingSuffix: leaseID)
                }
            case .layer(let chainID):
                try layers.finishRemoval(chainID)
                candidates.insert(chainID)
            default:
                break
            }
        }
        for layer in try beginRemovingUnusedLayers(candidates, excludingLeases: [leaseID]) {
            try layers.finishRemoval(layer.chainID)
        }
        for case .layer(let chainID) in entries {
            if let layer = try layers.layer(chainID) { keptCacheIDs.insert(layer.cacheID) }
        }
        for case .cache(let cacheID) in entries where !keptCacheIDs.contains(cacheID) {
            try driver.unmount(cacheID)
            try driver.remove(cacheID)
        }
        StagedFile.removeAbandoned(in: metadataRoot)
        StagedFile.removeAbandoned(in: images.contentPath)
    }

    /// Removes the staging files and directories named after the lease.
    private func removeStaging(of leaseID: String, volumeNames: [String]) throws {
        for path in [layers.temporaryDirectory, configuration.dataRoot + "/tmp"] {
            let directory = try FileDescriptor.openDirectory(path)
            for name in try directory.childNames() where name.contains(leaseID) { try directory.removeEntry(name) }
        }
        let volumeRoot = try FileDescriptor.openDirectory(volumes.root)
        for name in try volumeRoot.childNames() where name.hasPrefix(".") && name.hasSuffix("-" + leaseID) {
            try volumeRoot.removeEntry(name)  // `.creating-…` rolled back, `.removing-…` finished
        }
        for name in volumeNames {
            try? FileDescriptor.openDirectory(volumes.root + "/" + name).removeEntry(VolumeStore.fillingName(leaseID))
        }
    }

    /// Deletes an image no container uses, with its names; returns its layers, to be
    /// removed where unused. Nothing when the image is gone already.
    private func deleteImageIfUnused(_ id: ImageID, evenIfContainersUseIt: Bool = false) throws -> [ChainID] {
        guard images.exists(id) else {
            try images.removeMetadata(id)
            return []
        }
        guard try evenIfContainersUseIt || containersUsing(id).isEmpty else { return [] }
        let chain = (try? images.config(id)).map { ChainID.chain(of: $0.rootFS.diffIDs) } ?? []
        try references.removeAll(pointingAt: id)
        try images.delete(id)
        return chain
    }

    // MARK: - Layers nothing uses

    /// The first step of removing each of `candidates` that nothing uses: no image, no
    /// container, no live lease, no layer stacked on it. Call it holding the graph lock,
    /// then `finishRemoval` each returned layer (outside the lock is fine).
    func beginRemovingUnusedLayers(_ candidates: Set<ChainID>, excludingLeases excluded: Set<String>) throws -> [LayerRecord] {
        guard !candidates.isEmpty else { return [] }
        let used = try chainIDsInUse(excludingLeases: excluded)
        var children: [ChainID: Int] = [:]
        for chainID in try layers.chainIDs() {
            if let parent = try? layers.layer(chainID)?.parent { children[parent, default: 0] += 1 }
        }
        var pending = try candidates.compactMap { try layers.layer($0) }
        var removed: [LayerRecord] = []
        while let index = pending.firstIndex(where: { !used.contains($0.chainID) && children[$0.chainID, default: 0] == 0 }) {
            let layer = pending.remove(at: index)
            guard try layers.beginRemoval(layer.chainID) else { continue }
            if let parent = layer.parent { children[parent, default: 1] -= 1 }
            removed.append(layer)
        }
        return removed
    }

    /// Layers something holds directly: every layer of a stored image, the layer below each
    /// container, and the layers of changes in flight. (Their parents are held by them.)
    private func chainIDsInUse(excludingLeases excluded: Set<String>) throws -> Set<ChainID> {
        var used = Set<ChainID>()
        for entry in try imageIndex.entries().values { used.formUnion(entry.layers.map(\.chainID)) }
        for mounted in try mountedLayers.all() {
            if let parent = mounted.parent { used.insert(parent) }
        }
        for line in try leases.liveEntries(excluding: excluded) {
            if case .layer(let chainID)? = LeaseEntry(line) { used.insert(chainID) }
        }
        return used
    }

    /// Images that a change in flight builds on.
    func imagesInUseByChanges(excludingLeases excluded: Set<String>) throws -> Set<ImageID> {
        Set(try leases.liveEntries(excluding: excluded).compactMap { line in
            if case .image(let id)? = LeaseEntry(line) { id } else { nil }
        })
    }

    // MARK: - The whole root

    /// Whether older or power-cut runs may have left something that no lease names (cheap
    /// checks only).
    func needsFullSweep() throws -> Bool {
        if try layers.hasWriteSets() { return true }
        if try !FileDescriptor.openDirectory(configuration.dataRoot + "/tmp").isEmptyDirectory() { return true }
        if try FileDescriptor.openDirectory(metadataRoot).containsChild(where: { $0.contains(".partial-") }) { return true }
        // The two directories with an entry per object, listed only when they changed.
        let listings = CleanListings(path: configuration.dataRoot + "/.stowage/clean-listings-" + driver.name)
        return try !listings.allClean([
            (layers.recordsPath, { try !self.layers.hasUnfinishedRemovals() }),
            // Configs are named by 64 hex digits; anything longer is a staging file.
            (images.contentPath, { try !FileDescriptor.openDirectory(self.images.contentPath).containsChild { $0.utf8.count > 64 } }),
        ])
    }

    /// Removes everything no complete object names, across the whole root. Only while no
    /// other process uses the root, holding the graph lock.
    func sweepEverything() throws {
        try recoverClaimed(leases.claimAbandoned())
        // Containers half made or half removed go first, then the read-write layers no
        // listed container owns; the layers they stand on stay with those that remain.
        for id in try containers.unlistedIDs() { try containers.removeDirectory(id) }
        containerIndex.invalidate()
        let listed = Set(try containers.all().map(\.ID))
        let mounted = try mountedLayers.sweep(keeping: { listed.contains($0) }).kept
        var referenced = Set(try images.ids().flatMap { id -> [ChainID] in
            guard let config = try? images.config(id) else { return [] }
            return ChainID.chain(of: config.rootFS.diffIDs)
        })
        referenced.formUnion(mounted.compactMap(\.parent))
        let containerLayers = Set(mounted.flatMap { [$0.mountID] + ($0.initID.map { [$0] } ?? []) })
        _ = try layers.sweep(keeping: { referenced.contains($0) }, keepingCacheIDs: containerLayers)
        try volumes.sweep()
        try FileDescriptor.openDirectory(configuration.dataRoot + "/tmp").removeAllChildren()
        StagedFile.removeAbandoned(in: metadataRoot)
        StagedFile.removeAbandoned(in: images.contentPath)
    }

}
