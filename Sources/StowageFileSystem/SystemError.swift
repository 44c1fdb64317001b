#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: what was attempted, on which path, and the errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno)))"
    }

    /// Throws the current errno as a `SystemError` if `result` is -1.
    @discardableResult
    public static func check<T: BinaryInteger>(_ result: T, _ operation: String, _ path: @autoclosure () -> String) throws -> T {
        if result == -1 { throw SystemError(operation, path: path(), errno: Glibc.errno) }
        return result
    }
}
