#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageDrivers
import StowageFileSystem
import StowageTar
import Synchronization

/// One layer as the layer store records it in `layerdb/sha256/<chain-id>/`.
public struct LayerRecord: Sendable, Equatable {
    public let chainID: ChainID
    public let diffID: DiffID
    public let parent: ChainID?
    /// Sum of the sizes of the layer's entries (Docker's `size` file).
    public let size: Int64
    /// The layer's directory name in the driver.
    public let cacheID: LayerCacheID
}

/// What registering a layer stream did.
public struct LayerRegistration: Sendable {
    public let layer: LayerRecord
    /// False when the layer was already stored and the stream was only hashed.
    public let applied: Bool
    /// The stream as received: its digest and compression.
    public let blobDigest: BlobDigest
    public let compression: Compression
}

/// Docker's layer store (`image/<driver>/layerdb`): layers keyed by chain ID, each with its
/// diff_id, size, parent, driver cache ID and tar-split record, shared by every image whose
/// stack starts with the same layers.
///
/// A layer becomes visible only when complete: it is applied into a new driver directory,
/// its metadata written into `layerdb/tmp/write-set-*`, flushed, then renamed to
/// `layerdb/sha256/<chain-id>`. Two processes registering the same layer at once both
/// finish; the one whose rename loses discards its copy. Removal renames the metadata to
/// `<chain-id>-removing` first.
///
/// Many callers: a layer found or made is recorded in the caller's lease under the graph
/// lock, in the same hold that finds it or renames it into place, so that no removal
/// elsewhere can take it while the caller builds on it. Decompressing, hashing and applying
/// happen outside the lock.
public final class LayerStore: Sendable {
    /// `image/<driver>/layerdb`.
    public let root: String
    public let driver: any DiffApplyingDriver
    /// Serialises registration and removal with every other change of the graph.
    public let graph: GraphLock
    private var layersDirectory: String { root + "/sha256" }
    /// `layerdb/sha256`: one directory per layer, named by its chain ID (with `-removing`
    /// while it is removed).
    public var recordsPath: String { layersDirectory }
    /// Write sets, named after the lease of the operation making them.
    public var temporaryDirectory: String { root + "/tmp" }

    public init(root: String, driver: any DiffApplyingDriver, graph: GraphLock) throws {
        self.root = root
        self.driver = driver
        self.graph = graph
        for directory in [root, layersDirectory, temporaryDirectory] {
            try FileDescriptor.ensureDirectory(directory, mode: 0o700)
        }
    }

    // MARK: - Reading

    /// Records read so far: committed layer metadata never changes, only disappears (also
    /// by another process's removal, so a cached record is trusted only while its directory
    /// is there).
    private let cache = Mutex<[ChainID: LayerRecord]>([:])

    /// The layer `chainID`, or nil if it is not stored.
    public func layer(_ chainID: ChainID) throws -> LayerRecord? {
        if let cached = cache.withLock({ $0[chainID] }) {
            if FileDescriptor.exists(layersDirectory + "/" + chainID.digest.hex + "/diff") { return cached }
            cache.withLock { $0[chainID] = nil }
            return nil
        }
        guard let record = try readLayer(chainID) else { return nil }
        cache.withLock { $0[chainID] = record }
        return record
    }

    private func readLayer(_ chainID: ChainID) throws -> LayerRecord? {
        let directory = layersDirectory + "/" + chainID.digest.hex
        guard let diff = try readValue(directory + "/diff") else { return nil }
        do {
            let parent = try readValue(directory + "/parent").map { try ChainID(parsing: $0) }
            guard let sizeText = try readValue(directory + "/size"), let size = Int64(sizeText),
                  let cacheText = try readValue(directory + "/cache-id") else {
                throw StowageError(.invalidArchive, "size or cache-id missing")
            }
            return LayerRecord(chainID: chainID, diffID: try DiffID(parsing: diff), parent: parent,
                               size: size, cacheID: try LayerCacheID(cacheText))
        } catch {
            throw StowageError(.invalidArchive, "layer \(chainID) has corrupt metadata in \(directory)", underlying: error)
        }
    }

    /// The layer `chainID`; throws `.notFound` if it is not stored.
    public func requireLayer(_ chainID: ChainID) throws -> LayerRecord {
        guard let layer = try layer(chainID) else {
            throw StowageError(.notFound, "layer \(chainID) is not in the layer store")
        }
        return layer
    }

    /// The chain IDs of every stored layer.
    public func chainIDs() throws -> [ChainID] {
        try FileDescriptor.openDirectory(layersDirectory).childNames().compactMap { try? ChainID(Digest(hex: $0)) }
    }

