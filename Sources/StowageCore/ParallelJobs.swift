#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Numbered jobs run on a few threads of their own: blocking work (applying layers, hashing
/// streams) that must not occupy the threads of a shared pool.
///
/// Jobs start in index order. Once one throws, no further job starts; those running finish.
public enum ParallelJobs {
    /// The failures of a run: each job that threw, by index, lowest first.
    public struct Failures: Error {
        public let errors: [(index: Int, error: any Error)]
        /// The failure of the lowest-numbered job: the one a run in order would have met first.
        public var first: any Error { errors[0].error }
    }

    /// Runs `job(0)` … `job(count - 1)` on up to `width` threads (the calling thread is one of
    /// them) and returns when all that started have finished; throws `Failures` if any threw.
    /// `job` is called from several threads at once.
    public static func run(count: Int, width: Int, _ job: (Int) throws -> Void) throws {
        try withoutActuallyEscaping(job) { job in
            let run = Run(count: count, job: job)
            let threads = (1..<max(1, min(width, count))).compactMap { _ in run.startThread() }
            run.work()
            for thread in threads { pthread_join(thread, nil) }
            let errors = run.state.withLock { $0.errors }.sorted { $0.index < $1.index }
            if !errors.isEmpty { throw Failures(errors: errors) }
        }
    }

    /// What the threads of one run share. The job closure is called concurrently by design.
    private final class Run: @unchecked Sendable {
        let count: Int
        let job: (Int) throws -> Void
        let state = Mutex<(next: Int, errors: [(index: Int, error: any Error)])>((0, []))

        init(count: Int, job: @escaping (Int) throws -> Void) {
            self.count = count
            self.job = job
        }

        /// Takes jobs until none is left or one has failed.
        func work() {
            while let index = take() {
                do {
                    try job(index)
                } catch {
                    state.withLock { $0.errors.append((index, error)) }
                }
            }
        }

        private func take() -> Int? {
            state.withLock { state in
                guard state.errors.isEmpty, state.next < count else { return nil }
                defer { state.next += 1 }
                return state.next
            }
        }

        /// A thread running `work`; nil when none can be started (the calling thread then
        /// does more of the jobs itself).
        func startThread() -> pthread_t? {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let status = pthread_create(&thread, nil, { context in
                let run = Unmanaged<Run>.fromOpaque(context!).takeRetainedValue()
                run.work()
                return nil
            }, context)
            guard status == 0 else {
                Unmanaged<Run>.fromOpaque(context).release()
                return nil
            }
            return thread
        }
    }
}
