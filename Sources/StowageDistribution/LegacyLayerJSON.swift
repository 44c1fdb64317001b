import StowageCore
import StowageImages

/// The v1 image JSON that `docker save` writes beside each layer (`<v1 id>/json`), and the
/// v1 ID that names the layer's directory, computed as Docker's `image/v1.CreateID`: the
/// image's own fields for its top layer, only an epoch `created` for those below; the ID is
/// the digest of those fields without `id`, with `layer_id` and `parent`, keys sorted.
struct LegacyLayerJSON {
    /// The directory name: the v1 ID's hex.
    let id: String
    /// `json.Marshal` of the v1 image, as Docker writes the file.
    let bytes: [UInt8]

    /// One per layer of the image, bottom first.
    static func layers(of config: ImageConfig, chainIDs: [ChainID]) -> [LegacyLayerJSON] {
        var parent: Digest?
        return chainIDs.enumerated().map { index, chainID in
            let isTop = index == chainIDs.count - 1
            let fields = isTop ? imageFields(config) : [("created", JSONValue.string("1970-01-01T00:00:00Z")),
                                                        ("container_config", ContainerConfig.empty.inspectJSON)]
            var identified = Dictionary(fields, uniquingKeysWith: { _, last in last })
            identified["layer_id"] = .string(chainID.description)
            if let parent { identified["parent"] = .string(parent.description) }
            let id = Digest.of(Array(JSONValue.sortedObject(identified).serialized().utf8))
            // Written with its ID and parent first and the image's os, in V1Image's order.
            var stored: [(String, JSONValue)] = [("id", .string(id.hex))]
            if let parent { stored.append(("parent", .string(parent.hex))) }
            stored += fields.filter { $0.0 != "os" }
            if let os = config.os, !os.isEmpty { stored.append(("os", .string(os))) }
            parent = id
            return LegacyLayerJSON(id: id.hex, bytes: Array(JSONValue.object(stored).serialized().utf8))
        }
    }

    /// The image's `V1Image` fields (without `id`, `parent` and `Size`), in Go's order,
    /// `omitempty` ones left out when empty.
    private static func imageFields(_ config: ImageConfig) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        let optional = { (key: String, value: String?) in
            if let value, !value.isEmpty { fields.append((key, .string(value))) }
        }
        optional("comment", config.comment)
        let created = config.created.flatMap(Timestamp.parseWithNanoseconds)
            .map { Timestamp.formatRFC3339Nano(seconds: $0.seconds, nanoseconds: $0.nanoseconds) } ?? "0001-01-01T00:00:00Z"
        fields.append(("created", .string(created)))
        optional("container", config.container)
        fields.append(("container_config", (config.containerConfig ?? ContainerConfig.empty).inspectJSON))
        optional("docker_version", config.dockerVersion)
        optional("author", config.author)
        if let inner = config.config { fields.append(("config", inner.inspectJSON)) }
        optional("architecture", config.architecture)
        optional("variant", config.variant)
        optional("os", config.os)
        return fields
    }
}
