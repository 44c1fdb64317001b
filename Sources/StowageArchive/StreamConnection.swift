#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Runs a producer that writes a stream and a consumer that reads it at the same time, the
/// producer on a thread of its own, joined through a socket pair: nothing is spooled, and a
/// consumer that stops early makes the producer fail with EPIPE instead of a SIGPIPE.
public enum StreamConnection {
    public static func run<T>(producing: @escaping (ByteSink) throws -> Void, consuming: (ByteSource) throws -> T) throws -> T {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw StowageError(.ioFailure, "cannot connect two streams", underlying: SystemError("socketpair", path: "", errno: errno))
        }
        let reading = FileDescriptor(adopting: ends[0], path: "stream")
        let producer = Producer(socket: ends[1], body: producing)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(producer).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let producer = Unmanaged<Producer>.fromOpaque(context!).takeRetainedValue()
            producer.run()
            return nil
        }, context) == 0 else {
            Unmanaged<Producer>.fromOpaque(context).release()
            close(ends[1])
            throw StowageError(.ioFailure, "cannot start a thread to produce a stream")
        }
        let result = Result { try consuming(FileSource(reading)) }
        shutdown(ends[0], Int32(SHUT_RDWR))  // a producer still writing stops
        pthread_join(thread, nil)
        if case .failure(let error) = result { throw error }
        if let error = producer.failure { throw error }
        return try result.get()
    }

    /// The producing side: writes gathered into chunks of `chunkSize`, so that a stream of
    /// small writes (a tar's headers and small files) wakes the consumer once a chunk, not once
    /// a write.
    private final class Producer: ByteSink, @unchecked Sendable {
        static let chunkSize = 256 << 10

        let socket: Int32
        let body: (ByteSink) throws -> Void
        /// Set by the producing thread before it ends; read after it was joined.
        var failure: (any Error)?
        private var pending: [UInt8] = []

        init(socket: Int32, body: @escaping (ByteSink) throws -> Void) {
            self.socket = socket
            self.body = body
            pending.reserveCapacity(Self.chunkSize)
        }

        func run() {
            do {
                try body(self)
                try flush()
            } catch {
                failure = error
            }
            close(socket)  // the consumer sees the end of the stream
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            if pending.count + bytes.count > Self.chunkSize { try flush() }
            if bytes.count >= Self.chunkSize {
                try send(bytes)
            } else {
                pending.append(contentsOf: bytes)
            }
        }

        private func flush() throws {
            guard !pending.isEmpty else { return }
            try pending.withUnsafeBytes { try send($0) }
            pending.removeAll(keepingCapacity: true)
        }

        private func send(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let sent = Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw SystemError("send", path: "stream", errno: errno)
                }
                offset += sent
            }
        }
    }
}
