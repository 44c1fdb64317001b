#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageCore

/// The media types Stowage reads and writes.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"

    static let indexes: Set<String> = [ociIndex, dockerManifestList]
    static let manifests: Set<String> = [ociManifest, dockerManifest]
    static let configs: Set<String> = [ociConfig, dockerConfig]
    /// Layer types; the compression is recognised from the bytes either way.
    static let layers: Set<String> = [
        ociLayer, ociLayer + "+gzip", ociLayer + "+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ]
}

/// An OCI image layout: `oci-layout`, `index.json`, and content under `blobs/sha256/`.
enum OCILayoutFormat {
    struct Platform: Decodable {
        let architecture: String
        let os: String
        let variant: String?
    }

    struct Descriptor: Decodable {
        let mediaType: String?
        let digest: String
        let size: Int64
        let annotations: [String: String]?
        let platform: Platform?
    }

    private struct Index: Decodable {
        let mediaType: String?
        let manifests: [Descriptor]
    }

    private struct Manifest: Decodable {
        let mediaType: String?
        let config: Descriptor
        private let layerList: [Descriptor]?

        /// Go's nil slice when the manifest has none.
        var layers: [Descriptor] { layerList ?? [] }

        enum CodingKeys: String, CodingKey {
            case mediaType, config
            case layerList = "layers"
        }
    }

    /// The image-spec Go types (`specs-go/v1`) as Go decodes them, for `GoJSON`.
    static let descriptorShape = GoJSON.Shape.structure([
        ("mediaType", .string), ("digest", .string), ("size", .integer), ("urls", .slice(.string)),
        ("annotations", .map(.string)),
        ("platform", .pointer(.structure([("architecture", .string), ("os", .string), ("os.version", .string),
                                          ("os.features", .slice(.string)), ("variant", .string)]))),
    ])
    private static let indexShape = GoJSON.Shape.structure([
        ("schemaVersion", .integer), ("mediaType", .string), ("manifests", .slice(descriptorShape)), ("annotations", .map(.string)),
    ])
    private static let manifestShape = GoJSON.Shape.structure([
        ("schemaVersion", .integer), ("mediaType", .string), ("config", descriptorShape), ("layers", .slice(descriptorShape)),
        ("annotations", .map(.string)),
    ])

    static let refNameAnnotation = "org.opencontainers.image.ref.name"
    static let containerdNameAnnotation = "io.containerd.image.name"

    static func images(in source: ImageSource, report: (String) -> Void) throws -> [ArchivedImage] {
        if let layoutBytes = try? source.bytes("oci-layout") {
            struct Layout: Decodable { let imageLayoutVersion: String }
            let shape = GoJSON.Shape.structure([("imageLayoutVersion", .string)])
            guard let layout = try? decode(Layout.self, from: layoutBytes, as: shape, what: "oci-layout"), layout.imageLayoutVersion == "1.0.0" else {
                throw StowageError(.invalidArchive, "oci-layout does not declare imageLayoutVersion 1.0.0")
            }
        }
        let index = try decode(Index.self, from: source.bytes("index.json"), as: indexShape, what: "index.json")
        guard !index.manifests.isEmpty else { throw StowageError(.invalidArchive, "index.json lists no manifests") }
        var images: [ArchivedImage] = []
        for descriptor in index.manifests {
            let manifestDescriptor = try chooseManifest(descriptor, in: source, report: report)
            images.append(try image(from: manifestDescriptor, named: descriptor.annotations, in: source))
        }
        return images
    }

