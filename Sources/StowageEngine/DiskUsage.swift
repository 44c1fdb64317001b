import StowageCore
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

/// One image of `system df -v`: its layers' bytes shared with other images, and how many
/// containers use it.
public struct ImageDiskUsage: Sendable {
    public let summary: ImageListing
    /// Bytes of its layers that other images hold too (Docker's `SharedSize`).
    public let sharedSize: Int64
    public let containers: Int
    /// `Size` less `SharedSize`.
    public var uniqueSize: Int64 { summary.size - sharedSize }
}

extension Engine {
    /// `system df -v`'s images, newest first, as Docker counts them: a layer is shared when
    /// more than one image holds it.
    public func imageDiskUsage() throws -> [ImageDiskUsage] {
        let entries = try storage.imageIndex.entries()
        var layerUsers: [ChainID: Int] = [:]
        for entry in entries.values {
            for layer in entry.layers { layerUsers[layer.chainID, default: 0] += 1 }
        }
        var containerCounts: [ImageID: Int] = [:]
        for record in try storage.listedContainers() {
            if let image = record.imageID { containerCounts[image, default: 0] += 1 }
        }
        return try images.list().map { summary in
            let shared = entries[summary.id]?.layers.filter { layerUsers[$0.chainID, default: 0] > 1 }.reduce(0) { $0 + $1.size } ?? 0
            return ImageDiskUsage(summary: summary, sharedSize: shared, containers: containerCounts[summary.id] ?? 0)
        }
    }

    /// `system df`: images (their unique layers), containers (writable layers) and volumes,
    /// with what removing the unused ones would free, counted as Docker counts them.
    public func diskUsage() throws -> [DiskUsageRow] {
        let summaries = try containers.list(sizes: true)
        let usedImages = Set(summaries.compactMap(\.record.imageID))
        let entries = try storage.imageIndex.entries()
        var layerUsers: [ChainID: Int] = [:]
        var layerSizes: [ChainID: Int64] = [:]
        for entry in entries.values {
            for layer in entry.layers {
                layerUsers[layer.chainID, default: 0] += 1
                layerSizes[layer.chainID] = layer.size
            }
        }
        let imageIDs = Array(entries.keys)
        // Layers no image holds (a load or commit in flight, or left for check): read directly.
        for chainID in try storage.layers.chainIDs() where layerSizes[chainID] == nil {
            if let layer = try? storage.layers.layer(chainID) { layerSizes[chainID] = layer.size }
        }
        let layersSize = layerSizes.values.reduce(0, +)
        // Docker: what active images hold alone is not reclaimable.
        var held: Int64 = 0
        for id in imageIDs where usedImages.contains(id) {
            held += entries[id]!.layers.filter { layerUsers[$0.chainID, default: 0] <= 1 }.reduce(0) { $0 + $1.size }
        }
        let containerSize = summaries.reduce(0) { $0 + ($1.sizeRw ?? 0) }
        let containerReclaimable = summaries.filter { $0.isMounted != true }.reduce(0) { $0 + ($1.sizeRw ?? 0) }
        let users = Set(summaries.flatMap(\.record.volumeNames))  // the volumes some container mounts
        var volumeSize: Int64 = 0
        var volumeReclaimable: Int64 = 0
        let allVolumes = try volumes.list()
        for volume in allVolumes {
            let size = try volumes.size(of: volume)
            volumeSize += size
            if !users.contains(volume.name) { volumeReclaimable += size }
        }
        return [
            DiskUsageRow(type: "Images", total: imageIDs.count, active: imageIDs.filter { usedImages.contains($0) }.count,
                         size: layersSize, reclaimable: layersSize - held),
            DiskUsageRow(type: "Containers", total: summaries.count, active: summaries.filter { $0.isMounted == true }.count,
                         size: containerSize, reclaimable: containerReclaimable),
            DiskUsageRow(type: "Local Volumes", total: allVolumes.count, active: allVolumes.filter { users.contains($0.name) }.count,
                         size: volumeSize, reclaimable: volumeReclaimable),
            DiskUsageRow(type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0),
        ]
    }
}
