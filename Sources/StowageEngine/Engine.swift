import StowageCore
import StowageDrivers
import StowageFileSystem
import StowageLayers

/// The storage engine on one data root, in Docker's layout: its image, container and volume
/// services, checks and repair, and disk usage. Every command opens one; a server keeps one
/// open and runs many requests on it at once, from any number of tasks; any number of
/// processes may open the same root (see the README's "Many callers").
///
/// ```swift
/// let engine = try Engine(EngineConfiguration(dataRoot: "/var/lib/stowage"))
/// defer { engine.close() }
/// let id = try engine.containers.create(ContainerCreation(image: "busybox"))
/// ```
public final class Engine: Sendable {
    /// Stowage's version, as `stowage version` and the Engine API report it.
    public static let version = "0.1.0"

    /// The storage drivers Stowage implements, in Docker's order of preference.
    public static let storageDrivers = DriverSelection.implemented

    let storage: StorageGraph
    /// Images: list, history, inspect, tag, remove, prune, load, save.
    public let images: ImageService
    /// Containers: create, mount, diff, export, list, commit, remove, prune.
    public let containers: ContainerService
    /// Volumes: create, list, remove, prune.
    public let volumes: VolumeService

    /// Opens the data root: creates Docker's layout where it is missing, chooses the driver,
    /// and recovers what changes that did not complete left.
    public init(_ configuration: EngineConfiguration) throws {
        storage = try StorageGraph(configuration)
        images = ImageService(storage: storage)
        containers = ContainerService(storage: storage)
        volumes = VolumeService(storage: storage)
    }

    /// Releases what this engine holds: mounts it made for its own reads, and its share of
    /// the data root. The engine must not be used after.
    public func close() { storage.close() }

    public var configuration: EngineConfiguration { storage.configuration }

    /// What the user should know about the driver choice (printed on standard error).
    public var warnings: [String] { storage.warnings }

    /// The storage driver's name (`overlay2`, `vfs`, ...).
    public var driverName: String { storage.driver.name }

    /// The driver's lines for `docker info` (`Backing Filesystem`, `Supports d_type`, ...).
    public func driverStatus() throws -> [(String, String)] { try storage.driver.status() }

    /// Whether a Docker daemon runs on this root: changes are refused meanwhile.
    public var dockerRuns: Bool { storage.dockerRuns }

    /// `stowage check`: every image config hashes to its ID; every tag names an image; every
    /// image's chain is in layerdb with the right diff, parent, size and cache-id; every
    /// cache-id names a whole driver directory; every read-write layer has its container;
    /// no leftovers, no orphans. With `deep`, every layer rebuilt from its tar-split record
    /// has its diff_id. What changes in flight hold is not a problem.
    public func check(deep: Bool = false) throws -> [CheckProblem] { try storage.check(deep: deep) }

    /// `stowage check --repair`: removes what cannot be used (leftovers, orphans, layers no
    /// image or container reaches, tags of missing images), under the graph lock. Returns
    /// what it repaired and what is left (images that lost layers, corrupt objects).
    public func repair(deep: Bool = false) throws -> (repaired: [CheckProblem], remaining: [CheckProblem]) {
        try storage.repair(deep: deep)
    }

    /// `stowage layer probe`: makes a writable layer on the image's top layer, mounts it, and
    /// returns the names at its root; the layer is removed again before returning.
    public func probeWritableLayer(on image: String) throws -> [String] {
        guard let top = try images.layers(of: try images.resolve(image)).last else {
            throw StowageError(.invalidArgument, "image \(image) has no layers")
        }
        let driver = storage.driver
        let layer = LayerCacheID.random()
        try driver.createWritable(layer, parent: top.cacheID)
        defer { try? driver.remove(layer) }
        let root = try driver.get(layer)
        defer { try? driver.put(layer) }
        return try FileDescriptor.openDirectory(root).childNames().sorted()
    }
}
