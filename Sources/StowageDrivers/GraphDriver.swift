import StowageArchive
import StowageCore
import StowageTar

/// A storage driver: where layer filesystems live and how they stack (Docker's graph driver).
///
/// Layers are named by `LayerCacheID`; the layer store maps chain IDs to them. A driver never
/// sees digests or images.
public protocol GraphDriver: AnyObject, Sendable {
    /// The name users select it by: `vfs`, `overlay2`, …
    var name: String { get }
    /// `<data-root>/<name>`: where the driver keeps its layers.
    var home: String { get }

    /// Creates layer `id` holding exactly its parent's files (nothing for a base layer).
    func create(_ id: LayerCacheID, parent: LayerCacheID?) throws
    /// Creates a writable layer (a container's) on `parent`: as `create`, plus any size limit
    /// the driver is configured with.
    func createWritable(_ id: LayerCacheID, parent: LayerCacheID?) throws
    /// Removes layer `id` and everything in it. Removing a missing layer is not an error.
    func remove(_ id: LayerCacheID) throws
    /// The path of the layer's complete filesystem, mounting it if the driver stacks layers.
    /// Every `get` needs a `put`.
    func get(_ id: LayerCacheID) throws -> String
    /// Releases what `get` took. A mount that was there before the first `get` stays.
    func put(_ id: LayerCacheID) throws
    /// Unmounts the layer's stack whoever mounted it: a container's mount, released by a
    /// later process than the one that made it. Nothing for drivers that do not mount.
    func unmount(_ id: LayerCacheID) throws
    func exists(_ id: LayerCacheID) -> Bool
    /// Every layer the driver holds, for start-up sweeps.
    func layerIDs() throws -> [LayerCacheID]
    /// Lines for `info`, after `Storage Driver: <name>`.
    func status() throws -> [(String, String)]
    /// `GraphDriver.Data` of `inspect`; nil when the driver has none (vfs).
    func metadata(_ id: LayerCacheID) throws -> [String: String]?
    /// Releases everything this process still holds (mounts), as on shutdown.
    func cleanup() throws
    /// What is wrong with layer `id`'s directory in the driver's layout, one line each
    /// (`stowage check`); empty when it is whole.
    func verify(_ id: LayerCacheID) -> [String]
}

/// A driver that applies layer diffs and reads them back (every driver here does).
public protocol DiffApplyingDriver: GraphDriver {
    /// Applies a layer stream to the newly created layer `id`, returning what the pass computed.
    func applyDiff(_ id: LayerCacheID, from stream: ByteSource, options: ApplyOptions,
                   tarSplit: TarSplitWriter?) throws -> LayerApplyResult
    /// What `id` changes against `parent`, as `docker diff` lists it.
    func changes(_ id: LayerCacheID, parent: LayerCacheID?) throws -> [Change]
    /// `id`'s changes against `parent` as a layer tar.
    func diff(_ id: LayerCacheID, parent: LayerCacheID?, to sink: ByteSink) throws -> ArchiveResult
    /// The bytes of the files `id` adds or changes against `parent` (what `ps -s` shows).
    func diffSize(_ id: LayerCacheID, parent: LayerCacheID?) throws -> Int64
    /// Whether a layer's diff can be applied before its parent's: each layer is a directory
    /// of its own, which the parent's files are not copied into (overlay2, fuse-overlayfs).
    /// The layers of one image can then be applied at once.
    var appliesLayersIndependently: Bool { get }
    /// The directory holding exactly the files layer `id` adds or changes, readable without
    /// a mount (overlay2's `diff`, as Docker's `DiffGetter`); nil when only a mount shows them.
    func ownFilesDirectory(_ id: LayerCacheID) -> String?
}

extension DiffApplyingDriver {
    public var appliesLayersIndependently: Bool { false }
    public func ownFilesDirectory(_ id: LayerCacheID) -> String? { nil }
}

extension GraphDriver {
    public func createWritable(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        try create(id, parent: parent)
    }

    public func cleanup() throws {}

    public func unmount(_ id: LayerCacheID) throws {}

    public func verify(_ id: LayerCacheID) -> [String] {
        exists(id) ? [] : ["\(name) layer directory \(id) is missing"]
    }
}

extension DiffApplyingDriver {
    /// The naive way: both stacks mounted and compared (`NaiveDiff`).
    public func changes(_ id: LayerCacheID, parent: LayerCacheID?) throws -> [Change] {
        try withMounts(id, parent) { try NaiveDiff.changes(layer: $0, parent: $1) }
    }

    public func diff(_ id: LayerCacheID, parent: LayerCacheID?, to sink: ByteSink) throws -> ArchiveResult {
        try withMounts(id, parent) { try NaiveDiff.export(layer: $0, parent: $1, to: sink) }
    }

    /// The sizes of added and modified regular files, each inode counted once.
    public func diffSize(_ id: LayerCacheID, parent: LayerCacheID?) throws -> Int64 {
        try withMounts(id, parent) { layer, parentPath in
            try NaiveDiff.size(of: NaiveDiff.changes(layer: layer, parent: parentPath), in: layer)
        }
    }

    /// Runs `body` with the paths of `id` and `parent` (if any), releasing them after.
    func withMounts<T>(_ id: LayerCacheID, _ parent: LayerCacheID?, _ body: (String, String?) throws -> T) throws -> T {
        let layer = try get(id)
        defer { try? put(id) }
        let parentPath = try parent.map { try get($0) }
        defer { if let parent { try? put(parent) } }
        return try body(layer, parentPath)
    }
}
