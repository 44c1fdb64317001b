#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// A cache of what listings need of each image (`<root>/.stowage/images-<driver>.index`):
/// its creation time and its layers with their sizes, so that `images`, `system df` and
/// prune decode no image config and read no layer record.
///
/// What it holds never goes stale: an image ID is the digest of its config, so its creation
/// time and chain cannot change, and a layer's size is fixed once it is registered. Which
/// images exist is checked each time it is used: against the settled stamp of
/// `imagedb/content/sha256` the index was written with (a `stat`, no listing), else against
/// the listing of that directory: entries of images that are gone are dropped, images it
/// does not know are read from their files and added. Any process may write it (a staged
/// file renamed into place, not synced: a torn or lost file fails its SHA-256 trailer and is
/// rebuilt), with no lock: whichever version wins holds only facts, and a stamp taken before
/// the listing it vouches for. What may change, an image's parent and its tags, is never
/// cached.
final class ImageIndex: Sendable {
    static let magic = "stowage-images-index 3"

    /// What the index keeps of one image.
    struct Entry {
        let created: Int64
        /// The image's layers (its config's chain), bottom first, with their sizes.
        let layers: [(chainID: ChainID, size: Int64)]

        var size: Int64 { layers.reduce(0) { $0 + $1.size } }
    }

    let path: String
    private let images: ImageStore
    private let layers: LayerStore

    init(dataRoot: String, driverName: String, images: ImageStore, layers: LayerStore) throws {
        try FileDescriptor.ensureDirectory(dataRoot + "/.stowage", mode: 0o700)
        path = dataRoot + "/.stowage/images-" + driverName + ".index"
        self.images = images
        self.layers = layers
    }

    /// The entry of every stored image; an image that vanished while it was read is left out.
    func entries() throws -> [ImageID: Entry] {
        // Taken before the listing: a change made while listing makes the next stamp differ.
        let stamp = DirectoryStamp.current(images.contentPath)
        let cached = read()
        if let stamp, let cached, cached.stamp == stamp { return cached.entries }
        let cachedEntries = cached?.entries ?? [:]
        let ids = try images.ids()
        let vouched = stamp?.isSettled == true ? stamp : nil
        // Nothing added or removed since the index was written: the index as it is.
        if ids.count == cachedEntries.count, ids.allSatisfy({ cachedEntries[$0] != nil }) {
            if let vouched { try? write(cachedEntries, stamp: vouched) }
            return cachedEntries
        }
        var entries: [ImageID: Entry] = [:]
        entries.reserveCapacity(ids.count)
        var kept: [ImageID: Entry] = [:]
        for id in ids {
            if let entry = cachedEntries[id] {
                entries[id] = entry
                kept[id] = entry
            } else if let (entry, complete) = readEntry(id) {
                entries[id] = entry
                if complete { kept[id] = entry }
            }
        }
        // The stamp vouches for the listing only when every listed image is kept.
        let stampToWrite = kept.count == ids.count ? vouched : nil
        if kept.count != cachedEntries.count || kept.keys.contains(where: { cachedEntries[$0] == nil }) || stampToWrite != nil {
            try? write(kept, stamp: stampToWrite)
        }
        return entries
    }

    /// Adds entries of images just stored (by a load that knows their layers), so that the
    /// next listing reads none of their files. The directory has just changed: the index is
    /// written with no stamp, and the next listing checks it against the directory's entries.
    func add(_ added: [ImageID: Entry]) {
        guard !added.isEmpty else { return }
        let entries = (read()?.entries ?? [:]).merging(added) { _, new in new }
        try? write(entries, stamp: nil)
    }

    /// Reads one image's entry from its config and layer records.
    /// An image missing layers (`stowage check` reports it) gets its known sizes only, and is
    /// not kept in the index, so that the entry is read again once the layers are back.
    private func readEntry(_ id: ImageID) -> (Entry, complete: Bool)? {
        // Gone meanwhile, or a config that cannot be read (`stowage check` reports it): left out.
        guard let config = try? images.config(id) else { return nil }
        // A layer removed meanwhile (with its image, by another change) may be half gone.
        let layers = ChainID.chain(of: config.rootFS.diffIDs).map { (chainID: $0, size: (try? self.layers.layer($0))??.size) }
        let complete = layers.allSatisfy { $0.size != nil }
        if !complete, !images.exists(id) { return nil }
        return (Entry(created: config.createdSeconds ?? 0, layers: layers.map { ($0.chainID, $0.size ?? 0) }), complete)
    }

    // MARK: - The file

    private func read() -> (entries: [ImageID: Entry], stamp: DirectoryStamp?)? {
        guard let bytes = FileDescriptor.readBytes(path), var reader = try? CompactReader(bytes, magic: Self.magic) else { return nil }
        do {
            let stamp = try reader.bool() ? try reader.directoryStamp() : nil
            let count = try reader.count()
            var entries: [ImageID: Entry] = [:]
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let id = ImageID(try reader.digest())
                let created = try reader.integer()
                var stack: [(chainID: ChainID, size: Int64)] = []
                for _ in 0..<(try reader.count()) {
                    stack.append((ChainID(try reader.digest()), try reader.integer()))
                }
                entries[id] = Entry(created: created, layers: stack)
            }
            return reader.isAtEnd ? (entries, stamp) : nil
        } catch {
            return nil
        }
    }

    private func write(_ entries: [ImageID: Entry], stamp: DirectoryStamp?) throws {
        var writer = CompactWriter(magic: Self.magic)
        writer.bool(stamp != nil)
        if let stamp { writer.directoryStamp(stamp) }
        writer.integer(entries.count)
        for (id, entry) in entries {
            writer.digest(id.digest)
            writer.integer(entry.created)
            writer.integer(entry.layers.count)
            for layer in entry.layers {
                writer.digest(layer.chainID.digest)
                writer.integer(layer.size)
            }
        }
        try StagedFile.write(writer.finished(), to: path, mode: 0o600, synced: false)
    }
}
