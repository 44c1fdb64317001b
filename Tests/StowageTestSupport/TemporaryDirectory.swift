#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StowageFileSystem

/// A directory under /tmp that is removed with everything in it when released, also when the
/// test that made it fails (anything still mounted below it is unmounted first).
public final class TemporaryDirectory {
    public let path: String

    public init(_ label: String = "test") throws {
        var template = Array("/tmp/stowage-\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError("mkdtemp", path: "/tmp", errno: errno)
        }
        path = String(cString: made)
    }

    deinit {
        // Never descend into a mount a failed test left behind: unmount first.
        unmountEverything(under: path)
        if let parent = try? FileDescriptor.openDirectory("/tmp") {
            try? parent.removeEntry(String(path.dropFirst("/tmp/".count)))
        }
    }

    /// `path/relative`.
    public func join(_ relative: String) -> String { path + "/" + relative }

    /// Writes `contents` to `path/relative`, creating parent directories.
    @discardableResult
    public func write(_ relative: String, _ contents: [UInt8]) throws -> String {
        let target = join(relative)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: target))
        return target
    }

    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Array(text.utf8))
    }
}