    /// The layers from the bottom of the stack up to `chainID`.
    public func stack(_ chainID: ChainID) throws -> [LayerRecord] {
        var stack: [LayerRecord] = []
        var next: ChainID? = chainID
        while let current = next {
            let layer = try requireLayer(current)
            stack.append(layer)
            next = layer.parent
        }
        return stack.reversed()
    }

    /// Writes the layer's original tar stream, byte for byte, from its tar-split record and files.
    /// The files come from the layer's own directory where the driver has one (no mount),
    /// from its mounted view otherwise.
    public func assemble(_ layer: LayerRecord, to sink: ByteSink) throws {
        let record = try FileSource(path: tarSplitPath(layer))
        if let own = driver.ownFilesDirectory(layer.cacheID) {
            _ = try TarSplitAssembler.assemble(record: record, directory: own, to: sink)
            return
        }
        let directory = try driver.get(layer.cacheID)
        defer { try? driver.put(layer.cacheID) }
        _ = try TarSplitAssembler.assemble(record: record, directory: directory, to: sink)
    }

    /// The length of the layer's tar stream (what `assemble` writes).
    public func streamLength(_ layer: LayerRecord) throws -> Int64 {
        try TarSplitAssembler.streamLength(record: FileSource(path: tarSplitPath(layer)))
    }

    private func tarSplitPath(_ layer: LayerRecord) -> String {
        layersDirectory + "/" + layer.chainID.digest.hex + "/tar-split.json.gz"
    }

    // MARK: - Registering

    /// Stores the layer stream `source` on top of `parent` (which the caller's lease holds),
    /// and records the layer in `lease`.
    ///
    /// When `expectedDiffID` is given and that layer is already stored, the stream is only
    /// hashed to check it. Otherwise it is applied in one pass that also writes its tar-split
    /// record; a diff_id other than `expectedDiffID` is an error and leaves nothing behind.
    /// A tar stream longer than `maximumUncompressedSize` is refused (`.limitExceeded`).
    public func register(_ source: ByteSource, parent: ChainID?, expectedDiffID: DiffID? = nil,
                         expectedBlobDigest: BlobDigest? = nil, maximumUncompressedSize: Int64? = nil,
                         lease: Lease) throws -> LayerRegistration {
        let parentLayer = try parent.map { try requireLayer($0) }
        if let expectedDiffID, let existing = try find(ChainID(parent: parent, diffID: expectedDiffID), leasingIn: lease) {
            let stream = try verify(source, expectedDiffID: expectedDiffID, expectedBlobDigest: expectedBlobDigest,
                                    maximumUncompressedSize: maximumUncompressedSize)
            return LayerRegistration(layer: existing, applied: false, blobDigest: stream.blobDigest, compression: stream.compression)
        }

        let unborn = try prepareLayer(on: parentLayer?.cacheID, lease: lease)
        var committed = false
        do {
            let result = try apply(source, to: unborn, expectedDiffID: expectedDiffID, expectedBlobDigest: expectedBlobDigest,
                                   maximumUncompressedSize: maximumUncompressedSize)
            CrashPoint.layerApplied.reached()
            let chainID = ChainID(parent: parent, diffID: result.diffID)
            let layer = LayerRecord(chainID: chainID, diffID: result.diffID, parent: parent,
                                    size: result.contentSize, cacheID: unborn.cacheID)
            try writeMetadata(layer, into: unborn.writeSet)
            try syncLayers()
            let won = try graph.withExclusive {
                try lease.add(.layer(chainID))
                let won = try commit(unborn.writeSet, as: chainID, committed: &committed)
                if won { try syncRecords() }
                return won
            }
            if won {
                return LayerRegistration(layer: layer, applied: true, blobDigest: result.blobDigest, compression: result.compression)
            }
            // Another process (or an earlier image) stored the same layer meanwhile: use theirs
            // (now in the lease).
            try remove(unborn)
            return LayerRegistration(layer: try requireLayer(chainID), applied: false,
                                     blobDigest: result.blobDigest, compression: result.compression)
        } catch {
            // Once renamed into place the layer is whole; the lease's owner decides its fate.
            if !committed { discard(unborn) }
            throw error
        }
    }

    /// A layer being made: its driver directory and its write set, invisible to every reader
    /// until the write set is renamed into `layerdb/sha256`.
    struct UnbornLayer {
        let cacheID: LayerCacheID
        /// `layerdb/tmp/write-set-<lease>-<random>`: the layer's metadata files.
        let writeSet: String
    }

