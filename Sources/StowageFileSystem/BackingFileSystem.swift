#if canImport(Glibc)
import Glibc
#endif

/// What a directory's filesystem is, as Docker names it (`statfs` magic numbers).
public enum BackingFileSystem {
    private static let names: [Int64: String] = [
        0xEF53: "extfs", 0x5846_5342: "xfs", 0x9123_683E: "btrfs", 0x0102_1994: "tmpfs", 0x794C_7630: "overlayfs",
        0x2FC1_2FC1: "zfs", 0x6969: "nfs", 0x8584_58F6: "ramfs", 0x7371_7368: "squashfs", 0x6573_5546: "fuse",
        0x6165_7526: "aufs", 0x0000_4d44: "msdos", 0xF15F: "ecryptfs", 0x5346_544E: "ntfs", 0x0102_1997: "v9fs",
        0xFF53_4D42: "cifs", 0x6264_6576: "bdevfs", 0x6A65_6A6A: "jffs2",
    ]

    /// `extfs`, `xfs`, `btrfs`, `tmpfs`, …, or `<unknown>`.
    public static func name(of path: String) throws -> String {
        let magic = try FileDescriptor.openDirectory(path).filesystemType()
        return names[magic & 0xFFFF_FFFF] ?? "<unknown>"
    }

    /// Whether the filesystem reports file types in directory entries (`d_type`), which
    /// overlay needs. An existing entry of `path` tells (the type is the filesystem's, not the
    /// entry's); an empty `path` gets a scratch file made and read back.
    public static func supportsDType(at path: String) throws -> Bool {
        if let answer = try entryTypeKnown(in: path, named: nil) { return answer }
        let scratch = path + "/.dtype-probe-\(getpid())"
        mkdir(scratch, 0o700)
        defer {
            unlink(scratch + "/probe")
            rmdir(scratch)
        }
        close(open(scratch + "/probe", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
        return try entryTypeKnown(in: scratch, named: "probe") ?? false
    }

    /// Whether the first entry of `directory` (other than `.` and `..`), or the one `named`,
    /// has a known `d_type`; nil when there is no such entry.
    private static func entryTypeKnown(in directory: String, named wanted: String?) throws -> Bool? {
        guard let stream = opendir(directory) else { throw SystemError("opendir", path: directory, errno: errno) }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != "..", wanted == nil || name == wanted else { continue }
            return entry.pointee.d_type != UInt8(DT_UNKNOWN)
        }
        return nil
    }
}
