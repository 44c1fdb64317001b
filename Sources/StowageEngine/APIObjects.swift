import StowageCore
import StowageDockerTypes
import StowageImages

/// The engine's facts as the Engine API's objects (`StowageDockerTypes`), built as dockerd
/// 20.10 builds them, for `stowage serve` and for embedders that want Docker's shapes.
extension ImageService {
    /// `GET /images/json`: images newest first; without `all`, untagged images that are the
    /// parent of another are left out, and other untagged ones are `<none>:<none>`.
    public func summaries(all: Bool = false) throws -> [ImageSummary] {
        try list().compactMap { image -> ImageSummary? in
            try storage.skippingVanished(image: image.id) { () throws -> ImageSummary? in
                var tags = image.repoTags.isEmpty ? nil : image.repoTags.map(\.familiarString)
                var digests = image.repoDigests.isEmpty ? nil : image.repoDigests.map { $0.familiarName + "@" + $0.digest!.description }
                if tags == nil, digests == nil {
                    guard all || !image.hasChildren else { return nil }
                    (tags, digests) = (["<none>:<none>"], ["<none>@<none>"])
                }
                return ImageSummary(created: image.created, id: image.id.description, labels: try config(of: image.id).config?.Labels,
                                    parentID: try storage.images.parent(of: image.id)?.description ?? "",
                                    repoDigests: digests, repoTags: tags, size: image.size, virtualSize: image.size)
            } ?? nil
        }
    }

    /// `GET /images/{name}/history`: the steps newest first.
    public func historyItems(of id: ImageID) throws -> [HistoryItem] {
        try history(of: id).map { entry in
            HistoryItem(comment: entry.comment, created: entry.created ?? 0, createdBy: entry.createdBy,
                        id: entry.image?.description ?? "<missing>", size: entry.size,
                        tags: entry.tags.isEmpty ? nil : entry.tags.map(\.familiarString))
        }
    }
}

extension ContainerService {
    /// `GET /containers/json?all=1`: every container newest first, with sizes when asked.
    public func summaries(sizes: Bool = false) throws -> [ContainerSummary] {
        try list(sizes: sizes).compactMap { listing in
            try storage.skippingVanished(container: listing.record.ID) { try summary(of: listing) }
        }
    }

    /// One container as the API lists it: the image as given while it still names the
    /// container's image, its full ID otherwise.
    func summary(of listing: ContainerListing) throws -> ContainerSummary {
        let record = listing.record
        let inspection = try inspection(of: record, sizes: false)
        let image = listing.imageName == (record.Config.Image ?? "") ? listing.imageName : record.Image
        return ContainerSummary(id: record.ID, names: [record.Name], image: image, imageID: record.Image, command: record.commandLine,
                                created: record.createdSeconds, sizeRw: listing.sizeRw, sizeRootFs: listing.sizeRootFs,
                                labels: record.Config.Labels ?? [:], state: record.status, status: record.statusText,
                                hostConfig: .init(networkMode: inspection.networkMode),
                                networkSettings: .object([("Networks", .object(inspection.networks))]), mounts: inspection.mounts)
    }
}

extension VolumeService {
    /// `GET /volumes`.
    public func listResponse() throws -> VolumeList {
        VolumeList(volumes: try list().map(\.apiVolume))
    }
}

extension Engine {
    /// `GET /system/df`: the layers' total, images with their containers and shared bytes,
    /// containers with their sizes, volumes with their users and sizes.
    public func diskUsageReport() throws -> DiskUsage {
        let layersSize = try diskUsage().first { $0.type == "Images" }?.size ?? 0
        let usage = Dictionary(try imageDiskUsage().map { ($0.summary.id.description, $0) }) { first, _ in first }
        let images = try self.images.summaries().map { summary -> ImageSummary in
            var summary = summary
            summary.containers = Int64(usage[summary.id]?.containers ?? 0)
            summary.sharedSize = usage[summary.id]?.sharedSize ?? 0
            return summary
        }
        let users = try volumes.users()
        let volumes = try self.volumes.list().map { volume -> Volume in
            var shown = volume.apiVolume
            shown.usageData = Volume.UsageData(refCount: Int64(users[volume.name]?.count ?? 0), size: try self.volumes.size(of: volume))
            return shown
        }
        return DiskUsage(layersSize: layersSize, images: images, containers: try containers.summaries(sizes: true), volumes: volumes)
    }

    /// `GET /version`.
    public static var versionReport: Version {
        let details = ["ApiVersion": apiVersion, "Arch": HostFacts.goArchitecture, "Experimental": "false", "GitCommit": "",
                       "GoVersion": "", "KernelVersion": HostFacts.kernelVersion, "MinAPIVersion": minimumAPIVersion, "Os": "linux"]
        return Version(platform: .init(name: "Stowage"), components: [.init(name: "Engine", version: version, details: details)],
                       version: version, apiVersion: apiVersion, minAPIVersion: minimumAPIVersion, gitCommit: "", goVersion: "",
                       os: "linux", arch: HostFacts.goArchitecture, kernelVersion: HostFacts.kernelVersion)
    }

    /// The Engine API version Stowage speaks (dockerd 20.10's), and the oldest it accepts.
    public static let apiVersion = "1.41"
    public static let minimumAPIVersion = "1.12"
}
