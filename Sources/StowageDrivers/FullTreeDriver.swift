import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// A driver whose every layer is a complete tree in a directory of its own (vfs, btrfs):
/// nothing is mounted, and a diff is applied straight into the tree, deletions carried out.
public protocol FullTreeDriver: DiffApplyingDriver {
    /// The directory holding layer `id`'s tree.
    func path(of id: LayerCacheID) -> String
    /// The directory holding every layer's tree.
    var layersDirectory: String { get }
}

extension FullTreeDriver {
    public func get(_ id: LayerCacheID) throws -> String {
        guard exists(id) else { throw StowageError(.notFound, "\(name) layer \(id) does not exist") }
        return path(of: id)
    }

    public func put(_ id: LayerCacheID) throws {}

    public func exists(_ id: LayerCacheID) -> Bool { FileDescriptor.exists(path(of: id)) }

    public func layerIDs() throws -> [LayerCacheID] {
        try VFSDriver.layerIDs(in: layersDirectory)
    }

    public func status() throws -> [(String, String)] { [] }

    public func metadata(_ id: LayerCacheID) throws -> [String: String]? { nil }

    public func applyDiff(_ id: LayerCacheID, from stream: ByteSource, options: ApplyOptions,
                          tarSplit: TarSplitWriter?) throws -> LayerApplyResult {
        var plain = options
        plain.whiteoutFormat = .plain
        return try LayerApplier.apply(from: stream, into: path(of: id), options: plain, tarSplit: tarSplit)
    }
}
