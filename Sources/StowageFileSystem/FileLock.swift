#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a file (`flock`), shared or exclusive, between processes. Released
/// when the lock is deinitialised or the process ends, however it ends.
public final class FileLock: Sendable {
    public let path: String
    private let descriptor: FileDescriptor

    /// Opens (creating) the lock file; takes no lock yet.
    public init(path: String) throws {
        self.path = path
        descriptor = try FileDescriptor.open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
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
