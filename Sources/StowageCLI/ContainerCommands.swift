#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine
import StowageFileSystem

/// `stowage create`: a container (init and writable layers) on an image.
struct CreateCommand: ParsableCommand {
    // `-h` is the hostname, as docker's; help is `--help`.
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new container.", helpNames: [.long])

    @OptionGroup var global: GlobalOptions

    @Option(help: "Assign a name to the container.")
    var name: String?

    @Option(name: [.customShort("e"), .customLong("env")], help: "Set an environment variable (KEY=value, or KEY to pass this one's).")
    var environment: [String] = []

    @Option(name: .customLong("env-file"), help: "Read environment variables from a file (KEY=value lines, # comments).")
    var environmentFiles: [String] = []

    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container (an absolute path).")
    var workingDirectory: String?

    @Option(help: "Overwrite the image's entrypoint (\"\" clears it).")
    var entrypoint: String?

    @Option(name: [.customShort("u"), .customLong("user")], help: "Username or UID (format: <name|uid>[:<group|gid>]).")
    var user: String?

    @Option(name: [.customShort("h"), .customLong("hostname")], help: "Container host name.")
    var hostname: String?

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Allocate a pseudo-TTY.")
    var tty = false

    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Keep STDIN open even if not attached.")
    var interactive = false

    @Option(name: [.customLong("network"), .customLong("net")], help: "Connect the container to a network: default, bridge, none, host.")
    var network = "default"

    @Option(name: .customLong("label-file"), help: "Read labels from a file (key=value lines, # comments).")
    var labelFiles: [String] = []

    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind mount a volume: NAME:/path[:ro], /host:/path[:ro] or /path.")
    var volumes: [String] = []

    @Option(name: [.customShort("l"), .customLong("label")], help: "Set metadata on a container (key=value).")
    var labels: [String] = []

    @Argument(help: "The image.")
    var image: String

    func validate() throws {
        for variable in environment where variable.isEmpty || variable.hasPrefix("=") {
            throw ValidationError("invalid argument \"\(variable)\" for \"-e, --env\" flag: invalid environment variable: \(variable)")
        }
    }

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (default: the image's).")
    var command: [String] = []

    func run() throws {
        try reportingErrors {
            var request = ContainerCreation(image: image, name: name)
            request.command = command.first == "--" ? Array(command.dropFirst()) : command
            request.volumes = volumes
            for label in try labelFiles.flatMap({ try KeyValueFile.lines(of: $0, kind: "label", passingThrough: false) }) + labels {
                let pair = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                request.labels[pair[0]] = pair.count > 1 ? pair[1] : ""
            }
            request.environment = try environmentFiles.flatMap { try KeyValueFile.lines(of: $0, kind: "env", passingThrough: true) }
                + environment.map(KeyValueFile.passingThrough)
            request.entrypoint = entrypoint.map { $0.isEmpty ? [] : [$0] }
            request.workingDirectory = workingDirectory
            request.user = user
            request.hostname = hostname
            request.tty = tty
            request.interactive = interactive
            request.networkMode = network
            print(try global.openEngine().containers.create(request))
        }
    }
}

/// `stowage rename`: another name for a container.
struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The container, by name or ID.")
    var container: String

    @Argument(help: "Its new name.")
    var newName: String

    func run() throws {
        try reportingErrors { try global.openEngine().containers.rename(container, to: newName) }
    }
}

/// `stowage mount`: mounts a container's root filesystem and prints its path.
struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mount", abstract: "Mount a container's root filesystem and print its path.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The container, by name or ID.")
    var container: String

    func run() throws {
        try reportingErrors { print(try global.openEngine().containers.mount(container)) }
    }
}

/// `stowage unmount`: releases a mount; the last release unmounts.
struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Release a container's root filesystem mount.",
                                                    aliases: ["umount"])

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Unmount even if other mounts hold it.")
    var force = false

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            for container in containers {
                try engine.containers.unmount(container, force: force)
                print(container)
            }
        }
    }
}

/// `stowage diff`: a container's changes, as `docker diff` prints them.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Inspect changes to files or directories on a container's filesystem.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The container, by name or ID.")
    var container: String

    func run() throws {
        try reportingErrors {
            print(try global.openEngine(toRead: true).containers.changes(container).map { $0.description + "\n" }.joined(), terminator: "")
        }
    }
}

