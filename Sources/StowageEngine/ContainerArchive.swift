#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageDrivers
import StowageFileSystem
import StowageLayers
import StowageTar

/// What `docker cp` learns of a path in a container: the Engine API's `ContainerPathStat`.
public struct ContainerPathStat: Sendable, Equatable {
    /// The path's last component (`.` for a path ending in `/.`, `/` for the root).
    public let name: String
    public let size: Int64
    /// The file's type and permission bits (`st_mode`).
    public let mode: UInt32
    public let modificationSeconds: Int64
    public let modificationNanoseconds: Int64
    /// For a symbolic link, what it leads to, resolved inside the container (`/etc/passwd`);
    /// empty otherwise.
    public let linkTarget: String

    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    public var isSymbolicLink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
}

/// `docker cp`'s side in the engine: dockerd's `ContainerStatPath`, `ContainerArchivePath`
/// and `ContainerExtractToDir`. The container's volumes and bind mounts are part of what it
/// sees: a path below a mount's destination is read from and written to the mount's source.
extension ContainerService {
    /// The entry at `path` in the container (its last component not followed).
    public func statPath(_ container: String, _ path: String) throws -> ContainerPathStat {
        try withFileSystem(of: container, writing: false) { fileSystem, _ in
            try Self.stat(ContainerPath(path), shownAs: path, in: fileSystem, container: container).stat
        }
    }

    /// Writes the entry at `path` (a directory with everything below it) to `sink` as a tar,
    /// its entries named from the path's last component as dockerd names them (`data/…`,
    /// `./…` for `/data/.`, `/…` for `/`), and returns what it archived.
    public func archive(_ container: String, path: String, to sink: ByteSink) throws -> ContainerPathStat {
        try withFileSystem(of: container, writing: false) { fileSystem, _ in
            let containerPath = ContainerPath(path)
            let (stat, resolved) = try Self.stat(containerPath, shownAs: path, in: fileSystem, container: container)
            let holder = fileSystem.location(of: resolved)
            let (parent, name) = resolved.isEmpty || holder.inside.isEmpty
                ? (try fileSystem.directory(at: resolved), ".") : (try fileSystem.parentDirectory(of: resolved), resolved.last!)
            var mounted: [String: FileDescriptor] = [:]
            let rootName = containerPath.baseName
            for mount in fileSystem.mounts where mount.destination.count > resolved.count && mount.destination.starts(with: resolved) {
                let below = mount.destination.dropFirst(resolved.count).joined(separator: "/")
                mounted[rootName == "/" ? "/" + below : rootName + "/" + below] = try FileDescriptor.openDirectory(mount.source)
            }
            _ = try DirectoryArchiver.archiveEntry(name, in: parent, as: rootName, to: sink, mounted: mounted)
            return stat
        }
    }

    /// Extracts the tar read from `source` (plain, gzip or zstd) into the directory at
    /// `path`, following every link of the path inside the container, with `docker cp`'s
    /// rules (`CopyRules`). Entries keep the tar's owners, or get the container's user's
    /// with `copyingOwnership` (`docker cp -a`, when the container has a `User`).
    public func extract(_ container: String, into path: String, from source: ByteSource, copyingOwnership: Bool = false) throws {
        try storage.refuseIfReadOnly()
        try withFileSystem(of: container, writing: true) { fileSystem, record in
            let destination = try fileSystem.resolve(ContainerPath(path).components)
            guard let status = try fileSystem.status(destination) else {
                throw StowageError(.notFound, "Could not find the file \(path) in container \(container)")
            }
            guard status.isDirectory else { throw StowageError(.invalidArgument, "extraction point is not a directory") }
            if let mount = fileSystem.location(of: destination).mount, !mount.writable {
                throw StowageError(.invalidArgument, "mounted volume is marked read-only")
            }
            var rules = CopyRules()
            if copyingOwnership, let user = try storage.containers.config(of: record.ID).User, !user.isEmpty {
                let owner = try ContainerUser.ids(of: user, in: fileSystem)
                rules.ownership = .fixed(uid: owner.uid, gid: owner.gid)
            }
            try CopyExtractor.extract(from: source, into: destination, of: fileSystem.directories, rules: rules)
        }
    }

    // MARK: - The container's files

    /// The entry at `path` and its resolved components; not found as dockerd says it.
    private static func stat(_ path: ContainerPath, shownAs text: String, in fileSystem: ContainerFileSystem,
                             container: String) throws -> (stat: ContainerPathStat, resolved: [String]) {
        let resolved = try fileSystem.resolve(path)
        guard let status = try fileSystem.status(resolved) else {
            throw StowageError(.notFound, "Could not find the file \(text) in container \(container)")
        }
        if path.assertsDirectory, !status.isDirectory {
            throw StowageError(.invalidArgument, "lstat \(ContainerPath.text(resolved))\(path.endsInDot ? "/." : "/"): not a directory")
        }
        let linkTarget = status.isSymbolicLink ? ContainerPath.text(try fileSystem.resolve(path.components)) : ""
        let stat = ContainerPathStat(name: path.baseName, size: status.size, mode: status.mode,
                                     modificationSeconds: status.modificationSeconds,
                                     modificationNanoseconds: status.modificationNanoseconds, linkTarget: linkTarget)
        return (stat, resolved)
    }

