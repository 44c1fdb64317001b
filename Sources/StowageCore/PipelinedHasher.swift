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
    private let freeBuffers = DispatchSemaphore(value: PipelinedHasher.bufferCount)
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var filled = 0
    private var holdsCurrent = false
    /// Only touched on `queue`.
    private var hasher = SHA256Hasher()

    public init() {
        buffers = (0..<Self.bufferCount).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
        }
    }

    deinit {
        queue.sync {}  // the last jobs may still read the buffers
        // libdispatch traps if a semaphore is freed below its initial value.
        if holdsCurrent { freeBuffers.signal() }
        for buffer in buffers { buffer.deallocate() }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            if !holdsCurrent {
                freeBuffers.wait()
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
        return queue.sync { hasher.finalize() }
    }

    private func submitCurrent() {
        let chunk = UnsafeRawBufferPointer(rebasing: buffers[current][0..<filled])
        let job = HashJob(chunk: chunk)
        queue.async { [self] in
            hasher.update(job.chunk)
            freeBuffers.signal()
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
