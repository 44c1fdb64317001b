#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar
import Synchronization

/// The overlay2 driver: kernel overlayfs, in Docker's layout:
///
///     overlay2/<id>/diff     the layer's own files (its upper directory)
///     overlay2/<id>/link     a 26-character short name
///     overlay2/<id>/lower    `l/<short>:l/<short>…` of every parent, nearest first
///     overlay2/<id>/work     overlayfs' work directory
///     overlay2/<id>/merged   where the stack is mounted
///     overlay2/<id>/committed  present once a layer has a child; it is then mounted read-only
///     overlay2/l/<short>     → `../<id>/diff`, so that mount options stay short
///
/// Diffs are applied straight into `diff/` with overlay whiteouts (0/0 character devices,
/// `trusted.overlay.opaque`), and read back from it (native diff).
///
/// The fuse-overlayfs driver is the same in `fuse-overlayfs/`, mounted by the
/// `fuse-overlayfs` program instead of the kernel (where kernel overlay cannot be used).
public final class Overlay2Driver: DiffApplyingDriver {
    /// Who mounts the stacks.
    public enum Mounter: Sendable {
        case kernel
        case fuse
    }

    public let name: String
    public let home: String
    public let mounter: Mounter
    /// Docker's limit on the depth of a stack.
    public static let maximumDepth = 128
    private var linkDirectory: String { home + "/l" }
    /// The stacks this process holds.
    private let mounts = Mutex(MountTracker())
    /// `overlay2.size`: the limit of each writable layer, with the quotas that enforce it.
    private let writableLimit: (bytes: Int64, quota: ProjectQuota)?

    /// Opens the driver's home below `dataRoot`, after checking the kernel can do overlay here.
    /// - Parameter writableLayerSize: `overlay2.size`; needs xfs with project quotas.
    public init(dataRoot: String, mounter: Mounter = .kernel, writableLayerSize: Int64? = nil) throws {
        self.mounter = mounter
        name = mounter == .kernel ? "overlay2" : "fuse-overlayfs"
        home = dataRoot + "/" + name
        switch mounter {
        case .kernel: try Self.checkSupport(dataRoot: dataRoot)
        case .fuse: try Self.checkFuseSupport()
        }
        try FileDescriptor.ensureDirectory(home, mode: 0o710)
        try FileDescriptor.ensureDirectory(home + "/l", mode: 0o700)
        if let writableLayerSize {
            try Self.checkQuotaSupport(dataRoot: dataRoot)
            writableLimit = (writableLayerSize, try ProjectQuota(home: home))
        } else {
            writableLimit = nil
        }
    }

    /// A writable layer is limited to `overlay2.size` when set.
    public func createWritable(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        try create(id, parent: parent)
        guard let writableLimit else { return }
        do {
            try writableLimit.quota.limit(diffPath(of: id), to: writableLimit.bytes)
        } catch {
            try? remove(id)
            throw StowageError(.ioFailure, "cannot limit overlay2 layer \(id) to \(writableLimit.bytes) bytes", underlying: error)
        }
    }

    /// Refuses filesystems overlayfs cannot use as upper layers, as Docker does.
    static func checkSupport(dataRoot: String) throws {
        let filesystems = FileDescriptor.readText("/proc/filesystems") ?? ""
        guard filesystems.contains("\toverlay\n") || filesystems.hasSuffix("\toverlay") else {
            throw StowageError(.unsupported, "driver not supported: overlay is not in /proc/filesystems; use the vfs driver")
        }
        try FileDescriptor.ensureDirectory(dataRoot, mode: 0o711)
        let backing = try BackingFileSystem.name(of: dataRoot)
        if ["overlayfs", "aufs", "ecryptfs", "nfs", "zfs"].contains(backing) {
            throw StowageError(.unsupported, "driver not supported: overlay2 cannot use a \(backing) backing filesystem; use the vfs driver or another data root")
        }
        guard try BackingFileSystem.supportsDType(at: dataRoot) else {
            throw StowageError(.unsupported, "driver not supported: the backing filesystem of \(dataRoot) does not support d_type; use the vfs driver")
        }
    }

