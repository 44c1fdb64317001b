#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageDistribution
import StowageDrivers
import StowageFileSystem
import StowageImages
import StowageLayers
import StowageTar

/// The storage engine on one data root: the chosen driver with its layer store, image store
/// and tag store, in Docker's layout. Every command opens one; a server keeps one open and
/// runs many requests on it at once.
///
/// Many callers share a root (see the README's "Many callers"): every change runs as a
/// `mutation` with a lease of its own (`image/<driver>/leases`) and takes the graph lock
/// (`.stowage-graph.lock`) only around its metadata steps. Before a change, leases whose
/// owner died are recovered: what they made is rolled back, what they removed is finished.
/// Opening takes a shared lock on `<root>/.stowage.lock` for the engine's lifetime; when no
/// other process holds it, opening also sweeps what older or power-cut runs left.
public final class Engine: @unchecked Sendable {
    public let configuration: EngineConfiguration
    public let driver: any DiffApplyingDriver
    public let layers: LayerStore
    public let images: ImageStore
    public let references: ReferenceStore
    /// Containers' read-write layers (`layerdb/mounts`).
    public let mountedLayers: MountedLayerStore
    /// `<root>/containers`.
    public let containers: ContainerStore
    /// `<root>/volumes`.
    public let volumes: VolumeStore
    /// `<root>/image/<driver>`.
    public let metadataRoot: String
    /// Serialises the metadata steps of every change, between processes and tasks.
    public let graph: GraphLock
    /// The leases of changes in flight.
    public let leases: LeaseDirectory
    private let lock: FileLock

    /// What the user should know about the driver choice (printed on standard error).
    public let warnings: [String]

    public init(_ configuration: EngineConfiguration) throws {
        self.configuration = configuration
        let root = configuration.dataRoot
        try FileDescriptor.ensureDirectory(root, mode: 0o711)
        lock = try FileLock(path: root + "/.stowage.lock")
        let exclusive = try lock.tryLock(exclusive: true)
        if !exclusive { try lock.lock(exclusive: false) }

        let choice = try DriverSelection.open(dataRoot: root, requested: configuration.storageDriver,
                                              options: configuration.storageOptions)
        driver = choice.driver
        warnings = choice.warnings
        metadataRoot = root + "/image/" + driver.name
        graph = GraphLock(dataRoot: root)
        _ = try FileLock(path: graph.path)  // made now, so that a first change adds nothing but what it says
        try FileDescriptor.ensureDirectory(root + "/image", mode: 0o700)
        try FileDescriptor.ensureDirectory(metadataRoot, mode: 0o700)
        try FileDescriptor.ensureDirectory(root + "/tmp", mode: 0o700)
        leases = try LeaseDirectory(path: metadataRoot + "/leases")
        layers = try LayerStore(root: metadataRoot + "/layerdb", driver: driver, graph: graph)
        images = try ImageStore(root: metadataRoot + "/imagedb")
        references = try ReferenceStore(path: metadataRoot + "/repositories.json")
        mountedLayers = try MountedLayerStore(layers: layers)
        containers = try ContainerStore(root: root + "/containers")
        volumes = try VolumeStore(root: root + "/volumes")

        if exclusive {
            if !dockerRuns {
                try recoverAbandonedLeases()
                if try needsFullSweep() { try graph.withExclusive { try sweepEverything() } }
            }
            try lock.lock(exclusive: false)  // downgrade: others may work now
        }
    }

    /// Releases what this engine holds: mounts it made for its own reads, and its share of
    /// the data root. The engine must not be used after.
    public func close() {
        try? driver.cleanup()
        lock.unlock()
    }

    // MARK: - Changes

    /// Runs one change of the data root: refused while a Docker daemon uses the root; first
    /// recovers what dead changes left; then `body` with a lease of its own. When `body`
    /// fails, what it left is rolled back (or, for removals, finished) at once; what cannot be
    /// is left, with the lease, to the next change.
    public func mutation<T>(_ body: (Lease) throws -> T) throws -> T {
        try refuseIfDockerRuns()
        try recoverAbandonedLeases()
        let lease = try leases.open()
        do {
            let result = try body(lease)
            lease.release()
            return result
        } catch {
            do {
                try graph.withExclusive { try recover(lease.typedEntries, leaseID: lease.id) }
                lease.release()
            } catch {
                lease.abandon()
            }
            throw error
        }
    }

