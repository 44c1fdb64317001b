#if canImport(Glibc)
import Glibc
#endif
import CStowageShim

/// An open file descriptor that closes itself when released. `path` is kept for messages.
public final class FileDescriptor: Sendable {
    public let rawValue: Int32
    public let path: String

    public init(adopting rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    deinit { close(rawValue) }

    /// O_PATH (Linux): a handle that names a file without opening it for I/O.
    public static let pathOnly: Int32 = 0o10000000

    /// Opens `path` (relative to the working directory or absolute). O_CLOEXEC is added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        try SystemError.check(fd, "open", path)
        return FileDescriptor(adopting: fd, path: path)
    }

    /// Opens a directory for use as the root of descriptor-relative operations.
    public static func openDirectory(_ path: String) throws -> FileDescriptor {
        try open(path, O_RDONLY | O_DIRECTORY)
    }

    /// Opens `relative` below this directory, not following a final symlink and never
    /// resolving outside (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
    public func openBeneath(_ relative: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = stowage_open_beneath_nofollow(rawValue, relative, flags, mode)
        try SystemError.check(fd, "open", join(relative))
        return FileDescriptor(adopting: fd, path: join(relative))
    }

    /// Opens `relative` as if this directory were `/`: symlinks and `..` are resolved inside it
    /// (openat2 RESOLVE_IN_ROOT), the way a chrooted process would see them.
    public func openInRoot(_ relative: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = stowage_open_in_root(rawValue, relative.isEmpty ? "." : relative, flags, mode)
        try SystemError.check(fd, "open", join(relative))
        return FileDescriptor(adopting: fd, path: join(relative))
    }

    /// `path` joined with a child name, for messages.
    public func join(_ name: String) -> String {
        if name.isEmpty || name == "." { return path }
        return path.hasSuffix("/") ? path + name : path + "/" + name
    }

    /// Reads up to `buffer.count` bytes; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SystemError("read", path: path, errno: errno)
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path: path, errno: errno)
            }
            offset += count
        }
    }

    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// Starts writing this file's data to disk without waiting for it (`sync_file_range`
    /// with `SYNC_FILE_RANGE_WRITE`); a later `syncFileSystem` then has little left to wait for.
    public func startWriteback() {
        _ = stowage_start_writeback(rawValue)
    }

    /// Flushes every file of the filesystem this descriptor is on (`syncfs`).
    public func syncFileSystem() throws {
        try SystemError.check(stowage_syncfs(rawValue), "syncfs", path)
    }

    /// Flushes data and metadata to disk.
    public func sync() throws {
        try SystemError.check(fsync(rawValue), "fsync", path)
    }

    /// `fstat` of this descriptor.
    public func status() throws -> FileStatus {
        var st = stat()
        try SystemError.check(fstat(rawValue, &st), "stat", path)
        return FileStatus(st)
    }

    /// The filesystem magic number (statfs f_type) of the filesystem holding this file.
    public func filesystemType() throws -> Int64 {
        var type: Int64 = 0
        try SystemError.check(stowage_fstatfs_type(rawValue, &type), "statfs", path)
        return type
    }

    /// `/proc/self/fd/N`: a path that reaches exactly this open file, symlinks included.
    public var procPath: String { "/proc/self/fd/\(rawValue)" }

    /// Where the kernel says this descriptor's file is now (readlink of `procPath`).
    public func resolvedPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(procPath, &buffer, buffer.count - 1)
        try SystemError.check(count, "readlink", procPath)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The parts of `struct stat` Stowage uses.
public struct FileStatus: Sendable, Equatable {
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let size: Int64
    public let device: UInt64
    public let inode: UInt64
    public let linkCount: UInt64
    public let rdev: UInt64
    public let modificationSeconds: Int64
    public let modificationNanoseconds: Int64
    public let accessSeconds: Int64
    public let accessNanoseconds: Int64
    public let changeSeconds: Int64
    public let changeNanoseconds: Int64

