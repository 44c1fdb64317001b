#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A private instance of the real Docker engine (Debian's `dockerd`) for compatibility tests:
/// its own data root, exec root, pid file and unix socket under a temporary directory, no
/// networking set-up. It never touches the host's `/var/lib/docker` or `/var/run/docker.sock`.
/// `stop()` (also run on deinit) terminates the daemon it started, by its PID, and removes
/// everything but a data root the caller passed in.
public final class DockerEngine {
    public let dataRoot: String
    public let socket: String
    public let storageDriver: String
    private let scratch: TemporaryDirectory
    private var process: Process?

    /// Starts `dockerd` and waits until it answers.
    /// - Parameters:
    ///   - dataRoot: an existing data root to open (kept on stop); nil for a fresh one.
    public init(storageDriver: String = "vfs", dataRoot: String? = nil) throws {
        guard programExists("dockerd"), programExists("docker") else {
            throw FixtureError(description: "dockerd is not installed: apt-get install -y docker.io")
        }
        // Unix socket paths are limited to 108 bytes: keep the scratch directory short.
        scratch = try TemporaryDirectory("dk")
        self.dataRoot = dataRoot ?? scratch.join("root")
        self.storageDriver = storageDriver
        socket = scratch.join("docker.sock")
        try start()
    }

    deinit { stop() }

    /// Runs the docker CLI against this engine.
    @discardableResult
    public func docker(_ arguments: [String], input: Data? = nil) throws -> String {
        let result = try runProcess(["docker", "--host", "unix://\(socket)"] + arguments, input: input)
        guard result.status == 0 else {
            throw ShellError(command: "docker " + arguments.joined(separator: " "), status: result.status,
                             standardError: result.standardError)
        }
        return result.output
    }

    /// Stops the daemon (SIGTERM, then SIGKILL after 30 s) and waits for it.
    public func stop() {
        guard let process, process.isRunning else { self.process = nil; return }
        try? writeFile(stopFile, [])  // the watchdog stops the daemon and waits for it
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning {
            if let pid = try? String(contentsOfFile: scratch.join("dockerd.pid"), encoding: .utf8),
               let daemon = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(daemon, SIGKILL)
            }
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        self.process = nil
        try? FileManager.default.removeItem(atPath: stopFile)
        // Anything the daemon left mounted under its roots.
        for root in [dataRoot, scratch.join("exec")] { unmountEverything(under: root) }
    }

    /// Starts the daemon again on the same roots (after `stop()`).
    public func restart() throws {
        stop()
        try start()
    }

    /// The daemon's log, for failure messages.
    public var log: String { (try? String(contentsOfFile: scratch.join("dockerd.log"), encoding: .utf8)) ?? "" }

    private var stopFile: String { scratch.join("stop") }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // A watchdog between the test process and dockerd: it stops the daemon when asked
        // (SIGTERM) and also when the test process dies without asking, so that a crashed
        // test run never leaves a daemon behind.
        let watchdog = """
            owner=$1; stopfile=$2; shift 2
            "$@" & daemon=$!
            while kill -0 "$owner" 2>/dev/null && kill -0 $daemon 2>/dev/null && [ ! -e "$stopfile" ]; do sleep 0.2; done
            kill -TERM $daemon 2>/dev/null
            wait $daemon
            """
        try? FileManager.default.removeItem(atPath: stopFile)
        process.arguments = [
            "-c", watchdog, "watchdog", String(getpid()), stopFile,
            "dockerd", "--data-root", dataRoot, "--exec-root", scratch.join("exec"),
            "--pidfile", scratch.join("dockerd.pid"), "--host", "unix://\(socket)",
            "--storage-driver", storageDriver, "--iptables=false", "--ip6tables=false", "--bridge=none",
            "--log-level=warn",
        ]
        let logPath = scratch.join("dockerd.log")
        if !FileManager.default.fileExists(atPath: logPath) {
            try writeFile(logPath, [])
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning {
                throw FixtureError(description: "dockerd exited with \(process.terminationStatus):\n\(self.log)")
            }
            if FileManager.default.fileExists(atPath: socket),
               (try? runProcess(["docker", "--host", "unix://\(socket)", "version"]))?.status == 0 {
                return
            }
            usleep(100_000)
        }
        stop()
        throw FixtureError(description: "dockerd did not answer within 60 s:\n\(self.log)")
    }
}

/// Unmounts every mount point at or below `root`, deepest first.
public func unmountEverything(under root: String) {
    guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return }
    let points = mounts.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 1 else { return nil }
        let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
        return point == root || point.hasPrefix(root + "/") ? point : nil
    }
    for point in points.sorted(by: { $0.count > $1.count }) {
        _ = try? runProcess(["umount", "-l", point])
    }
}
