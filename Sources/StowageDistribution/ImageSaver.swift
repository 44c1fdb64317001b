import StowageArchive
import StowageCore
import StowageImages
import StowageLayers
import StowageTar

/// The archive formats `save` writes.
public enum ArchiveFormat: String, Sendable {
    /// What `docker save` writes: `manifest.json`, `repositories`, a directory per layer.
    case dockerArchive = "docker"
    /// An OCI image layout with uncompressed layers.
    case ociLayout = "oci"
}

/// One image to save, with the names to record for it.
public struct ImageToSave {
    public let id: ImageID
    public let references: [Reference]

    public init(id: ImageID, references: [Reference]) {
        self.id = id
        self.references = references
    }
}

/// Writes images as a tar stream in either format. Layers are reassembled from their
/// tar-split records, so each has its original diff_id; every layer shared by several images
/// is written once.
public final class ImageSaver {
    private let layers: LayerStore
    private let images: ImageStore

    /// Called with (layer tars written, layer tars to write) as the archive grows, for
    /// progress bars.
    public var progress: (Int, Int) -> Void = { _, _ in }
    private var layersWritten = 0
    private var layersToWrite = 0

    public init(layers: LayerStore, images: ImageStore) {
        self.layers = layers
        self.images = images
    }

    public func save(_ requested: [ImageToSave], format: ArchiveFormat, to sink: ByteSink) throws {
        let writer = TarWriter(sink: sink)
        switch format {
        case .dockerArchive: try saveDockerArchive(requested, to: writer)
        case .ociLayout: try saveOCILayout(requested, to: writer)
        }
        try writer.finish()
    }

    /// The image's config bytes, parsed config and layers, bottom first.
    private func parts(of id: ImageID) throws -> (bytes: [UInt8], config: ImageConfig, stack: [LayerRecord]) {
        let bytes = try images.configBytes(id)
        let config = try ImageConfig(bytes: bytes)
        let diffIDs = config.rootFS.diffIDs
        return (bytes, config, diffIDs.isEmpty ? [] : try layers.stack(ChainID.chain(of: diffIDs).last!))
    }

    // MARK: - docker-archive

    /// One top-level entry of a docker-archive and what goes under it.
    private enum ArchiveEntry {
        /// A layer's directory; `sameLayerIn` names the directory that already holds the
        /// same layer tar, which this one then links to.
        case layerDirectory(LegacyLayerJSON, LayerRecord, modified: Int64, sameLayerIn: String?)
        case file([UInt8], modified: Int64)
    }