    /// Runs `body` on the container's files: its root filesystem mounted (a read-only view on
    /// a read-only data root) under the container's state lock, so that `rm`, `mount` and
    /// other copies wait, with the mount points made as dockerd makes them. A copy into the
    /// container, even a failed or killed one, makes the writable layer's recorded size stale.
    private func withFileSystem<T>(of container: String, writing: Bool,
                                   _ body: (ContainerFileSystem, ContainerRecord) throws -> T) throws -> T {
        let (record, mounted) = try storage.containerLayer(container)
        // Removed by another process meanwhile (its directory, lock and all): said as Docker says it.
        guard let result = try storage.skippingVanished(container: record.ID, {
            try withFileSystem(of: record, mounted, writing: writing, body)
        }) else {
            throw StowageError(.notFound, "No such container: \(container)")
        }
        return result
    }

    private func withFileSystem<T>(of record: ContainerRecord, _ mounted: MountedLayer, writing: Bool,
                                   _ body: (ContainerFileSystem, ContainerRecord) throws -> T) throws -> T {
        let mounts = try (record.MountPoints ?? [:]).values.compactMap { point -> ContainerFileSystem.Mount? in
            let source = point.Type == "bind" || (point.Name ?? "").isEmpty
                ? point.Source : try storage.volumes.volume(point.Name!)?.mountpoint
            guard let source, FileDescriptor.status(at: source)?.isDirectory == true else { return nil }
            return ContainerFileSystem.Mount(destination: ContainerPath(point.Destination).components, source: source,
                                             writable: point.RW ?? true)
        }
        if storage.isReadOnly, let data = try storage.driver.metadata(mounted.mountID), let upper = data["UpperDir"] {
            let layers = [upper] + (data["LowerDir"].map { $0.split(separator: ":").map(String.init) } ?? [])
            return try ReadOnlyOverlayView.withView(of: layers) { try body(ContainerFileSystem(rootfs: $0, mounts: mounts), record) }
        }
        let directory = storage.containers.directory(of: record.ID)
        return try ContainerMountState.update(in: directory) { state in
            let rootfs = try storage.driver.get(mounted.mountID)
            defer { try? storage.driver.put(mounted.mountID) }
            let fileSystem = ContainerFileSystem(rootfs: rootfs, mounts: mounts)
            let changing = try !storage.isReadOnly && fileSystem.makeMountPoints() || writing
            if changing {
                // On disk before the layer changes: a kill during the copy leaves no size
                // recorded as exact.
                state.generation += 1
                try state.save(in: directory)
            }
            return Result { try body(fileSystem, record) }
        }.get()
    }
}

/// The owner `docker cp -a` gives what it copies into a container: the container's `User`
/// (`name`, `uid`, `name:group`, `uid:gid`) looked up in the container's own `/etc/passwd`
/// and `/etc/group`.
enum ContainerUser {
    static func ids(of user: String, in fileSystem: ContainerFileSystem) throws -> (uid: UInt32, gid: UInt32) {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let passwd = try records(["etc", "passwd"], in: fileSystem)
        let entry = passwd.first { $0.first == parts[0] } ?? UInt32(parts[0]).flatMap { uid in passwd.first { $0.count > 2 && $0[2] == String(uid) } }
        guard let uid = UInt32(parts[0]) ?? entry.flatMap({ $0.count > 2 ? UInt32($0[2]) : nil }) else {
            throw StowageError(.notFound, "unable to find user \(parts[0]): no matching entries in passwd file")
        }
        guard parts.count == 2 else { return (uid, entry.flatMap { $0.count > 3 ? UInt32($0[3]) : nil } ?? 0) }
        let groups = try records(["etc", "group"], in: fileSystem)
        guard let gid = UInt32(parts[1]) ?? groups.first(where: { $0.first == parts[1] }).flatMap({ $0.count > 2 ? UInt32($0[2]) : nil }) else {
            throw StowageError(.notFound, "unable to find group \(parts[1]): no matching entries in group file")
        }
        return (uid, gid)
    }

    /// The colon-separated records of a file in the container; none when it is missing.
    private static func records(_ path: [String], in fileSystem: ContainerFileSystem) throws -> [[String]] {
        let resolved = try fileSystem.resolve(path)
        guard try fileSystem.status(resolved)?.isRegular == true else { return [] }
        let file = try fileSystem.parentDirectory(of: resolved).openChildFile(resolved.last!)
        var bytes: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { buffer.deallocate() }
        while bytes.count < 16 << 20 {
            let got = try file.read(into: buffer)
            if got == 0 { break }
            bytes.append(contentsOf: buffer[0..<got])
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}
