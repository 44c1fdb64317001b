import Glibc
import StowageCore
import Synchronization
import Testing

@Suite("Jobs on threads of their own")
struct ParallelJobsTests {
    private struct Failed: Error, Equatable { let index: Int }

    @Test("every job runs once, on several threads at once")
    func everyJobOnce() throws {
        let runs = Mutex<[Int]>([])
        let running = Mutex((now: 0, most: 0))
        try ParallelJobs.run(count: 40, width: 4) { index in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            usleep(2_000)
            running.withLock { $0.now -= 1 }
            runs.withLock { $0.append(index) }
        }
        #expect(runs.withLock { $0.sorted() } == Array(0..<40))
        #expect(running.withLock { $0.most } > 1)
        #expect(running.withLock { $0.most } <= 4)
    }

    @Test("after a failure no job starts; the failures come lowest first")
    func stopsAfterFailure() throws {
        let started = Mutex<[Int]>([])
        #expect {
            try ParallelJobs.run(count: 100, width: 3) { index in
                started.withLock { $0.append(index) }
                usleep(1_000)
                if index == 5 || index == 6 { throw Failed(index: index) }
            }
        } throws: { error in
            guard let failures = error as? ParallelJobs.Failures else { return false }
            return (failures.first as? Failed) == Failed(index: 5) && failures.errors.map(\.index) == failures.errors.map(\.index).sorted()
        }
        let indexes = started.withLock { $0.sorted() }
        #expect(indexes == Array(0..<indexes.count), "jobs start in order")
        #expect(indexes.count < 12)
    }

    @Test("a width of one runs the jobs in order on the calling thread")
    func widthOne() throws {
        var order: [Int] = []
        try ParallelJobs.run(count: 5, width: 1) { order.append($0) }
        #expect(order == [0, 1, 2, 3, 4])
    }
}
