#if canImport(Glibc)
import Glibc
#endif
import CStowageShim

/// Copies a directory tree exactly: types, contents, modes (setuid and sticky bits too),
/// ownership, extended attributes, hard links, device nodes, FIFOs and times (directories
/// last). File data is shared with a reflink where the filesystem can (btrfs, xfs), copied
/// in the kernel with `copy_file_range` otherwise. Symlinks are copied, never followed;
/// sockets are skipped.
public struct TreeCopier {
    /// The destination root; paths below are relative to it (no descriptor per directory is
    /// kept open, so deep or wide trees do not run out of descriptors).
    private let root: FileDescriptor
    /// Files already copied, by source identity, for hard links.
    private var copiedInodes: [FileKey: String] = [:]
    private var directoryTimes: [(path: String, status: FileStatus)] = []

    /// Regular files are hard-linked to the source's instead of copied.
    private let linkingFiles: Bool

    private init(root: FileDescriptor, linkingFiles: Bool) {
        self.root = root
        self.linkingFiles = linkingFiles
    }

    /// Copies everything inside `source` into `destination`, an existing empty directory
    /// that takes on the source directory's own metadata.
    /// - Parameter linkingFiles: hard-link regular files to the source's (same filesystem
    ///   only), as the legacy overlay driver does; everything else is still copied.
    public static func copy(from source: String, to destination: String, linkingFiles: Bool = false) throws {
        let from = try FileDescriptor.openDirectory(source)
        let to = try FileDescriptor.openDirectory(destination)
        var copier = TreeCopier(root: to, linkingFiles: linkingFiles)
        try copier.copyChildren(of: from, into: to, path: "")
        try copier.copyMetadata(try from.status(), from: from, to: to)
        for entry in copier.directoryTimes.reversed() {
            try to.setTimes(entry.path, status: entry.status)
        }
        try to.setTimes(".", status: try from.status())
    }

    private mutating func copyChildren(of source: FileDescriptor, into destination: FileDescriptor, path: String) throws {
        for name in try source.childNames() {
            guard let status = try source.statusOfEntry(name) else { continue }
            try copyEntry(name, path: path.isEmpty ? name : path + "/" + name, status: status, from: source, into: destination)
        }
    }

    private mutating func copyEntry(_ name: String, path: String, status: FileStatus, from source: FileDescriptor,
                                    into destination: FileDescriptor) throws {
        let key = FileKey(device: status.device, inode: status.inode)
        if !status.isDirectory, status.linkCount > 1, let first = copiedInodes[key] {
            // `first` is a path this copy made through directories it created itself.
            try destination.makeHardLink(name, to: first, in: root)
            return
        }
        switch status.type {
        case UInt32(S_IFDIR):
            try destination.makeDirectory(name, mode: 0o700)
            let from = try source.openChildDirectory(name)
            let to = try destination.openChildDirectory(name)
            try copyChildren(of: from, into: to, path: path)
            try copyMetadata(status, from: from, to: to)
            directoryTimes.append((path, status))
            return
        case UInt32(S_IFREG) where linkingFiles:
            try destination.makeHardLink(name, to: name, in: source)
            return  // the same inode: its metadata is already right
        case UInt32(S_IFREG):
            let from = try source.openChildFile(name)
            let to = try destination.createFile(name, mode: 0o600)
            try Self.copyContents(from: from, to: to, size: status.size)
            try copyMetadata(status, from: from, to: to)
        case UInt32(S_IFLNK):
            try destination.makeSymbolicLink(name, target: try source.readSymbolicLink(name))
            let handle = try destination.openEntryHandle(name)
            try handle.changeOwner(uid: status.uid, gid: status.gid)
            try Self.copyExtendedAttributes(from: try source.openEntryHandle(name), to: handle)
        case UInt32(S_IFCHR), UInt32(S_IFBLK), UInt32(S_IFIFO):
            try destination.makeNode(name, mode: mode_t(status.type) | 0o600, major: status.deviceMajor, minor: status.deviceMinor)
            try copyMetadata(status, from: try source.openEntryHandle(name), to: try destination.openEntryHandle(name))
        default:
            return  // sockets belong to running processes, not to layers
        }
        try destination.setTimes(name, status: status)
        if status.linkCount > 1 { copiedInodes[key] = path }
    }

    /// Owner, then extended attributes, then mode (chown clears setuid bits).
    private func copyMetadata(_ status: FileStatus, from source: FileDescriptor, to destination: FileDescriptor) throws {
        try destination.changeOwner(uid: status.uid, gid: status.gid)
        try Self.copyExtendedAttributes(from: source, to: destination)
        try destination.changeMode(mode_t(status.permissions))
    }

    private static func copyExtendedAttributes(from source: FileDescriptor, to destination: FileDescriptor) throws {
        for name in try source.extendedAttributeNames() {
            guard let value = try source.extendedAttribute(name) else { continue }
            do {
                try destination.setExtendedAttribute(name, value)
            } catch let error as SystemError where error.errno == ENOTSUP || error.errno == EPERM {
                continue  // a namespace the destination does not keep (user.* on symlinks)
            }
        }
    }

    /// A reflink if the filesystem shares extents, else `copy_file_range`, else read/write.
    static func copyContents(from source: FileDescriptor, to destination: FileDescriptor, size: Int64) throws {
        guard size > 0 else { return }
        if stowage_ficlone(destination.rawValue, source.rawValue) == 0 { return }
        var remaining = size
        while remaining > 0 {
            let copied = stowage_copy_file_range(source.rawValue, destination.rawValue, Int(min(remaining, 1 << 30)))
            if copied > 0 {
                remaining -= Int64(copied)
                continue
            }
            if copied == 0 { break }  // the source shrank
            if errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL {
                try copyByReading(from: source, to: destination, remaining: remaining)
                return
            }
            throw SystemError("copy_file_range", path: destination.path, errno: errno)
        }
    }

    private static func copyByReading(from source: FileDescriptor, to destination: FileDescriptor, remaining: Int64) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let got = try source.read(into: buffer)
            if got == 0 { return }
            try destination.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
    }
}

/// A file's identity: device and inode.
struct FileKey: Hashable {
    let device: UInt64
    let inode: UInt64
}

extension FileDescriptor {
    /// Sets the times of `name` (a child, a relative path or ".") from a status, not following a final symlink.
    func setTimes(_ name: String, status: FileStatus) throws {
        try setTimes(name, access: (status.accessSeconds, status.accessNanoseconds),
                     modification: (status.modificationSeconds, status.modificationNanoseconds))
    }
}
