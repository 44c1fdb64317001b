#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// One change of a layer against its parent, as `docker diff` prints it.
public struct Change: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case added = "A", modified = "C", deleted = "D"
    }

    /// Absolute inside the layer: `/etc/motd`.
    public let path: String
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public var description: String { "\(kind.rawValue) \(path)" }
}

/// Docker's naive diff: two complete trees compared entry by entry (`archive.ChangesDirs`),
/// and the differences written as a layer tar (`archive.ExportChanges`). Serves every driver
/// that cannot read its own changes directly.
public enum NaiveDiff {
    /// What differs in `layer` from `parent` (nil: an empty parent), sorted by path.
    ///
    /// A path only in `layer` is added (and so is everything below it), one only in `parent`
    /// is deleted (its children are not listed), one in both is modified when its type,
    /// permissions, owner, device or extended attribute `security.capability` differ, or, for
    /// a non-directory, its size or modification time. A directory holding changes is itself
    /// modified.
    ///
    /// - Parameter upper: where `layer`'s own entries are, when `layer` is a union mount of them
    ///   over exactly `parent` (an overlay upper directory without redirected directories): a
    ///   path that is not there comes from `parent` unchanged, so the walk skips it. The result
    ///   is the same; the work follows the size of the changes, not of the image.
    public static func changes(layer: String, parent: String?, upper: String? = nil) throws -> [Change] {
        try changes(layer: FileDescriptor.openDirectory(layer), parent: parent.map { try FileDescriptor.openDirectory($0) },
                    upper: upper)
    }

    /// The same, over any two views of trees (such as `OverlayStackView`s, which need no mount).
    public static func changes<View: TreeView>(layer new: View, parent old: View?, upper: String? = nil) throws -> [Change] {
        let upperDirectory = try upper.map { try FileDescriptor.openDirectory($0) }
        var changes: [Change] = []
        try compare(new, old, upper: old == nil ? nil : upperDirectory, path: "", into: &changes)
        return changes.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private static func compare<View: TreeView>(_ new: View, _ old: View?, upper: FileDescriptor?, path: String,
                                                into changes: inout [Change]) throws {
        let newNames = Set(try new.childNames())
        let oldNames = Set(try old?.childNames() ?? [])
        for name in oldNames.subtracting(newNames) {
            changes.append(Change(path: path + "/" + name, kind: .deleted))
        }
        for name in newNames {
            let upperStatus = try upper?.statusOfEntry(name)
            if upper != nil, upperStatus == nil, oldNames.contains(name) { continue }  // the parent's own entry
            guard let status = try new.statusOfEntry(name) else { continue }
            let childPath = path + "/" + name
            let oldStatus = try old?.statusOfEntry(name)
            let countBefore = changes.count
            let isDirectory = status.isDirectory
            if let oldStatus {
                if try differs(oldStatus, status, name: name, old: old!, new: new) {
                    changes.append(Change(path: childPath, kind: .modified))
                }
                if isDirectory, oldStatus.isDirectory {
                    let childUpper = try upperStatus?.isDirectory == true ? upper!.openChildDirectory(name) : nil
                    try compare(try new.childView(name), try old!.childView(name), upper: childUpper,
                                path: childPath, into: &changes)
                    let modifiedItself = changes[countBefore...].contains { $0.path == childPath }
                    if changes.count > countBefore, !modifiedItself {
                        changes.insert(Change(path: childPath, kind: .modified), at: countBefore)
                    }
                } else if isDirectory {
                    try compare(try new.childView(name), nil, upper: nil, path: childPath, into: &changes)
                }
            } else {
                changes.append(Change(path: childPath, kind: .added))
                if isDirectory {
                    try compare(try new.childView(name), nil, upper: nil, path: childPath, into: &changes)
                }
            }
        }
    }

    private static func differs<View: TreeView>(_ old: FileStatus, _ new: FileStatus, name: String,
                                                old oldDirectory: View, new newDirectory: View) throws -> Bool {
        if old.mode != new.mode || old.uid != new.uid || old.gid != new.gid || old.rdev != new.rdev { return true }
        if !new.isDirectory, old.modificationSeconds != new.modificationSeconds
            || old.modificationNanoseconds != new.modificationNanoseconds || old.size != new.size {
            return true
        }
        guard !new.isSymbolicLink else { return false }
        let oldCapability = try oldDirectory.capability(of: name)
        let newCapability = try newDirectory.capability(of: name)
        return oldCapability != newCapability
    }

    /// The bytes of the non-directories among `changes` (added or modified), each inode
    /// once: Docker's `ChangesSize` (symbolic links count their target's length).
    public static func size(of changes: [Change], in layer: String) throws -> Int64 {
        let root = try FileDescriptor.openDirectory(layer)
        var seen: Set<[UInt64]> = []
        var total: Int64 = 0
        for change in changes where change.kind != .deleted {
            let relative = String(change.path.dropFirst())
            guard let status = try root.statusOfEntry(relative), !status.isDirectory,
                  seen.insert([status.device, status.inode]).inserted else { continue }
            total += status.size
        }
        return total
    }

    /// Writes the changes of `layer` against `parent` as a layer tar: added and modified
    /// entries as they are in `layer`, deletions as `.wh.` entries (with a zero time, so that
    /// the same changes always give the same diff_id).
    public static func export(layer: String, parent: String?, to sink: ByteSink) throws -> ArchiveResult {
        let changes = try changes(layer: layer, parent: parent)
        let hashing = HashingSink(sink)
        let writer = TarWriter(sink: hashing)
        let encoder = TarEntryEncoder(writer: writer, whiteoutFormat: .plain)
        let root = try FileDescriptor.openDirectory(layer)
        for change in changes {
            let relative = String(change.path.dropFirst())
            let slash = relative.lastIndex(of: "/")
            let directoryPath = slash.map { String(relative[..<$0]) } ?? ""
            let name = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
            switch change.kind {
            case .deleted:
                var header = TarHeader(name: (directoryPath.isEmpty ? "" : directoryPath + "/") + Whiteout.prefix + name,
                                       typeflag: TarHeader.regularFlag)
                header.mode = 0
                try writer.writeHeader(header)
            case .added, .modified:
                let directory = directoryPath.isEmpty ? root : try root.openBeneath(directoryPath, O_RDONLY | O_DIRECTORY)
                guard let status = try directory.statusOfEntry(name) else { continue }
                try encoder.add(name, in: directory, path: relative, status: status)
            }
        }
        try encoder.finish()
        return ArchiveResult(diffID: DiffID(hashing.digest), byteCount: hashing.byteCount, contentSize: encoder.contentSize)
    }
}

