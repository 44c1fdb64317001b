#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// A directory built under a temporary name and renamed into place only when complete, so
/// that a failed or interrupted build leaves nothing under the final name.
public struct StagedDirectory {
    /// The temporary directory to fill.
    public let stagingPath: String
    /// Where it goes on `commit()`.
    public let finalPath: String

    /// Creates `<final>.partial-<pid>` next to `finalPath`, which must not exist.
    public init(finalPath: String) throws {
        self.finalPath = finalPath
        var st = stat()
        if lstat(finalPath, &st) == 0 {
            throw StowageError(.alreadyExists, "\(finalPath) already exists")
        }
        stagingPath = StagedFile.stagingName(for: finalPath)
        guard mkdir(stagingPath, 0o755) == 0 else {
            throw StowageError(.ioFailure, "cannot create staging directory", underlying: SystemError("mkdir", path: stagingPath, errno: errno))
        }
    }

    /// Renames the staging directory to its final name, without replacing anything there.
    public func commit() throws {
        do {
            try FileDescriptor.rename(stagingPath, to: finalPath, noReplace: true)
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot move \(stagingPath) into place", underlying: error)
        }
    }

    /// Removes the staging directory and everything in it.
    public func discard() {
        try? Self.remove(stagingPath)
    }

    static func remove(_ path: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        let parentPath = components.count > 1 ? components.dropLast().joined(separator: "/") : "."
        let parent = try FileDescriptor.openDirectory(parentPath.isEmpty ? "/" : parentPath)
        try parent.removeEntry(String(components.last!))
    }
}
