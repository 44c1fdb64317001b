#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// A file written under a temporary name, fsynced and renamed into place on `commit()`.
/// Without the fsync (`synced: false`) the file is still all or nothing, but durable only
/// once something later syncs the filesystem: for files that a later commit point covers.
public final class StagedFile {
    public let finalPath: String
    public let stagingPath: String
    /// Write the contents here.
    public let descriptor: FileDescriptor
    private let replacing: Bool

    /// - Parameters:
    ///   - replacing: whether `commit()` may replace an existing file.
    ///   - mode: the new file's permissions.
    public init(finalPath: String, replacing: Bool = false, mode: mode_t = 0o644) throws {
        self.finalPath = finalPath
        self.replacing = replacing
        stagingPath = Self.stagingName(for: finalPath)
        do {
            descriptor = try FileDescriptor.open(stagingPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: mode)
            try descriptor.changeMode(mode)  // whatever the umask
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot create \(finalPath)", underlying: error)
        }
    }

    /// Flushes the file to disk (unless `synced` is false) and gives it its final name.
    public func commit(synced: Bool = true) throws {
        do {
            if synced { try descriptor.sync() }
            try FileDescriptor.rename(stagingPath, to: finalPath, noReplace: !replacing)
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot write \(finalPath)", underlying: error)
        }
    }

    /// Removes the temporary file.
    public func discard() { unlink(stagingPath) }

    /// `<final>.partial-<pid>-<random>`: unique to one writer, even among the tasks of one
    /// process, and telling a sweeper whose it was.
    static func stagingName(for finalPath: String) -> String {
        "\(finalPath).partial-\(getpid())-\(LayerCacheID.random().rawValue.prefix(8))"
    }

    /// Removes the staging files in `directory` whose writer is dead (`.partial-<pid>…` of
    /// a process that no longer exists), only those of the file `of` names when given.
    /// Returns how many it removed.
    @discardableResult
    public static func removeAbandoned(in directory: String, of fileName: String? = nil) -> Int {
        guard let handle = try? FileDescriptor.openDirectory(directory), let names = try? handle.childNames() else { return 0 }
        var removed = 0
        for name in names where (fileName.map { name.hasPrefix($0 + ".partial-") } ?? true) && writerIsGone(name) {
            if (try? handle.removeEntry(name)) != nil { removed += 1 }
        }
        return removed
    }

    /// Whether `name` is a staging file (`….partial-<pid>…`) of a process that no longer exists.
    public static func writerIsGone(_ name: String) -> Bool {
        let parts = name.split(separator: ".partial-", omittingEmptySubsequences: false)
        guard parts.count >= 2, let pid = Int32(parts.last!.prefix { $0 != "-" }) else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Writes `bytes` to `path` all or nothing: a temporary file, fsync (unless `synced` is
    /// false), rename.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, replacing: Bool = true,
                             synced: Bool = true) throws {
        let file = try StagedFile(finalPath: path, replacing: replacing, mode: mode)
        do {
            try file.descriptor.writeAll(bytes)
            try file.commit(synced: synced)
        } catch let error as SystemError {
            file.discard()
            throw StowageError(.ioFailure, "cannot write \(path)", underlying: error)
        } catch {
            file.discard()
            throw error
        }
    }
}
