#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import StowageCore

/// One operation's claim on objects of a data root, in the style of containerd's leases: a
/// file that the operation keeps locked (`flock`) for as long as it runs, listing, one line
/// each, what it has found, made or is about to change.
///
/// While the file is locked, its entries are protected: a removal or a prune elsewhere keeps
/// them. Once its owner is gone (the process ended, however it ended, or the operation gave
/// up) the lease is *abandoned*, and its entries tell recovery what may be left behind.
/// Entries are written before the change they announce, so that an entry is never missing
/// for something on disk.
public final class Lease: Sendable {
    /// Unique per operation: staging names derived from it cannot collide.
    public let id: String
    let path: String
    /// The open, locked file (nil once released or abandoned) and what was added so far, in
    /// order. Tasks of one operation (parallel layer downloads) add to it at once.
    private let state: Mutex<(file: FileDescriptor?, entries: [String])>

    init(id: String, path: String, file: FileDescriptor) {
        self.id = id
        self.path = path
        state = Mutex((file, []))
    }

    /// What was added so far, in order.
    public var entries: [String] { state.withLock { $0.entries } }

    /// Records one entry (a line without newlines) before the change it announces.
    public func add(_ entry: String) throws {
        precondition(!entry.contains("\n"), "a lease entry is one line")
        try state.withLock { state in
            guard let file = state.file else { return }
            try file.writeAll(Array((entry + "\n").utf8))
            state.entries.append(entry)
        }
    }

    /// The operation is complete: nothing of it needs recovery.
    public func release() {
        state.withLock { state in
            guard state.file != nil else { return }
            unlink(path)
            state.file = nil
        }
    }

    /// The operation gave up: the lease stays, unlocked, for recovery to deal with.
    public func abandon() {
        state.withLock { $0.file = nil }
    }
}

/// A lease whose owner is gone, locked now by the one recovering it.
public final class AbandonedLease: Sendable {
    public let id: String
    public let entries: [String]
    private let path: String
    private let file: FileDescriptor

    init(id: String, entries: [String], path: String, file: FileDescriptor) {
        self.id = id
        self.entries = entries
        self.path = path
        self.file = file
    }

    /// Whether the lease is still in its directory: false when another recovery released it
    /// after this one claimed it. Ask under the graph lock, which releases happen under.
    public var isCurrent: Bool { ((try? file.status().linkCount) ?? 0) > 0 }

    /// Everything the lease named is dealt with: the lease goes.
    public func release() { unlink(path) }
}

/// The directory of leases of one data root (`image/<driver>/leases`).
public struct LeaseDirectory: Sendable {
    public let path: String
    private static let newPrefix = ".new-"

    public init(path: String) throws {
        self.path = path
        try FileDescriptor.ensureDirectory(path, mode: 0o700)
    }

    /// Takes a new lease for an operation. The file is locked before it gets its name, so
    /// that nobody ever sees an unlocked lease of a live operation.
    public func open() throws -> Lease {
        let id = String(LayerCacheID.random().rawValue.prefix(20))
        // An unnamed file (O_TMPFILE), locked, then linked under its name.
        let raw = Glibc.open(path, Self.temporaryFile | O_WRONLY | O_APPEND | O_CLOEXEC, 0o600)
        try SystemError.check(raw, "open O_TMPFILE", path)
        let file = FileDescriptor(adopting: raw, path: path + "/" + id)
        try Self.lock(file, exclusive: true, wait: true)
        try SystemError.check(linkat(AT_FDCWD, "/proc/self/fd/\(raw)", AT_FDCWD, path + "/" + id, AT_SYMLINK_FOLLOW),
                              "link", path + "/" + id)
        return Lease(id: id, path: path + "/" + id, file: file)
    }

    /// O_TMPFILE (Linux): `__O_TMPFILE | O_DIRECTORY`.
    private static let temporaryFile: Int32 = 0o20000000 | O_DIRECTORY

    /// The entries of every lease whose owner is alive, except the leases `excluded` names
    /// (one's own, or one being recovered).
    public func liveEntries(excluding excluded: Set<String> = []) throws -> [String] {
        try live(excluding: excluded).flatMap(\.entries)
    }

    /// The leases whose owner is alive, with their entries.
    public func live(excluding excluded: Set<String> = []) throws -> [(id: String, entries: [String])] {
        var leases: [(id: String, entries: [String])] = []
        for name in try names() where !excluded.contains(name) && !name.hasPrefix(Self.newPrefix) {
            guard let file = try? FileDescriptor.open(path + "/" + name, O_RDONLY) else { continue }
            if try Self.lock(file, exclusive: false, wait: false) {
                flock(file.rawValue, LOCK_UN)  // nobody holds it: abandoned, not protecting
                continue
            }
            leases.append((name, Self.completeLines(of: file)))
        }
        return leases
    }

    /// Names of the leases nobody holds (for `stowage check`; recovery claims them instead).
    public func abandonedIDs() throws -> [String] {
        try names().filter { name in
            guard let file = try? FileDescriptor.open(path + "/" + name, O_RDONLY),
                  (try? Self.lock(file, exclusive: false, wait: false)) == true else { return false }
            return true
        }
    }

    /// Whether some lease may be abandoned (a cheap look: one directory listing).
    public func isEmpty() throws -> Bool { try names().isEmpty }

    /// Locks and returns every abandoned lease. Recover and release each under the graph
    /// lock, after checking `isCurrent` there: another recovery may have released it since.
    public func claimAbandoned() throws -> [AbandonedLease] {
        var abandoned: [AbandonedLease] = []
        for name in try names() {
            let leasePath = path + "/" + name
            guard let file = try? FileDescriptor.open(leasePath, O_RDONLY),
                  try Self.lock(file, exclusive: true, wait: false) else { continue }
            if name.hasPrefix(Self.newPrefix) {
                unlink(leasePath)  // killed before it was named: it announced nothing yet
                continue
            }
            abandoned.append(AbandonedLease(id: name, entries: Self.completeLines(of: file), path: leasePath, file: file))
        }
        return abandoned
    }

    /// The leases' file names; none when the directory is missing (a read-only root that
    /// Docker wrote has none).
    private func names() throws -> [String] {
        do {
            return try FileDescriptor.openDirectory(path).childNames()
        } catch let error as SystemError where error.errno == ENOENT {
            return []
        }
    }

    /// Lines ended by a newline: a line still being appended is not an entry yet.
    private static func completeLines(of file: FileDescriptor) -> [String] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 14)
        while let count = try? chunk.withUnsafeMutableBytes({ try file.read(into: $0) }), count > 0 {
            bytes += chunk[0..<count]
        }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or incomplete
        return lines.filter { !$0.isEmpty }.map { String(decoding: $0, as: UTF8.self) }
    }

    @discardableResult
    private static func lock(_ file: FileDescriptor, exclusive: Bool, wait: Bool) throws -> Bool {
        let operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
        while flock(file.rawValue, operation) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK, !wait { return false }
            throw SystemError("flock", path: file.path, errno: errno)
        }
        return true
    }
}
