/// The error every Stowage module above the tar codec and the syscall layer throws:
/// a machine-readable code, a message that names the object, and the underlying cause.
public struct StowageError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is, for callers that branch on it. A struct over a private
    /// enum (as swift-nio's `FileSystemError.Code`), so that codes can be added without
    /// breaking an embedder's exhaustive `switch`; compare with `==` or `case .notFound:`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidArgument, invalidDigest, digestMismatch, invalidArchive, unsafePath, unsupported, notFound,
                 alreadyExists, limitExceeded, ioFailure, internalError
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// The request makes no sense: a bad flag value, name or reference (HTTP 400).
        public static let invalidArgument = Code(.invalidArgument)
        /// A digest that does not parse (HTTP 400).
        public static let invalidDigest = Code(.invalidDigest)
        /// Content whose digest is not the one expected (HTTP 400).
        public static let digestMismatch = Code(.digestMismatch)
        /// An archive, layer, manifest or stored file that is malformed (HTTP 400).
        public static let invalidArchive = Code(.invalidArchive)
        /// A path that would leave the tree it belongs to (HTTP 400).
        public static let unsafePath = Code(.unsafePath)
        /// Something this machine or Stowage does not support (HTTP 501).
        public static let unsupported = Code(.unsupported)
        /// No such object (HTTP 404).
        public static let notFound = Code(.notFound)
        /// A conflict: the name is taken, or the object is in use (HTTP 409).
        public static let alreadyExists = Code(.alreadyExists)
        /// A size or count over its limit (HTTP 413).
        public static let limitExceeded = Code(.limitExceeded)
        /// The filesystem failed: EIO, ENOSPC, permissions (HTTP 500).
        public static let ioFailure = Code(.ioFailure)
        /// A bug or an impossible state (HTTP 500).
        public static let internalError = Code(.internalError)

        /// The code's name: `notFound`.
        public var description: String { value.rawValue }

        /// The HTTP status the Engine API answers this failure with.
        public var httpStatus: Int {
            switch value {
            case .invalidArgument, .invalidDigest, .digestMismatch, .invalidArchive, .unsafePath: 400
            case .notFound: 404
            case .alreadyExists: 409
            case .limitExceeded: 413
            case .unsupported: 501
            case .ioFailure, .internalError: 500
            }
        }
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
