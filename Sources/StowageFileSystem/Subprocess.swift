#if canImport(Glibc)
import Glibc
#endif
import CStowageShim

/// Runs helper programs (`fuse-overlayfs`, `btrfs`) the drivers need, without a shell.
public enum Subprocess {
    /// Runs `arguments` (the first found on PATH) with standard input and output on
    /// /dev/null, standard error captured and no other descriptor inherited; throws unless
    /// it exits 0.
    public static func run(_ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var errorPipe: [Int32] = [0, 0]
        guard pipe(&errorPipe) == 0 else { throw SystemError("pipe", path: arguments[0], errno: errno) }
        _ = fcntl(errorPipe[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(errorPipe[1], F_SETFD, FD_CLOEXEC)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        // Nothing else of ours reaches the program: a daemon it leaves behind (fuse-overlayfs)
        // must not hold our caller's descriptors open, such as a parent's exit-watch socket.
        stowage_spawn_actions_closefrom(&actions, 3)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(errorPipe[1])
        defer { close(errorPipe[0]) }
        guard status == 0 else { throw SystemError("spawn", path: arguments[0], errno: status) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = read(errorPipe[0], &chunk, chunk.count)
            if got <= 0 { break }
            output.append(contentsOf: chunk[0..<got])
        }
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0 {
            if errno != EINTR { throw SystemError("waitpid", path: arguments[0], errno: errno) }
        }
        let exited = exitStatus & 0x7f == 0
        let code = (exitStatus >> 8) & 0xff
        guard exited, code == 0 else {
            let message = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw SubprocessError(command: arguments.joined(separator: " "), status: exited ? code : -(exitStatus & 0x7f), message: message)
        }
    }

    /// Whether `program` is an executable on PATH.
    public static func exists(_ program: String) -> Bool {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        return path.split(separator: ":").contains { access("\($0)/\(program)", X_OK) == 0 }
    }
}

/// A helper program that failed: what ran, its status, and the last line it printed.
public struct SubprocessError: Error, Sendable, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let message: String

    public var description: String { "`\(command)` failed (\(status)): \(message)" }
}
