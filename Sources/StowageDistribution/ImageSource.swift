#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// Files of an image archive or layout, by relative path: a tar file or a directory.
protocol ImageSource {
    /// Every regular file's path (`manifest.json`, `blobs/sha256/…`), without `./`.
    var paths: [String] { get }
    func contains(_ path: String) -> Bool
    /// A stream of one file's contents.
    func open(_ path: String) throws -> ByteSource
    /// One file's contents, refusing files larger than `limit` (JSON documents).
    func bytes(_ path: String, limit: Int) throws -> [UInt8]
    /// One file's size in bytes.
    func size(_ path: String) throws -> Int64
}

extension ImageSource {
    func bytes(_ path: String) throws -> [UInt8] { try bytes(path, limit: 32 << 20) }

    func readAll(_ source: ByteSource, path: String, limit: Int) throws -> [UInt8] {
        try source.readAll(limit: limit, what: path)
    }
}

/// An image archive in a tar file, indexed once by reading its headers only (entry data is
/// skipped with seeks); files are then read in place with `pread`, so every layer is read
/// exactly once.
final class TarFileImageSource: ImageSource {
    private struct Member {
        let offset: Int64
        let size: Int64
        let linkTarget: String?
    }

    private let file: FileDescriptor
    private let archivePath: String
    private var members: [String: Member] = [:]

    init(path: String) throws {
        archivePath = path
        do {
            file = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC)
        } catch let error as SystemError {
            throw StowageError(.notFound, "cannot read \(path)", underlying: error)
        }
        let reader = TarReader(source: FileSource(file), bufferSize: 64 << 10)
        do {
            while let header = try reader.next() {
                let name = Self.clean(header.name)
                switch header.kind {
                case .regular:
                    members[name] = Member(offset: reader.offset, size: header.size, linkTarget: nil)
                case .symbolicLink:
                    let base = name.split(separator: "/").dropLast().joined(separator: "/")
                    let target = header.linkName.hasPrefix("/") ? header.linkName : (base.isEmpty ? "" : base + "/") + header.linkName
                    members[name] = Member(offset: 0, size: 0, linkTarget: Self.clean(target))
                case .hardLink:
                    members[name] = Member(offset: 0, size: 0, linkTarget: Self.clean(header.linkName))
                default:
                    continue
                }
            }
        } catch let error as TarError where error.kind == .truncated {
            throw StowageError(.invalidArchive, "\(path) is truncated (unexpected EOF)", underlying: error)
        } catch let error as TarError {
            throw StowageError(.invalidArchive, "\(path) is not a valid image archive", underlying: error)
        }
        // Entries are skipped by seeking: one whose data runs past the end of the file is
        // what is left of a truncated archive.
        let length = try file.status().size
        if let (name, member) = members.filter({ $0.value.linkTarget == nil && $0.value.offset + $0.value.size > length })
            .min(by: { $0.value.offset < $1.value.offset }) {
            throw StowageError(.invalidArchive, "\(path) is truncated (unexpected EOF): it ends at byte \(length), inside \(name), which needs \(member.offset + member.size)")
        }
    }

    var paths: [String] { members.filter { $0.value.linkTarget == nil }.keys.sorted() }

    func contains(_ path: String) -> Bool { (try? resolve(path)) != nil }

    func open(_ path: String) throws -> ByteSource {
        let member = try resolve(path)
        return FileRangeSource(file, offset: member.offset, length: member.size)
    }

    func size(_ path: String) throws -> Int64 { try resolve(path).size }

    func bytes(_ path: String, limit: Int) throws -> [UInt8] {
        let member = try resolve(path)
        guard member.size <= limit else { throw StowageError(.limitExceeded, "\(path) in \(archivePath) is larger than \(limit) bytes") }
        return try readAll(open(path), path: path, limit: limit)
    }

    /// Follows links between members (Docker writes shared layers as symlinks).
    private func resolve(_ path: String) throws -> Member {
        var name = Self.clean(path)
        for _ in 0..<16 {
            guard let member = members[name] else { break }
            guard let target = member.linkTarget else { return member }
            name = target
        }
        throw StowageError(.notFound, "\(path) is missing from \(archivePath)")
    }

    /// `./a//b/../c` → `a/c`.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }
}

/// An image layout in a directory (an OCI layout, or an unpacked docker-archive). Files are
/// opened inside the directory only: symlinks cannot lead out of it.
final class DirectoryImageSource: ImageSource {
    private let root: FileDescriptor
    private let directoryPath: String
    let paths: [String]

    init(path: String) throws {
        directoryPath = path
        root = try FileDescriptor.openDirectory(path)
        var found: [String] = []
        func walk(_ directory: FileDescriptor, _ prefix: String) throws {
            for name in try directory.childNames() {
                guard let status = try directory.statusOfEntry(name) else { continue }
                let path = prefix.isEmpty ? name : prefix + "/" + name
                if status.isDirectory { try walk(directory.openChildDirectory(name), path) } else { found.append(path) }
            }
        }
        try walk(root, "")
        paths = found.sorted()
    }

    func contains(_ path: String) -> Bool { (try? root.openInRoot(path, FileDescriptor.pathOnly | O_CLOEXEC)) != nil }

    /// Opens a regular file of the layout. Anything else (a FIFO, a device, a socket) is
    /// refused at once: it is looked at through an O_PATH handle, which opens nothing, and
    /// only a regular file is then opened for reading (through that handle: the same inode).
    func open(_ path: String) throws -> ByteSource {
        let handle: FileDescriptor
        do {
            handle = try root.openInRoot(TarFileImageSource.clean(path), FileDescriptor.pathOnly | O_CLOEXEC)
        } catch let error as SystemError {
            throw StowageError(.notFound, "\(path) is missing from \(directoryPath)", underlying: error)
        }
        let status = try handle.status()
        guard status.isRegular else {
            let kinds: [UInt32: String] = [UInt32(S_IFIFO): "a FIFO", UInt32(S_IFDIR): "a directory", UInt32(S_IFCHR): "a character device",
                                           UInt32(S_IFBLK): "a block device", UInt32(S_IFSOCK): "a socket"]
            throw StowageError(.invalidArchive, "\(path) in \(directoryPath) is \(kinds[status.type] ?? "not a regular file"), not a regular file")
        }
        let fd = Glibc.open(handle.procPath, O_RDONLY | O_CLOEXEC)
        try SystemError.check(fd, "open", handle.path)
        return FileSource(FileDescriptor(adopting: fd, path: handle.path))
    }

    func bytes(_ path: String, limit: Int) throws -> [UInt8] {
        try readAll(open(path), path: path, limit: limit)
    }

    func size(_ path: String) throws -> Int64 {
        guard let file = try open(path) as? FileSource else { return 0 }
        return try file.descriptor.status().size
    }
}
