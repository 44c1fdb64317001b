#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a file (`flock`), shared or exclusive, between processes. Released
/// when the lock is deinitialised or the process ends, however it ends.
public final class FileLock: Sendable {
    public let path: String
    private let descriptor: FileDescriptor

    /// Opens (creating) the lock file; takes no lock yet. On a read-only filesystem, where
    /// nothing can change, the file is opened for reading (`flock` needs no more), or the
    /// directory it would be in when it is not there.
    public init(path: String) throws {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        } catch let error as SystemError where error.errno == EROFS {
            if let file = try? FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) {
                descriptor = file
            } else {
                let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                descriptor = try FileDescriptor.openDirectory(parent.isEmpty ? "/" : parent)
            }
        }
    }

    /// Waits for the lock.
    public func lock(exclusive: Bool) throws {
        while flock(descriptor.rawValue, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if errno != EINTR { throw SystemError("flock", path: path, errno: errno) }
        }
    }

    /// Takes the lock if nobody holds a conflicting one; false otherwise.
    public func tryLock(exclusive: Bool) throws -> Bool {
        if flock(descriptor.rawValue, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw SystemError("flock", path: path, errno: errno)
    }

    public func unlock() {
        flock(descriptor.rawValue, LOCK_UN)
    }

    /// Runs `body` holding the lock exclusively.
    public func withExclusive<T>(_ body: () throws -> T) throws -> T {
        try lock(exclusive: true)
        defer { unlock() }
        return try body()
    }
}
