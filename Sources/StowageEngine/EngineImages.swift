#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageImages
import StowageLayers

/// One image as `images` lists it.
public struct ImageSummary: Sendable {
    public let id: ImageID
    public let references: [Reference]
    /// Seconds since 1970, from the config.
    public let created: Int64
    /// Sum of the sizes of the image's layers.
    public let size: Int64
    /// Whether another image names this one as its parent.
    public let hasChildren: Bool

    public var repoTags: [Reference] { references.filter { $0.tag != nil } }
    public var repoDigests: [Reference] { references.filter { $0.digest != nil } }
    public var isDangling: Bool { repoTags.isEmpty && repoDigests.isEmpty }
}

/// One row of `history`, newest first.
public struct HistoryEntry: Sendable {
    /// The image this step made, when it is an image stored here (only the top one for
    /// loaded images); nil shows as `<missing>`.
    public let image: ImageID?
    public let created: Int64?
    public let createdBy: String
    public let size: Int64
    public let comment: String
    public let tags: [Reference]
}

extension Engine {
    /// Every image, newest first.
    public func imageSummaries() throws -> [ImageSummary] {
        let all = try references.all()
        let ids = try images.ids()
        let parents = Set(ids.compactMap { try? images.parent(of: $0) })
        return try ids.map { id in
            let config = try images.config(id)
            let size = try layerStack(for: config).reduce(0) { $0 + $1.size }
            return ImageSummary(id: id, references: all.filter { $0.image == id }.map(\.reference),
                                created: config.createdSeconds ?? 0, size: size, hasChildren: parents.contains(id))
        }.sorted { ($0.created, $0.id.digest.hex) > ($1.created, $1.id.digest.hex) }
    }

    /// The image's history, newest step first, with each step's layer size.
    public func history(of id: ImageID) throws -> [HistoryEntry] {
        let config = try images.config(id)
        let stack = try layerStack(for: config)
        var layerIndex = 0
        var entries: [HistoryEntry] = []
        let steps = config.history ?? []
        for step in steps {
            var size: Int64 = 0
            if step.emptyLayer != true, layerIndex < stack.count {
                size = stack[layerIndex].size
                layerIndex += 1
            }
            entries.append(HistoryEntry(image: nil, created: step.created.flatMap(Timestamp.parse),
                                        createdBy: step.createdBy ?? "", size: size, comment: step.comment ?? "", tags: []))
        }
        if steps.isEmpty {
            // A config without history: one row per layer, as Docker shows it.
            for layer in stack {
                entries.append(HistoryEntry(image: nil, created: config.createdSeconds, createdBy: "", size: layer.size, comment: "", tags: []))
            }
        }
        // Each stored ancestor (by `parent`) names the row its own history ends at, as Docker shows.
        var rowsByBottomIndex: [Int: ImageID] = [:]
        var current: ImageID? = id
        var seen: Set<ImageID> = []
        while let image = current, seen.insert(image).inserted, let imageConfig = try? images.config(image) {
            let count = imageConfig.history?.count ?? (try? layerStack(for: imageConfig).count) ?? 0
            if count > 0, count <= entries.count, rowsByBottomIndex[count - 1] == nil { rowsByBottomIndex[count - 1] = image }
            current = try images.parent(of: image)
        }
        for (index, image) in rowsByBottomIndex {
            let row = entries[index]
            entries[index] = HistoryEntry(image: image, created: row.created, createdBy: row.createdBy, size: row.size,
                                          comment: row.comment, tags: try references.references(to: image).filter { $0.tag != nil })
        }
        entries.reverse()
        return entries
    }

    /// `docker image inspect`'s object for one image.
    public func inspect(_ id: ImageID) throws -> JSONValue {
        let config = try images.config(id)
        let refs = try references.references(to: id)
        let stack = try layerStack(for: config)
        let size = stack.reduce(0) { $0 + $1.size }
        let created = config.created.flatMap { Timestamp.parseWithNanoseconds($0) }
            .map { Timestamp.formatRFC3339Nano(seconds: $0.seconds, nanoseconds: $0.nanoseconds) } ?? "0001-01-01T00:00:00Z"
        var members: [(String, JSONValue)] = [
            ("Id", .string(id.description)),
            ("RepoTags", .array(refs.filter { $0.tag != nil }.map { .string($0.familiarString) })),
            ("RepoDigests", .array(refs.filter { $0.digest != nil }.map { .string($0.familiarName + "@" + $0.digest!.description) })),
            ("Parent", .string(try images.parent(of: id)?.description ?? "")),
            ("Comment", .string(config.comment ?? "")),
            ("Created", .string(created)),
            ("Container", .string(config.container ?? "")),
            ("ContainerConfig", (config.containerConfig ?? ContainerConfig.empty).inspectJSON),
            ("DockerVersion", .string(config.dockerVersion ?? "")),
            ("Author", .string(config.author ?? "")),
            ("Config", config.config?.inspectJSON ?? .null),
            ("Architecture", .string(config.architecture ?? "")),
        ]
        if let variant = config.variant, !variant.isEmpty { members.append(("Variant", .string(variant))) }
        members.append(("Os", .string(config.os ?? "")))
        if let version = config.osVersion, !version.isEmpty { members.append(("OsVersion", .string(version))) }
        let driverData: JSONValue = try stack.last.flatMap { try driver.metadata($0.cacheID) }.map { .sortedObject($0.mapValues(JSONValue.string)) } ?? .null
        members += [
            ("Size", .integer(size)),
            ("VirtualSize", .integer(size)),
            ("GraphDriver", .object([("Data", driverData), ("Name", .string(driver.name))])),
            ("RootFS", .object([("Type", .string(config.rootFS.type)),
                                ("Layers", .array(config.rootFS.diffIDs.map { .string($0.description) }))])),
            ("Metadata", .object([("LastTagTime", .string(try images.lastUpdated(id) ?? "0001-01-01T00:00:00Z"))])),
        ]
        return .object(members)
    }