    /// Follows nested indexes down to one image manifest, picking linux/amd64.
    private static func chooseManifest(_ descriptor: Descriptor, in source: ImageSource, report: (String) -> Void) throws -> Descriptor {
        var current = descriptor
        for _ in 0..<8 {
            let type = current.mediaType ?? MediaType.ociManifest
            if MediaType.manifests.contains(type) { return current }
            guard MediaType.indexes.contains(type) else {
                throw StowageError(.unsupported, "unknown media type \(type) for \(current.digest) in index.json")
            }
            let nested = try decode(Index.self, from: blob(current, in: source), as: indexShape, what: "index \(current.digest)")
            let candidates = nested.manifests.filter { MediaType.manifests.contains($0.mediaType ?? "") || MediaType.indexes.contains($0.mediaType ?? "") }
            let chosen = candidates.first { $0.platform?.os == "linux" && $0.platform?.architecture == "amd64" }
                ?? (candidates.count == 1 && candidates[0].platform == nil ? candidates[0] : nil)
            guard let chosen else {
                let offered = candidates.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" } }.joined(separator: ", ")
                throw StowageError(.notFound, "index \(current.digest) has no linux/amd64 image (it has \(offered.isEmpty ? "none" : offered))")
            }
            if candidates.count > 1 {
                let platforms = candidates.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)\($0.variant.map { "/" + $0 } ?? "")" } }
                report("Chose linux/amd64 (\(chosen.digest)) of the \(candidates.count) platforms in the index: \(platforms.joined(separator: ", "))")
            }
            current = chosen
        }
        throw StowageError(.invalidArchive, "indexes nest too deeply under \(descriptor.digest)")
    }

    private static func image(from descriptor: Descriptor, named annotations: [String: String]?, in source: ImageSource) throws -> ArchivedImage {
        let manifest = try decode(Manifest.self, from: blob(descriptor, in: source), as: manifestShape, what: "manifest \(descriptor.digest)")
        let configType = manifest.config.mediaType ?? MediaType.ociConfig
        guard MediaType.configs.contains(configType) else {
            throw StowageError(.unsupported, "unknown media type \(configType) for the config of manifest \(descriptor.digest)")
        }
        let configDigest = try Digest(parsing: manifest.config.digest)
        try checkSize(manifest.config, in: source)
        let layers = try manifest.layers.enumerated().map { index, layer -> (path: String, blobDigest: BlobDigest?) in
            let type = layer.mediaType ?? ""
            guard MediaType.layers.contains(type) else {
                throw StowageError(.unsupported, "unknown media type \"\(type)\" for layer \(index + 1) of manifest \(descriptor.digest)")
            }
            let digest = try Digest(parsing: layer.digest)
            try checkSize(layer, in: source)
            return (path(of: digest), BlobDigest(digest))
        }
        return ArchivedImage(configPath: path(of: configDigest), namedDigest: configDigest, layers: layers,
                             references: try reference(from: annotations).map { [$0] } ?? [])
    }

    /// The image's name from its annotations; a bare tag (`latest`) names no repository. A
    /// name with a digest is refused, as Docker refuses it in a docker-archive's `RepoTags`:
    /// a layout must not bind a digest reference to its own content.
    private static func reference(from annotations: [String: String]?) throws -> Reference? {
        for key in [containerdNameAnnotation, refNameAnnotation] {
            guard let text = annotations?[key], text.contains("/") || text.contains(":") && !text.hasPrefix(":") else { continue }
            guard let reference = try? Reference(parsing: text) else { continue }
            if reference.digest != nil {
                throw StowageError(.invalidArchive, "index.json: annotation \(key): refusing to create a tag with a digest reference \"\(text)\"")
            }
            if reference.tag != nil { return reference }
        }
        return nil
    }

    static func path(of digest: Digest) -> String { "blobs/sha256/" + digest.hex }

    /// A JSON blob, checked against its descriptor's digest and size.
    private static func blob(_ descriptor: Descriptor, in source: ImageSource) throws -> [UInt8] {
        let digest = try Digest(parsing: descriptor.digest)
        let bytes = try source.bytes(path(of: digest))
        guard Digest.of(bytes) == digest else {
            throw StowageError(.digestMismatch, "blob \(path(of: digest)) does not match its digest \(digest)")
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw StowageError(.invalidArchive, "blob \(digest) is \(bytes.count) bytes, its descriptor says \(descriptor.size)")
        }
        return bytes
    }

    private static func checkSize(_ descriptor: Descriptor, in source: ImageSource) throws {
        let digest = try Digest(parsing: descriptor.digest)
        guard source.contains(path(of: digest)) else {
            throw StowageError(.notFound, "blob \(digest) is missing from the layout")
        }
        let size = try source.size(path(of: digest))
        guard size == descriptor.size else {
            throw StowageError(.invalidArchive, "blob \(digest) is \(size) bytes, its descriptor says \(descriptor.size)")
        }
    }

    /// Decodes a document as Go does (`GoJSON`): the last of duplicate keys wins, keys match
    /// case-insensitively.
    private static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], as shape: GoJSON.Shape, what: String) throws -> T {
        let normalized = try GoJSON.normalize(bytes, as: shape, what: what)
        do {
            return try JSONDecoder().decode(type, from: Data(normalized))
        } catch {
            throw StowageError(.invalidArchive, "\(what) is not valid: \(error)")
        }
    }
}
