#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageDrivers
import StowageFileSystem
import StowageImages
import StowageLayers

/// Everything the services of one `Engine` share: the chosen driver with its layer store,
/// image store, tag store, container and volume stores, in Docker's layout; the graph lock
/// and the leases that make changes safe for many callers. Internal: the public surface is
/// `Engine` and its image, container and volume services.
///
/// Many callers share a root (see the README's "Many callers"): every change runs as a
/// `mutation` with a lease of its own (`image/<driver>/leases`) and takes the graph lock
/// (`.stowage-graph.lock`) only around its metadata steps. Before a change, leases whose
/// owner died are recovered: what they made is rolled back, what they removed is finished.
/// Opening takes a shared lock on `<root>/.stowage.lock` for the engine's lifetime; when no
/// other process holds it, opening also sweeps what older or power-cut runs left.
final class StorageGraph: Sendable {
    let configuration: EngineConfiguration
    let driver: any DiffApplyingDriver
    let layers: LayerStore
    let images: ImageStore
    let references: ReferenceStore
    /// Containers' read-write layers (`layerdb/mounts`).
    let mountedLayers: MountedLayerStore
    /// `<root>/containers`.
    let containers: ContainerStore
    /// What listings need of every image, derived from `images` and `layers`.
    let imageIndex: ImageIndex
    /// What listings and lookups need of every container, derived from `containers`.
    let containerIndex: ContainerIndex
    /// `<root>/volumes`.
    let volumes: VolumeStore
    /// `<root>/image/<driver>`.
    let metadataRoot: String
    /// Serialises the metadata steps of every change, between processes and tasks.
    let graph: GraphLock
    /// The leases of changes in flight.
    let leases: LeaseDirectory
    private let lock: FileLock

    /// What the user should know about the driver choice (printed on standard error).
    let warnings: [String]
    /// The data root is on a read-only filesystem (a read-only mount or snapshot): every
    /// reading verb works, every change is refused.
    let isReadOnly: Bool

    init(_ configuration: EngineConfiguration) throws {
        self.configuration = configuration
        let root = configuration.dataRoot
        if configuration.requiresExistingRoot, !FileDescriptor.exists(root) {
            throw StowageError(.notFound, "data root \(root) does not exist: nothing was stored there yet")
        }
        try FileDescriptor.ensureDirectory(root, mode: 0o711)
        isReadOnly = FileDescriptor.isOnReadOnlyFileSystem(root)
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
        try FileDescriptor.ensureDirectory(root + "/.stowage", mode: 0o700)
        references = try ReferenceStore(path: metadataRoot + "/repositories.json",
                                        parsedCopyPath: root + "/.stowage/references-\(driver.name).index")
        mountedLayers = try MountedLayerStore(layers: layers)
        containers = try ContainerStore(root: root + "/containers", temporaryDirectory: root + "/tmp")
        containerIndex = try ContainerIndex(dataRoot: root, store: containers)
        imageIndex = try ImageIndex(dataRoot: root, driverName: driver.name, images: images, layers: layers)
        volumes = try VolumeStore(root: root + "/volumes")

        if exclusive {
            if !dockerRuns, !isReadOnly {  // what is read-only cannot have been left half changed since it was mounted so
                try recoverAbandonedLeases()
                if try needsFullSweep() { try graph.withExclusive { try sweepEverything() } }
            }
            try lock.lock(exclusive: false)  // downgrade: others may work now
        }
    }

    /// Releases what this engine holds: mounts it made for its own reads, and its share of
    /// the data root. The engine must not be used after.
    func close() {
        try? driver.cleanup()
        lock.unlock()
    }

    // MARK: - Changes

