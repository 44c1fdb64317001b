/// The error every Stowage module above the tar codec and the syscall layer throws:
/// a machine-readable code, a message that names the object, and the underlying cause.
public struct StowageError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is, for callers that branch on it.
    public enum Code: String, Sendable, Equatable {
        case invalidArgument
        case invalidDigest
        case digestMismatch
        case invalidArchive
        case unsafePath
        case unsupported
        case notFound
        case alreadyExists
        case limitExceeded
        case ioFailure
        case internalError
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// One line: the message, then the cause if there is one.
    public var description: String {
        guard let underlying else { return message }
        let cause = String(describing: underlying)
        return cause.isEmpty || message.hasSuffix(cause) ? message : "\(message): \(cause)"
    }

    public static func == (lhs: StowageError, rhs: StowageError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
