#if canImport(Glibc)
import Glibc
#endif

/// The lock that serialises changes to the graph of images, layers, containers and volumes
/// on one data root: an exclusive `flock` on `<root>/.stowage-graph.lock`.
///
/// It is held only around the metadata step of a change (registering a layer, storing an
/// image and its tags, removing names), never while layers are decompressed, hashed or
/// applied, so that work of several processes still overlaps. Each hold opens the lock file
/// anew, so two holds conflict whether they come from two processes or from two tasks of
/// one process (locks of distinct open files exclude each other). Holds do not nest.
public struct GraphLock: Sendable {
    public let path: String

    public init(dataRoot: String) {
        path = dataRoot + "/.stowage-graph.lock"
    }

    /// Runs `body` holding the lock; waits for other holders first.
    public func withExclusive<T>(_ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: path)
        try lock.lock(exclusive: true)
        defer { lock.unlock() }
        return try body()
    }

    /// Runs `body` holding the lock if no one holds it now; nil (and `body` not run) otherwise.
    public func withExclusiveIfFree<T>(_ body: () throws -> T) throws -> T? {
        let lock = try FileLock(path: path)
        guard try lock.tryLock(exclusive: true) else { return nil }
        defer { lock.unlock() }
        return try body()
    }
}
