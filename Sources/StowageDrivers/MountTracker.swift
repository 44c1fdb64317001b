import StowageCore

/// The stacks one process holds through `get`, counted, and whether it mounted each itself.
///
/// A stack may already be mounted when `get` is called: by a container's `stowage mount`
/// that outlives the process that made it. Such a mount is borrowed: the last `put` leaves
/// it in place. Only a mount this process made is unmounted by its last `put`.
struct MountTracker {
    private var holds: [LayerCacheID: (count: Int, owned: Bool)] = [:]

    /// Counts one more `get` on a held stack; false when the stack is not held yet.
    mutating func reacquire(_ id: LayerCacheID) -> Bool {
        guard let hold = holds[id] else { return false }
        holds[id] = (hold.count + 1, hold.owned)
        return true
    }

    /// Records the first `get` on a stack; `owned` when this process mounted it.
    mutating func acquired(_ id: LayerCacheID, owned: Bool) {
        holds[id] = (1, owned)
    }

    /// Counts one `put`; true when that was the last one and the stack is this process's to unmount.
    mutating func release(_ id: LayerCacheID) -> Bool {
        guard let hold = holds[id] else { return false }
        if hold.count > 1 {
            holds[id] = (hold.count - 1, hold.owned)
            return false
        }
        holds[id] = nil
        return hold.owned
    }

    /// Forgets a stack (after it was unmounted by force).
    mutating func forget(_ id: LayerCacheID) { holds[id] = nil }

    /// How many `get`s hold `id`.
    func count(_ id: LayerCacheID) -> Int { holds[id]?.count ?? 0 }

    /// The stacks this process mounted itself.
    var owned: [LayerCacheID] { holds.filter(\.value.owned).map(\.key) }
}
