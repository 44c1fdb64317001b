#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers
import StowageTar

/// One image an archive held, ready to be stored.
struct ArchivedImage {
    let configPath: String
    /// The config's digest as the archive names it, when it does (`blobs/sha256/<hex>`, `<hex>.json`).
    let namedDigest: Digest?
    /// Layer blobs, bottom first, with the digest the archive promises for each, if any.
    let layers: [(path: String, blobDigest: BlobDigest?)]
    let references: [Reference]
    /// The image `manifest.json` names as its parent (`Parent`), if any.
    var parent: ImageID? = nil
}

/// An image a load stored: its creation time and its layers, bottom first, with their sizes.
public struct StoredImage: Sendable {
    public let id: ImageID
    public let created: Int64
    public let layers: [(chainID: ChainID, size: Int64)]
}

/// Loads images from a docker-archive (`docker save` output) or an OCI image layout, as a
/// tar file, a directory, or a stream: every layer is verified against the config's
/// diff_ids (and, for OCI, against its blob digest) as it is applied; images are stored only
/// after all their layers; tags last. A failed load leaves the data root as it was.
public final class ImageLoader {
    private let layers: LayerStore
    private let images: ImageStore
    private let references: ReferenceStore
    /// Lines for the user (`Loaded image: busybox:latest`), as they happen.
    public var report: (String) -> Void = { _ in }
    /// Called with (layer index, layer count) as layers are stored, for progress bars.
    public var progress: (Int, Int) -> Void = { _, _ in }
    /// The most bytes one layer's tar stream may decompress to (the storage option
    /// `stowage.max-layer-size`); nil for no limit. A larger layer fails the load.
    public var maximumLayerSize: Int64?
    /// Called once each image is stored, with what listings need of it (so that an index of
    /// images can add it without reading its files again).
    public var stored: (StoredImage) -> Void = { _ in }
    /// How many layers of an image are applied at once, on drivers that allow it.
    public var layerConcurrency = ImageLoader.defaultLayerConcurrency

    /// One per CPU, at most 4 (and 1 with `STOWAGE_LAYER_CONCURRENCY=1`).
    public static var defaultLayerConcurrency: Int {
        if let text = getenv("STOWAGE_LAYER_CONCURRENCY"), let count = Int(String(cString: text)), count > 0 { return count }
        return min(4, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    public init(layers: LayerStore, images: ImageStore, references: ReferenceStore) {
        self.layers = layers
        self.images = images
        self.references = references
    }

    /// Loads from a tar file or a layout directory at `path`, recording every layer found or
    /// made in `lease`: the caller releases it once the load is done, or recovers what it
    /// names when the load fails.
    @discardableResult
    public func load(path: String, lease: Lease) throws -> [ImageID] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw StowageError(.notFound, "open \(path): no such file or directory")
        }
        let source: ImageSource = (st.st_mode & S_IFMT) == S_IFDIR ? try DirectoryImageSource(path: path) : try TarFileImageSource(path: path)
        return try load(source, origin: path, lease: lease)
    }

    func load(_ source: ImageSource, origin: String, lease: Lease) throws -> [ImageID] {
        let archived: [ArchivedImage]
        if source.contains("manifest.json") {
            archived = try DockerArchiveFormat.images(in: source)
        } else if source.contains("index.json") {
            archived = try OCILayoutFormat.images(in: source, report: report)
        } else {
            throw StowageError(.invalidArchive, "\(origin) is neither a docker-archive (no manifest.json) nor an OCI layout (no index.json)")
        }
        // The archive's names are written once, after its images (an archive of 10,000
        // images is one rewrite of the tag store, not 10,000), and also when a later image
        // fails: the images stored before it keep their names, as Docker leaves them.
        var loaded: [(id: ImageID, references: [Reference])] = []
        do {
            for image in archived {
                loaded.append((try store(image, from: source, lease: lease), image.references))
            }
        } catch {
            try layers.graph.withExclusive { try storeReferences(of: loaded) }
            throw error
        }
        try layers.graph.withExclusive {
            try storeReferences(of: loaded)
            try linkParents(zip(archived, loaded).map { ($0.1.id, $0.0.parent) })
        }
        return loaded.map(\.id)
    }

