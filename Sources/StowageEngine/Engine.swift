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
/// and tag store, in Docker's layout. Every command opens one.
///
/// Opening takes a shared lock on `<root>/.stowage.lock` for the engine's lifetime, so that
/// several processes can work at once; when no other process holds it, opening first sweeps
/// what interrupted commands left (temporary files, half-made or half-removed layers).
public final class Engine {
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
        try FileDescriptor.ensureDirectory(root + "/image", mode: 0o700)
        try FileDescriptor.ensureDirectory(metadataRoot, mode: 0o700)
        try FileDescriptor.ensureDirectory(root + "/tmp", mode: 0o700)
        layers = try LayerStore(root: metadataRoot + "/layerdb", driver: driver)
        images = try ImageStore(root: metadataRoot + "/imagedb")
        references = try ReferenceStore(path: metadataRoot + "/repositories.json")
        mountedLayers = try MountedLayerStore(layers: layers)
        containers = try ContainerStore(root: root + "/containers")
        volumes = try VolumeStore(root: root + "/volumes")

        if exclusive {
            if try needsSweep() { try sweep() }
            try lock.lock(exclusive: false)  // downgrade: others may work now
        }
    }

    /// Whether an interrupted command may have left something behind (cheap checks only).
    private func needsSweep() throws -> Bool {
        if try layers.mayHaveLeftovers() { return true }
        if try !FileDescriptor.openDirectory(configuration.dataRoot + "/tmp").childNames().isEmpty { return true }
        return try [metadataRoot, metadataRoot + "/imagedb/content/sha256"].contains { path in
            try FileDescriptor.openDirectory(path).childNames().contains { $0.contains(".partial-") }
        }
    }

    /// Removes leftovers of interrupted commands. Runs only while no other process uses the root.
    private func sweep() throws {
        // Containers half made or half removed go first, then the read-write layers no
        // listed container owns; the layers they stand on stay with those that remain.
        for id in try containers.unlistedIDs() { try containers.removeDirectory(id) }
        let listed = Set(try containers.all().map(\.ID))
        let mounted = try mountedLayers.sweep(keeping: { listed.contains($0) }).kept
        var referenced = Set(try images.ids().flatMap { id -> [ChainID] in
            guard let config = try? images.config(id) else { return [] }
            return ChainID.chain(of: config.rootFS.diffIDs)
        })
        referenced.formUnion(mounted.compactMap(\.parent))
        let containerLayers = Set(mounted.flatMap { [$0.mountID] + ($0.initID.map { [$0] } ?? []) })
        _ = try layers.sweep(keeping: { referenced.contains($0) }, keepingCacheIDs: containerLayers)
        try volumes.sweep()
        let temporary = try FileDescriptor.openDirectory(configuration.dataRoot + "/tmp")
        try temporary.removeAllChildren()
        try Self.removeStagedFiles(in: metadataRoot)
        try Self.removeStagedFiles(in: metadataRoot + "/imagedb/content/sha256")
    }

    /// `*.partial-<pid>` files that a killed process was writing.
    private static func removeStagedFiles(in path: String) throws {
        let directory = try FileDescriptor.openDirectory(path)
        for name in try directory.childNames() where name.contains(".partial-") {
            try directory.removeEntry(name)
        }
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

    public func makeLoader() -> ImageLoader {
        ImageLoader(layers: layers, images: images, references: references)
    }

    /// Loads images with `loader` (from `makeLoader()`), marked as a change under way so that
    /// a crash is swept up by the next command.
    @discardableResult
    public func load(path: String, with loader: ImageLoader) throws -> [ImageID] {
        try layers.whileChanging { try loader.load(path: path) }
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