    /// Creates the driver directory (on `parent`, a driver directory) and the write set of a
    /// new layer, recording its cache ID in `lease` first.
    func prepareLayer(on parent: LayerCacheID?, lease: Lease) throws -> UnbornLayer {
        let unborn = UnbornLayer(cacheID: LayerCacheID.random(),
                                 writeSet: temporaryDirectory + "/write-set-" + lease.id + "-" + LayerCacheID.random().rawValue.prefix(8))
        try lease.add(.cache(unborn.cacheID))
        do {
            try SystemError.check(mkdir(unborn.writeSet, 0o700), "mkdir", unborn.writeSet)
            try driver.create(unborn.cacheID, parent: parent)
        } catch {
            discard(unborn)
            throw error
        }
        return unborn
    }

    /// Applies `source` into the new layer's driver directory, writing its tar-split record
    /// into the write set.
    func apply(_ source: ByteSource, to unborn: UnbornLayer, expectedDiffID: DiffID?, expectedBlobDigest: BlobDigest?,
               maximumUncompressedSize: Int64?) throws -> LayerApplyResult {
        // The write set is private until renamed: its files need no staging of their own,
        // and one syncfs makes them durable together with the layer's files.
        let record = try FileDescriptor.open(unborn.writeSet + "/tar-split.json.gz", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
        var options = ApplyOptions()
        options.expectedDiffID = expectedDiffID
        options.expectedBlobDigest = expectedBlobDigest
        options.maximumUncompressedSize = maximumUncompressedSize
        return try driver.applyDiff(unborn.cacheID, from: source, options: options, tarSplit: try TarSplitWriter(sink: FileSink(record)))
    }

    /// Removes what `prepareLayer` made, as far as it exists.
    /// Removes what `prepareLayer` made, as far as it can (on a path that fails anyway: the
    /// lease's `.cache` entry has recovery finish it).
    func discard(_ unborn: UnbornLayer) {
        try? remove(unborn)
    }

    /// Removes what `prepareLayer` made, or throws: a change that goes on must not leave a
    /// driver directory that no layer names.
    private func remove(_ unborn: UnbornLayer) throws {
        try driver.remove(unborn.cacheID)
        try Self.removeTree(unborn.writeSet)
    }

    /// The layer `chainID` if it is stored, recorded in `lease` in the same hold of the graph
    /// lock that found it, so that it cannot be removed while the lease lives.
    public func find(_ chainID: ChainID, leasingIn lease: Lease) throws -> LayerRecord? {
        try graph.withExclusive {
            guard let existing = try layer(chainID) else { return nil }
            try lease.add(.layer(chainID))
            return existing
        }
    }

    func writeMetadata(_ layer: LayerRecord, into directory: String) throws {
        var files = [("diff", layer.diffID.description), ("size", String(layer.size)), ("cache-id", layer.cacheID.rawValue)]
        if let parent = layer.parent { files.append(("parent", parent.description)) }
        for (name, value) in files {
            let file = try FileDescriptor.open(directory + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
            try file.writeAll(Array(value.utf8))
        }
    }

    /// Flushes the filesystem of the driver's layers and the write sets (one syncfs), before
    /// the renames that make them visible.
    func syncLayers() throws {
        try FileDescriptor.openDirectory(driver.home).syncFileSystem()
    }

    /// Flushes `layerdb/sha256` after renames into it.
    func syncRecords() throws {
        try FileDescriptor.openDirectory(layersDirectory).sync()
    }

    /// Renames the write set into place; false if the layer appeared there meanwhile.
    func commit(_ writeSet: String, as chainID: ChainID, committed: inout Bool) throws -> Bool {
        let target = layersDirectory + "/" + chainID.digest.hex
        do {
            try FileDescriptor.rename(writeSet, to: target, noReplace: true)
        } catch let error as SystemError where error.errno == EEXIST || error.errno == ENOTEMPTY {
            return false
        }
        committed = true
        return true
    }

    // MARK: - Removing

    /// Removes a layer: its metadata first (renamed aside, so it is gone at once), then its
    /// driver directory. The caller makes sure nothing uses it.
    public func remove(_ layer: LayerRecord) throws {
        if try beginRemoval(layer.chainID) { try finishRemoval(layer.chainID) }
    }

    /// The first step of a removal, quick enough for the graph lock: the layer's metadata is
    /// renamed to `<chain-id>-removing`, so that it is gone for every reader. False when the
    /// layer was not there.
    public func beginRemoval(_ chainID: ChainID) throws -> Bool {
        cache.withLock { $0[chainID] = nil }
        let directory = layersDirectory + "/" + chainID.digest.hex
        do {
            try FileDescriptor.rename(directory, to: directory + "-removing")
        } catch let error as SystemError where error.errno == ENOENT {
            return false
        }
        return true
    }

    /// The rest of a removal begun by `beginRemoval` (by this process or a dead one): the
    /// driver directory, then the renamed metadata. Nothing to do is not an error.
    public func finishRemoval(_ chainID: ChainID) throws {
        let doomed = layersDirectory + "/" + chainID.digest.hex + "-removing"
        guard FileDescriptor.exists(doomed) else { return }
        if let cacheText = try readValue(doomed + "/cache-id"), let cacheID = try? LayerCacheID(cacheText) {
            try driver.unmount(cacheID)
            try driver.remove(cacheID)
        }
        try Self.removeTree(doomed)
    }

    /// Chain IDs of layers whose removal was begun and not finished.
    public func unfinishedRemovals() throws -> [ChainID] {
        try FileDescriptor.openDirectory(layersDirectory).childNames().compactMap { name in
            guard name.hasSuffix("-removing") else { return nil }
            return try? ChainID(Digest(hex: String(name.dropLast("-removing".count))))
        }
    }

    /// Whether an interrupted registration left a write set in `tmp/`.
    public func hasWriteSets() throws -> Bool {
        try !FileDescriptor.openDirectory(temporaryDirectory).isEmptyDirectory()
    }

    /// Whether an interrupted removal left a layer half removed: a listing of `recordsPath`.
    public func hasUnfinishedRemovals() throws -> Bool {
        try FileDescriptor.openDirectory(layersDirectory).containsChild { $0.hasSuffix("-removing") }
    }

    /// Removes what interrupted work left: write sets, half-removed layers, driver
    /// directories no layer names, and layers `isReferenced` does not keep. Call it only
    /// while no other process is using the store.
    public func sweep(keeping isReferenced: (ChainID) -> Bool, keepingCacheIDs extraCacheIDs: Set<LayerCacheID>) throws -> Int {
        var removed = 0
        for name in try FileDescriptor.openDirectory(temporaryDirectory).childNames() {
            try Self.removeTree(temporaryDirectory + "/" + name)
            removed += 1
        }
        for chainID in try unfinishedRemovals() {
            try finishRemoval(chainID)
            removed += 1
        }
        var layers = try chainIDs().compactMap { try layer($0) }
        // Unreferenced layers go top down, so that no removed layer is a parent of a kept one.
        var parents = Set(layers.compactMap(\.parent))
        while let unused = layers.first(where: { !isReferenced($0.chainID) && !parents.contains($0.chainID) }) {
            try remove(unused)
            layers.removeAll { $0.chainID == unused.chainID }
            parents = Set(layers.compactMap(\.parent))
            removed += 1
        }
        let known = Set(layers.map(\.cacheID)).union(extraCacheIDs)
        for cacheID in try driver.layerIDs() where !known.contains(cacheID) {
            try driver.unmount(cacheID)
            try driver.remove(cacheID)
            removed += 1
        }
        return removed
    }

    // MARK: - Helpers

    private func readValue(_ path: String) throws -> String? {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC)
        } catch let error as SystemError where error.errno == ENOENT {
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = try bytes.withUnsafeMutableBytes { try file.read(into: $0) }
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D }
        var value = bytes[0..<count]
        while let first = value.first, isSpace(first) { value = value.dropFirst() }
        while let last = value.last, isSpace(last) { value = value.dropLast() }
        return String(decoding: value, as: UTF8.self)
    }