    /// Records each image's `Parent` from the manifest, as Docker's load does, when the parent
    /// was loaded with it and its history is the child's but for the child's last step.
    private func linkParents(_ pairs: [(id: ImageID, parent: ImageID?)]) throws {
        let loadedIDs = Set(pairs.map(\.id))
        for (id, parent) in pairs {
            guard let parent, parent != id, loadedIDs.contains(parent) else { continue }
            let history = { (image: ImageID) in try ImageConfig(bytes: self.images.configBytes(image)).history ?? [] }
            let (child, ancestor) = (try history(id), try history(parent))
            let valid = (child.isEmpty && ancestor.isEmpty)
                || (child.count == ancestor.count + 1 && zip(ancestor, child).allSatisfy { $0.0.isSameStep(as: $0.1) })
            if valid { try images.setParent(parent, of: id) }
        }
    }

    private func store(_ image: ArchivedImage, from source: ImageSource, lease: Lease) throws -> ImageID {
        let configBytes = try source.bytes(image.configPath)
        let id = ImageID(Digest.of(configBytes))
        if let named = image.namedDigest, named != id.digest {
            throw StowageError(.digestMismatch, "image config \(image.configPath) has digest \(id), not the \(named) its name says")
        }
        let config = try ImageConfig(bytes: configBytes)
        let diffIDs = config.rootFS.diffIDs
        guard diffIDs.count == image.layers.count else {
            throw StowageError(.invalidArchive,
                               "image \(id.shortForm) has \(image.layers.count) layers in its manifest but \(diffIDs.count) diff_ids in its config")
        }
        for layer in image.layers where !source.contains(layer.path) {
            throw StowageError(.invalidArchive, "the manifest names layer \(layer.path), which is missing from the archive")
        }

        // Layers found or made stay in the lease until the image holds them; the lease's
        // owner removes those of a failed load.
        let inputs = zip(image.layers, diffIDs).enumerated().map { index, layer in
            LayerInput(name: "layer \(index + 1) of \(diffIDs.count) (\(layer.0.path))", expectedDiffID: layer.1,
                       expectedBlobDigest: layer.0.blobDigest) { try source.open(layer.0.path) }
        }
        progress(0, diffIDs.count)
        let stack: [LayerRecord]
        do {
            stack = try layers.registerStack(inputs, on: nil, maximumUncompressedSize: maximumLayerSize, concurrency: layerConcurrency,
                                             lease: lease) { [progress] done in progress(done, diffIDs.count) }
        } catch let error as StowageError where error.code == .limitExceeded && maximumLayerSize != nil {
            throw StowageError(error.code, "\(error.message) (stowage.max-layer-size)", underlying: error.underlying)
        }
        CrashPoint.layersStored.reached()
        try layers.graph.withExclusive {
            try images.put(configBytes)
            try lease.add(.image(id))  // until it has its names: no prune takes it for dangling
            CrashPoint.imageStored.reached()
        }
        stored(StoredImage(id: id, created: config.createdSeconds ?? 0, layers: stack.map { ($0.chainID, $0.size) }))
        return id
    }

    /// Points the archive's names at the images it loaded, in one write of the tag store
    /// (call it holding the graph lock), then reports them in order, as Docker does.
    private func storeReferences(of loaded: [(id: ImageID, references: [Reference])]) throws {
        var current = try references.table()
        var lines: [String] = []
        for (id, imageReferences) in loaded {
            if imageReferences.isEmpty { lines.append("Loaded image ID: \(id)") }
            for reference in imageReferences {
                if let previous = current[reference], previous != id {
                    lines.append("The image \(reference.familiarString) already exists, renaming the old one with ID \(previous) to empty string")
                }
                current[reference] = id
                lines.append("Loaded image: \(reference.familiarString)")
            }
        }
        try references.add(loaded.flatMap { image in image.references.map { ($0, image.id) } })
        lines.forEach(report)
    }
}

/// `docker save` output: `manifest.json` naming each image's config and layer tars.
enum DockerArchiveFormat {
    private struct Entry: Decodable {
        let Config: String
        let RepoTags: [String]?
        private let layers: [String]?
        let Parent: String?