    /// Whether a Docker daemon runs on this root: dockerd keeps `<root>/volumes/metadata.db`
    /// locked (bbolt's flock) while it runs.
    public var dockerRuns: Bool {
        guard let file = try? FileDescriptor.open(configuration.dataRoot + "/volumes/metadata.db", O_RDONLY) else { return false }
        if flock(file.rawValue, LOCK_SH | LOCK_NB) == 0 {
            flock(file.rawValue, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    private func refuseIfDockerRuns() throws {
        guard dockerRuns else { return }
        let path = configuration.dataRoot + "/volumes/metadata.db"
        throw StowageError(.alreadyExists, "a Docker daemon is using the data root \(configuration.dataRoot) (it holds \(path) locked): stop it before changing the root with stowage; reading works meanwhile")
    }

    // MARK: - Finding images

    /// The image `text` names: a full or short ID, or a reference (`busybox` means `busybox:latest`).
    public func resolveImage(_ text: String) throws -> ImageID {
        if let digest = try? Digest(parsing: text), images.exists(ImageID(digest)) { return ImageID(digest) }
        if let reference = try? Reference(parsing: text), let id = try references.image(for: reference.withDefaultTag()) {
            return id
        }
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        if !hex.isEmpty, hex.utf8.count <= 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            let matches = try images.ids().filter { $0.digest.hex.hasPrefix(hex) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw StowageError(.invalidArgument, "image ID prefix \(text) is ambiguous: \(matches.count) images match") }
        }
        throw StowageError(.notFound, "No such image: \(text)")
    }

    /// The layers of an image, bottom first.
    public func layerStack(of id: ImageID) throws -> [LayerRecord] {
        try layerStack(for: images.config(id))
    }

    /// The layers of an image whose config is already read, bottom first.
    public func layerStack(for config: ImageConfig) throws -> [LayerRecord] {
        guard let top = ChainID.chain(of: config.rootFS.diffIDs).last else { return [] }
        return try layers.stack(top)
    }

    // MARK: - Loading and saving

    /// A loader for this root, with the configured `stowage.max-layer-size`.
    public func makeLoader() -> ImageLoader {
        let loader = ImageLoader(layers: layers, images: images, references: references)
        // Already checked when the driver was opened (`StorageOptions`), so it cannot fail here.
        loader.maximumLayerSize = (try? configuration.maximumLayerSize) ?? nil
        return loader
    }

    /// Loads images with `loader` (from `makeLoader()`) as one change: layers shared with
    /// other images are protected by the load's lease while it runs, and a failed or killed
    /// load leaves the root as before (earlier images of the archive complete).
    @discardableResult
    public func load(path: String, with loader: ImageLoader) throws -> [ImageID] {
        try mutation { lease in try loader.load(path: path, lease: lease) }
    }

    /// Writes the named images (IDs or references) as one archive.
    public func save(_ names: [String], format: ArchiveFormat, to sink: ByteSink) throws {
        var requested: [ImageToSave] = []
        for name in names {
            let id = try resolveImage(name)
            var refs: [Reference] = []
            if let reference = try? Reference(parsing: name), !name.hasPrefix("sha256:"),
               try references.image(for: reference.withDefaultTag()) == id {
                refs = [reference.withDefaultTag()]
            } else {
                refs = try references.references(to: id)
            }
            if let index = requested.firstIndex(where: { $0.id == id }) {
                let merged = requested[index].references + refs.filter { !requested[index].references.contains($0) }
                requested[index] = ImageToSave(id: id, references: merged)
            } else {
                requested.append(ImageToSave(id: id, references: refs))
            }
        }
        try ImageSaver(layers: layers, images: images).save(requested, format: format, to: sink)
    }
}
