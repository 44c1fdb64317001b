import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// One row of `system df`.
public struct DiskUsageRow: Sendable {
    public let type: String
    public let total: Int
    public let active: Int
    public let size: Int64
    public let reclaimable: Int64
}

extension Engine {
    /// `container prune`: removes every container whose root filesystem is not mounted.
    /// Returns their IDs and the bytes of their writable layers.
    public func pruneContainers() throws -> (ids: [String], reclaimed: Int64) {
        var ids: [String] = []
        var reclaimed: Int64 = 0
        for summary in try containerSummaries(sizes: true) where !summary.isMounted {
            try removeContainer(summary.record.ID, force: false, removeVolumes: false)
            ids.append(summary.record.ID)
            reclaimed += summary.sizeRw ?? 0
        }
        return (ids, reclaimed)
    }

    /// Names of the volumes some container mounts, with those containers' IDs.
    public func volumeUsers() throws -> [String: [String]] {
        var users: [String: [String]] = [:]
        for record in try containers.all().sorted(by: { $0.ID < $1.ID }) {
            for name in record.volumeNames { users[name, default: []].append(record.ID) }
        }
        return users
    }

    /// `volume create`.
    @discardableResult
    public func createVolume(_ name: String, labels: [String: String]) throws -> Volume {
        try mutation { lease in
            try lease.add(.volume(name))
            return try volumes.create(name, labels: labels, stagingSuffix: lease.id)
        }
    }

    /// `volume rm`: refused while a container (or a create in flight) uses the volume.
    public func removeVolume(_ name: String) throws {
        try mutation { lease in
            try graph.withExclusive {
                _ = try volumes.require(name)
                if let users = try volumeUsers()[name] {
                    throw StowageError(.alreadyExists, "remove \(name): volume is in use - [\(users.joined(separator: ", "))]")
                }
                if try volumesInUseByChanges(excluding: lease).contains(name) {
                    throw StowageError(.alreadyExists, "remove \(name): volume is in use by a change in progress")
                }
                try lease.add(.volume(name))
            }
            try volumes.remove(name, stagingSuffix: lease.id)
        }
    }

    /// `volume prune`: removes unused anonymous volumes (every unused volume with `all`).
    public func pruneVolumes(all: Bool) throws -> (names: [String], reclaimed: Int64) {
        try mutation { lease in
            let doomed = try graph.withExclusive { () throws -> [Volume] in
                let users = try volumeUsers()
                let inFlight = try volumesInUseByChanges(excluding: lease)
                let doomed = try volumes.all().filter { users[$0.name] == nil && !inFlight.contains($0.name) && (all || $0.isAnonymous) }
                for volume in doomed { try lease.add(.volume(volume.name)) }
                return doomed
            }
            var reclaimed: Int64 = 0
            for volume in doomed {
                reclaimed += try volumes.size(of: volume)
                try volumes.remove(volume.name, stagingSuffix: lease.id)
            }
            return (doomed.map(\.name), reclaimed)
        }
    }

    /// Volumes that changes in flight (other than `lease`'s) use or make.
    private func volumesInUseByChanges(excluding lease: Lease) throws -> Set<String> {
        Set(try leases.liveEntries(excluding: [lease.id]).compactMap { line in
            if case .volume(let name)? = LeaseEntry(line) { name } else { nil }
        })
    }

    /// `system df`: images (their unique layers), containers (writable layers) and volumes,
    /// with what removing the unused ones would free, counted as Docker counts them.
    public func diskUsage() throws -> [DiskUsageRow] {
        let summaries = try containerSummaries(sizes: true)
        let usedImages = Set(summaries.compactMap(\.record.imageID))
        let listedIDs = try images.ids()
        var layerUsers: [ChainID: Int] = [:]
        var stacks: [ImageID: [LayerRecord]] = [:]
        for id in listedIDs {
            guard let stack = try skippingVanished(id, { try layerStack(of: id) }) else { continue }
            stacks[id] = stack
            for layer in stack { layerUsers[layer.chainID, default: 0] += 1 }
        }
        let imageIDs = listedIDs.filter { stacks[$0] != nil }
        let allLayers = try layers.chainIDs().compactMap { try? layers.layer($0) }
        let layersSize = allLayers.reduce(0) { $0 + $1.size }
        // Docker: what active images hold alone is not reclaimable.
        var held: Int64 = 0
        for id in imageIDs where usedImages.contains(id) {
            held += stacks[id]!.filter { layerUsers[$0.chainID, default: 0] <= 1 }.reduce(0) { $0 + $1.size }
        }
        let containerSize = summaries.reduce(0) { $0 + ($1.sizeRw ?? 0) }
        let containerReclaimable = summaries.filter { !$0.isMounted }.reduce(0) { $0 + ($1.sizeRw ?? 0) }
        let users = try volumeUsers()
        var volumeSize: Int64 = 0
        var volumeReclaimable: Int64 = 0
        let allVolumes = try volumes.all()
        for volume in allVolumes {
            let size = try volumes.size(of: volume)
            volumeSize += size
            if users[volume.name] == nil { volumeReclaimable += size }
        }
        return [
            DiskUsageRow(type: "Images", total: imageIDs.count, active: imageIDs.filter { usedImages.contains($0) }.count,
                         size: layersSize, reclaimable: layersSize - held),
            DiskUsageRow(type: "Containers", total: summaries.count, active: summaries.filter(\.isMounted).count,
                         size: containerSize, reclaimable: containerReclaimable),
            DiskUsageRow(type: "Local Volumes", total: allVolumes.count, active: allVolumes.filter { users[$0.name] != nil }.count,
                         size: volumeSize, reclaimable: volumeReclaimable),
            DiskUsageRow(type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0),
        ]
    }
}
