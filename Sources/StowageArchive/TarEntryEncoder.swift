#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Writes filesystem entries as tar entries exactly as Docker's archive package does
/// (`addTarFile` with Go's archive/tar), so that a layer Docker exported and Stowage
/// re-exports hashes to the same diff_id:
///
/// - names are relative, directories end in `/`; modes carry the file type bits
///   (`0o40755`), mtimes are whole seconds, no atime/ctime; uname/gname are looked up on
///   the host;
/// - a file with several links is written once, later paths become hard-link entries;
/// - with `.overlay` whiteouts, a 0/0 character device becomes a regular `.wh.NAME` file
///   (mode 0600) and a directory with `trusted.overlay.opaque=y` is followed by a
///   `.wh..wh..opq` entry.
///
/// Unlike Docker, which keeps only `security.capability`, every extended attribute is kept
/// except overlayfs' own (`trusted.overlay.*`, `user.overlay.*`) and `security.selinux`.
public final class TarEntryEncoder {
    private let writer: TarWriter
    private let whiteoutFormat: Whiteout.Format
    private var firstPathOfInode: [FileIdentity: [UInt8]] = [:]
    private let accounts = AccountNames()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// Sum of the sizes of the entries written: Docker's layer `size`.
    public private(set) var contentSize: Int64 = 0

    public init(writer: TarWriter, whiteoutFormat: Whiteout.Format) {
        self.writer = writer
        self.whiteoutFormat = whiteoutFormat
    }

    deinit { buffer.deallocate() }

    /// Writes entry `name` of `directory` under the layer path `path` (no leading slash,
    /// ending in `name`).
    /// Sockets are skipped, as Docker does.
    public func add(_ name: String, in directory: FileDescriptor, path: String, status: FileStatus) throws {
        guard var header = try makeHeader(name, in: directory, path: path, status: status) else { return }
        if !status.isDirectory, status.linkCount > 1 {
            let identity = FileIdentity(device: status.device, inode: status.inode)
            if let first = firstPathOfInode[identity] {
                header.typeflag = UInt8(ascii: "1")
                header.linkNameBytes = first
                header.size = 0
            } else {
                firstPathOfInode[identity] = header.nameBytes
            }
        }
        var opaqueMarker: TarHeader?
        if whiteoutFormat == .overlay {
            if status.isCharacterDevice, status.deviceMajor == 0, status.deviceMinor == 0 {
                header.name = String(path.dropLast(name.count)) + Whiteout.prefix + name
                header.mode = 0o600
                header.typeflag = UInt8(ascii: "0")
                header.size = 0
            } else if status.isDirectory, try isOpaque(name, in: directory) {
                opaqueMarker = Self.opaqueMarker(for: header, path: path)
            }
        }
        try writer.writeHeader(header)
        contentSize += header.size
        if header.typeflag == UInt8(ascii: "0"), header.size > 0 {
            try copyContents(of: name, in: directory, size: header.size)
        }
        if let opaqueMarker { try writer.writeHeader(opaqueMarker) }
    }

    /// Ends the archive.
    public func finish() throws { try writer.finish() }

    // MARK: - Headers

    private func makeHeader(_ name: String, in directory: FileDescriptor, path: String, status: FileStatus) throws -> TarHeader? {
        let typeflag: Character
        switch status.type {
        case UInt32(S_IFREG): typeflag = "0"
        case UInt32(S_IFDIR): typeflag = "5"
        case UInt32(S_IFLNK): typeflag = "2"
        case UInt32(S_IFCHR): typeflag = "3"
        case UInt32(S_IFBLK): typeflag = "4"
        case UInt32(S_IFIFO): typeflag = "6"
        default: return nil  // sockets
        }
        var header = TarHeader(name: status.isDirectory ? path + "/" : path, typeflag: typeflag.asciiValue!)
        header.mode = Int64(status.mode)
        header.uid = Int(status.uid)
        header.gid = Int(status.gid)
        header.userName = accounts.userName(status.uid)
        header.groupName = accounts.groupName(status.gid)
        header.modificationTime = TarTime(seconds: status.modificationSeconds)
        header.format = .pax
        if status.isRegular { header.size = status.size }
        if status.isSymbolicLink { header.linkNameBytes = try directory.readSymbolicLink(name) }
        if status.isCharacterDevice || status.isBlockDevice {
            header.deviceMajor = status.deviceMajor
            header.deviceMinor = status.deviceMinor
        }
        if !status.isSymbolicLink {
            header.xattrs = try exportedExtendedAttributes(of: name, in: directory)
        }
        return header
    }

    /// The `.wh..wh..opq` entry Docker writes after an opaque directory's own entry.
    private static func opaqueMarker(for directoryHeader: TarHeader, path: String) -> TarHeader {
        var marker = TarHeader(name: path + "/" + Whiteout.opaqueMarker, typeflag: UInt8(ascii: "0"))
        marker.mode = directoryHeader.mode & 0o777
        marker.uid = directoryHeader.uid
        marker.gid = directoryHeader.gid
        marker.userName = directoryHeader.userName
        marker.groupName = directoryHeader.groupName
        marker.modificationTime = TarTime(seconds: 0)
        return marker
    }

    private func isOpaque(_ name: String, in directory: FileDescriptor) throws -> Bool {
        let handle = try directory.openChildDirectory(name)
        return try handle.extendedAttribute(Whiteout.overlayOpaqueXattr) == Array("y".utf8)
    }

    private func exportedExtendedAttributes(of name: String, in directory: FileDescriptor) throws -> [String: [UInt8]] {
        let handle = try directory.openEntryHandle(name)
        var attributes: [String: [UInt8]] = [:]
        for key in try handle.extendedAttributeNames() where Self.isExported(key) {
            if let value = try handle.extendedAttribute(key) { attributes[key] = value }
        }
        return attributes
    }

    private static func isExported(_ attribute: String) -> Bool {
        !attribute.hasPrefix("trusted.overlay.") && !attribute.hasPrefix("user.overlay.") && attribute != "security.selinux"
    }

    // MARK: - Contents

    private func copyContents(of name: String, in directory: FileDescriptor, size: Int64) throws {
        let file = try directory.openChildFile(name)
        let complete = try file.readExactly(size, using: buffer) { try writer.write($0) }
        guard complete else {
            throw StowageError(.ioFailure, "\(file.path) shrank from \(size) bytes while it was being archived")
        }
    }
}

/// A file's identity on its filesystem: what hard links share.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}

/// User and group names of the host's account database, looked up once per ID.
public final class AccountNames {
    private var users: [UInt32: String] = [:]
    private var groups: [UInt32: String] = [:]

    public init() {}

    public func userName(_ uid: UInt32) -> String {
        if let known = users[uid] { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var storage = [CChar](repeating: 0, count: 4096)
        let name = getpwuid_r(uid, &entry, &storage, storage.count, &result) == 0 && result != nil
            ? String(cString: entry.pw_name) : ""
        users[uid] = name
        return name
    }

    public func groupName(_ gid: UInt32) -> String {
        if let known = groups[gid] { return known }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var storage = [CChar](repeating: 0, count: 4096)
        let name = getgrgid_r(gid, &entry, &storage, storage.count, &result) == 0 && result != nil
            ? String(cString: entry.gr_name) : ""
        groups[gid] = name
        return name
    }
}
