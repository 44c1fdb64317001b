import Dispatch

/// SHA-256 computed on a second thread, so that hashing a layer overlaps with reading,
/// decompressing and writing it instead of adding to them.
///
/// `update` copies the bytes into one of a few fixed buffers and returns; a serial queue
/// hashes full buffers in order. When every buffer is waiting to be hashed, `update` waits.
/// Not thread-safe itself: one producer calls `update` and `finalize`.
public final class PipelinedHasher: @unchecked Sendable {
    private static let bufferSize = 1 << 20
    private static let bufferCount = 4

    private let queue = DispatchQueue(label: "stowage.sha256")
    /// What the queued jobs use. They hold this, never the hasher itself: were a job to hold
    /// the last reference, `deinit` would run on the queue and wait for the queue (a trap).
    private let state = State()
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var filled = 0
    private var holdsCurrent = false

    private final class State: @unchecked Sendable {
        let freeBuffers = DispatchSemaphore(value: PipelinedHasher.bufferCount)
        /// Only touched on the queue.
        var hasher = SHA256Hasher()
    }

    public init() {
        buffers = (0..<Self.bufferCount).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
        }
    }

    deinit {
        queue.sync {}  // the last jobs may still read the buffers
        // libdispatch traps if a semaphore is freed below its initial value.
        if holdsCurrent { state.freeBuffers.signal() }
        for buffer in buffers { buffer.deallocate() }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            if !holdsCurrent {
                state.freeBuffers.wait()
                holdsCurrent = true
            }
            let count = min(Self.bufferSize - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: buffers[current][filled..<(filled + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            filled += count
            offset += count
            if filled == Self.bufferSize { submitCurrent() }
        }
    }

    /// The digest of everything passed to `update` so far; hashing may go on afterwards.
    public func finalize() -> Digest {
        if holdsCurrent { submitCurrent() }
        return queue.sync { state.hasher.finalize() }
    }

    private func submitCurrent() {
        let chunk = UnsafeRawBufferPointer(rebasing: buffers[current][0..<filled])
        let job = HashJob(chunk: chunk)
        queue.async { [state] in
            state.hasher.update(job.chunk)
            state.freeBuffers.signal()
        }
        current = (current + 1) % Self.bufferCount
        filled = 0
        holdsCurrent = false
    }
}

/// A buffer handed to the hashing queue; the semaphore keeps it from being reused meanwhile.
private struct HashJob: @unchecked Sendable {
    let chunk: UnsafeRawBufferPointer
}
