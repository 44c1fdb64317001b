#if canImport(Glibc)
import Glibc
#endif
import CStowageShim

/// Operations on one entry of an open directory, by name. The final component is never
/// followed: callers resolve the directory safely, then act on a plain child name.
extension FileDescriptor {
    /// `fstatat(AT_SYMLINK_NOFOLLOW)`; nil if the entry does not exist.
    public func statusOfEntry(_ name: String) throws -> FileStatus? {
        var st = stat()
        if fstatat(rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return FileStatus(st) }
        if errno == ENOENT { return nil }
        throw SystemError("stat", path: join(name), errno: errno)
    }

    public func makeDirectory(_ name: String, mode: mode_t) throws {
        try SystemError.check(mkdirat(rawValue, name, mode), "mkdir", join(name))
    }

    public func makeSymbolicLink(_ name: String, target: [UInt8]) throws {
        let result = (target + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { symlinkat($0.baseAddress!, rawValue, name) }
        }
        try SystemError.check(result, "symlink", join(name))
    }

    /// A hard link `name` here to `targetName` in `targetDirectory` (not following symlinks).
    public func makeHardLink(_ name: String, to targetName: String, in targetDirectory: FileDescriptor) throws {
        try SystemError.check(linkat(targetDirectory.rawValue, targetName, rawValue, name, 0), "link", join(name))
    }

    public func makeNode(_ name: String, mode: mode_t, major: UInt32, minor: UInt32) throws {
        try SystemError.check(stowage_mknodat(rawValue, name, mode, major, minor), "mknod", join(name))
    }

