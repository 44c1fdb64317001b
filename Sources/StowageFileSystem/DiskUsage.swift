#if canImport(Glibc)
import Glibc
#endif

/// Sizes of trees as Docker's `directory.Size` counts them: every non-directory's length,
/// each inode once.
public enum DiskUsage {
    public static func bytes(under path: String) throws -> Int64 {
        var seen: Set<UInt64> = []
        var total: Int64 = 0
        func walk(_ directory: FileDescriptor) throws {
            for name in try directory.childNames() {
                guard let status = try directory.statusOfEntry(name) else { continue }
                if status.isDirectory { try walk(directory.openChildDirectory(name)); continue }
                if status.size > 0, seen.insert(status.inode).inserted { total += status.size }
            }
        }
        try walk(FileDescriptor.openDirectory(path))
        return total
    }
}