    static func checkFuseSupport() throws {
        guard Subprocess.exists("fuse-overlayfs") else {
            throw StowageError(.unsupported, "driver not supported: fuse-overlayfs is not installed (apt-get install -y fuse-overlayfs)")
        }
        guard FileDescriptor.exists("/dev/fuse") else {
            throw StowageError(.unsupported, "driver not supported: /dev/fuse is missing; load the fuse module or use vfs")
        }
    }

    // MARK: - Paths

    public func directory(of id: LayerCacheID) -> String { home + "/" + id.rawValue }
    public func diffPath(of id: LayerCacheID) -> String { directory(of: id) + "/diff" }

    public func ownFilesDirectory(_ id: LayerCacheID) -> String? { diffPath(of: id) }
    private func mergedPath(of id: LayerCacheID) -> String { directory(of: id) + "/merged" }

    // MARK: - Layers

    public func create(_ id: LayerCacheID, parent: LayerCacheID?) throws {
        let directory = self.directory(of: id)
        guard mkdir(directory, 0o700) == 0 else {
            throw StowageError(errno == EEXIST ? .alreadyExists : .ioFailure, "cannot create overlay2 layer \(id)",
                               underlying: SystemError("mkdir", path: directory, errno: errno))
        }
        do {
            try FileDescriptor.ensureDirectory(directory + "/diff", mode: 0o755)
            let link = Self.randomLinkName()
            // No fsync of their own: the layer store syncs the filesystem before it records a layer.
            try StagedFile.write(Array(link.utf8), to: directory + "/link", replacing: false, synced: false)
            try SystemError.check(symlink("../" + id.rawValue + "/diff", linkDirectory + "/" + link), "symlink", linkDirectory + "/" + link)
            guard let parent else { return }
            let lowers = try lowerChain(for: parent)
            guard lowers.count <= Self.maximumDepth else {
                throw StowageError(.limitExceeded, "max depth exceeded: overlay2 stacks at most \(Self.maximumDepth) lower layers, this one would have \(lowers.count)")
            }
            try StagedFile.write(Array(lowers.joined(separator: ":").utf8), to: directory + "/lower", replacing: false, synced: false)
            // As dockerd does: a layer with a child never changes again, and is mounted read-only.
            try StagedFile.write([], to: self.directory(of: parent) + "/committed", mode: 0o600, replacing: true, synced: false)
            try FileDescriptor.ensureDirectory(directory + "/work", mode: 0o700)
        } catch {
            try? remove(id)
            throw error
        }
    }

    /// `l/<short>` of `parent` followed by the parent's own lowers.
    private func lowerChain(for parent: LayerCacheID) throws -> [String] {
        guard let link = try readText(directory(of: parent) + "/link") else {
            throw StowageError(.notFound, "overlay2 layer \(parent) has no link file")
        }
        let parentLowers = try readText(directory(of: parent) + "/lower")?.split(separator: ":").map(String.init) ?? []
        return ["l/" + link] + parentLowers
    }

    public func remove(_ id: LayerCacheID) throws {
        if isMounted(mergedPath(of: id)) {
            throw StowageError(.alreadyExists, "overlay2 layer \(id) is mounted at \(mergedPath(of: id)); unmount it first")
        }
        if let link = try? readText(directory(of: id) + "/link"), !link.isEmpty, !link.contains("/") {
            unlink(linkDirectory + "/" + link)
        }
        try VFSDriver.removeDirectory(named: id.rawValue, in: home)
    }

    public func exists(_ id: LayerCacheID) -> Bool {
        var st = stat()
        return lstat(directory(of: id), &st) == 0
    }

    public func layerIDs() throws -> [LayerCacheID] {
        try VFSDriver.layerIDs(in: home)
    }

