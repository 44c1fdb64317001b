#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StowageCore

/// Everything observable about a directory tree, without following symlinks: each path's type,
/// mode, owner, size, mtime, and its content's sha256 or its link target. Two equal snapshots
/// mean nothing in the tree changed.
public struct TreeSnapshot: Equatable, CustomStringConvertible {
    public private(set) var entries: [String: String] = [:]

    public init(_ root: String, includeTimes: Bool = true) throws {
        try walk(root, relative: "", includeTimes: includeTimes)
    }

    private mutating func walk(_ path: String, relative: String, includeTimes: Bool) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { entries[relative] = "missing"; return }
        var line = "mode=\(String(st.st_mode, radix: 8)) uid=\(st.st_uid) gid=\(st.st_gid)"
        if includeTimes { line += " mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            line += " size=\(st.st_size) sha256=\(Digest.of(Array(data)).hex) nlink=\(st.st_nlink)"
        case S_IFLNK:
            line += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
        case S_IFCHR, S_IFBLK:
            line += " rdev=\(st.st_rdev)"
        case S_IFDIR:
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                try walk(path + "/" + name, relative: relative.isEmpty ? name : relative + "/" + name,
                         includeTimes: includeTimes)
            }
        default:
            break
        }
        entries[relative.isEmpty ? "." : relative] = line
    }

    public var description: String {
        entries.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
    }

    /// The lines that differ, for failure messages.
    public func difference(from other: TreeSnapshot) -> String {
        let keys = Set(entries.keys).union(other.entries.keys).sorted()
        return keys.compactMap { key in
            entries[key] == other.entries[key] ? nil : "\(key): \(other.entries[key] ?? "absent") => \(entries[key] ?? "absent")"
        }.joined(separator: "\n")
    }
}
