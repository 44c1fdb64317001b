#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageDockerTypes
import StowageDistribution
import StowageFileSystem
import StowageImages
import StowageLayers
import StowageTar

/// One image as `images` lists it.
public struct ImageListing: Sendable {
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

/// Images on one data root: listing, history, inspect, tags, removal and prune, load and
/// save. Obtained from `Engine.images`; safe to use from many tasks at once.
public struct ImageService: Sendable {
    let storage: StorageGraph
}

extension ImageService {
    /// The image `text` names: a full or short ID, or a reference (`busybox` means `busybox:latest`).
    public func resolve(_ text: String) throws -> ImageID { try storage.resolveImage(text) }

    /// The IDs of every image stored.
    public func ids() throws -> [ImageID] { try storage.images.ids() }

    /// The image's layers, bottom first.
    public func layers(of id: ImageID) throws -> [LayerRecord] { try storage.layerStack(of: id) }

    /// Every image, newest first.
    /// An image removed by another change while it is being read is left out.
    public func list() throws -> [ImageListing] {
        var referencesByImage: [ImageID: [Reference]] = [:]
        for (reference, image) in try storage.references.table() { referencesByImage[image, default: []].append(reference) }
        let entries = try storage.imageIndex.entries()
        // Only images with a metadata directory can have a parent: one listing, not a probe each.
        let parents = Set(try storage.images.idsWithMetadata().compactMap { try? storage.images.parent(of: $0) })
        return entries.map { id, entry in
            ImageListing(id: id, references: ReferenceStore.sorted(referencesByImage[id] ?? []), created: entry.created, size: entry.size,
                         hasChildren: parents.contains(id))
        }.sorted { ($0.created, $0.id.digest) > ($1.created, $1.id.digest) }
    }

    /// The image's history, newest step first, with each step's layer size.
    public func history(of id: ImageID) throws -> [HistoryEntry] {
        let config = try storage.images.config(id)
        let stack = try storage.layerStack(for: config)
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
        while let image = current, seen.insert(image).inserted, let imageConfig = try? storage.images.config(image) {
            let count = imageConfig.history?.count ?? (try? storage.layerStack(for: imageConfig).count) ?? 0
            if count > 0, count <= entries.count, rowsByBottomIndex[count - 1] == nil { rowsByBottomIndex[count - 1] = image }
            current = try storage.images.parent(of: image)
        }
        for (index, image) in rowsByBottomIndex {
            let row = entries[index]
            entries[index] = HistoryEntry(image: image, created: row.created, createdBy: row.createdBy, size: row.size,
                                          comment: row.comment, tags: try storage.references.references(to: image).filter { $0.tag != nil })
        }
        entries.reverse()
        return entries
    }

    /// The image's config (what `images --filter label=` and `before=` read).
    public func config(of id: ImageID) throws -> ImageConfig { try storage.images.config(id) }

    /// `docker image inspect`'s object for one image.
    public func inspect(_ id: ImageID) throws -> ImageInspect {
        let config = try storage.images.config(id)
        let refs = try storage.references.references(to: id)
        let stack = try storage.layerStack(for: config)
        let size = stack.reduce(0) { $0 + $1.size }
        let created = config.created.flatMap { Timestamp.parseWithNanoseconds($0) }
            .map { Timestamp.formatRFC3339Nano(seconds: $0.seconds, nanoseconds: $0.nanoseconds) } ?? "0001-01-01T00:00:00Z"
        return ImageInspect(
            id: id.description, repoTags: refs.filter { $0.tag != nil }.map(\.familiarString),
            repoDigests: refs.filter { $0.digest != nil }.map { $0.familiarName + "@" + $0.digest!.description },
            parent: try storage.images.parent(of: id)?.description ?? "", comment: config.comment ?? "", created: created,
            container: config.container ?? "", containerConfig: (config.containerConfig ?? ContainerConfig.empty).inspectJSON,
            dockerVersion: config.dockerVersion ?? "", author: config.author ?? "", config: config.config?.inspectJSON ?? .null,
            architecture: config.architecture ?? "", variant: config.variant, os: config.os ?? "", osVersion: config.osVersion,
            size: size, virtualSize: size,
            graphDriver: GraphDriverData(data: try stack.last.flatMap { try storage.driver.metadata($0.cacheID) }, name: storage.driver.name),
            rootFS: ImageInspect.RootFS(type: config.rootFS.type, layers: config.rootFS.diffIDs.map(\.description)),
            metadata: ImageInspect.Metadata(lastTagTime: try storage.images.lastUpdated(id) ?? "0001-01-01T00:00:00Z"))
    }