    // MARK: - Mounting

    /// A base layer is its `diff/`; any other layer is mounted on `merged/`.
    public func get(_ id: LayerCacheID) throws -> String {
        guard exists(id) else { throw StowageError(.notFound, "overlay2 layer \(id) does not exist") }
        guard let lower = try readText(directory(of: id) + "/lower") else { return diffPath(of: id) }
        return try mounts.withLock { tracker in
            if tracker.reacquire(id) { return mergedPath(of: id) }
            let merged = mergedPath(of: id)
            let borrowed = isMounted(merged)
            if !borrowed {
                // As Docker's: `merged/` exists while the layer is mounted.
                try FileDescriptor.ensureDirectory(merged, mode: 0o700)
                // A committed layer (one with children) is mounted read-only, its diff as the top lower.
                let committed = FileDescriptor.exists(directory(of: id) + "/committed")
                let relative = committed
                    ? "lowerdir=\(id.rawValue)/diff:\(lower)"
                    : "lowerdir=\(lower),upperdir=\(id.rawValue)/diff,workdir=\(id.rawValue)/work"
                switch mounter {
                case .kernel:
                    let options = (Self.indexOffSupported ? "index=off," : "") + relative
                    guard options.utf8.count < 4096 else {
                        throw StowageError(.limitExceeded, "overlay2 mount options for \(id) exceed a page (\(options.utf8.count) bytes)")
                    }
                    let status = stowage_mount_overlay_from(home, merged, options)
                    guard status == 0 else {
                        throw StowageError(.ioFailure, "cannot mount overlay2 layer \(id) on \(merged)",
                                           underlying: SystemError("mount overlay", path: merged, errno: status))
                    }
                case .fuse:
                    // fuse-overlayfs takes absolute paths; it has no page limit on its options.
                    let absolute = relative.split(separator: ",").map { option -> String in
                        let parts = option.split(separator: "=", maxSplits: 1)
                        let paths = parts[1].split(separator: ":").map { home + "/" + $0 }
                        return parts[0] + "=" + paths.joined(separator: ":")
                    }.joined(separator: ",")
                    do {
                        try Subprocess.run(["fuse-overlayfs", "-o", absolute, merged])
                    } catch {
                        throw StowageError(.ioFailure, "cannot mount fuse-overlayfs layer \(id) on \(merged)", underlying: error)
                    }
                }
            }
            tracker.acquired(id, owned: !borrowed)
            return merged
        }
    }

    public func put(_ id: LayerCacheID) throws {
        // Under the lock, so that no concurrent `get` borrows the stack being unmounted.
        try mounts.withLock { tracker in
            guard tracker.release(id) else { return }
            try unmountStack(mergedPath(of: id), of: id, driver: name)
        }
    }

    public func unmount(_ id: LayerCacheID) throws {
        mounts.withLock { $0.forget(id) }
        try unmountStack(mergedPath(of: id), of: id, driver: name)
    }

    /// Unmounts every stack this process mounted.
    public func cleanup() throws {
        for id in mounts.withLock({ $0.owned }) { try unmount(id) }
    }

    /// Docker 20.10 lists overlay2 changes naively. Where the upper directory is exact, the two
    /// trees are read from the layer directories as overlayfs would stack them, without
    /// mounting, and the walk enters only what the upper directory holds: the same lines, in
    /// time that follows the changes rather than the image.
    public func changes(_ id: LayerCacheID, parent: LayerCacheID?) throws -> [Change] {
        guard usesNativeDiff(id, parent: parent) else {
            return try withMounts(id, parent) { try NaiveDiff.changes(layer: $0, parent: $1) }
        }
        let lowers = try lowerDiffPaths(of: id)
        let layer = try OverlayStackView(layerDirectories: [diffPath(of: id)] + lowers)
        let parentView = try parent.map { _ in try OverlayStackView(layerDirectories: lowers) }
        return try NaiveDiff.changes(layer: layer, parent: parentView, upper: diffPath(of: id))
    }