/// `stowage commit`: a new image from a container's changes.
struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Create a new image from a container's changes.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Commit message.")
    var message = ""

    @Option(name: .shortAndLong, help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\").")
    var author = ""

    @Option(name: .shortAndLong, help: "Apply Dockerfile instruction to the created image.")
    var change: [String] = []

    @Argument(help: "The container, by name or ID.")
    var container: String

    @Argument(help: "REPOSITORY[:TAG] for the new image.")
    var reference: String?

    func run() throws {
        try reportingErrors {
            var request = CommitRequest(container: container, reference: reference)
            request.message = message
            request.author = author
            request.changes = change
            print(try global.openEngine().containers.commit(request))
        }
    }
}

/// `stowage export`: a container's root filesystem as a tar.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a container's filesystem as a tar archive.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Write to a file, instead of STDOUT.")
    var output: String?

    @Argument(help: "The container, by name or ID.")
    var container: String

    func run() throws {
        try reportingErrors {
            try refuseTerminalOutput(output)
            let engine = try global.openEngine(toRead: true)
            try writeStream(to: output, printingDigest: false) { try engine.containers.export(container, to: $0) }
        }
    }
}

/// `stowage rm`: removes containers.
struct RemoveContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more containers.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Force the removal of a mounted container.")
    var force = false

    @Flag(name: .shortAndLong, help: "Remove anonymous volumes associated with the container.")
    var volumes = false

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            try forEachReportingFailures(containers, ignoring: { force && $0.code == .notFound }) { container in
                try engine.containers.remove(container, force: force, removeVolumes: volumes)
                print(container)
            }
        }
    }
}

/// `stowage container prune`.
struct ContainerPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all containers not mounted.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.")
    var force = false

    func run() throws {
        try reportingErrors {
            guard force || confirm("WARNING! This will remove all stopped containers.") else { return }
            let result = try global.openEngine().containers.prune()
            printPruned("Deleted Containers:", result.ids, reclaimed: result.reclaimed)
        }
    }
}

/// `stowage container …`: the container verbs under one name, as `docker container …`.
struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers.",
        subcommands: [CreateCommand.self, ContainerListCommand.self, MountCommand.self, UnmountCommand.self, DiffCommand.self,
                      CommitCommand.self, ExportCommand.self, CopyCommand.self, ContainerInspectCommand.self, RenameCommand.self, ContainerRemoveCommand.self,
                      ContainerPruneCommand.self])
}

/// Asks before a prune, as the docker CLI does without `-f`.
func confirm(_ warning: String) -> Bool {
    print(warning)
    print("Are you sure you want to continue? [y/N] ", terminator: "")
    guard let answer = readLine() else { return false }
    return answer.lowercased().hasPrefix("y")
}

/// A prune's report: the heading and what went (when anything did), then the bytes freed.
extension ImageRemovalEvent {
    /// How `prune` lists it: `untagged: busybox:latest`, `deleted: sha256:…`.
    var pruneLine: String { "\(kind.lowercased()): \(value)" }
}

func printPruned(_ heading: String, _ items: [String], reclaimed: Int64?) {
    if !items.isEmpty {
        print(heading)
        print(items.map { $0 + "\n" }.joined())
    }
    if let reclaimed { print("Total reclaimed space: \(Units.humanSize(reclaimed, precision: 4))") }
}

/// The docker CLI's `--env-file` and `--label-file`: `KEY=value` lines, leading white space
/// and `#` comments skipped; a bare `KEY` passes this process's variable through (env files;
/// left out when unset), or is left out (label files).
enum KeyValueFile {
    static func lines(of path: String, kind: String, passingThrough: Bool) throws -> [String] {
        guard let text = FileDescriptor.readText(path, limit: 16 << 20) else {
            throw StowageError(.notFound, "open \(path): no such file or directory")
        }
        var lines: [String] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if number == 0, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            line = line.drop { $0.isWhitespace }
            if line.last == "\r" { line = line.dropLast() }
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].drop { $0 == " " || $0 == "\t" }
            if key.contains(where: \.isWhitespace) {
                throw StowageError(.invalidArgument, "\(kind) file \(path): variable '\(key)' contains whitespaces")
            }
            guard !key.isEmpty else { throw StowageError(.invalidArgument, "\(kind) file \(path): no variable name on line '\(line)'") }
            if parts.count == 2 {
                lines.append(key + "=" + parts[1])
            } else if passingThrough, let value = getenv(String(key)) {
                lines.append(key + "=" + String(cString: value))
            }
        }
        return lines
    }

    /// `-e KEY` takes this process's `KEY`, as the docker CLI does; kept as it is when unset.
    static func passingThrough(_ variable: String) -> String {
        guard !variable.contains("="), !variable.isEmpty, let value = getenv(variable) else { return variable }
        return variable + "=" + String(cString: value)
    }
}
