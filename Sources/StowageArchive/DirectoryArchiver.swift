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

    private static func walk(_ directory: FileDescriptor, path: String, encoder: TarEntryEncoder) throws {
        let names = try directory.childNames().sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            guard let status = try directory.statusOfEntry(name) else { continue }  // removed meanwhile
            let childPath = path.isEmpty ? name : path + "/" + name
            try encoder.add(name, in: directory, path: childPath, status: status)
            if status.isDirectory {
                try walk(try directory.openChildDirectory(name), path: childPath, encoder: encoder)
            }
        }
    }
}
