#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// A path in a container as `docker cp` names it: lexically clean components below `/`,
/// and whether it ends in `/` or `/.`, which assert a directory (`/.` also means "the
/// directory's contents").
public struct ContainerPath: Sendable, Equatable {
    public let components: [String]
    public let endsInSeparator: Bool
    public let endsInDot: Bool

    /// Parses `text` as dockerd does: relative to `/`, `..` removed lexically, `..` above
    /// `/` staying at `/` (Go's `filepath.Join("/", text)` with the trailing `/` or `/.` kept).
    public init(_ text: String) {
        var components: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(String(part))
            }
        }
        self.components = components
        endsInDot = text == "." || text.hasSuffix("/.")
        endsInSeparator = !endsInDot && text.hasSuffix("/")
    }

    /// Whether the path can only name a directory.
    public var assertsDirectory: Bool { endsInDot || endsInSeparator }

    /// Go's `filepath.Base` of the path: the name an archive of it gives its root entry.
    public var baseName: String { endsInDot ? "." : components.last ?? "/" }

    static func text(_ components: [String]) -> String { "/" + components.joined(separator: "/") }
}

/// A container's files as its processes would see them: the root filesystem with the
/// container's volumes and directory bind mounts over their destinations. Paths resolve as
/// dockerd's `GetResourcePath` resolves them: symbolic links are followed inside the
/// container (an absolute target starts again at the container's `/`, `..` stops there), so
/// nothing outside the container is reached.
struct ContainerFileSystem {
    /// A volume or bind mount: a host directory at `destination`.
    struct Mount {
        let destination: [String]
        let source: String
        let writable: Bool
    }

    static let maximumLinks = 255

    let rootfs: String
    /// Deepest destination first.
    let mounts: [Mount]

    init(rootfs: String, mounts: [Mount]) {
        self.rootfs = rootfs
        self.mounts = mounts.sorted { $0.destination.count > $1.destination.count }
    }

    /// The tree for `CopyExtractor`: the root filesystem and every mount.
    var directories: [CopyExtractor.MountedDirectory] {
        [CopyExtractor.MountedDirectory(path: [], directory: rootfs)]
            + mounts.map { CopyExtractor.MountedDirectory(path: $0.destination, directory: $0.source, isReadOnly: !$0.writable) }
    }

    /// The mount holding `components` (nil: the root filesystem) and the components inside it.
    func location(of components: [String]) -> (mount: Mount?, inside: [String]) {
        if let mount = mounts.first(where: { components.starts(with: $0.destination) }) {
            return (mount, Array(components.dropFirst(mount.destination.count)))
        }
        return (nil, components)
    }

    /// The host directory holding the entry at `components` (resolved: no symbolic link
    /// before the last component), opened without following links.
    func parentDirectory(of components: [String]) throws -> FileDescriptor {
        try directory(at: Array(components.dropLast()))
    }

    /// The directory at `components` itself (resolved), as a descriptor.
    func directory(at components: [String]) throws -> FileDescriptor {
        let (mount, inside) = location(of: components)
        let base = try FileDescriptor.openDirectory(mount?.source ?? rootfs)
        return inside.isEmpty ? base : try base.openBeneath(inside.joined(separator: "/"), O_RDONLY | O_DIRECTORY)
    }

    /// The status of the entry at `components` (the last not followed); nil when it or a
    /// parent is missing or a parent is no directory.
    func status(_ components: [String]) throws -> FileStatus? {
        if components.isEmpty || location(of: components).inside.isEmpty { return try directory(at: components).status() }
        do {
            return try parentDirectory(of: components).statusOfEntry(components.last!)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
    }

    /// `components` with every symbolic link followed inside the container; missing
    /// components are kept as they are (`FollowSymlinkInScope`).
    func resolve(_ components: [String]) throws -> [String] {
        var resolved: [String] = []
        var pending = Array(components.reversed())
        var links = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = resolved + [part]
            guard location(of: candidate).inside.isEmpty == false, let status = try status(candidate), status.isSymbolicLink else {
                resolved = candidate
                continue
            }
            links += 1
            guard links <= Self.maximumLinks else {
                throw StowageError(.invalidArgument, "too many links in \(ContainerPath.text(components))")
            }
            let target = String(decoding: try parentDirectory(of: candidate).readSymbolicLink(part), as: UTF8.self)
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return resolved
    }

    /// dockerd's `ResolvePath`: every link before the last component followed; the last
    /// one too when the path ends in `/` or `/.`.
    func resolve(_ path: ContainerPath) throws -> [String] {
        if path.assertsDirectory { return try resolve(path.components) }
        guard let last = path.components.last else { return [] }
        return try resolve(Array(path.components.dropLast())) + [last]
    }

    /// Makes the mount points missing below writable mounts and the root filesystem, as
    /// dockerd does before it mounts the volumes for a copy (so `diff` shows them after);
    /// returns whether it made any. A path through a symbolic link or a file is left alone.
    func makeMountPoints() throws -> Bool {
        var made = false
        for (index, mount) in mounts.enumerated() {
            let shallower = ContainerFileSystem(rootfs: rootfs, mounts: mounts[(index + 1)...].filter { $0.destination.count < mount.destination.count })
            let (holder, inside) = shallower.location(of: mount.destination)
            guard holder?.writable ?? true else { continue }
            var current = try FileDescriptor.openDirectory(holder?.source ?? rootfs)
            for part in inside {
                if let status = try current.statusOfEntry(part) {
                    guard status.isDirectory else { break }
                } else {
                    try current.makeDirectory(part, mode: 0o755)
                    made = true
                }
                current = try current.openChildDirectory(part)
            }
        }
        return made
    }
}
