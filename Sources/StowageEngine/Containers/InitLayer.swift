#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// The `-init` layer below every container's writable layer: the mount points and files a
/// runtime binds over, made as Docker's `initlayer.Setup` makes them.
///
/// Each path's components are unlinked first (a file or symlink in the image is replaced; a
/// directory stays), then the path is made if it is missing: directories `0755`, empty
/// files `0755`, and `/etc/mtab` a symbolic link to `/proc/mounts`; parents `0755`, owned
/// by root.
enum InitLayer {
    enum Kind {
        case directory
        case file
        case symbolicLink(String)
    }

    static let entries: [(path: String, kind: Kind)] = [
        ("/dev/pts", .directory), ("/dev/shm", .directory), ("/proc", .directory), ("/sys", .directory),
        ("/.dockerenv", .file), ("/etc/resolv.conf", .file), ("/etc/hosts", .file), ("/etc/hostname", .file),
        ("/dev/console", .file), ("/etc/mtab", .symbolicLink("/proc/mounts")),
    ]

    /// Sets up the init layer's view mounted at `root`.
    static func setUp(at root: String) throws {
        for (path, kind) in entries {
            var prefix = root
            for component in path.split(separator: "/") {
                prefix += "/" + component
                unlink(prefix)  // fails harmlessly on directories, as Docker's does
            }
            var st = stat()
            guard stat(root + path, &st) != 0, errno == ENOENT else { continue }
            let parent = String(path[..<path.lastIndex(of: "/")!])
            try makeDirectories(root, parent)
            let full = root + path
            switch kind {
            case .directory:
                try makeDirectories(root, path)
            case .file:
                let fd = open(full, O_CREAT | O_WRONLY | O_CLOEXEC, 0o755)
                try SystemError.check(fd, "create", full)
                fchown(fd, 0, 0)
                fchmod(fd, 0o755)  // whatever the umask
                close(fd)
            case .symbolicLink(let target):
                try SystemError.check(symlink(target, full), "symlink", full)
            }
        }
    }

    /// `mkdir -p` of `path` below `root`, new directories `0755` and owned by root.
    private static func makeDirectories(_ root: String, _ path: String) throws {
        var current = root
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                chown(current, 0, 0)
                chmod(current, 0o755)
            } else if errno != EEXIST {
                throw SystemError("mkdir", path: current, errno: errno)
            }
        }
    }
}