    /// Reads the stream of a layer that is already stored, only to check its digests.
    func verify(_ source: ByteSource, expectedDiffID: DiffID, expectedBlobDigest: BlobDigest?,
                maximumUncompressedSize: Int64?) throws -> LayerStream {
        let stream = try LayerStream(source, maximumUncompressedSize: maximumUncompressedSize)
        try Self.drain(stream)
        try Self.check(stream.diffID, expectedDiffID, stream.blobDigest, expectedBlobDigest)
        return stream
    }

    private static func drain(_ stream: ByteSource) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while try stream.read(into: buffer) > 0 {}
    }

    private static func check(_ diffID: DiffID, _ expectedDiffID: DiffID, _ blob: BlobDigest, _ expectedBlob: BlobDigest?) throws {
        if let expectedBlob, expectedBlob != blob {
            throw StowageError(.digestMismatch, "layer blob digest mismatch: expected \(expectedBlob), got \(blob)")
        }
        if diffID != expectedDiffID {
            throw StowageError(.digestMismatch, "layer diff_id mismatch: expected \(expectedDiffID), got \(diffID)")
        }
    }

    public static func removeTree(_ path: String) throws {
        let slash = path.lastIndex(of: "/")!
        let parent = try FileDescriptor.openDirectory(String(path[..<slash]))
        try parent.removeEntry(String(path[path.index(after: slash)...]))
    }
}
