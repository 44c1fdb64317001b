import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine

/// `stowage volume …`: local volumes, as `docker volume …`.
struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes.",
        subcommands: [Create.self, List.self, Inspect.self, Remove.self, Prune.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Set metadata for a volume (key=value).") var label: [String] = []
        @Option(name: .shortAndLong, help: "Specify volume driver name (local).") var driver = "local"
        @Option(name: [.customShort("o"), .customLong("opt")], help: "Set driver specific options (type=, device=, o=).") var opt: [String] = []
        @Argument(help: "The volume's name (default: a random one).") var name: String?

        func run() throws {
            try reportingErrors {
                let pairs = { (texts: [String]) in
                    Dictionary(texts.map { text in
                        let pair = text.split(separator: "=", maxSplits: 1).map(String.init)
                        return (pair[0], pair.count > 1 ? pair[1] : "")
                    }, uniquingKeysWith: { $1 })
                }
                let volumeName = name ?? LayerCacheID.random().rawValue
                print(try global.openEngine().volumes.create(volumeName, driver: driver, labels: pairs(label), options: pairs(opt)).name)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.", aliases: ["list"])
        @OptionGroup var global: GlobalOptions
        @Flag(name: .shortAndLong, help: "Only display volume names.") var quiet = false
        @Option(name: .shortAndLong, help: "Filter output: dangling=true|false, driver=local, label=KEY[=VALUE], name=PART.")
        var filter: [String] = []
        @Option(help: "Format output: json, table, or a Go-style template such as '{{.Name}}\\t{{.Mountpoint}}'.") var format: String?

        func run() throws {
            try reportingErrors {
                let listing = try format.flatMap { $0 == "table" ? nil : try ListingFormat($0 == "json" ? "{{json .}}" : $0, context: .volumes) }
                let engine = try global.openEngine(toRead: true)
                let filters = try VolumeFilters(filter)
                let users = filters.needsUsers ? try engine.volumes.users() : [:]
                let volumes = try engine.volumes.list().filter { filters.matches($0, isUsed: users[$0.name] != nil) }
                if quiet { print(volumes.map { $0.name + "\n" }.joined(), terminator: ""); return }
                if let listing {
                    print(try listing.render(volumes.map { volume in ListingContext.volumes.row { Self.field($0, volume) } }), terminator: "")
                    return
                }
                var table = Table(header: ["DRIVER", "VOLUME NAME"])
                for volume in volumes { table.append(["local", volume.name]) }
                print(table.render(), terminator: "")
            }
        }

        /// A field of docker's volume context (what only a daemon with usage data knows is `N/A`).
        private static func field(_ name: String, _ volume: LocalVolume) -> String {
            switch name {
            case "Name": volume.name
            case "Driver": "local"
            case "Scope": "local"
            case "Mountpoint": volume.mountpoint
            case "Labels": volume.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            default: "N/A"
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more volumes.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .shortAndLong, help: "Format the output using the given Go template.") var format: String?
        @Argument(help: "Volume names.") var names: [String]

        func run() throws {
            try reportingErrors {
                let volumes = try global.openEngine(toRead: true).volumes
                try printInspected(names, format: format) { try volumes.inspect($0) }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more volumes.", aliases: ["remove"])
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Volume names.") var names: [String]

        func run() throws {
            try reportingErrors {
                let engine = try global.openEngine()
                try forEachReportingFailures(names) { name in
                    try engine.volumes.remove(name)
                    print(name)
                }
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused anonymous volumes (all unused with -a).")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .shortAndLong, help: "Remove all unused volumes, not just anonymous ones.") var all = false
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false

        func run() throws {
            try reportingErrors {
                guard force || confirm(all ? "WARNING! This will remove all local volumes not used by at least one container."
                                           : "WARNING! This will remove anonymous local volumes not used by at least one container.") else { return }
                let result = try global.openEngine().volumes.prune(all: all)
                printPruned("Deleted Volumes:", result.names, reclaimed: result.reclaimed)
            }
        }
    }
}

/// `stowage system …`: `df` and `prune`, as `docker system …`.
struct SystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "system", abstract: "Manage Stowage.",
                                                    subcommands: [DiskUsage.self, Prune.self])

    struct DiskUsage: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "df", abstract: "Show disk usage.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Format output: json, or table.") var format: String?
        @Flag(name: .shortAndLong, help: "Show detailed information on space usage.") var verbose = false

        func run() throws {
            try reportingErrors {
                if verbose {
                    print(try Self.verboseReport(try global.openEngine(toRead: true)), terminator: "")
                    return
                }
                let rows = try global.openEngine(toRead: true).diskUsage()
                let reclaimable = { (row: DiskUsageRow) -> String in
                    let text = Units.humanSize(row.reclaimable, precision: 4)
                    return row.size > 0 ? "\(text) (\(row.reclaimable * 100 / row.size)%)" : text
                }
                if format == "json" || format == "{{json .}}" {
                    for row in rows {
                        print(JSONValue.object([("Active", .string(String(row.active))), ("Reclaimable", .string(reclaimable(row))),
                                                ("Size", .string(Units.humanSize(row.size, precision: 4))),
                                                ("TotalCount", .string(String(row.total))), ("Type", .string(row.type))]).serialized())
                    }
                    return
                }
                var table = Table(header: ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"])
                for row in rows {
                    table.append([row.type, String(row.total), String(row.active), Units.humanSize(row.size, precision: 4), reclaimable(row)])
                }
                print(table.render(), terminator: "")
            }
        }

        /// `docker system df -v`: every image, container and volume with its space.
        static func verboseReport(_ engine: Engine) throws -> String {
            var images = Table(header: ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"])
            for usage in try engine.imageDiskUsage() {
                // One row an image, under its first tag, as docker's.
                let tag = usage.summary.repoTags.first
                images.append([tag?.familiarName ?? "<none>", tag?.tag ?? "<none>", usage.summary.id.shortForm, Units.ago(usage.summary.created),
                               Units.humanSize(usage.summary.size), Units.humanSize(usage.sharedSize, precision: 4),
                               Units.humanSize(usage.uniqueSize, precision: 4), String(usage.containers)])
            }
            var containers = Table(header: ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"])
            for summary in try engine.containers.list(sizes: true) {
                let row = ContainerRow(summary: summary, truncate: true)
                containers.append([row.id, row.field("Image"), row.command, row.field("LocalVolumes"), Units.humanSize(summary.sizeRw ?? 0),
                                   row.field("RunningFor"), row.record.statusText, row.field("Names")])
            }
            var volumes = Table(header: ["VOLUME NAME", "LINKS", "SIZE"])
            let users = try engine.volumes.users()
            for volume in try engine.volumes.list() {
                volumes.append([volume.name, String(users[volume.name]?.count ?? 0), Units.humanSize(try engine.volumes.size(of: volume))])
            }
            let cache = Table(header: ["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"])
            return "Images space usage:\n\n" + images.render() + "\nContainers space usage:\n\n" + containers.render()
                + "\nLocal Volumes space usage:\n\n" + volumes.render() + "\nBuild cache usage: 0B\n\n" + cache.render()
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused data: unmounted containers, dangling images (all unused with -a), and with --volumes unused anonymous volumes.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .shortAndLong, help: "Remove all unused images, not just dangling ones.") var all = false
        @Flag(help: "Prune anonymous volumes.") var volumes = false
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false

        func run() throws {
            try reportingErrors {
                guard force || confirm("WARNING! This will remove all containers not mounted, unused networks none, and \(all ? "all images without at least one container associated to them" : "dangling images").") else { return }
                let engine = try global.openEngine()
                let containers = try engine.containers.prune()
                printPruned("Deleted Containers:", containers.ids, reclaimed: nil)
                var reclaimed = containers.reclaimed
                if volumes {
                    let pruned = try engine.volumes.prune(all: false)
                    printPruned("Deleted Volumes:", pruned.names, reclaimed: nil)
                    reclaimed += pruned.reclaimed
                }
                let images = try engine.images.prune(all: all)
                printPruned("Deleted Images:", images.events.map(\.pruneLine), reclaimed: nil)
                reclaimed += images.reclaimed
                print("Total reclaimed space: \(Units.humanSize(reclaimed, precision: 4))")
            }
        }
    }
}
