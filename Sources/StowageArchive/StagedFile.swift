#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// A file written under a temporary name, fsynced and renamed into place on `commit()`.
public final class StagedFile {
    public let finalPath: String
    public let stagingPath: String
    /// Write the contents here.
    public let descriptor: FileDescriptor
    private let replacing: Bool

    /// - Parameter replacing: whether `commit()` may replace an existing file.
    public init(finalPath: String, replacing: Bool = false) throws {
        self.finalPath = finalPath
        self.replacing = replacing
        stagingPath = "\(finalPath).partial-\(getpid())"
        unlink(stagingPath)
        do {
            descriptor = try FileDescriptor.open(stagingPath, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot create \(finalPath)", underlying: error)
        }
    }

    /// Flushes the file to disk and gives it its final name.
    public func commit() throws {
        do {
            try descriptor.sync()
            try FileDescriptor.rename(stagingPath, to: finalPath, noReplace: !replacing)
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot write \(finalPath)", underlying: error)
        }
    }

    /// Removes the temporary file.
    public func discard() { unlink(stagingPath) }
}