    /// Runs one change of the data root: refused while a Docker daemon uses the root; first
    /// recovers what dead changes left; then `body` with a lease of its own. When `body`
    /// fails, what it left is rolled back (or, for removals, finished) at once; what cannot be
    /// is left, with the lease, to the next change.
    func mutation<T>(_ body: (Lease) throws -> T) throws -> T {
        try refuseIfReadOnly()
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

    /// Refuses a change of a data root on a read-only filesystem, saying so.
    func refuseIfReadOnly() throws {
        if isReadOnly {
            throw StowageError(.unsupported, "data root \(configuration.dataRoot) is on a read-only filesystem: it can be read, not changed")
        }
    }

    /// Whether a Docker daemon runs on this root: dockerd keeps `<root>/volumes/metadata.db`
    /// locked (bbolt's flock) while it runs.
    var dockerRuns: Bool { DockerDaemon.holds(configuration.dataRoot + "/volumes/metadata.db") }

    private func refuseIfDockerRuns() throws {
        guard dockerRuns else { return }
        let path = configuration.dataRoot + "/volumes/metadata.db"
        throw StowageError(.alreadyExists, "a Docker daemon is using the data root \(configuration.dataRoot) (it holds \(path) locked): stop it before changing the root with stowage; reading works meanwhile")
    }

    // MARK: - Finding images

    /// The image `text` names: a full or short ID, or a reference (`busybox` means `busybox:latest`).
    func resolveImage(_ text: String) throws -> ImageID {
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
    func layerStack(of id: ImageID) throws -> [LayerRecord] {
        try layerStack(for: images.config(id))
    }

    /// The layers of an image whose config is already read, bottom first.
    func layerStack(for config: ImageConfig) throws -> [LayerRecord] {
        guard let top = ChainID.chain(of: config.rootFS.diffIDs).last else { return [] }
        return try layers.stack(top)
    }

    // MARK: - Shared by the services

    /// `body`'s result, or nil when it failed because container `id` was removed meanwhile.
    func skippingVanished<T>(container id: String, _ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch {
            if try containers.record(id) == nil { return nil }
            throw error
        }
    }

    /// `body`'s result, or nil when it failed because image `id` was removed meanwhile.
    func skippingVanished<T>(image id: ImageID, _ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch {
            if !images.exists(id) { return nil }
            throw error
        }
    }

    /// Every listed container (from the container index).
    func listedContainers() throws -> [ContainerRecord] {
        Array(try containerIndex.records(graph: graph).values)
    }

    /// The container `text` names: its ID, its name (`/` optional), or a unique ID prefix.
    func resolveContainer(_ text: String) throws -> ContainerRecord {
        let records = try containerIndex.records(graph: graph)
        if let record = records[text] { return record }
        let name = text.hasPrefix("/") ? String(text.dropFirst()) : text
        if let record = records.values.first(where: { $0.name == name }) { return record }
        let matches = text.isEmpty ? [] : records.values.filter { $0.ID.hasPrefix(text) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw StowageError(.invalidArgument, "multiple IDs found with provided prefix: \(text)")
        }
        throw StowageError(.notFound, "No such container: \(text)")
    }

    /// The container and its read-write layer.
    func containerLayer(_ text: String) throws -> (ContainerRecord, MountedLayer) {
        let record = try resolveContainer(text)
        guard let mounted = try mountedLayers.layer(record.ID) else {
            throw StowageError(.notFound, "container \(record.ID) has no read-write layer in \(mountedLayers.root)")
        }
        return (record, mounted)
    }

    /// The containers made from the image.
    func containersUsing(_ image: ImageID) throws -> [ContainerRecord] {
        try listedContainers().filter { $0.imageID == image }
    }

    /// Whether a stored image names this one as its parent (Docker's image `Children`).
    func hasChildren(_ image: ImageID) throws -> Bool {
        // Only images with a metadata directory can have a parent: one listing, not a probe each.
        try images.idsWithMetadata().contains { child in
            (try? images.parent(of: child)) == image && images.exists(child)
        }
    }

    /// Names of the volumes some container mounts, with those containers' IDs.
    func volumeUsers() throws -> [String: [String]] {
        var users: [String: [String]] = [:]
        for record in try listedContainers().sorted(by: { $0.ID < $1.ID }) {
            for name in record.volumeNames { users[name, default: []].append(record.ID) }
        }
        return users
    }
}
