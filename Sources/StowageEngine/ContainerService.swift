#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageArchive
import StowageCore
import StowageDrivers
import StowageFileSystem
import StowageImages
import StowageLayers
import StowageTar

/// What `create` is asked for.
public struct ContainerCreation: Sendable {
    public var image: String
    public var name: String?
    /// Replaces the image's `Cmd` when not empty.
    public var command: [String] = []
    /// `-v` specifications: `NAME:/path[:ro]`, `/host/path:/path[:ro]` or `/path` (anonymous).
    public var volumes: [String] = []
    public var labels: [String: String] = [:]
    /// `KEY=value` (or `KEY` alone), before the image's, which fill in the keys not given.
    public var environment: [String] = []
    /// Replaces the image's `Entrypoint` (and then its `Cmd` is not used); an empty list
    /// clears it (`--entrypoint ""`); nil keeps the image's.
    public var entrypoint: [String]?
    /// An absolute path; nil keeps the image's.
    public var workingDirectory: String?
    /// `user`, `uid`, `user:group` or `uid:gid`; nil keeps the image's.
    public var user: String?
    /// nil: the ID's first 12 characters (the host's name with the host network).
    public var hostname: String?
    /// `-t`: a pseudo-terminal.
    public var tty = false
    /// `-i`: standard input kept open and attached.
    public var interactive = false
    /// `default` (the bridge), `bridge`, `none`, `host` or a network's name: recorded for
    /// the runtime, which looks it up at start.
    public var networkMode = "default"

    public init(image: String, name: String? = nil) {
        self.image = image
        self.name = name
    }
}

/// One container as `ps` lists it.
public struct ContainerListing: Sendable {
    public let record: ContainerRecord
    /// The image as given at create, or its short ID once that name points elsewhere.
    public let imageName: String
    /// Whether something holds its root filesystem mounted (`stowage mount`); nil unless
    /// sizes were asked for.
    public let isMounted: Bool?
    public let mountCount: Int?
    /// Bytes of the writable layer (when sizes were asked for).
    public let sizeRw: Int64?
    /// `sizeRw` plus the image's layers.
    public let sizeRootFs: Int64?
}

/// Containers on one data root: create, mount, diff, export, list, commit, remove, prune.
/// Obtained from `Engine.containers`; safe to use from many tasks at once.
public struct ContainerService: Sendable {
    let storage: StorageGraph
}

extension ContainerService {
    // MARK: - Create

    /// `create`: the container's init and writable layers on the image, its volumes, and its
    /// files in Docker's format. Returns the new container's ID.
    ///
    /// The image and its top layer are held by the create's lease from the start; the layers
    /// are made and volumes filled outside the graph lock; the name is checked and
    /// `config.v2.json` written under it, so that two creates cannot take one name.
    public func create(_ request: ContainerCreation) throws -> String {
        let mounts = try request.volumes.map(parseVolume)
        try Self.check(request)
        return try storage.mutation { lease in
            let (imageID, imageConfig, top) = try storage.graph.withExclusive { () throws -> (ImageID, ImageConfig, ChainID?) in
                let imageID = try storage.resolveImage(request.image)
                let imageConfig = try storage.images.config(imageID)
                try lease.add(.image(imageID))
                let top = ChainID.chain(of: imageConfig.rootFS.diffIDs).last
                if let top {
                    _ = try storage.layers.requireLayer(top)
                    try lease.add(.layer(top))
                }
                return (imageID, imageConfig, top)
            }
            if let name = request.name { try checkNameIsFree(name, among: try storage.containerIndex.names(graph: storage.graph)) }  // fail early; checked again below
            let id = LayerCacheID.random().rawValue
            let hostname = request.hostname ?? (request.networkMode == "host" ? HostFacts.hostName : String(id.prefix(12)))
            let config = try ContainerConfigMerge.merge(request, anonymousVolumes: mounts.filter { $0.anonymous }.map(\.destination),
                                                       hostname: hostname, image: imageConfig.config)
            let allMounts = mounts + imageVolumes(imageConfig.config?.Volumes.map { Array($0.keys) } ?? [], besides: mounts)
            try lease.add(.container(id))
            let mounted = try storage.mountedLayers.create(id, parent: top, lease: lease, setUpInit: InitLayer.setUp)
            let finalMounts = try prepareVolumes(allMounts, for: mounted, lease: lease)
            CrashPoint.containerLayersRecorded.reached()
            try storage.graph.withExclusive {
                try storage.containerIndex.change(affecting: [id]) { names in
                    let name = request.name ?? generateName(for: id, avoiding: names)
                    try checkNameIsFree(name, among: names)
                    try storage.containers.write(ContainerDocument(id: id, name: name, created: Timestamp.now(), image: imageID,
                                                                   config: config, mounts: finalMounts, driver: storage.driver.name,
                                                                   networkMode: request.networkMode))
                }
            }
            _ = try ContainerMountState.update(in: storage.containers.directory(of: id)) { state in
                state.sizeRw = 0
                state.sizeGeneration = state.generation
            }
            return id
        }
    }

