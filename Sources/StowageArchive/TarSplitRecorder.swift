import Dispatch
import StowageCore

/// Feeds a `TarSplitWriter` on a second thread, so that the CRC-64 of file payloads and the
/// gzip'd JSON cost the applying thread only a copy of the bytes.
///
/// Calls are recorded in order, handed over in batches (one wake-up of the queue per batch,
/// not three per file: a layer of 10,000 small files made 30,000 thread switches), and
/// replayed in order on a serial queue. At most `maximumPending` bytes wait at once; beyond
/// that the caller waits. The first error the writer throws is kept and rethrown by
/// `finish()`. Not thread-safe itself: one applying thread calls it.
final class TarSplitRecorder: @unchecked Sendable {
    private static let maximumPending = 16 << 20
    /// A batch is handed over once it holds this many bytes or `batchEntries` calls.
    private static let batchBytes = 256 << 10
    private static let batchEntries = 256

    private let queue = DispatchQueue(label: "stowage.tar-split")
    private let budget = DispatchSemaphore(value: TarSplitRecorder.maximumPending >> 16)
    /// What the queued jobs use. They hold this, never the recorder itself: were a job to
    /// hold the last reference, `deinit` would run on the queue and wait for the queue (a trap).
    private let state: State
    /// Calls not handed over yet, and their bytes.
    private var batch: [Call] = []
    private var batchCost = 0

    private enum Call {
        case segment([UInt8])
        case fileData([UInt8])
        case endFile(name: [UInt8], size: Int64)
        case finalSegment([UInt8])
    }

    private final class State: @unchecked Sendable {
        let writer: TarSplitWriter
        /// Only touched on the queue.
        var checksum = CRC64()
        var failure: (any Error)?
        init(writer: TarSplitWriter) { self.writer = writer }

        func replay(_ call: Call) throws {
            switch call {
            case .segment(let bytes): try writer.addSegment(bytes)
            case .fileData(let bytes): bytes.withUnsafeBytes { checksum.update($0) }
            case .endFile(let name, let size):
                try writer.addFile(name: name, size: size, crc64: size > 0 ? checksum.bytes : nil)
                checksum = CRC64()
            case .finalSegment(let bytes): try writer.addSegment(bytes, keepEmpty: true)
            }
        }
    }

    init(writer: TarSplitWriter) { state = State(writer: writer) }

    /// Raw tar bytes that are not file data.
    func segment(_ bytes: [UInt8]) {
        record(.segment(bytes), cost: bytes.count)
    }

    /// A piece of the current file's data.
    func fileData(_ bytes: UnsafeRawBufferPointer) {
        record(.fileData(Array(bytes)), cost: bytes.count)
    }

    /// The end of a file entry whose data (if any) went through `fileData`.
    func endFile(name: [UInt8], size: Int64) {
        record(.endFile(name: name, size: size), cost: 0)
    }

    /// The last segment (written even when empty, as tar-split does).
    func finalSegment(_ bytes: [UInt8]) {
        record(.finalSegment(bytes), cost: bytes.count)
    }

    /// Waits for everything recorded, finishes the record, and throws the first failure.
    func finish() throws {
        handOver()
        try queue.sync { [state] in
            if let failure = state.failure { throw failure }
            try state.writer.finish()
        }
    }

    /// Waits for the queue without finishing (after an error elsewhere).
    func abandon() {
        batch = []
        batchCost = 0
        queue.sync {}
    }

    private func record(_ call: Call, cost: Int) {
        batch.append(call)
        batchCost += cost
        if batchCost >= Self.batchBytes || batch.count >= Self.batchEntries { handOver() }
    }

    /// Queues the batch; its bytes are counted in 64 KiB units against the budget.
    private func handOver() {
        guard !batch.isEmpty else { return }
        let calls = Calls(batch)
        let units = max(1, min(batchCost >> 16, Self.maximumPending >> 16))
        batch = []
        batch.reserveCapacity(Self.batchEntries)
        batchCost = 0
        for _ in 0..<units { budget.wait() }
        queue.async { [state, budget] in
            if state.failure == nil {
                do { for call in calls.calls { try state.replay(call) } } catch { state.failure = error }
            }
            for _ in 0..<units { budget.signal() }
        }
    }

    /// A batch handed to the queue, which alone reads it from then on.
    private struct Calls: @unchecked Sendable {
        let calls: [Call]
        init(_ calls: [Call]) { self.calls = calls }
    }

    deinit { queue.sync {} }
}
