#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// One thing `stowage check` found wrong with a data root.
public struct CheckProblem: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// An object whose own data contradicts itself (a config that does not hash to its ID).
        case corrupt
        /// Something an object needs is not there (an image's layer, a tag's image).
        case missing
        /// What an interrupted change left (staging, half-removed layers, abandoned leases).
        case leftover
        /// Something no object names (a driver directory, a layer no image reaches).
        case orphan
    }

    public let kind: Kind
    public let message: String
    /// Whether `--repair` deals with it; images that lost layers are only reported.
    public let repairable: Bool

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// A problem with what repairing it means.
private struct Finding {
    enum Repair {
        case run(() throws -> Void)
        /// Removed together with the other unreachable layers, children first.
        case unreachableLayer(ChainID)
    }

    let problem: CheckProblem
    let repair: Repair?

    init(_ kind: CheckProblem.Kind, _ message: String, repair: Repair? = nil) {
        problem = CheckProblem(kind: kind, message: message, repairable: repair != nil)
        self.repair = repair
    }
}

extension StorageGraph {
    /// See `Engine.check`.
    func check(deep: Bool = false) throws -> [CheckProblem] {
        try inspectRoot(deep: deep, excludingLease: nil).map(\.problem)
    }

    /// See `Engine.repair`.
    func repair(deep: Bool = false) throws -> (repaired: [CheckProblem], remaining: [CheckProblem]) {
        try mutation { lease in
            try graph.withExclusive {
                let findings = try inspectRoot(deep: deep, excludingLease: lease.id)
                var unreachable: Set<ChainID> = []
                for finding in findings {
                    switch finding.repair {
                    case .run(let action)?: try action()
                    case .unreachableLayer(let chainID)?: unreachable.insert(chainID)
                    case nil: break
                    }
                }
                for layer in try beginRemovingUnusedLayers(unreachable, excludingLeases: [lease.id]) {
                    try layers.finishRemoval(layer.chainID)
                }
                return (findings.filter(\.problem.repairable).map(\.problem), findings.filter { !$0.problem.repairable }.map(\.problem))
            }
        }
    }