    /// Refuses what dockerd refuses before making anything: a relative working directory, an
    /// empty or nameless variable. (A network is looked up when the container starts.)
    private static func check(_ request: ContainerCreation) throws {
        if let directory = request.workingDirectory, !directory.isEmpty, !directory.hasPrefix("/") {
            throw StowageError(.invalidArgument, "the working directory '\(directory)' is invalid, it needs to be an absolute path")
        }
        for variable in request.environment where variable.isEmpty || variable.hasPrefix("=") {
            throw StowageError(.invalidArgument, "invalid environment variable: \(variable)")
        }
    }

    // MARK: - Rename

    /// `rename`: gives the container another name, checked and written under the graph lock
    /// (its `config.v2.json` rewritten whole, every other field as it was), as dockerd's.
    public func rename(_ text: String, to newName: String) throws {
        guard !text.isEmpty, !newName.isEmpty else { throw StowageError(.invalidArgument, "Neither old nor new names may be empty") }
        let name = newName.hasPrefix("/") ? String(newName.dropFirst()) : newName
        try storage.mutation { lease in
            // Named in the lease first: recovery removes what a killed rewrite leaves staged.
            try lease.add(.container(try storage.resolveContainer(text).ID))
            try storage.graph.withExclusive {
                let record = try storage.resolveContainer(text)
                guard record.name != name else {
                    throw StowageError(.invalidArgument, "Renaming a container with the same name as its current name")
                }
                guard ContainerStore.isValidName(name) else {
                    throw StowageError(.invalidArgument, "Error when allocating new name: Invalid container name (/\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
                }
                try storage.containerIndex.change(affecting: [record.ID]) { names in
                    if let owner = names.owner(of: name) {
                        throw StowageError(.alreadyExists, "Error when allocating new name: Conflict. The container name \"/\(name)\" is already in use by container \"\(owner)\". You have to remove (or rename) that container to be able to reuse that name.")
                    }
                    try storage.containers.rename(record.ID, to: "/" + name)
                }
            }
        }
    }

    /// Parses one `-v`.
    private func parseVolume(_ text: String) throws -> ContainerDocument.Mount {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count == 3 || (parts.count == 2 && ["ro", "rw"].contains(parts[1])) {
            guard ["ro", "rw"].contains(parts.last!) else { throw StowageError(.invalidArgument, "invalid mode: \(parts.last!)") }
            readOnly = parts.removeLast() == "ro"
        }
        guard parts.count <= 2, let destination = parts.last, destination.hasPrefix("/") else {
            throw StowageError(.invalidArgument, "invalid volume specification: '\(text)'")
        }
        let cleaned = Self.cleanedPath(destination)
        if parts.count == 1 { return anonymousVolume(at: cleaned, readOnly: readOnly) }
        let source = parts[0]
        if source.hasPrefix("/") {
            return .init(kind: .bind, name: "", source: source, destination: cleaned, readOnly: readOnly, anonymous: false, bind: text)
        }
        guard VolumeStore.isValidName(source) else {
            throw StowageError(.invalidArgument, "create \(source): \"\(source)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
        }
        return .init(kind: .volume, name: source, source: storage.volumes.root + "/" + source + "/_data", destination: cleaned,
                     readOnly: readOnly, anonymous: false, bind: text)
    }

    /// An anonymous volume (a random name, made for this container) mounted at `destination`.
    private func anonymousVolume(at destination: String, readOnly: Bool = false) -> ContainerDocument.Mount {
        let name = LayerCacheID.random().rawValue
        return .init(kind: .volume, name: name, source: storage.volumes.root + "/" + name + "/_data", destination: destination,
                     readOnly: readOnly, anonymous: true, bind: nil)
    }

    /// Anonymous volumes for the image's `VOLUME`s that no `-v` already mounts, as Docker
    /// makes them at create (each filled from the image's files at its path).
    private func imageVolumes(_ declared: [String], besides mounts: [ContainerDocument.Mount]) -> [ContainerDocument.Mount] {
        let mounted = Set(mounts.map(\.destination))
        return Set(declared.map(Self.cleanedPath)).subtracting(mounted).sorted().map { anonymousVolume(at: $0) }
    }

    /// `/a//b/` as `/a/b`.
    private static func cleanedPath(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }

    /// Creates the volumes and fills each new, empty one from the container's files at its
    /// path, as Docker does at create (binds are left alone).
    private func prepareVolumes(_ mounts: [ContainerDocument.Mount], for mounted: MountedLayer, lease: Lease) throws -> [ContainerDocument.Mount] {
        let volumeMounts = mounts.filter { $0.kind == .volume }
        guard !volumeMounts.isEmpty else { return mounts }
        let rootPath = try storage.driver.get(mounted.mountID)
        defer { try? storage.driver.put(mounted.mountID) }
        let root = try FileDescriptor.openDirectory(rootPath)
        // As Docker's create: an anonymous volume cannot go over a file of the image.
        for mount in volumeMounts where mount.anonymous {
            let relative = String(mount.destination.dropFirst())
            if let existing = try? root.openInRoot(relative, FileDescriptor.pathOnly | O_CLOEXEC), !(try existing.status().isDirectory) {
                throw StowageError(.invalidArgument, "cannot mount volume over existing file, file exists \(rootPath)\(mount.destination)")
            }
        }
        for mount in volumeMounts {
            try lease.add(.volume(mount.name))
            if try storage.volumes.volume(mount.name) == nil { try lease.add(.newVolume(mount.name)) }
            let volume = try storage.volumes.create(mount.name, labels: mount.anonymous ? [LocalVolume.anonymousLabel: ""] : [:],
                                            stagingSuffix: lease.id)
            guard let source = try? root.openInRoot(String(mount.destination.dropFirst()), O_RDONLY | O_DIRECTORY | O_CLOEXEC) else { continue }
            try storage.volumes.fill(volume, from: try source.resolvedPath(), stagingSuffix: lease.id)
        }
        return mounts
    }

    private func checkNameIsFree(_ name: String, among names: NameTable) throws {
        guard ContainerStore.isValidName(name) else {
            throw StowageError(.invalidArgument, "Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if let owner = names.owner(of: name) {
            throw StowageError(.alreadyExists, "Conflict. The container name \"/\(name)\" is already in use by container \"\(owner)\". You have to remove (or rename) that container to be able to reuse that name.")
        }
    }

    /// A free name, as Docker makes them (`ContainerNames`).
    private func generateName(for id: String, avoiding taken: NameTable) -> String {
        for attempt in 0..<ContainerNames.tries {
            let name = ContainerNames.candidate(attempt: attempt)
            if taken.owner(of: name) == nil { return name }
        }
        return String(id.prefix(12))
    }

    // MARK: - Mount

    /// `mount`: mounts the container's root filesystem (once, however many hold it) and
    /// returns its path. It stays mounted after this process ends, until the last `unmount`.
    public func mount(_ text: String) throws -> String {
        try storage.refuseIfReadOnly()
        let (record, mounted) = try storage.containerLayer(text)
        return try ContainerMountState.update(in: storage.containers.directory(of: record.ID)) { state in
            let path = try storage.driver.get(mounted.mountID)  // never put: the mount outlives this process
            state.mounts += 1
            state.generation += 1
            return path
        }
    }

    /// `unmount`: releases one `mount` (all with `force`); the last release unmounts and
    /// measures the writable layer for `ps -s`. Returns the mounts still held.
    @discardableResult
    public func unmount(_ text: String, force: Bool = false) throws -> Int {
        try storage.refuseIfReadOnly()
        let (record, mounted) = try storage.containerLayer(text)
        return try ContainerMountState.update(in: storage.containers.directory(of: record.ID)) { state in
            state.mounts = force ? 0 : max(0, state.mounts - 1)
            if state.mounts == 0 {
                try storage.driver.unmount(mounted.mountID)
                state.sizeRw = try storage.driver.diffSize(mounted.mountID, parent: mounted.initID)
                state.sizeGeneration = state.generation
            }
            return state.mounts
        }
    }

    // MARK: - Diff, size, export

    /// `diff`: the writable layer's changes against the init layer, sorted by path.
    public func changes(_ text: String) throws -> [Change] {
        let (_, mounted) = try storage.containerLayer(text)
        return try storage.driver.changes(mounted.mountID, parent: mounted.initID)
    }

    /// The writable layer's size: the figure kept since the last unmount while it is still
    /// exact, a fresh measurement otherwise (kept in turn when nothing holds the mount).
    func containerSize(_ record: ContainerRecord, _ mounted: MountedLayer, state: ContainerMountState) throws -> Int64 {
        let directory = storage.containers.directory(of: record.ID)
        if let cached = state.cachedSize { return cached }
        let size = try storage.driver.diffSize(mounted.mountID, parent: mounted.initID)
        if state.mounts == 0 {
            try? ContainerMountState.update(in: directory) { current in
                guard current.mounts == 0, current.generation == state.generation else { return }
                current.sizeRw = size
                current.sizeGeneration = current.generation
            }
        }
        return size
    }

    /// `export`: the container's whole root filesystem as one tar.
    public func export(_ text: String, to sink: ByteSink) throws {
        let (record, mounted) = try storage.containerLayer(text)
        // A read-only root cannot hold a mount's directories: its layers are read through a
        // read-only overlay elsewhere.
        if storage.isReadOnly, let data = try storage.driver.metadata(mounted.mountID), let upper = data["UpperDir"] {
            let layers = [upper] + (data["LowerDir"].map { $0.split(separator: ":").map(String.init) } ?? [])
            _ = try ReadOnlyOverlayView.withView(of: layers) { try DirectoryArchiver.archive($0, to: sink) }
            return
        }
        // Under the state lock, as `cp`: no `rm` takes the layers while the stack is read.
        let exported = try storage.skippingVanished(container: record.ID) { () throws -> Bool in
            try ContainerMountState.withLock(in: storage.containers.directory(of: record.ID)) { _ in
                let path = try storage.driver.get(mounted.mountID)
                defer { try? storage.driver.put(mounted.mountID) }
                _ = try DirectoryArchiver.archive(path, to: sink)
            }
            return true
        }
        guard exported == true else {
            throw StowageError(.notFound, "No such container: \(text)")
        }
    }

    // MARK: - Listing

    /// `ps -a`: every container, newest first, with sizes when asked for.
    public func list(sizes: Bool) throws -> [ContainerListing] {
        let order = { (record: ContainerRecord) -> (Int64, Int64, String) in
            let time = Timestamp.parseWithNanoseconds(record.Created)
            return (time?.seconds ?? 0, time?.nanoseconds ?? 0, record.ID)
        }
        var imageSizes: [ChainID: Int64] = [:]  // containers of one image share its layers
        let imageSize = { (top: ChainID) throws -> Int64 in
            if let known = imageSizes[top] { return known }
            let size = try storage.layers.stack(top).reduce(0) { $0 + $1.size }
            imageSizes[top] = size
            return size
        }
        var displayedImages: [String: String] = [:]  // the IMAGE column, once per name given
        // Each creation time parsed once, not once per comparison.
        let newestFirst = try storage.listedContainers().map { (order($0), $0) }.sorted { $0.0 > $1.0 }.map(\.1)
        return try newestFirst.compactMap { record in
            try storage.skippingVanished(container: record.ID) {
                let key = record.Image + " " + (record.Config.Image ?? "")
                let imageName = try displayedImages[key] ?? displayedImage(of: record)
                displayedImages[key] = imageName
                return try summary(of: record, imageName: imageName, sizes: sizes, imageSize: imageSize)
            }
        }
    }

    /// One row; the mount state and sizes are read only with `sizes` (a file per container).
    private func summary(of record: ContainerRecord, imageName: String, sizes: Bool,
                         imageSize: (ChainID) throws -> Int64) throws -> ContainerListing {
        guard sizes else {
            return ContainerListing(record: record, imageName: imageName, isMounted: nil, mountCount: nil, sizeRw: nil, sizeRootFs: nil)
        }
        let state = ContainerMountState.read(in: storage.containers.directory(of: record.ID))
        var sizeRw: Int64?
        var sizeRootFs: Int64?
        if let cached = state.cachedSize {
            sizeRw = cached
            sizeRootFs = try cached + (storage.mountedLayers.parent(of: record.ID).map(imageSize) ?? 0)
        } else if let mounted = try storage.mountedLayers.layer(record.ID) {
            let rw = try containerSize(record, mounted, state: state)
            sizeRw = rw
            sizeRootFs = try rw + (mounted.parent.map(imageSize) ?? 0)
        }
        return ContainerListing(record: record, imageName: imageName, isMounted: state.mounts > 0,
                                mountCount: state.mounts, sizeRw: sizeRw, sizeRootFs: sizeRootFs)
    }

    /// The IMAGE column: the name given at create while it still names the container's
    /// image, the image's short ID otherwise.
    private func displayedImage(of record: ContainerRecord) throws -> String {
        guard let id = record.imageID else { return record.Image }
        let given = record.Config.Image ?? ""
        if !given.isEmpty, (try? storage.resolveImage(given)) == id { return given }
        return id.shortForm
    }

    // MARK: - Remove

    /// `rm`: removes the container's metadata, then its layers; with `removeVolumes`, its
    /// anonymous volumes that no other container uses. A mounted container needs `force`.
    /// A failed or killed removal is finished by recovery (the container is unlisted first).
    public func remove(_ text: String, force: Bool, removeVolumes: Bool) throws {
        try storage.mutation { lease in
            let record = try storage.resolveContainer(text)
            // Under the state lock: a `mount`, `unmount` or `cp` of this container finishes first.
            do {
                try ContainerMountState.withLock(in: storage.containers.directory(of: record.ID)) { state in
                    guard try storage.containers.record(record.ID) != nil else {
                        throw StowageError(.notFound, "No such container: \(text)")  // another rm held the lock
                    }
                    try removeLayers(of: record, mountState: state, force: force, lease: lease)
                }
            } catch let error as SystemError where error.errno == ENOENT {
                throw StowageError(.notFound, "No such container: \(text)")  // gone before its lock could be opened
            }
            guard removeVolumes else { return }
            try removeAnonymousVolumes(of: record, lease: lease)
        }
    }

    /// The metadata and layers of a container that no mount holds (or with `force`).
    private func removeLayers(of record: ContainerRecord, mountState state: ContainerMountState, force: Bool,
                              lease: Lease) throws {
        if state.mounts > 0, !force {
            throw StowageError(.alreadyExists, "cannot remove container \(record.name): its root filesystem is mounted (\(state.mounts) mount\(state.mounts == 1 ? "" : "s")); unmount it first or force the removal")
        }
        try lease.add(.container(record.ID))
        let mounted = try storage.mountedLayers.layer(record.ID)
        if let mounted {
            // Named before `mount-id` goes, so that recovery finds them without it.
            for cacheID in [mounted.mountID] + (mounted.initID.map { [$0] } ?? []) { try lease.add(.cache(cacheID)) }
        }
        let orphans = try orphanedLayers(of: record, below: mounted)
        for chainID in orphans { try lease.add(.layer(chainID)) }
        try storage.graph.withExclusive {
            try storage.containerIndex.change(affecting: [record.ID]) { _ in
                try storage.containers.unlist(record.ID, stagingSuffix: lease.id)
            }
        }
        CrashPoint.containerUnlisted.reached()
        try storage.mountedLayers.removeRemains(of: record.ID)
        try storage.containers.removeUnlisted(record.ID, stagingSuffix: lease.id)
        if !orphans.isEmpty {
            let removals = try storage.graph.withExclusive {
                try storage.beginRemovingUnusedLayers(Set(orphans), excludingLeases: [lease.id])
            }
            for layer in removals { try storage.layers.finishRemoval(layer.chainID) }
        }
    }

    /// The container's anonymous volumes that no other container uses (`rm -v`).
    private func removeAnonymousVolumes(of record: ContainerRecord, lease: Lease) throws {
        let doomed = try storage.graph.withExclusive { () throws -> [String] in
            let users = try storage.volumeUsers()
            let inFlight = try storage.leases.liveEntries(excluding: [lease.id])
            var doomed: [String] = []
            for name in record.volumeNames where users[name] == nil && !inFlight.contains(LeaseEntry.volume(name).description) {
                guard let volume = try storage.volumes.volume(name), volume.isAnonymous else { continue }
                try lease.add(.volume(name))
                doomed.append(name)
            }
            return doomed
        }
        for name in doomed { try storage.volumes.remove(name, stagingSuffix: lease.id) }
    }

    /// The layers below the container when its image is gone (`rmi -f` while it stood):
    /// nothing but the container kept them, and they go with it, as in Docker's layer store.
    private func orphanedLayers(of record: ContainerRecord, below mounted: MountedLayer?) throws -> [ChainID] {
        guard let parent = mounted?.parent, !(record.imageID.map(storage.images.exists) ?? false) else { return [] }
        return ((try? storage.layers.stack(parent)) ?? []).map(\.chainID)
    }

    /// `container prune`: removes every container whose root filesystem is not mounted.
    /// Returns their IDs and the bytes of their writable layers.
    public func prune() throws -> (ids: [String], reclaimed: Int64) {
        var ids: [String] = []
        var reclaimed: Int64 = 0
        for summary in try list(sizes: true) where summary.isMounted != true {
            try remove(summary.record.ID, force: false, removeVolumes: false)
            ids.append(summary.record.ID)
            reclaimed += summary.sizeRw ?? 0
        }
        return (ids, reclaimed)
    }

    /// The containers made from the image.
    public func using(_ image: ImageID) throws -> [ContainerRecord] { try storage.containersUsing(image) }
}

/// Docker's `merge` of a new container's config with its image's.
enum ContainerConfigMerge {
    static func merge(_ request: ContainerCreation, anonymousVolumes: [String], hostname: String,
                      image: ContainerConfig?) throws -> ContainerConfig {
        let command = request.command
        // A user's entrypoint takes the image's command away with the image's entrypoint.
        let entrypoint = request.entrypoint.map { $0.isEmpty ? nil : $0 } ?? image?.Entrypoint
        let cmd = request.entrypoint != nil || !command.isEmpty ? (command.isEmpty ? nil : command) : image?.Cmd
        if (entrypoint ?? []).isEmpty, (cmd ?? []).isEmpty {
            throw StowageError(.invalidArgument, "No command specified")
        }
        var volumes = image?.Volumes.map { Array($0.keys) } ?? []
        volumes += anonymousVolumes
        var mergedLabels = request.labels
        for (key, value) in image?.Labels ?? [:] where mergedLabels[key] == nil { mergedLabels[key] = value }
        var members: [String: JSONValue] = [
            "Hostname": .string(hostname), "AttachStdout": .bool(true), "AttachStderr": .bool(true),
            "Cmd": .strings(cmd), "Image": .string(request.image), "Labels": .sortedObject(mergedLabels.mapValues(JSONValue.string)),
        ]
        if request.tty { members["Tty"] = .bool(true) }
        if request.interactive { members["AttachStdin"] = .bool(true); members["OpenStdin"] = .bool(true); members["StdinOnce"] = .bool(true) }
        if let user = request.user ?? image?.User { members["User"] = .string(user) }
        let key = { (variable: String) in variable.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "" }
        let given = Set(request.environment.map(key))
        let env = request.environment + (image?.Env ?? []).filter { !given.contains(key($0)) }
        if !env.isEmpty || image?.Env != nil { members["Env"] = .strings(env) }
        if let entrypoint { members["Entrypoint"] = .strings(entrypoint) }
        if let workingDir = request.workingDirectory.flatMap({ $0.isEmpty ? nil : $0 }) ?? image?.WorkingDir { members["WorkingDir"] = .string(workingDir) }
        if let stopSignal = image?.StopSignal { members["StopSignal"] = .string(stopSignal) }
        if let ports = image?.ExposedPorts { members["ExposedPorts"] = .sortedObject(ports.mapValues { _ in .object([]) }) }
        if !volumes.isEmpty { members["Volumes"] = .sortedObject(Dictionary(volumes.map { ($0, JSONValue.object([])) }, uniquingKeysWith: { a, _ in a })) }
        if image?.ArgsEscaped == true, command.isEmpty, request.entrypoint == nil { members["ArgsEscaped"] = .bool(true) }
        let text = JSONValue.sortedObject(members).serialized()
        return try JSONDecoder().decode(ContainerConfig.self, from: Data(text.utf8))
    }
}