    /// Points `target` at the image `source` names; `latest` is added when no tag is given.
    public func tag(_ source: String, as target: String) throws {
        let id = try resolveImage(source)
        let reference = try Reference(parsing: target)
        guard reference.digest == nil else {
            throw StowageError(.invalidArgument, "refusing to create a tag with a digest reference")
        }
        try references.add(reference.withDefaultTag(), image: id)
        try images.setLastUpdated(id)
    }

    /// `rmi`: removes a name, and the image with its unused layers once no name is left (or
    /// at once with `force`). Returns Docker's lines: `Untagged: …`, `Deleted: …`.
    public func removeImage(_ text: String, force: Bool) throws -> [String] {
        try layers.whileChanging { try removeImageNow(text, force: force) }
    }

    private func removeImageNow(_ text: String, force: Bool) throws -> [String] {
        let id = try resolveImage(text)
        var lines: [String] = []
        let refs = try references.references(to: id)
        let namedByReference = (try? Reference(parsing: text)).map { ref in refs.contains(ref.withDefaultTag()) || refs.contains(ref) } ?? false
        if namedByReference, refs.count > 1, !force {
            let reference = try Reference(parsing: text)
            let removed = refs.contains(reference) ? reference : reference.withDefaultTag()
            try references.remove(removed)
            return ["Untagged: \(removed.familiarString)"]
        }
        if !namedByReference, refs.count > 1, !force {
            throw StowageError(.alreadyExists,
                               "conflict: unable to delete \(id.shortForm) (must be forced) - image is referenced in multiple repositories")
        }
        if let user = try containers(using: id).first {
            // As Docker: a used image keeps existing; with force it only loses its names.
            guard force else {
                if namedByReference {
                    throw StowageError(.alreadyExists, "conflict: unable to remove repository reference \"\(text)\" (must force) - container \(user.ID.prefix(12)) is using its referenced image \(id.shortForm)")
                }
                throw StowageError(.alreadyExists, "conflict: unable to delete \(id.shortForm) (must be forced) - image is being used by stopped container \(user.ID.prefix(12))")
            }
            for reference in refs {
                try references.remove(reference)
                lines.append("Untagged: \(reference.familiarString)")
            }
            return lines
        }
        for reference in refs {
            try references.remove(reference)
            lines.append("Untagged: \(reference.familiarString)")
        }
        lines += try deleteImage(id)
        return lines
    }

    /// Removes an image that no name points at, then every layer of it nothing else uses.
    func deleteImage(_ id: ImageID) throws -> [String] {
        let stack = try layerStack(of: id)
        try images.delete(id)
        var lines = ["Deleted: \(id)"]
        let others = try images.ids()
        var used = Set(try others.flatMap { try layerStack(of: $0).map(\.chainID) })
        for mounted in try mountedLayers.all() {
            if let parent = mounted.parent { used.formUnion(try layers.stack(parent).map(\.chainID)) }
        }
        for layer in stack.reversed() where !used.contains(layer.chainID) {
            try layers.remove(layer)
            lines.append("Deleted: \(layer.chainID)")
        }
        return lines
    }

    /// `image prune`: removes dangling images (every unused image with `all`). Returns the
    /// lines and the bytes reclaimed.
    public func pruneImages(all: Bool) throws -> (lines: [String], reclaimed: Int64) {
        try layers.whileChanging { try pruneImagesNow(all: all) }
    }

    /// Removes the images without children that qualify, and again while that leaves parents
    /// that now qualify: one prune empties a chain, as Docker's (whose delete of a child takes
    /// its untagged parents with it).
    private func pruneImagesNow(all: Bool) throws -> (lines: [String], reclaimed: Int64) {
        var lines: [String] = []
        var reclaimed: Int64 = 0
        let usedByContainers = Set(try containers.all().compactMap(\.imageID))
        while true {
            let pass = try prunePass(all: all, keeping: usedByContainers)
            guard !pass.lines.isEmpty else { break }
            lines += pass.lines
            reclaimed += pass.reclaimed
        }
        return (lines, reclaimed)
    }

    private func prunePass(all: Bool, keeping usedByContainers: Set<ImageID>) throws -> (lines: [String], reclaimed: Int64) {
        var lines: [String] = []
        var reclaimed: Int64 = 0
        for summary in try imageSummaries() where all ? !summary.hasChildren : (summary.isDangling && !summary.hasChildren) {
            if usedByContainers.contains(summary.id) { continue }
            let before = Set(try layers.chainIDs())
            for reference in summary.references {
                try references.remove(reference)
                lines.append("untagged: \(reference.familiarString)")
            }
            let stack = try layerStack(of: summary.id)
            let deleted = try deleteImage(summary.id)
            lines += deleted.map { "deleted: " + $0.dropFirst("Deleted: ".count) }
            let after = Set(try layers.chainIDs())
            reclaimed += stack.filter { before.contains($0.chainID) && !after.contains($0.chainID) }.reduce(0) { $0 + $1.size }
        }
        return (lines, reclaimed)
    }
}
