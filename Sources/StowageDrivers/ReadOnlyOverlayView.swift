#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageCore
import StowageFileSystem

/// A read-only overlayfs view of layer directories, mounted in a private temporary directory
/// outside the data root: how a layered root filesystem is read where the data root itself
/// cannot be written (a read-only mount or snapshot), since overlayfs stacks lower
/// directories alone, whiteouts and opaque directories included, without an upper one.
public enum ReadOnlyOverlayView {
    /// Runs `body` with the merged view of `layers` (top first) mounted at a path it is given;
    /// unmounted and removed after, also when `body` fails.
    public static func withView<T>(of layers: [String], _ body: (String) throws -> T) throws -> T {
        let options = "lowerdir=" + layers.joined(separator: ":")
        guard options.utf8.count < 4096 else {
            throw StowageError(.limitExceeded, "a read-only view of \(layers.count) layers needs overlay options over a page (\(options.utf8.count) bytes)")
        }
        var template = Array("/tmp/stowage-view-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StowageError(.ioFailure, "cannot make a directory for a read-only view", underlying: SystemError("mkdtemp", path: "/tmp", errno: errno))
        }
        let mountPoint = String(cString: made)
        defer { rmdir(mountPoint) }
        guard stowage_mount("overlay", mountPoint, "overlay", UInt(MS_RDONLY), options) == 0 else {
            throw StowageError(.ioFailure, "cannot mount a read-only view of the layers on \(mountPoint)",
                               underlying: SystemError("mount overlay", path: mountPoint, errno: errno))
        }
        defer { _ = stowage_umount(mountPoint, Int32(MNT_DETACH)) }
        return try body(mountPoint)
    }
}
