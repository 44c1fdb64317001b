import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar
import Synchronization

/// One layer of a stack to register: where its stream comes from and what it must hash to.
public struct LayerInput {
    /// Names the layer in errors (`layer 3 of 13 (abc/layer.tar)`).
    public let name: String
    /// Opens the layer's stream; may be called from several threads at once, and again for a
    /// layer that has to be applied a second time.
    public let open: () throws -> ByteSource
    public let expectedDiffID: DiffID
    public let expectedBlobDigest: BlobDigest?

    public init(name: String, expectedDiffID: DiffID, expectedBlobDigest: BlobDigest?, open: @escaping () throws -> ByteSource) {
        self.name = name
        self.open = open
        self.expectedDiffID = expectedDiffID
        self.expectedBlobDigest = expectedBlobDigest
    }
}

extension LayerStore {
    /// Registers the layers of one image, bottom first, on `base`, and records them in `lease`.
    ///
    /// Layers already stored are only hashed to check their streams. On a driver whose layers
    /// are directories of their own (`appliesLayersIndependently`), the others are applied at
    /// once, up to `concurrency` at a time, flushed by one syncfs, and renamed into place
    /// bottom first in one hold of the graph lock; elsewhere they are registered one after
    /// another. A failure names the lowest layer that failed; the new layers already renamed
    /// into place by then (none, when applied at once) stay in `lease`, whose owner removes
    /// them, as after `register`.
    ///
    /// - Parameter progress: called with the number of layers done so far, one call at a time.
    public func registerStack(_ inputs: [LayerInput], on base: ChainID?, maximumUncompressedSize: Int64?, concurrency: Int,
                              lease: Lease, progress: (Int) -> Void = { _ in }) throws -> [LayerRecord] {
        guard driver.appliesLayersIndependently else {
            return try registerOneByOne(inputs, on: base, maximumUncompressedSize: maximumUncompressedSize, lease: lease, progress: progress)
        }
        var chainIDs: [ChainID] = []
        for input in inputs { chainIDs.append(ChainID(parent: chainIDs.last ?? base, diffID: input.expectedDiffID)) }

        // Stored layers come first: a stored layer's parent is stored too.
        var stored: [LayerRecord] = []
        for chainID in chainIDs {
            guard let found = try find(chainID, leasingIn: lease) else { break }
            stored.append(found)
        }
        // Opened before any flush in the background, so that its syncfs below reports every
        // writeback error since (see `BackgroundFlusher`).
        let layersFileSystem = try FileDescriptor.openDirectory(driver.home)
        var unborn: [UnbornLayer] = []
        var committed = 0
        do {
            var parentCacheID = try stored.last?.cacheID ?? base.map { try requireLayer($0).cacheID }
            for _ in stored.count..<inputs.count {
                let layer = try prepareLayer(on: parentCacheID, lease: lease)
                unborn.append(layer)
                parentCacheID = layer.cacheID
            }
            let made = try applyAtOnce(inputs, chainIDs: chainIDs, on: base, storedCount: stored.count, into: unborn,
                                       maximumUncompressedSize: maximumUncompressedSize, concurrency: concurrency, progress: progress)
            CrashPoint.layerApplied.reached()
            try layersFileSystem.syncFileSystem()
            let lost = try graph.withExclusive {
                var lost = false
                for (layer, record) in zip(unborn, made) {
                    try lease.add(.layer(record.chainID))
                    var renamed = false
                    guard try commit(layer.writeSet, as: record.chainID, committed: &renamed) else {
                        lost = true
                        break
                    }
                    committed += 1
                }
                if committed > 0 { try syncRecords() }
                return lost
            }
            guard lost else { return stored + made }
            // Another process stored the layer at `committed` meanwhile. Ours above it sit on
            // our copy, which goes: they are registered again on the one that won.
            for layer in unborn.dropFirst(committed) { discard(layer) }
            unborn.removeLast(unborn.count - committed)
            var records = stored + made[..<committed]
            records.append(try requireLayer(chainIDs[records.count]))
            return try records + registerOneByOne(Array(inputs[records.count...]), on: records.last?.chainID,
                                                  maximumUncompressedSize: maximumUncompressedSize, lease: lease)
        } catch {
            // Layers renamed into place are whole; the lease's owner decides their fate.
            for layer in unborn.dropFirst(committed) { discard(layer) }
            throw error
        }
    }

    /// Checks the stored layers' streams and applies the others into `unborn` (their driver
    /// directories, in order), writing each new layer's metadata into its write set.
    /// Returns the new layers' records, bottom first.
    private func applyAtOnce(_ inputs: [LayerInput], chainIDs: [ChainID], on base: ChainID?, storedCount: Int, into unborn: [UnbornLayer],
                             maximumUncompressedSize: Int64?, concurrency: Int, progress: (Int) -> Void) throws -> [LayerRecord] {
        let made = Mutex<[Int: LayerRecord]>([:])
        let done = Mutex(0)
        // Each applied layer starts being written out while the others are applied.
        let flusher = BackgroundFlusher(directory: driver.home)
        defer { flusher.finish() }
        do {
            try ParallelJobs.run(count: inputs.count, width: concurrency) { index in
                let input = inputs[index]
                try named(input) {
                    let source = try input.open()
                    guard index >= storedCount else {
                        _ = try verify(source, expectedDiffID: input.expectedDiffID, expectedBlobDigest: input.expectedBlobDigest,
                                       maximumUncompressedSize: maximumUncompressedSize)
                        return
                    }
                    let layer = unborn[index - storedCount]
                    let result = try apply(source, to: layer, expectedDiffID: input.expectedDiffID, expectedBlobDigest: input.expectedBlobDigest,
                                           maximumUncompressedSize: maximumUncompressedSize)
                    let record = LayerRecord(chainID: chainIDs[index], diffID: result.diffID, parent: index == 0 ? base : chainIDs[index - 1],
                                             size: result.contentSize, cacheID: layer.cacheID)
                    try writeMetadata(record, into: layer.writeSet)
                    made.withLock { $0[index] = record }
                    flusher.request()
                }
                done.withLock { count in
                    count += 1
                    progress(count)
                }
            }
        } catch let failures as ParallelJobs.Failures {
            throw failures.first
        }
        return made.withLock { made in (storedCount..<inputs.count).map { made[$0]! } }
    }

    /// The stack registered layer by layer, for drivers that build a layer from its parent's files.
    private func registerOneByOne(_ inputs: [LayerInput], on base: ChainID?, maximumUncompressedSize: Int64?,
                                  lease: Lease, progress: (Int) -> Void = { _ in }) throws -> [LayerRecord] {
        var records: [LayerRecord] = []
        for input in inputs {
            let registration = try named(input) {
                try register(input.open(), parent: records.last?.chainID ?? base, expectedDiffID: input.expectedDiffID,
                             expectedBlobDigest: input.expectedBlobDigest, maximumUncompressedSize: maximumUncompressedSize, lease: lease)
            }
            records.append(registration.layer)
            progress(records.count)
        }
        return records
    }

    /// Runs `body`, naming `input` in the message of a `StowageError` it throws.
    private func named<T>(_ input: LayerInput, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StowageError {
            throw StowageError(error.code, "\(input.name): \(error.message)", underlying: error.underlying)
        }
    }
}
