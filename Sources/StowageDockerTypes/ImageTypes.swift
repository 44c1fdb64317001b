import StowageCore

/// One image of `GET /images/json` (Go's `types.ImageSummary`).
public struct ImageSummary: Codable, Sendable, Equatable {
    /// Containers using the image; -1 when not counted (only `system df` counts them).
    public var containers: Int64
    /// Seconds since 1970.
    public var created: Int64
    public var id: String
    public var labels: [String: String]?
    public var parentID: String
    public var repoDigests: [String]?
    public var repoTags: [String]?
    /// Bytes shared with other images; -1 when not counted.
    public var sharedSize: Int64
    public var size: Int64
    public var virtualSize: Int64

    enum CodingKeys: String, CodingKey {
        case containers = "Containers", created = "Created", id = "Id", labels = "Labels", parentID = "ParentId"
        case repoDigests = "RepoDigests", repoTags = "RepoTags", sharedSize = "SharedSize", size = "Size", virtualSize = "VirtualSize"
    }

    public init(containers: Int64 = -1, created: Int64, id: String, labels: [String: String]?, parentID: String,
                repoDigests: [String]?, repoTags: [String]?, sharedSize: Int64 = -1, size: Int64, virtualSize: Int64) {
        self.containers = containers
        self.created = created
        self.id = id
        self.labels = labels
        self.parentID = parentID
        self.repoDigests = repoDigests
        self.repoTags = repoTags
        self.sharedSize = sharedSize
        self.size = size
        self.virtualSize = virtualSize
    }
}

/// One step of `GET /images/{name}/history` (Go's `image.HistoryResponseItem`), newest first.
public struct HistoryItem: Codable, Sendable, Equatable {
    public var comment: String
    public var created: Int64
    public var createdBy: String
    /// The image the step made, or `<missing>`.
    public var id: String
    public var size: Int64
    public var tags: [String]?

    enum CodingKeys: String, CodingKey {
        case comment = "Comment", created = "Created", createdBy = "CreatedBy", id = "Id", size = "Size", tags = "Tags"
    }

    public init(comment: String, created: Int64, createdBy: String, id: String, size: Int64, tags: [String]?) {
        self.comment = comment
        self.created = created
        self.createdBy = createdBy
        self.id = id
        self.size = size
        self.tags = tags
    }
}

/// The storage driver's data of an image's top layer or a container's layer.
public struct GraphDriverData: Codable, Sendable, Equatable {
    public var data: [String: String]?
    public var name: String

    enum CodingKeys: String, CodingKey { case data = "Data", name = "Name" }

    public init(data: [String: String]?, name: String) {
        self.data = data
        self.name = name
    }
}

/// `GET /images/{name}/json` (Go's `types.ImageInspect`).
public struct ImageInspect: Codable, Sendable, Equatable {
    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var layers: [String]

        enum CodingKeys: String, CodingKey { case type = "Type", layers = "Layers" }

        public init(type: String, layers: [String]) {
            self.type = type
            self.layers = layers
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            if !layers.isEmpty { try container.encode(layers, forKey: .layers) }  // omitempty
        }
    }

    public struct Metadata: Codable, Sendable, Equatable {
        /// RFC 3339 with nanoseconds; Go's zero time when never tagged here.
        public var lastTagTime: String

        enum CodingKeys: String, CodingKey { case lastTagTime = "LastTagTime" }

        public init(lastTagTime: String) { self.lastTagTime = lastTagTime }
    }

    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    public var parent: String
    public var comment: String
    /// RFC 3339 with nanoseconds.
    public var created: String
    public var container: String
    /// The container configuration the image was made from, as Docker shows it.
    public var containerConfig: JSONValue
    public var dockerVersion: String
    public var author: String
    public var config: JSONValue
    public var architecture: String
    /// Omitted when empty.
    public var variant: String?
    public var os: String
    /// Omitted when empty.
    public var osVersion: String?
    public var size: Int64
    public var virtualSize: Int64
    public var graphDriver: GraphDriverData
    public var rootFS: RootFS
    public var metadata: Metadata

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags", repoDigests = "RepoDigests", parent = "Parent", comment = "Comment", created = "Created"
        case container = "Container", containerConfig = "ContainerConfig", dockerVersion = "DockerVersion", author = "Author"
        case config = "Config", architecture = "Architecture", variant = "Variant", os = "Os", osVersion = "OsVersion", size = "Size"
        case virtualSize = "VirtualSize", graphDriver = "GraphDriver", rootFS = "RootFS", metadata = "Metadata"
    }

    public init(id: String, repoTags: [String], repoDigests: [String], parent: String, comment: String, created: String,
                container: String, containerConfig: JSONValue, dockerVersion: String, author: String, config: JSONValue,
                architecture: String, variant: String?, os: String, osVersion: String?, size: Int64, virtualSize: Int64,
                graphDriver: GraphDriverData, rootFS: RootFS, metadata: Metadata) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.parent = parent
        self.comment = comment
        self.created = created
        self.container = container
        self.containerConfig = containerConfig
        self.dockerVersion = dockerVersion
        self.author = author
        self.config = config
        self.architecture = architecture
        self.variant = variant
        self.os = os
        self.osVersion = osVersion
        self.size = size
        self.virtualSize = virtualSize
        self.graphDriver = graphDriver
        self.rootFS = rootFS
        self.metadata = metadata
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(repoTags, forKey: .repoTags)
        try container.encode(repoDigests, forKey: .repoDigests)
        try container.encode(parent, forKey: .parent)
        try container.encode(comment, forKey: .comment)
        try container.encode(created, forKey: .created)
        try container.encode(self.container, forKey: .container)
        try container.encode(containerConfig, forKey: .containerConfig)
        try container.encode(dockerVersion, forKey: .dockerVersion)
        try container.encode(author, forKey: .author)
        try container.encode(config, forKey: .config)
        try container.encode(architecture, forKey: .architecture)
        if let variant, !variant.isEmpty { try container.encode(variant, forKey: .variant) }
        try container.encode(os, forKey: .os)
        if let osVersion, !osVersion.isEmpty { try container.encode(osVersion, forKey: .osVersion) }
        try container.encode(size, forKey: .size)
        try container.encode(virtualSize, forKey: .virtualSize)
        try container.encode(graphDriver, forKey: .graphDriver)
        try container.encode(rootFS, forKey: .rootFS)
        try container.encode(metadata, forKey: .metadata)
    }
}
