import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine

/// `stowage history IMAGE`: how an image was made, newest step first.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the history of an image.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("H"), .customLong("human")], help: "Print sizes and dates in human readable format.")
    var human: Bool = true

    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.")
    var noTrunc = false

    @Flag(name: .shortAndLong, help: "Only show image IDs.")
    var quiet = false

    @Option(help: "Format output using a Go-style template, such as '{{.ID}}\\t{{.CreatedBy}}'.")
    var format: String?

    @Argument(help: "The image, by name or ID.")
    var image: String

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            let entries = try engine.images.history(of: try engine.images.resolve(image))
            if quiet {
                print(entries.map { id($0) + "\n" }.joined(), terminator: "")
                return
            }
            if let format, format != "table" {
                let listing = try ListingFormat(format == "json" ? "{{json .}}" : format, context: .history)
                print(try listing.render(entries.map { entry in ListingContext.history.row { field($0, entry) } }), terminator: "")
                return
            }
            // docker's table shows CreatedSince, or CreatedAt under its own header with -H=false.
            var table = Table(header: ["IMAGE", human ? "CREATED" : "CREATED AT", "CREATED BY", "SIZE", "COMMENT"])
            for entry in entries {
                table.append([id(entry), field(human ? "CreatedSince" : "CreatedAt", entry), field("CreatedBy", entry), field("Size", entry), entry.comment])
            }
            print(table.render(), terminator: "")
        }
    }

    private func id(_ entry: HistoryEntry) -> String {
        guard let image = entry.image else { return "<missing>" }
        return noTrunc ? image.description : image.shortForm
    }

    private func field(_ name: String, _ entry: HistoryEntry) -> String {
        switch name {
        case "ID": return id(entry)
        case "CreatedSince":
            guard let created = entry.created else { return "N/A" }
            return human ? Units.ago(created) : Timestamp.formatRFC3339(seconds: created)
        case "CreatedAt":
            guard let created = entry.created else { return "N/A" }
            return Timestamp.formatRFC3339(seconds: created)
        case "CreatedBy":
            let text = entry.createdBy.replacingOccurrences(of: "\t", with: " ")
            return noTrunc || text.count <= 45 ? text : String(text.prefix(44)) + "…"
        case "Size": return human ? Units.humanSize(entry.size) : String(entry.size)
        case "Comment": return entry.comment
        case "Tags": return entry.tags.map(\.familiarString).joined(separator: ", ")
        default: return "<no value>"
        }
    }

}

/// `stowage tag SOURCE TARGET`.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The image to tag, by name or ID.")
    var source: String

    @Argument(help: "The new name, NAME[:TAG].")
    var target: String

    func run() throws {
        try reportingErrors {
            try global.openEngine().images.tag(source, as: target)
        }
    }
}

/// `stowage rmi IMAGE…`: untag, and delete images and their unused layers.
struct RemoveImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove one or more images.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Force removal of the image.")
    var force = false

    @Argument(help: "Images, by name or ID.")
    var images: [String]

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            try forEachReportingFailures(images) { image in
                print(try engine.images.remove(image, force: force).map { "\($0.kind): \($0.value)\n" }.joined(), terminator: "")
            }
        }
    }
}

/// `stowage image prune`.
struct ImagePruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused images.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Remove all unused images, not just dangling ones.")
    var all = false

    @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.")
    var force = false

    func run() throws {
        try reportingErrors {
            if !force {
                print(all ? "WARNING! This will remove all images without at least one container associated to them."
                          : "WARNING! This will remove all dangling images.")
                print("Are you sure you want to continue? [y/N] ", terminator: "")
                guard let answer = readLine(), answer.lowercased().hasPrefix("y") else { return }
            }
            let result = try global.openEngine().images.prune(all: all)
            printPruned("Deleted Images:", result.events.map(\.pruneLine), reclaimed: result.reclaimed)
        }
    }
}

/// `stowage image …`: the image verbs under one name, as `docker image …`.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images.",
        subcommands: [ImageListCommand.self, HistoryCommand.self, ImageInspectCommand.self, LoadCommand.self, SaveCommand.self, ImportCommand.self,
                      TagCommand.self, ImageRemoveCommand.self, ImagePruneCommand.self])
}
