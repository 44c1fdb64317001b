import Dispatch
import Synchronization

/// Flushes a filesystem (`syncfs`) on a thread of its own while work that will need it
/// flushed goes on, so that the work's own, final syncfs has less left to wait for.
///
/// These flushes only start writeback early; durability is still the final syncfs's, and
/// their errors are left to it. For it to see them, its descriptor must be opened before
/// the flusher's first flush: syncfs reports the writeback errors that happened since the
/// descriptor it is called on was opened.
public final class BackgroundFlusher: Sendable {
    private let directory: String
    private let queue = DispatchQueue(label: "stowage.flush")
    /// `running`: a flush loop is queued or running; `pending`: one more flush was asked
    /// for since the running one started; `finished`: no more flushes.
    private let state = Mutex<(running: Bool, pending: Bool, finished: Bool)>((false, false, false))

    /// Flushes the filesystem that `directory` is on.
    public init(directory: String) {
        self.directory = directory
    }

    /// Asks for a flush that starts after this call: one begins now if none is running,
    /// otherwise one more follows the running one (requests meanwhile fold into it).
    public func request() {
        let start = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            if state.running {
                state.pending = true
                return false
            }
            state.running = true
            return true
        }
        guard start else { return }
        queue.async { [self] in
            repeat {
                try? FileDescriptor.openDirectory(directory).syncFileSystem()
            } while state.withLock { state in
                state.running = state.pending && !state.finished
                state.pending = false
                return state.running
            }
        }
    }

    /// Starts no more flushes and waits for the running one to end.
    public func finish() {
        state.withLock { $0.finished = true }
        queue.sync {}
    }
}