    /// Points `target` at the image `source` names; `latest` is added when no tag is given.
    public func tag(_ source: String, as target: String) throws {
        let reference = try Reference(parsing: target)
        guard reference.digest == nil else {
            throw StowageError(.invalidArgument, "refusing to create a tag with a digest reference")
        }
        try storage.mutation { _ in
            try storage.graph.withExclusive {
                let id = try storage.resolveImage(source)
                try storage.references.add(reference.withDefaultTag(), image: id)
                try storage.images.setLastUpdated(id)
            }
        }
    }

    // MARK: - Loading and saving

    /// A loader for this root, with the configured `stowage.max-layer-size`.
    public func makeLoader() -> ImageLoader {
        let loader = ImageLoader(layers: storage.layers, images: storage.images, references: storage.references)
        // Already checked when the driver was opened (`StorageOptions`), so it cannot fail here.
        loader.maximumLayerSize = (try? storage.configuration.maximumLayerSize) ?? nil
        return loader
    }

    /// Loads images with `loader` (from `makeLoader()`) as one change: layers shared with
    /// other images are protected by the load's lease while it runs, and a failed or killed
    /// load leaves the root as before (earlier images of the archive complete).
    @discardableResult
    public func load(path: String, with loader: ImageLoader) throws -> [ImageID] {
        var stored: [ImageID: ImageIndex.Entry] = [:]
        let passOn = loader.stored
        loader.stored = { image in
            stored[image.id] = ImageIndex.Entry(created: image.created, layers: image.layers)
            passOn(image)
        }
        defer {
            loader.stored = passOn
            storage.imageIndex.add(stored)  // also those stored before a failure
        }
        return try storage.mutation { lease in try loader.load(path: path, lease: lease) }
    }

    /// Loads an archive read from a stream (standard input, a pipe, a socket): it cannot be
    /// indexed as it comes, so it is spooled to the data root's `tmp` first, and removed after.
    @discardableResult
    public func load(from stream: ByteSource, named name: String, with loader: ImageLoader) throws -> [ImageID] {
        let spool = storage.configuration.dataRoot + "/tmp/load-" + LayerCacheID.random().rawValue.prefix(16) + ".tar"
        let file = try StagedFile(finalPath: spool, mode: 0o600)
        defer { file.discard() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let got = try stream.read(into: buffer)
            if got == 0 { break }
            try file.descriptor.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            total += got
        }
        guard total > 0 else { throw StowageError(.invalidArchive, "unexpected EOF: \(name) is empty") }
        do {
            return try load(path: file.stagingPath, with: loader)
        } catch let error as StowageError {
            // Name the stream, not the spool file.
            throw StowageError(error.code, error.message.replacing(file.stagingPath, with: name), underlying: error.underlying)
        }
    }

    /// Writes the named images as one archive, with the names Docker's `save` records: a
    /// tag, every tag of a repository named without one, none for an image named by ID.
    /// `progress` sees (layer tars written, layer tars to write).
    public func save(_ names: [String], format: ArchiveFormat, to sink: ByteSink,
                     progress: @escaping (Int, Int) -> Void = { _, _ in }) throws {
        var requested: [ImageToSave] = []
        for (id, refs) in try names.flatMap(saveTargets) {
            if let index = requested.firstIndex(where: { $0.id == id }) {
                let merged = requested[index].references + refs.filter { !requested[index].references.contains($0) }
                requested[index] = ImageToSave(id: id, references: merged)
            } else {
                requested.append(ImageToSave(id: id, references: refs))
            }
        }
        let saver = ImageSaver(layers: storage.layers, images: storage.images)
        saver.progress = progress
        try saver.save(requested, format: format, to: sink)
    }

    /// Docker's `parseNames` for one name: a tag saves its image with that tag; a repository
    /// without a tag, every image it tags, with those tags; an ID (or an ID prefix), the image
    /// with no name. Digests are never recorded.
    private func saveTargets(_ name: String) throws -> [(ImageID, [Reference])] {
        if !name.hasPrefix("sha256:"), let reference = try? Reference(parsing: name), reference.digest == nil, reference.tag == nil {
            let tagged = try storage.references.table().filter { $0.key.tag != nil && $0.key.name == reference.name }
            if !tagged.isEmpty {
                return Dictionary(grouping: tagged, by: \.value).map { id, pairs in (id, ReferenceStore.sorted(pairs.map(\.key))) }
                    .sorted { $0.0.digest.hex < $1.0.digest.hex }
            }
        }
        let id = try resolve(name)
        guard !name.hasPrefix("sha256:"), !Self.isIDPrefix(name, of: id), let reference = try? Reference(parsing: name),
              reference.digest == nil else { return [(id, [])] }
        return [(id, [reference.withDefaultTag()])]
    }
}