        /// Go's nil slice when the manifest has none.
        var Layers: [String] { layers ?? [] }

        enum CodingKeys: String, CodingKey {
            case Config, RepoTags, Parent
            case layers = "Layers"
        }
    }

    /// Docker's `manifestItem` as Go decodes it (`Parent` and `LayerSources` only for their types).
    private static let goShape = GoJSON.Shape.slice(.structure([
        ("Config", .string), ("RepoTags", .slice(.string)), ("Layers", .slice(.string)), ("Parent", .string),
        ("LayerSources", .map(OCILayoutFormat.descriptorShape)),
    ]))

    static func images(in source: ImageSource) throws -> [ArchivedImage] {
        let entries: [Entry]
        // As Docker reads it: json.Decoder, which stops after the first value.
        let manifest = try GoJSON.normalize(source.bytes("manifest.json"), as: goShape, what: "manifest.json", ignoringTrailingData: true)
        do {
            entries = try JSONDecoder().decode([Entry]?.self, from: Data(manifest)) ?? []
        } catch {
            throw StowageError(.invalidArchive, "manifest.json is not valid: \(error)")
        }
        guard !entries.isEmpty else { throw StowageError(.invalidArchive, "manifest.json lists no images") }
        for entry in entries {
            for path in [entry.Config] + entry.Layers where !source.contains(path) {
                throw StowageError(.invalidArchive, "manifest.json names \(path), which is missing from the archive")
            }
        }
        try checkForExtraFiles(in: source, entries: entries)
        return try entries.map { entry in
            ArchivedImage(configPath: entry.Config, namedDigest: digestInName(entry.Config),
                          layers: entry.Layers.map { ($0, nil) },
                          references: try (entry.RepoTags ?? []).map(archiveTag),
                          parent: entry.Parent.flatMap { try? ImageID(parsing: $0) })
        }
    }

    /// Every file must be one `docker save` writes; every layer tar must be used.
    private static func checkForExtraFiles(in source: ImageSource, entries: [Entry]) throws {
        let used = Set(entries.flatMap { $0.Layers + [$0.Config] }.map(TarFileImageSource.clean))
        for path in source.paths {
            let parts = path.split(separator: "/")
            let known = ["manifest.json", "repositories", "index.json", "oci-layout"].contains(path)
                || (parts.count == 2 && ["json", "VERSION", "layer.tar"].contains(parts[1]))
                || (parts.count == 1 && path.hasSuffix(".json"))
                || path.hasPrefix("blobs/")
            guard known else {
                throw StowageError(.invalidArchive, "unexpected file \(path) in the archive: it is not part of a docker-archive")
            }
            if path.hasSuffix("/layer.tar"), !used.contains(path) {
                throw StowageError(.invalidArchive, "unexpected layer \(path) in the archive: manifest.json does not use it")
            }
        }
    }

    /// A `RepoTags` entry as Docker's load takes it: a name with a tag, never a digest (an
    /// archive must not bind a digest reference to its own content).
    static func archiveTag(_ text: String) throws -> Reference {
        if (try? Digest(hex: text)) != nil {
            throw StowageError(.invalidArchive, "manifest.json: invalid repository name (\(text)), cannot specify 64-byte hexadecimal strings")
        }
        let reference: Reference
        do {
            reference = try Reference(parsing: text)
        } catch {
            throw StowageError(.invalidArchive, "manifest.json: invalid tag \"\(text)\"", underlying: error as? StowageError)
        }
        guard reference.tag != nil else { throw StowageError(.invalidArchive, "manifest.json: invalid tag \"\(text)\"") }
        if reference.digest != nil {
            throw StowageError(.invalidArchive, "manifest.json: refusing to create a tag with a digest reference \"\(text)\"")
        }
        return reference
    }

    /// The digest a path names: `<hex>.json` or `blobs/sha256/<hex>`.
    static func digestInName(_ path: String) -> Digest? {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let hex = base.hasSuffix(".json") ? String(base.dropLast(5)) : base
        return try? Digest(hex: hex)
    }
}
