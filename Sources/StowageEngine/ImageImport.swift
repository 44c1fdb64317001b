import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers
import StowageTar

/// What `import` makes an image from: a root filesystem tarball and how to describe it.
public struct ImageImport: Sendable {
    /// `REPOSITORY[:TAG]` for the new image, if any.
    public var reference: String?
    /// The history step's comment (`-m`); Docker's `Imported from -` when nil.
    public var message: String?
    /// `-c` changes to the empty config, as `commit -c` takes them.
    public var changes: [String] = []

    public init(reference: String? = nil) { self.reference = reference }
}

extension ImageService {
    /// `import`: a one-layer image from a root filesystem tar stream (plain or compressed), its
    /// config as dockerd's `ImportImage` writes it (an empty config with the changes applied,
    /// one history step). Returns the new image's ID.
    public func importImage(from stream: ByteSource, _ request: ImageImport) throws -> ImageID {
        let reference = try request.reference.map { try Reference(parsing: $0).withDefaultTag() }
        let config = try CommitConfigChanges.apply(request.changes, to: .empty)
        return try storage.mutation { lease in
            let layer = try storage.layers.register(stream, parent: nil, lease: lease).layer
            let now = Timestamp.now()
            let created = JSONValue.string(Timestamp.formatRFC3339Nano(seconds: now.seconds, nanoseconds: now.nanoseconds))
            let comment = JSONValue.string(request.message.flatMap { $0.isEmpty ? nil : $0 } ?? "Imported from -")
            let bytes = Array(JSONValue.sortedObject([
                "architecture": .string(HostFacts.goArchitecture), "comment": comment, "config": config,
                "container_config": ContainerConfig.empty.inspectJSON, "created": created, "docker_version": .string(Engine.version),
                "history": .array([.object([("created", created), ("comment", comment)])]), "os": .string("linux"),
                "rootfs": .object([("type", .string("layers")), ("diff_ids", .array([.string(layer.diffID.description)]))]),
            ]).serialized().utf8)
            return try storage.graph.withExclusive {
                let id = ImageID(Digest.of(bytes))
                try lease.add(.newImage(id))
                try storage.images.put(bytes)
                if let reference {
                    try storage.references.add(reference, image: id)
                    try storage.images.setLastUpdated(id)
                }
                return id
            }
        }
    }
}
