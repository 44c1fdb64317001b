import Dispatch
import StowageCore

/// Feeds a `TarSplitWriter` on a second thread, so that the CRC-64 of file payloads and the
/// gzip'd JSON cost the applying thread only a copy of the bytes.
///
/// Calls are recorded in order and replayed in order on a serial queue. At most
/// `maximumPending` bytes wait at once; beyond that the caller waits. The first error the
/// writer throws is kept and rethrown by `finish()`.
final class TarSplitRecorder: @unchecked Sendable {
    private static let maximumPending = 16 << 20

    private let queue = DispatchQueue(label: "stowage.tar-split")
    private let budget = DispatchSemaphore(value: TarSplitRecorder.maximumPending >> 16)
    /// What the queued jobs use. They hold this, never the recorder itself: were a job to
    /// hold the last reference, `deinit` would run on the queue and wait for the queue (a trap).
    private let state: State

    private final class State: @unchecked Sendable {
        let writer: TarSplitWriter
        /// Only touched on the queue.
        var checksum = CRC64()
        var failure: (any Error)?
        init(writer: TarSplitWriter) { self.writer = writer }
    }

    init(writer: TarSplitWriter) { state = State(writer: writer) }

    /// Raw tar bytes that are not file data.
    func segment(_ bytes: [UInt8]) {
        enqueue(cost: bytes.count) { recorder in try recorder.writer.addSegment(bytes) }
    }

    /// A piece of the current file's data.
    func fileData(_ bytes: UnsafeRawBufferPointer) {
        let copy = Array(bytes)
        enqueue(cost: copy.count) { recorder in copy.withUnsafeBytes { recorder.checksum.update($0) } }
    }

    /// The end of a file entry whose data (if any) went through `fileData`.
    func endFile(name: [UInt8], size: Int64) {
        enqueue(cost: 0) { recorder in
            try recorder.writer.addFile(name: name, size: size, crc64: size > 0 ? recorder.checksum.bytes : nil)
            recorder.checksum = CRC64()
        }
    }

    /// The last segment (written even when empty, as tar-split does).
    func finalSegment(_ bytes: [UInt8]) {
        enqueue(cost: bytes.count) { recorder in try recorder.writer.addSegment(bytes, keepEmpty: true) }
    }

    /// Waits for everything recorded, finishes the record, and throws the first failure.
    func finish() throws {
        try queue.sync { [state] in
            if let failure = state.failure { throw failure }
            try state.writer.finish()
        }
    }

    /// Waits for the queue without finishing (after an error elsewhere).
    func abandon() {
        queue.sync {}
    }

    /// Costs are counted in 64 KiB units against the budget.
    private func enqueue(cost: Int, _ job: @escaping @Sendable (State) throws -> Void) {
        let units = max(1, min(cost >> 16, Self.maximumPending >> 16))
        for _ in 0..<units { budget.wait() }
        queue.async { [state, budget] in
            if state.failure == nil {
                do { try job(state) } catch { state.failure = error }
            }
            for _ in 0..<units { budget.signal() }
        }
    }

    deinit { queue.sync {} }
}