    init(_ st: stat) {
        mode = st.st_mode
        uid = st.st_uid
        gid = st.st_gid
        size = Int64(st.st_size)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        linkCount = UInt64(st.st_nlink)
        rdev = UInt64(st.st_rdev)
        modificationSeconds = Int64(st.st_mtim.tv_sec)
        modificationNanoseconds = Int64(st.st_mtim.tv_nsec)
        accessSeconds = Int64(st.st_atim.tv_sec)
        accessNanoseconds = Int64(st.st_atim.tv_nsec)
        changeSeconds = Int64(st.st_ctim.tv_sec)
        changeNanoseconds = Int64(st.st_ctim.tv_nsec)
    }

    public var type: UInt32 { mode & UInt32(S_IFMT) }
    public var isDirectory: Bool { type == UInt32(S_IFDIR) }
    public var isRegular: Bool { type == UInt32(S_IFREG) }
    public var isSymbolicLink: Bool { type == UInt32(S_IFLNK) }
    public var isCharacterDevice: Bool { type == UInt32(S_IFCHR) }
    public var isBlockDevice: Bool { type == UInt32(S_IFBLK) }
    public var isFIFO: Bool { type == UInt32(S_IFIFO) }
    public var permissions: UInt32 { mode & 0o7777 }
    public var deviceMajor: UInt32 { UInt32(stowage_major(rdev)) }
    public var deviceMinor: UInt32 { UInt32(stowage_minor(rdev)) }
}

extension FileDescriptor {
    /// Creates the directory `path` with `mode` unless it exists already.
    /// - Throws: `SystemError` for anything but `EEXIST`.
    /// Whether the filesystem holding `path` is mounted read-only.
    public static func isOnReadOnlyFileSystem(_ path: String) -> Bool {
        var info = statvfs()
        return statvfs(path, &info) == 0 && (info.f_flag & UInt(ST_RDONLY)) != 0
    }

    /// Makes the directory unless it exists. On a read-only filesystem a missing one stays
    /// missing (nothing can be put in it there; readers find it empty).
    public static func ensureDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0, errno != EEXIST, errno != EROFS {
            throw SystemError("mkdir", path: path, errno: errno)
        }
    }
}

extension FileDescriptor {
    /// The status of what is at `path` (a final symlink itself unless `followingLink`), or
    /// nil when nothing is.
    public static func status(at path: String, followingLink: Bool = false) -> FileStatus? {
        var st = stat()
        return (followingLink ? stat(path, &st) : lstat(path, &st)) == 0 ? FileStatus(st) : nil
    }

    /// Whether anything (even a dangling symlink) is at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// A file's bytes (at most `limit`), or nil when it is missing or cannot be read.
    public static func readBytes(_ path: String, limit: Int = 1 << 30) -> [UInt8]? {
        readPrefix(path, upTo: limit + 1).flatMap { $0.count > limit ? nil : $0 }
    }

    /// Up to `maximum` bytes from the start of the file (all of a shorter one), or nil if it
    /// cannot be read. Read into one buffer of the file's size: no zeroing, no copy.
    public static func readPrefix(_ path: String, upTo maximum: Int) -> [UInt8]? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) else { return nil }
        let expected = (try? file.status().size).map { Int($0) } ?? 0
        let capacity = min(max(expected, 0) + 1, maximum)  // one more, to see a file that grew
        var failed = false
        var bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            initialized = 0
            while initialized < buffer.count {
                let rest = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[initialized...]))
                guard let got = try? file.read(into: rest) else { failed = true; return }
                if got == 0 { return }
                initialized += got
            }
        }
        if failed { return nil }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var grew = bytes.count == capacity
        while grew, bytes.count < maximum {
            let wanted = min(chunk.count, maximum - bytes.count)
            guard let got = try? chunk.withUnsafeMutableBytes({ try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted])) }) else { return nil }
            grew = got > 0
            bytes += chunk[..<got]
        }
        return bytes
    }

    /// A small text file's contents without surrounding whitespace, or nil if it cannot be read.
    public static func readText(_ path: String, limit: Int = 1 << 20) -> String? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= limit {
            guard let got = try? chunk.withUnsafeMutableBytes({ try file.read(into: $0) }) else { return nil }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D }
        var text = bytes[...]
        while let first = text.first, isSpace(first) { text = text.dropFirst() }
        while let last = text.last, isSpace(last) { text = text.dropLast() }
        return String(decoding: text, as: UTF8.self)
    }
}