    /// Writes what `docker save` writes, byte for byte: a directory per layer named by its v1
    /// ID (`VERSION`, `json`, `layer.tar`), each image's config, `manifest.json` and
    /// `repositories` (with Encode's newline), as Docker's archive package walks its
    /// temporary directory: names in order, modes with their type bits, the host's names for
    /// root, each image's creation time (epoch for the two lists).
    private func saveDockerArchive(_ requested: [ImageToSave], to writer: TarWriter) throws {
        var entries: [String: ArchiveEntry] = [:]
        var directoryOfDiffID: [DiffID: String] = [:]
        let now = Timestamp.now().seconds
        var manifest: [JSONValue] = []
        var repositories: [String: [String: JSONValue]] = [:]
        let saved = Set(requested.map(\.id))
        for image in requested {
            let (bytes, config, stack) = try parts(of: image.id)
            // As Docker's Chtimes: a time before the epoch (or none) is the epoch.
            let created = max(0, config.createdSeconds ?? 0)
            let legacy = LegacyLayerJSON.layers(of: config, chainIDs: stack.map(\.chainID))
            for (layer, json) in zip(stack, legacy) where entries[json.id] == nil {
                // As Docker's: a layer tar already written is a symbolic link to it, and that
                // directory keeps the time it was made (Docker sets times only on the first).
                let first = directoryOfDiffID[layer.diffID]
                entries[json.id] = .layerDirectory(json, layer, modified: first == nil ? created : now, sameLayerIn: first)
                if first == nil { directoryOfDiffID[layer.diffID] = json.id }
            }
            entries[image.id.digest.hex + ".json"] = entries[image.id.digest.hex + ".json"] ?? .file(bytes, modified: created)
            let tags = image.references.filter { $0.tag != nil }
            var item: [(String, JSONValue)] = [("Config", .string(image.id.digest.hex + ".json")),
                                              ("RepoTags", tags.isEmpty ? .null : .array(tags.map { .string($0.familiarString) })),
                                              ("Layers", .array(legacy.map { .string($0.id + "/layer.tar") }))]
            // As Docker: the parent only when it is saved too.
            if let parent = try images.parent(of: image.id), saved.contains(parent) { item.append(("Parent", .string(parent.description))) }
            manifest.append(.object(item))
            for tag in tags { repositories[tag.familiarName, default: [:]][tag.tag!] = .string(legacy.last?.id ?? "") }
        }
        entries["manifest.json"] = .file(Array((JSONValue.array(manifest).serialized() + "\n").utf8), modified: 0)
        if !repositories.isEmpty {
            let text = JSONValue.sortedObject(repositories.mapValues { .sortedObject($0) }).serialized() + "\n"
            entries["repositories"] = .file(Array(text.utf8), modified: 0)
        }
        let accounts = AccountNames()
        let owner = (accounts.userName(0), accounts.groupName(0))
        startProgress(layers: entries.values.filter { if case .layerDirectory(_, _, _, nil) = $0 { true } else { false } }.count)
        for name in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            switch entries[name]! {
            case .file(let bytes, let modified):
                try writeFile(name, bytes, modified: modified, owner: owner, writer)
            case .layerDirectory(let json, let layer, let modified, let sameLayerIn):
                try writer.writeHeader(Self.header(name + "/", typeflag: TarHeader.directoryFlag, mode: 0o40755, modified: modified, owner: owner))
                try writeFile(name + "/VERSION", Array("1.0".utf8), modified: modified, owner: owner, writer)
                try writeFile(name + "/json", json.bytes, modified: modified, owner: owner, writer)
                if let sameLayerIn {
                    var link = Self.header(name + "/layer.tar", typeflag: TarHeader.symbolicLinkFlag, mode: 0o120777, modified: modified, owner: owner)
                    link.linkNameBytes = Array("../\(sameLayerIn)/layer.tar".utf8)
                    try writer.writeHeader(link)
                    continue
                }
                var header = Self.header(name + "/layer.tar", typeflag: TarHeader.regularFlag, mode: 0o100644, modified: modified, owner: owner)
                header.size = try layers.streamLength(layer)
                try writer.writeHeader(header)
                try writeLayer(layer, writer)
            }
        }
    }

    /// The layer's original tar stream, checked against its diff_id as it goes.
    private func writeLayer(_ layer: LayerRecord, _ writer: TarWriter) throws {
        let check = HashingSink(TarWriterSink(writer))
        try layers.assemble(layer, to: check)
        guard check.digest == layer.diffID.digest else {
            throw StowageError(.digestMismatch, "layer \(layer.chainID) no longer matches its diff_id \(layer.diffID): its files changed")
        }
        layersWritten += 1
        progress(layersWritten, layersToWrite)
    }

    private func startProgress(layers count: Int) {
        (layersWritten, layersToWrite) = (0, count)
        progress(0, count)
    }

    private static func header(_ name: String, typeflag: UInt8, mode: Int64, modified: Int64, owner: (String, String)) -> TarHeader {
        var header = TarHeader(name: name, typeflag: typeflag)
        header.mode = mode
        header.modificationTime = TarTime(seconds: modified)
        (header.userName, header.groupName) = owner
        header.format = .pax
        return header
    }

    private func writeFile(_ name: String, _ bytes: [UInt8], modified: Int64, owner: (String, String), _ writer: TarWriter) throws {
        var header = Self.header(name, typeflag: TarHeader.regularFlag, mode: 0o100644, modified: modified, owner: owner)
        header.size = Int64(bytes.count)
        try writer.writeHeader(header)
        try writer.write(bytes)
    }

    // MARK: - OCI layout

    private func saveOCILayout(_ requested: [ImageToSave], to writer: TarWriter) throws {
        var written: Set<String> = []
        var indexEntries: [JSONValue] = []
        startProgress(layers: Set(try requested.flatMap { try parts(of: $0.id).stack.map(\.diffID) }).count)
        for image in requested {
            let (config, _, stack) = try parts(of: image.id)
            var layerDescriptors: [JSONValue] = []
            for layer in stack {
                let path = "blobs/sha256/" + layer.diffID.digest.hex
                let length = try layers.streamLength(layer)
                if written.insert(path).inserted {
                    try writer.writeHeader(Self.fileHeader(path, size: length))
                    try writeLayer(layer, writer)
                }
                layerDescriptors.append(Self.descriptor(MediaType.ociLayer, layer.diffID.digest, length))
            }
            let configDigest = Digest.of(config)
            let configPath = "blobs/sha256/" + configDigest.hex
            if written.insert(configPath).inserted { try writeFile(configPath, config, writer) }
            let manifestBytes = Array(JSONValue.object([
                ("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociManifest)),
                ("config", Self.descriptor(MediaType.ociConfig, configDigest, Int64(config.count))),
                ("layers", .array(layerDescriptors)),
            ]).serialized().utf8)
            let manifestDigest = Digest.of(manifestBytes)
            if written.insert("blobs/sha256/" + manifestDigest.hex).inserted {
                try writeFile("blobs/sha256/" + manifestDigest.hex, manifestBytes, writer)
            }
            let names = image.references.isEmpty ? [nil] : image.references.map(Optional.some)
            for name in names {
                var entry = Self.descriptorMembers(MediaType.ociManifest, manifestDigest, Int64(manifestBytes.count))
                if let name {
                    entry.append(("annotations", .sortedObject([
                        "io.containerd.image.name": .string(name.description),
                        OCILayoutFormat.refNameAnnotation: .string(name.tag ?? name.digest?.description ?? Reference.defaultTag),
                    ])))
                }
                indexEntries.append(.object(entry))
            }
        }
        try writeFile("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), writer)
        try writeFile("index.json", Array(JSONValue.object([
            ("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array(indexEntries)),
        ]).serialized().utf8), writer)
    }

    private static func descriptorMembers(_ mediaType: String, _ digest: Digest, _ size: Int64) -> [(String, JSONValue)] {
        [("mediaType", .string(mediaType)), ("digest", .string(digest.description)), ("size", .integer(size))]
    }

    private static func descriptor(_ mediaType: String, _ digest: Digest, _ size: Int64) -> JSONValue {
        .object(descriptorMembers(mediaType, digest, size))
    }

    private static func fileHeader(_ path: String, size: Int64) -> TarHeader {
        var header = TarHeader(name: path, typeflag: TarHeader.regularFlag)
        header.mode = 0o644
        header.size = size
        return header
    }

    private func writeFile(_ path: String, _ bytes: [UInt8], _ writer: TarWriter) throws {
        try writer.writeHeader(Self.fileHeader(path, size: Int64(bytes.count)))
        try writer.write(bytes)
    }

}

/// Entry data written into a tar writer as a byte sink.
final class TarWriterSink: ByteSink {
    private let writer: TarWriter
    init(_ writer: TarWriter) { self.writer = writer }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes) }
}