    private func inspectRoot(deep: Bool, excludingLease ownLease: String?) throws -> [Finding] {
        var findings: [Finding] = []
        let live = try leases.live(excluding: ownLease.map { [$0] } ?? [])
        let liveEntries = Set(live.flatMap(\.entries).compactMap(LeaseEntry.init))
        let liveIDs = live.map(\.id) + (ownLease.map { [$0] } ?? [])
        let ofLiveChange = { (name: String) in liveIDs.contains { name.contains($0) } }

        // Images and their chains.
        var reachable: Set<ChainID> = []
        let storedImages = try images.ids()
        for id in storedImages {
            let config: ImageConfig
            do {
                config = try images.config(id)
            } catch {
                findings.append(Finding(.corrupt, "image \(id): \(error)"))
                continue
            }
            let diffIDs = config.rootFS.diffIDs
            var parent: ChainID?
            for (index, chainID) in ChainID.chain(of: diffIDs).enumerated() {
                defer { parent = chainID }
                reachable.insert(chainID)
                guard let layer = try? layers.layer(chainID) else {
                    findings.append(Finding(.missing, "image \(id.shortForm): layer \(index + 1) of \(diffIDs.count) (\(chainID)) is not in layerdb"))
                    continue
                }
                if layer.parent != parent || layer.diffID != diffIDs[index] {
                    findings.append(Finding(.corrupt, "layer \(chainID): its diff or parent disagrees with image \(id.shortForm)"))
                }
            }
        }
        let stored = Set(storedImages)
        for (reference, image) in try references.all() where !stored.contains(image) {
            findings.append(Finding(.missing, "tag \(reference.familiarString) names image \(image), which is not stored",
                                    repair: .run { try self.references.remove(reference) }))
        }
        for id in try images.idsWithMetadata() where !stored.contains(id) {
            findings.append(Finding(.leftover, "metadata of image \(id), which is not stored", repair: .run { try self.images.removeMetadata(id) }))
        }

        // Containers and their read-write layers.
        var namedCacheIDs: Set<LayerCacheID> = []
        let inFlightContainers = Set(liveEntries.compactMap { if case .container(let id) = $0 { id } else { nil } })
        for id in try containers.unlistedIDs() where !inFlightContainers.contains(id) {
            findings.append(Finding(.leftover, "container directory \(containers.directory(of: id)) has no config.v2.json",
                                    repair: .run { try self.mountedLayers.removeRemains(of: id); try self.containers.removeDirectory(id); self.containerIndex.invalidate() }))
        }
        for id in try containerIndex.disagreements() where !inFlightContainers.contains(id) {
            findings.append(Finding(.corrupt, "container index (\(containerIndex.path)) disagrees with containers/ about container \(id)",
                                    repair: .run { self.containerIndex.invalidate() }))
        }
        for name in try FileDescriptor.openDirectory(mountedLayers.root).childNames() where !inFlightContainers.contains(name) {
            guard let mounted = try? mountedLayers.layer(name) else {
                findings.append(Finding(.leftover, "read-write layer \(name) is incomplete (no mount-id)",
                                        repair: .run { try self.mountedLayers.removeRemains(of: name) }))
                continue
            }
            namedCacheIDs.insert(mounted.mountID)
            if let initID = mounted.initID { namedCacheIDs.insert(initID) }
            if let parent = mounted.parent { reachable.insert(parent) }
            if try containers.record(name) == nil {
                findings.append(Finding(.orphan, "read-write layer \(name) belongs to no container",
                                        repair: .run { try self.mountedLayers.removeRemains(of: name) }))
            }
            for cacheID in [mounted.mountID] + (mounted.initID.map { [$0] } ?? []) {
                findings += driver.verify(cacheID).map { Finding(.missing, "container \(name.prefix(12)): \($0)") }
            }
        }

        // Layers.
        for entry in liveEntries {
            if case .layer(let chainID) = entry { reachable.insert(chainID) }
            if case .cache(let cacheID) = entry { namedCacheIDs.insert(cacheID) }
        }
        var records: [ChainID: LayerRecord] = [:]
        for chainID in try layers.chainIDs() {
            do {
                guard let layer = try layers.layer(chainID) else { continue }
                records[chainID] = layer
            } catch {
                findings.append(Finding(.corrupt, "\(error)"))
            }
        }
        // A reachable layer's ancestors are reachable.
        var pending = Array(reachable)
        while let next = pending.popLast() {
            if let parent = records[next]?.parent, reachable.insert(parent).inserted { pending.append(parent) }
        }
        for (chainID, layer) in records {
            namedCacheIDs.insert(layer.cacheID)
            if let parent = layer.parent, records[parent] == nil {
                findings.append(Finding(.missing, "layer \(chainID): its parent \(parent) is not in layerdb"))
            }
            if ChainID(parent: layer.parent, diffID: layer.diffID) != chainID {
                findings.append(Finding(.corrupt, "layer \(chainID): its diff \(layer.diffID) and parent do not make its chain ID"))
            }
            let problems = driver.verify(layer.cacheID)
            findings += problems.map { Finding(.missing, "layer \(chainID): \($0)") }
            if !reachable.contains(chainID) {
                findings.append(Finding(.orphan, "layer \(chainID) is used by no image, container or change", repair: .unreachableLayer(chainID)))
            } else if deep, problems.isEmpty {
                let hasher = HashingSink(nil)
                do {
                    try layers.assemble(layer, to: hasher)
                    if hasher.digest != layer.diffID.digest {
                        findings.append(Finding(.corrupt, "layer \(chainID): rebuilt from tar-split, its diff_id is \(hasher.digest), not \(layer.diffID)"))
                    }
                } catch {
                    findings.append(Finding(.corrupt, "layer \(chainID): cannot be rebuilt from tar-split: \(error)"))
                }
            }
        }
        for chainID in try layers.unfinishedRemovals() {
            findings.append(Finding(.leftover, "layer \(chainID) is half removed", repair: .run { try self.layers.finishRemoval(chainID) }))
        }
        for cacheID in try driver.layerIDs() where !namedCacheIDs.contains(cacheID) {
            findings.append(Finding(.orphan, "\(driver.name) layer directory \(cacheID.rawValue) belongs to no layer or container",
                                    repair: .run { try self.driver.unmount(cacheID); try self.driver.remove(cacheID) }))
        }

        // Staging and abandoned changes.
        for id in try leases.abandonedIDs() {
            findings.append(Finding(.leftover, "lease \(id) of a change that did not complete", repair: .run { try self.recoverClaimed(self.leases.claimAbandoned()) }))
        }
        for directory in [layers.temporaryDirectory, configuration.dataRoot + "/tmp"] where FileDescriptor.exists(directory) {  // a read-only root Docker wrote may lack them
            let handle = try FileDescriptor.openDirectory(directory)
            for name in try handle.childNames() where !ofLiveChange(name) {
                findings.append(Finding(.leftover, "\(directory)/\(name) is staging of no change in progress", repair: .run { try handle.removeEntry(name) }))
            }
        }
        var stagingDirectories = [metadataRoot, images.contentPath]
        stagingDirectories += storedImages.map { images.metadataPath(of: $0) }
        stagingDirectories += try FileDescriptor.openDirectory(containers.root).childNames().map { containers.directory(of: $0) }
        stagingDirectories += try FileDescriptor.openDirectory(mountedLayers.root).childNames().map { mountedLayers.path(of: $0) }
        for directory in stagingDirectories {
            guard let handle = try? FileDescriptor.openDirectory(directory) else { continue }
            // A container's state file staged by a killed writer goes at the next update of
            // that state (`ContainerMountState.update`) or with the container: not left over.
            for name in try handle.childNames() where name.contains(".partial-") && StagedFile.writerIsGone(name)
                && !name.hasPrefix(ContainerMountState.fileName + ".partial-") {
                findings.append(Finding(.leftover, "\(directory)/\(name) is a staging file of a dead process", repair: .run { try handle.removeEntry(name) }))
            }
        }
        let volumeRoot = try FileDescriptor.openDirectory(volumes.root)
        for name in try volumeRoot.childNames() where name.hasPrefix(".") && !ofLiveChange(name) && name != "metadata.db" {
            findings.append(Finding(.leftover, "\(volumes.root)/\(name) is staging of no change in progress", repair: .run { try volumeRoot.removeEntry(name) }))
        }
        return findings
    }
}
