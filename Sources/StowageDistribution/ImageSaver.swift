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

    public init(layers: LayerStore, images: ImageStore) {
        self.layers = layers
        self.images = images
    }

    public func save(_ requested: [ImageToSave], format: ArchiveFormat, to sink: ByteSink) throws {
        let writer = TarWriter(sink: sink)
        var written: Set<String> = []
        var manifest: [JSONValue] = []
        var repositories: [String: [String: JSONValue]] = [:]
        var indexEntries: [JSONValue] = []

        for image in requested {
            let config = try images.configBytes(image.id)
            let diffIDs = try ImageConfig(bytes: config).rootFS.diffIDs
            let stack = diffIDs.isEmpty ? [] : try layers.stack(ChainID.chain(of: diffIDs).last!)
            var layerPaths: [String] = []
            var layerDescriptors: [JSONValue] = []
            for layer in stack {
                let path = format == .dockerArchive ? layer.diffID.digest.hex + "/layer.tar" : "blobs/sha256/" + layer.diffID.digest.hex
                let length = try layers.streamLength(layer)
                if written.insert(path).inserted {
                    if format == .dockerArchive {
                        try writeDirectory(layer.diffID.digest.hex + "/", writer)
                        try writeFile(layer.diffID.digest.hex + "/VERSION", Array("1.0".utf8), writer)
                    }
                    try writer.writeHeader(Self.fileHeader(path, size: length))
                    let check = HashingSink(TarWriterSink(writer))
                    try layers.assemble(layer, to: check)
                    guard check.digest == layer.diffID.digest else {
                        throw StowageError(.digestMismatch, "layer \(layer.chainID) no longer matches its diff_id \(layer.diffID): its files changed")
                    }
                }
                layerPaths.append(path)
                layerDescriptors.append(Self.descriptor(MediaType.ociLayer, layer.diffID.digest, length))
            }
            let configDigest = Digest.of(config)
            switch format {
            case .dockerArchive:
                let configPath = configDigest.hex + ".json"
                if written.insert(configPath).inserted { try writeFile(configPath, config, writer) }
                let tags = image.references.filter { $0.tag != nil }
                manifest.append(.object([("Config", .string(configPath)),
                                         ("RepoTags", tags.isEmpty ? .null : .array(tags.map { .string($0.familiarString) })),
                                         ("Layers", .array(layerPaths.map(JSONValue.string)))]))
                for tag in tags {
                    repositories[tag.familiarName, default: [:]][tag.tag!] = .string(stack.last?.diffID.digest.hex ?? "")
                }
            case .ociLayout:
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
        }

        switch format {
        case .dockerArchive:
            try writeFile("manifest.json", Array(JSONValue.array(manifest).serialized().utf8), writer)
            if !repositories.isEmpty {
                try writeFile("repositories", Array(JSONValue.sortedObject(repositories.mapValues { .sortedObject($0) }).serialized().utf8), writer)
            }
        case .ociLayout:
            try writeFile("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), writer)
            try writeFile("index.json", Array(JSONValue.object([
                ("schemaVersion", .integer(2)), ("mediaType", .string(MediaType.ociIndex)), ("manifests", .array(indexEntries)),
            ]).serialized().utf8), writer)
        }
        try writer.finish()
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

    private func writeDirectory(_ path: String, _ writer: TarWriter) throws {
        var header = TarHeader(name: path, typeflag: TarHeader.directoryFlag)
        header.mode = 0o755
        try writer.writeHeader(header)
    }
}

/// Entry data written into a tar writer as a byte sink.
final class TarWriterSink: ByteSink {
    private let writer: TarWriter
    init(_ writer: TarWriter) { self.writer = writer }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes) }
}
