import ArgumentParser
import StowageCore
import StowageEngine

/// `stowage create`: a container (init and writable layers) on an image.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new container.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Assign a name to the container.")
    var name: String?

    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind mount a volume: NAME:/path[:ro], /host:/path[:ro] or /path.")
    var volumes: [String] = []

    @Option(name: [.customShort("l"), .customLong("label")], help: "Set metadata on a container (key=value).")
    var labels: [String] = []

    @Argument(help: "The image.")
    var image: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (default: the image's).")
    var command: [String] = []

    func run() throws {
        try reportingErrors {
            var request = ContainerCreation(image: image, name: name)
            request.command = command.first == "--" ? Array(command.dropFirst()) : command
            request.volumes = volumes
            for label in labels {
                let pair = label.split(separator: "=", maxSplits: 1).map(String.init)
                request.labels[pair[0]] = pair.count > 1 ? pair[1] : ""
            }
            print(try global.openEngine().containers.create(request))
        }
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
                      CommitCommand.self, ExportCommand.self, ContainerInspectCommand.self, ContainerRemoveCommand.self, ContainerPruneCommand.self])
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