    /// Creates a regular file that must not exist yet, for writing.
    public func createFile(_ name: String, mode: mode_t) throws -> FileDescriptor {
        let fd = openat(rawValue, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        try SystemError.check(fd, "create", join(name))
        return FileDescriptor(adopting: fd, path: join(name))
    }

    /// Opens a child with O_PATH | O_NOFOLLOW: a handle on the entry itself, even a symlink.
    public func openEntryHandle(_ name: String) throws -> FileDescriptor {
        let fd = openat(rawValue, name, FileDescriptor.pathOnly | O_NOFOLLOW | O_CLOEXEC)
        try SystemError.check(fd, "open", join(name))
        return FileDescriptor(adopting: fd, path: join(name))
    }

    /// Opens a child directory without following a symlink.
    public func openChildDirectory(_ name: String) throws -> FileDescriptor {
        let fd = openat(rawValue, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        try SystemError.check(fd, "open", join(name))
        return FileDescriptor(adopting: fd, path: join(name))
    }

    /// Opens a child regular file for reading without following a symlink.
    public func openChildFile(_ name: String) throws -> FileDescriptor {
        let fd = openat(rawValue, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        try SystemError.check(fd, "open", join(name))
        return FileDescriptor(adopting: fd, path: join(name))
    }

    public func readSymbolicLink(_ name: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { readlinkat(rawValue, name, $0.baseAddress!, $0.count) }
        }
        try SystemError.check(count, "readlink", join(name))
        return Array(buffer[0..<count])
    }

    /// Removes a child of any type; a directory with everything below it. Never follows symlinks.
    /// Missing entries are not an error, so two removals of one tree may run at once.
    public func removeEntry(_ name: String) throws {
        if unlinkat(rawValue, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR || errno == EPERM else { throw SystemError("unlink", path: join(name), errno: errno) }
        let child: FileDescriptor
        do {
            child = try openChildDirectory(name)
        } catch let error as SystemError where error.errno == ENOENT {
            return  // removed meanwhile by another removal of the same tree
        }
        try child.removeAllChildren()
        if unlinkat(rawValue, name, AT_REMOVEDIR) != 0, errno != ENOENT {
            throw SystemError("rmdir", path: join(name), errno: errno)
        }
    }

    /// Removes the tree at `path` (a file or a whole directory); a missing one is not an error.
    public static func removeTree(_ path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { throw SystemError("remove", path: path, errno: EINVAL) }
        let parent = try FileDescriptor.openDirectory(slash == path.startIndex ? "/" : String(path[..<slash]))
        try parent.removeEntry(String(path[path.index(after: slash)...]))
    }

    /// Removes every child of this directory, keeping the names `keep` returns true for.
    public func removeAllChildren(keeping keep: (String) -> Bool = { _ in false }) throws {
        for name in try childNames() where !keep(name) {
            try removeEntry(name)
        }
    }

    /// The names in this directory, without `.` and `..`.
    public func childNames() throws -> [String] {
        var names: [String] = []
        try forEachChild { names.append($0); return true }
        return names
    }

    /// Whether some name in this directory (not `.` or `..`) satisfies `predicate`; reads the
    /// directory only up to the first that does.
    public func containsChild(where predicate: (String) -> Bool) throws -> Bool {
        var found = false
        try forEachChild { name in
            found = predicate(name)
            return !found
        }
        return found
    }

    /// Whether this directory has no names but `.` and `..`; reads at most one entry more.
    public func isEmptyDirectory() throws -> Bool {
        try !containsChild { _ in true }
    }

    /// Calls `body` with each name (not `.` or `..`) until it returns false.
    private func forEachChild(_ body: (String) -> Bool) throws {
        let duplicate = dup(rawValue)
        try SystemError.check(duplicate, "dup", path)
        guard let stream = fdopendir(duplicate) else {
            let code = errno
            close(duplicate)
            throw SystemError("opendir", path: path, errno: code)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != "..", !body(name) { return }
        }
    }

    /// Sets access and modification times of this open file (`futimens`; not for O_PATH handles).
    public func setTimes(access: (Int64, Int64), modification: (Int64, Int64)) throws {
        var times = [timespec(tv_sec: Int(access.0), tv_nsec: Int(access.1)),
                     timespec(tv_sec: Int(modification.0), tv_nsec: Int(modification.1))]
        try SystemError.check(futimens(rawValue, &times), "futimens", path)
    }

    /// Sets access and modification times of a child, not following a symlink.
    public func setTimes(_ name: String, access: (Int64, Int64), modification: (Int64, Int64)) throws {
        try SystemError.check(
            stowage_utimensat_nofollow(rawValue, name, access.0, access.1, modification.0, modification.1),
            "utimensat", join(name))
    }

    /// Renames between paths (relative to the working directory or absolute).
    public static func rename(_ path: String, to newPath: String, noReplace: Bool = false) throws {
        try SystemError.check(stowage_renameat2(AT_FDCWD, path, AT_FDCWD, newPath, noReplace ? 1 : 0), "rename", path)
    }

    public func rename(_ name: String, to newName: String, in directory: FileDescriptor, noReplace: Bool = false) throws {
        try SystemError.check(stowage_renameat2(rawValue, name, directory.rawValue, newName, noReplace ? 1 : 0),
                              "rename", join(name))
    }

    // MARK: - On a handle (any descriptor, O_PATH ones included)

    /// Changes owner without following symlinks (works on O_PATH handles).
    public func changeOwner(uid: UInt32, gid: UInt32) throws {
        try SystemError.check(stowage_fchown_empty_path(rawValue, uid, gid), "chown", path)
    }

    /// Changes permission bits: `fchmod` on an open file, through `/proc/self/fd/N` on an
    /// O_PATH handle (which `fchmod` refuses); not for symlinks.
    public func changeMode(_ mode: mode_t) throws {
        if fchmod(rawValue, mode) == 0 { return }
        guard errno == EBADF else { throw SystemError("chmod", path: path, errno: errno) }
        try SystemError.check(chmod(procPath, mode), "chmod", path)
    }

    /// Sets an extended attribute on exactly this file (symlinks included, through /proc/self/fd).
    public func setExtendedAttribute(_ name: String, _ value: [UInt8]) throws {
        let result = value.withUnsafeBytes { stowage_setxattr(procPath, name, $0.baseAddress, $0.count) }
        try SystemError.check(result, "setxattr \(name)", path)
    }

    /// Reads an extended attribute; nil if it is not set.
    public func extendedAttribute(_ name: String) throws -> [UInt8]? {
        var capacity = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let count = buffer.withUnsafeMutableBytes { stowage_getxattr(procPath, name, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno == ENODATA || errno == ENOTSUP { return nil }
            if errno == ERANGE { capacity *= 4; continue }
            throw SystemError("getxattr \(name)", path: path, errno: errno)
        }
    }

    /// The names of all extended attributes of exactly this file.
    public func extendedAttributeNames() throws -> [String] {
        var capacity = 1024
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let count = buffer.withUnsafeMutableBytes { raw in
                raw.withMemoryRebound(to: CChar.self) { stowage_listxattr(procPath, $0.baseAddress, $0.count) }
            }
            if count >= 0 {
                return buffer[0..<count].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            }
            if errno == ENOTSUP { return [] }
            if errno == ERANGE { capacity *= 4; continue }
            throw SystemError("listxattr", path: path, errno: errno)
        }
    }
}
