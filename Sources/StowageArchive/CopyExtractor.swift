import StowageCore
import StowageFileSystem
import StowageTar

/// Extracts a tar (plain, gzip or zstd) into a directory of a tree made of several
/// directories, as `docker cp` extracts into a container whose volumes are mounted inside
/// its root filesystem: Docker's `Untar` with `NoOverwriteDirNonDir` (see `CopyRules`).
///
/// Each entry goes to the directory mounted deepest above its path, and inside that
/// directory it is written as `LayerApplier` writes: parents resolved as if the directory
/// were `/`, the final component never followed, names climbing out with `..` refused.
public enum CopyExtractor {
    /// A directory of the host standing at `path` (components) of the tree; the tree's own
    /// root stands at `[]`.
    public struct MountedDirectory: Sendable {
        public let path: [String]
        public let directory: String
        /// Mounted read-only into the tree: an entry for it is refused.
        public let isReadOnly: Bool
        /// How the directory is named in messages: its path in the tree unless told.
        let shownPath: String

        public init(path: [String], directory: String, isReadOnly: Bool = false, shownAs: String? = nil) {
            self.path = path
            self.directory = directory
            self.isReadOnly = isReadOnly
            shownPath = shownAs ?? "/" + path.joined(separator: "/")
        }
    }

    /// - Parameters:
    ///   - destination: components of the tree where the entries land: an existing directory.
    ///   - directories: the tree, one of them at `[]`.
    ///   - shownDestination: how messages name the destination; its path in the tree unless told.
    ///   - renaming: entries named `from` or `from/…` are written as `to`, `to/…` (Docker's
    ///     `RebaseArchiveEntries`; `from` `/` puts `to` before every name).
    /// - Throws: `StowageError` naming the entry and the cause; entries before it stay written,
    ///   as Docker's do.
    public static func extract(from source: ByteSource, into destination: [String], of directories: [MountedDirectory],
                               rules: CopyRules, shownDestination: String? = nil,
                               renaming: (from: String, to: String)? = nil) throws {
        let deepestFirst = directories.sorted { $0.path.count > $1.path.count }
        var options = ApplyOptions()
        options.copy = rules
        let shownDestination = shownDestination ?? "/" + destination.joined(separator: "/")
        var writers: [Int: EntryWriter] = [:]
        let writer = { (index: Int) throws -> EntryWriter in
            if let made = writers[index] { return made }
            let mounted = deepestFirst[index]
            let root = try TarSplitAssembler.wrap("open \(mounted.directory)") { try FileDescriptor.openDirectory(mounted.directory) }
            let made = EntryWriter(root: root, options: options, shownRoot: mounted.shownPath, shownDestination: shownDestination)
            writers[index] = made
            return made
        }
        let place = { (components: [String]) throws -> (index: Int, inside: [String]) in
            guard let index = deepestFirst.firstIndex(where: { components.starts(with: $0.path) }) else {
                throw StowageError(.internalError, "no directory of the tree holds /\(components.joined(separator: "/"))")
            }
            guard !deepestFirst[index].isReadOnly else {
                throw StowageError(.invalidArgument, "cannot write /\(components.joined(separator: "/")): \(deepestFirst[index].shownPath) is mounted read-only")
            }
            return (index, Array(components.dropFirst(deepestFirst[index].path.count)))
        }

        let reader = TarReader(source: try LayerStream(source))
        do {
            while var header = try reader.next() {
                if let renaming {
                    header.name = rebase(header.name, renaming)
                    if header.kind == .hardLink { header.linkName = rebase(header.linkName, renaming) }
                }
                let name = try LayerPath.components(header.nameBytes)
                guard !name.isEmpty else {  // the destination itself keeps its metadata
                    try drain(reader)
                    continue
                }
                let (index, inside) = try place(destination + name)
                var linkTarget: [String]?
                if header.kind == .hardLink {
                    let target = try place(destination + LayerPath.components(header.linkNameBytes, what: "hard link target of \"\(header.name)\""))
                    guard target.index == index else {
                        throw StowageError(.unsupported, "hard link \"\(header.name)\" points into another mount: \(header.linkName)")
                    }
                    linkTarget = target.inside
                }
                try writer(index).write(header, at: inside, linkTarget: linkTarget, data: reader, observe: nil)
                try drain(reader)
            }
            for index in writers.keys.sorted() { try writers[index]?.finish() }
            try drainTrailing(reader)  // a producer on the other end writes to its end
        } catch let error as TarError {
            throw StowageError(.invalidArchive, "the archive is malformed", underlying: error)
        }
    }

    private static func rebase(_ name: String, _ renaming: (from: String, to: String)) -> String {
        if renaming.from == "/" { return renaming.to + name }
        guard name == renaming.from || name.hasPrefix(renaming.from + "/") else { return name }
        return renaming.to + name.dropFirst(renaming.from.count)
    }

    private static func drainTrailing(_ reader: TarReader) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while try reader.readTrailing(into: buffer) > 0 {}
    }

    private static func drain(_ reader: TarReader) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while try reader.read(into: buffer) > 0 {}
    }
}