    /// Native where it is exact (Docker's `directory.Size` of the upper directory: every
    /// non-directory, each inode once); naive otherwise.
    public func diffSize(_ id: LayerCacheID, parent: LayerCacheID?) throws -> Int64 {
        guard usesNativeDiff(id, parent: parent) else {
            return try withMounts(id, parent) { layer, parentPath in
                try NaiveDiff.size(of: NaiveDiff.changes(layer: layer, parent: parentPath), in: layer)
            }
        }
        return try DiskUsage.bytes(under: diffPath(of: id))
    }

    /// Whether `id`'s upper directory is exactly its diff against `parent`: the kernel does
    /// not redirect directories and `parent` is the layer right below (as Docker decides).
    private func usesNativeDiff(_ id: LayerCacheID, parent: LayerCacheID?) -> Bool {
        mounter == .kernel && Self.nativeDiffSupported && (parent == nil || parent.map(isParent(of: id)) == true)
    }

    /// How many `get`s this process holds on `id`.
    public func referenceCount(_ id: LayerCacheID) -> Int { mounts.withLock { $0.count(id) } }

    // MARK: - Status and metadata

    public func status() throws -> [(String, String)] {
        guard mounter == .kernel else { return [] }
        return [("Backing Filesystem", try BackingFileSystem.name(of: home)),
         ("Supports d_type", String(try BackingFileSystem.supportsDType(at: home))),
         ("Native Overlay Diff", String(Self.nativeDiffSupported)),
         ("userxattr", "false")]
    }

    /// The diff directories below `id`, nearest first, from its `lower` file.
    private func lowerDiffPaths(of id: LayerCacheID) throws -> [String] {
        guard let lower = try readText(directory(of: id) + "/lower") else { return [] }
        let links = try FileDescriptor.openDirectory(linkDirectory)
        return try lower.split(separator: ":").map { link -> String in
            let target = String(decoding: try links.readSymbolicLink(String(link.dropFirst(2))), as: UTF8.self)
            return home + "/" + target.dropFirst(3)  // ../<id>/diff
        }
    }

    /// Docker's `GraphDriver.Data` for overlay2.
    /// The directory, `diff/`, the `link` file and its `l/` link back to `diff/`, and every
    /// `l/` link of `lower`.
    public func verify(_ id: LayerCacheID) -> [String] {
        let directory = self.directory(of: id)
        guard exists(id) else { return ["\(name) layer directory \(directory) is missing"] }
        var problems: [String] = []
        if !FileDescriptor.exists(diffPath(of: id)) { problems.append("\(directory) has no diff directory") }
        if let link = FileDescriptor.readText(directory + "/link") {
            let target = try? FileDescriptor.openDirectory(linkDirectory).readSymbolicLink(link)
            if target.map({ String(decoding: $0, as: UTF8.self) }) != "../" + id.rawValue + "/diff" {
                problems.append("\(linkDirectory)/\(link) does not link to \(id.rawValue)/diff")
            }
        } else {
            problems.append("\(directory) has no link file")
        }
        for lower in (FileDescriptor.readText(directory + "/lower") ?? "").split(separator: ":") {
            var status = stat()
            if stat(home + "/" + lower, &status) != 0 { problems.append("\(directory)/lower names \(lower), which does not resolve") }
        }
        return problems
    }

    public func metadata(_ id: LayerCacheID) throws -> [String: String]? {
        var data = ["MergedDir": mergedPath(of: id), "UpperDir": diffPath(of: id), "WorkDir": directory(of: id) + "/work"]
        let lowers = try lowerDiffPaths(of: id)
        if !lowers.isEmpty { data["LowerDir"] = lowers.joined(separator: ":") }
        return data
    }

    // MARK: - Diffs

    /// A layer's diff directory holds only its own changes; whiteouts are character devices.
    public var appliesLayersIndependently: Bool { true }

