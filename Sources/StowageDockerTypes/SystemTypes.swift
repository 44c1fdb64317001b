import StowageCore

/// A volume as the API shows it (Go's `volume.Volume`).
public struct Volume: Codable, Sendable, Equatable {
    /// What `system df` adds: how many containers use it and its size.
    public struct UsageData: Codable, Sendable, Equatable {
        public var refCount: Int64
        public var size: Int64

        enum CodingKeys: String, CodingKey { case refCount = "RefCount", size = "Size" }

        public init(refCount: Int64, size: Int64) {
            self.refCount = refCount
            self.size = size
        }
    }

    /// RFC 3339 in seconds.
    public var createdAt: String
    public var driver: String
    public var labels: [String: String]?
    public var mountpoint: String
    public var name: String
    public var options: [String: String]?
    public var scope: String
    /// Only in `system df`.
    public var usageData: UsageData?

    enum CodingKeys: String, CodingKey {
        case createdAt = "CreatedAt", driver = "Driver", labels = "Labels", mountpoint = "Mountpoint", name = "Name"
        case options = "Options", scope = "Scope", usageData = "UsageData"
    }

    public init(createdAt: String, driver: String = "local", labels: [String: String]?, mountpoint: String, name: String,
                options: [String: String]?, scope: String = "local", usageData: UsageData? = nil) {
        self.createdAt = createdAt
        self.driver = driver
        self.labels = labels
        self.mountpoint = mountpoint
        self.name = name
        self.options = options
        self.scope = scope
        self.usageData = usageData
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !createdAt.isEmpty { try container.encode(createdAt, forKey: .createdAt) }  // omitempty
        try container.encode(driver, forKey: .driver)
        try container.encodeIfPresent(labels, forKey: .labels)
        try container.encode(mountpoint, forKey: .mountpoint)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(options, forKey: .options)
        try container.encode(scope, forKey: .scope)
        if let usageData { try container.encode(usageData, forKey: .usageData) }  // omitempty
    }
}

/// `GET /volumes` (Go's `volume.ListResponse`).
public struct VolumeList: Codable, Sendable, Equatable {
    public var volumes: [Volume]
    public var warnings: [String]?

    enum CodingKeys: String, CodingKey { case volumes = "Volumes", warnings = "Warnings" }

    public init(volumes: [Volume], warnings: [String]? = nil) {
        self.volumes = volumes
        self.warnings = warnings
    }
}

/// `GET /system/df` (Go's `types.DiskUsage`, API 1.41).
public struct DiskUsage: Codable, Sendable, Equatable {
    public var layersSize: Int64
    public var images: [ImageSummary]
    public var containers: [ContainerSummary]
    public var volumes: [Volume]
    /// No builder here: always null.
    public var buildCache: [JSONValue]?
    public var builderSize: Int64

    enum CodingKeys: String, CodingKey {
        case layersSize = "LayersSize", images = "Images", containers = "Containers", volumes = "Volumes"
        case buildCache = "BuildCache", builderSize = "BuilderSize"
    }

    public init(layersSize: Int64, images: [ImageSummary], containers: [ContainerSummary], volumes: [Volume],
                buildCache: [JSONValue]? = nil, builderSize: Int64 = 0) {
        self.layersSize = layersSize
        self.images = images
        self.containers = containers
        self.volumes = volumes
        self.buildCache = buildCache
        self.builderSize = builderSize
    }
}

/// `GET /version` (Go's `types.Version`).
public struct Version: Codable, Sendable, Equatable {
    public struct Platform: Codable, Sendable, Equatable {
        public var name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
        public init(name: String) { self.name = name }
    }

    /// One part of the engine and its version (`Engine`, and the runtimes).
    public struct Component: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        /// Go's `map[string]string`: keys sorted.
        public var details: [String: String]?

        enum CodingKeys: String, CodingKey { case name = "Name", version = "Version", details = "Details" }

        public init(name: String, version: String, details: [String: String]?) {
            self.name = name
            self.version = version
            self.details = details
        }
    }

    public var platform: Platform
    public var components: [Component]
    public var version: String
    public var apiVersion: String
    public var minAPIVersion: String
    public var gitCommit: String
    public var goVersion: String
    public var os: String
    public var arch: String
    public var kernelVersion: String
    /// Omitted when false.
    public var experimental: Bool
    /// Omitted when empty.
    public var buildTime: String

    enum CodingKeys: String, CodingKey {
        case platform = "Platform", components = "Components", version = "Version", apiVersion = "ApiVersion"
        case minAPIVersion = "MinAPIVersion", gitCommit = "GitCommit", goVersion = "GoVersion", os = "Os", arch = "Arch"
        case kernelVersion = "KernelVersion", experimental = "Experimental", buildTime = "BuildTime"
    }

    public init(platform: Platform, components: [Component], version: String, apiVersion: String, minAPIVersion: String,
                gitCommit: String, goVersion: String, os: String, arch: String, kernelVersion: String,
                experimental: Bool = false, buildTime: String = "") {
        self.platform = platform
        self.components = components
        self.version = version
        self.apiVersion = apiVersion
        self.minAPIVersion = minAPIVersion
        self.gitCommit = gitCommit
        self.goVersion = goVersion
        self.os = os
        self.arch = arch
        self.kernelVersion = kernelVersion
        self.experimental = experimental
        self.buildTime = buildTime
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(platform, forKey: .platform)
        try container.encode(components, forKey: .components)
        try container.encode(version, forKey: .version)
        try container.encode(apiVersion, forKey: .apiVersion)
        try container.encode(minAPIVersion, forKey: .minAPIVersion)
        try container.encode(gitCommit, forKey: .gitCommit)
        try container.encode(goVersion, forKey: .goVersion)
        try container.encode(os, forKey: .os)
        try container.encode(arch, forKey: .arch)
        try container.encode(kernelVersion, forKey: .kernelVersion)
        if experimental { try container.encode(experimental, forKey: .experimental) }
        if !buildTime.isEmpty { try container.encode(buildTime, forKey: .buildTime) }
    }
}

/// The body of every API error (Go's `types.ErrorResponse`).
public struct ErrorResponse: Codable, Sendable, Equatable {
    public var message: String

    public init(message: String) { self.message = message }
}
