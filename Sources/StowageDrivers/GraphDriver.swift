import StowageArchive
import StowageCore
import StowageTar

/// A storage driver: where layer filesystems live and how they stack (Docker's graph driver).
///
/// Layers are named by `LayerCacheID`; the layer store maps chain IDs to them. A driver never
/// sees digests or images.
public protocol GraphDriver: AnyObject {
    /// The name users select it by: `vfs`, `overlay2`, …
    var name: String { get }
    /// `<data-root>/<name>`: where the driver keeps its layers.
    var home: String { get }

    /// Creates layer `id` holding exactly its parent's files (nothing for a base layer).
    func create(_ id: LayerCacheID, parent: LayerCacheID?) throws
    /// Removes layer `id` and everything in it. Removing a missing layer is not an error.
    func remove(_ id: LayerCacheID) throws
    /// The path of the layer's complete filesystem, mounting it if the driver stacks layers.
    /// Every `get` needs a `put`.
    func get(_ id: LayerCacheID) throws -> String
    /// Releases what `get` took.
    func put(_ id: LayerCacheID) throws
    func exists(_ id: LayerCacheID) -> Bool
    /// Every layer the driver holds, for start-up sweeps.
    func layerIDs() throws -> [LayerCacheID]
    /// Lines for `info`, after `Storage Driver: <name>`.
    func status() throws -> [(String, String)]
    /// `GraphDriver.Data` of `inspect`; nil when the driver has none (vfs).
    func metadata(_ id: LayerCacheID) throws -> [String: String]?
}

/// A driver that applies layer diffs itself (every driver here does; Docker's naive fallback
/// is `get`, apply, `put`).
public protocol DiffApplyingDriver: GraphDriver {
    /// Applies a layer stream to the newly created layer `id`, returning what the pass computed.
    func applyDiff(_ id: LayerCacheID, from stream: ByteSource, options: ApplyOptions,
                   tarSplit: TarSplitWriter?) throws -> LayerApplyResult
}