    public func applyDiff(_ id: LayerCacheID, from stream: ByteSource, options: ApplyOptions,
                          tarSplit: TarSplitWriter?) throws -> LayerApplyResult {
        var overlay = options
        overlay.whiteoutFormat = .overlay
        let result = try LayerApplier.apply(from: stream, into: diffPath(of: id), options: overlay, tarSplit: tarSplit)
        // Docker's overlay2 (and fuse-overlayfs) stores the applied directory's usage as the
        // layer's size (directory.Size): symlinks count their target's length, inodes count once.
        return result.replacingContentSize(try DiskUsage.bytes(under: diffPath(of: id)))
    }

    /// Native diff: the upper directory is the diff, whiteouts converted back to tar form.
    /// Falls back to the naive diff where the kernel may redirect directories.
    public func diff(_ id: LayerCacheID, parent: LayerCacheID?, to sink: ByteSink) throws -> ArchiveResult {
        guard usesNativeDiff(id, parent: parent) else {
            return try withMounts(id, parent) { try NaiveDiff.export(layer: $0, parent: $1, to: sink) }
        }
        return try DirectoryArchiver.archive(diffPath(of: id), to: sink, whiteoutFormat: .overlay)
    }

    /// Whether `parent` is the layer directly below `id` (native diff needs it).
    private func isParent(of id: LayerCacheID) -> (LayerCacheID) -> Bool {
        { parent in
            guard let lower = FileDescriptor.readText(self.directory(of: id) + "/lower"),
                  let link = FileDescriptor.readText(self.directory(of: parent) + "/link") else { return false }
            return lower.split(separator: ":").first.map(String.init) == "l/" + link
        }
    }

    // MARK: - Kernel features

    /// Whether the kernel's overlay takes `index=off` (Docker passes it when it can).
    static let indexOffSupported: Bool = FileDescriptor.exists("/sys/module/overlay/parameters/index")

    /// Native diff reads `diff/` directly; it is wrong when the kernel may redirect renamed
    /// directories or copy up metadata only, so Docker falls back to a naive diff then.
    public static let nativeDiffSupported: Bool = {
        let read = { (name: String) in (FileDescriptor.readText("/sys/module/overlay/parameters/" + name) ?? "N").hasPrefix("Y") }
        return !read("redirect_dir") && !read("metacopy")
    }()

    private static func randomLinkName() -> String {
        // 26 base32 digits as Docker's (5 bits each, 130 bits) from three 64-bit draws.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var bits = (generator.next(), generator.next(), generator.next())
        var name: [UInt8] = []
        for index in 0..<26 {
            if index == 12 { bits.0 = bits.1 }
            if index == 24 { bits.0 = bits.2 }
            name.append(alphabet[Int(bits.0 & 0x1F)])
            bits.0 >>= 5
        }
        return String(decoding: name, as: UTF8.self)
    }

    private func readText(_ path: String) throws -> String? { FileDescriptor.readText(path) }
}

/// Unmounts the stack at `merged` if something is mounted there, and removes the empty
/// mount point, as Docker's overlay2 does.
func unmountStack(_ merged: String, of id: LayerCacheID, driver: String) throws {
    if stowage_umount(merged, 0) != 0, errno != EINVAL, errno != ENOENT {
        throw StowageError(.ioFailure, "cannot unmount \(driver) layer \(id)", underlying: SystemError("umount", path: merged, errno: errno))
    }
    rmdir(merged)
}

/// Whether something is mounted exactly at `path` (from /proc/self/mountinfo).
func isMounted(_ path: String) -> Bool {
    guard let info = FileDescriptor.readText("/proc/self/mountinfo", limit: 16 << 20) else { return false }
    let escaped = path.split(separator: " ", omittingEmptySubsequences: false).joined(separator: "\\040")
    return info.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ", maxSplits: 5)
        return fields.count > 4 && fields[4] == escaped
    }
}
