#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// What archiving a directory produced.
public struct ArchiveResult: Sendable, Equatable {
    /// sha256 of the tar stream written.
    public let diffID: DiffID
    /// Bytes of the tar stream.
    public let byteCount: Int64
    /// Sum of the entries' sizes: what Docker stores as a layer's `size`.
    public let contentSize: Int64

    public init(diffID: DiffID, byteCount: Int64, contentSize: Int64) {
        self.diffID = diffID
        self.byteCount = byteCount
        self.contentSize = contentSize
    }
}

/// Writes a whole directory as an uncompressed layer tar: the reverse of `LayerApplier`.
///
/// Entries come in Go's `filepath.Walk` order (depth first, names sorted bytewise), the
/// root itself is left out, and every entry is encoded by `TarEntryEncoder`, so an overlay
/// upper directory archived with `.overlay` whiteouts gives the tar Docker's overlay2 driver
/// would export. Symlinks are recorded, never followed.
public enum DirectoryArchiver {
    public static func archive(_ directory: String, to sink: ByteSink,
                               whiteoutFormat: Whiteout.Format = .plain) throws -> ArchiveResult {
        let hashing = HashingSink(sink)
        let encoder = TarEntryEncoder(writer: TarWriter(sink: hashing), whiteoutFormat: whiteoutFormat)
        do {
            let root = try FileDescriptor.openDirectory(directory)
            try walk(root, path: "", encoder: encoder)
            try encoder.finish()
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot archive \(directory)", underlying: error)
        } catch let error as TarError {
            throw StowageError(.invalidArchive, "cannot archive \(directory)", underlying: error)
        }
        return ArchiveResult(diffID: DiffID(hashing.digest), byteCount: hashing.byteCount,
                             contentSize: encoder.contentSize)
    }

    /// Writes entry `name` of `parent` (`.` for `parent` itself) and, for a directory,
    /// everything below it, named `rootName` and `rootName/…` in the tar: Docker's archive of
    /// one path (`TarResourceRebase`, what `docker cp` sends). A `rootName` of `/` gives
    /// `/`, `/bin`, … as Docker's archive of a container's `/` does.
    ///
    /// - Parameter mounted: directories archived in place of the ones at these tar paths
    ///   (without the trailing `/`), as volumes mounted inside a container's root filesystem.
    public static func archiveEntry(_ name: String, in parent: FileDescriptor, as rootName: String, to sink: ByteSink,
                                    mounted: [String: FileDescriptor] = [:]) throws -> ArchiveResult {
        let hashing = HashingSink(sink)
        let encoder = TarEntryEncoder(writer: TarWriter(sink: hashing), whiteoutFormat: .plain)
        do {
            guard let status = try parent.statusOfEntry(name) else {
                throw SystemError("lstat", path: parent.join(name), errno: ENOENT)
            }
            let headerPath = rootName == "/" ? "" : rootName
            try encoder.add(name, in: parent, path: headerPath, status: status)
            if status.isDirectory {
                try walk(try parent.openChildDirectory(name), path: rootName, encoder: encoder, mounted: mounted)
            }
            try encoder.finish()
        } catch let error as TarError {
            throw StowageError(.invalidArchive, "cannot archive \(parent.join(name))", underlying: error)
        }
        return ArchiveResult(diffID: DiffID(hashing.digest), byteCount: hashing.byteCount, contentSize: encoder.contentSize)
    }

    /// Writes what is below `directory`, whose tar path is `path` (empty for a layer's root).
    private static func walk(_ directory: FileDescriptor, path: String, encoder: TarEntryEncoder,
                             mounted: [String: FileDescriptor] = [:]) throws {
        let names = try directory.childNames().sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            let childPath = path.isEmpty ? name : path.hasSuffix("/") ? path + name : path + "/" + name
            if let other = mounted[childPath] {
                try encoder.add(".", in: other, path: childPath, status: try other.status())
                try walk(other, path: childPath, encoder: encoder, mounted: mounted)
                continue
            }
            guard let status = try directory.statusOfEntry(name) else { continue }  // removed meanwhile
            try encoder.add(name, in: directory, path: childPath, status: status)
            if status.isDirectory {
                try walk(try directory.openChildDirectory(name), path: childPath, encoder: encoder, mounted: mounted)
            }
        }
    }
}
