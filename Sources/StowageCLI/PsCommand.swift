import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine

/// `stowage ps`: the containers, as `docker ps` lists them.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Show all containers (default shows just running).")
    var all = false

    @Flag(name: .shortAndLong, help: "Display total file sizes.")
    var size = false

    @Flag(name: .shortAndLong, help: "Only display container IDs.")
    var quiet = false

    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.")
    var noTrunc = false

    @Option(name: .shortAndLong, help: "Filter output: name=, id=, status=, label=KEY[=VALUE], ancestor=IMAGE, volume=NAME.")
    var filter: [String] = []

    @Option(help: "Format output: json, table, or a Go-style template such as '{{.ID}} {{.Names}}'.")
    var format: String?

    @Option(name: [.customShort("n"), .customLong("last")], help: "Show n last created containers.")
    var last: Int = -1

    @Flag(name: [.customShort("l"), .customLong("latest")], help: "Show the latest created container.")
    var latest = false

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            let filters = try ContainerFilters(filter, engine: engine)
            let listing = try format.flatMap { format in
                format == "table" ? nil : try ListingFormat(format == "json" ? "{{json .}}" : format, context: .containers,
                                                            parseErrorPrefix: "failed to parse template", executeErrorPrefix: "failed to execute template")
            }
            // As docker's: sizes when asked for, or when a template reads them (`--format json` does not).
            let wantsSize = size || (!quiet && format != "json" && listing?.uses("Size") == true)
            var summaries = try engine.containers.list(sizes: wantsSize).filter(filters.matches)  // newest first
            // As docker's: only running containers, unless -a, -n, -l or a status filter asks for others.
            if !(all || latest || last > 0 || filters.filtersStatus) { summaries = summaries.filter { $0.record.State?.Running == true } }
            if latest || last > 0 { summaries = Array(summaries.prefix(latest ? 1 : last)) }
            let rows = summaries.map { ContainerRow(summary: $0, truncate: !noTrunc) }
            if quiet {
                print(rows.map { $0.id + "\n" }.joined(), terminator: "")
                return
            }
            var columns = ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"]
            if size { columns.append("Size") }
            if let listing {
                print(try listing.render(rows.map { ListingContext.containers.row($0.field) }), terminator: "")
            } else {
                var table = Table(header: columns.map { ListingContext.containers.title(of: $0) })
                for row in rows { table.append(columns.map(row.field)) }
                print(table.render(), terminator: "")
            }
        }
    }
}

/// One container as the docker CLI shows it.
struct ContainerRow {
    let summary: ContainerListing
    let truncate: Bool


    var record: ContainerRecord { summary.record }
    var id: String { truncate ? String(record.ID.prefix(12)) : record.ID }

    /// The daemon's command line (arguments with spaces in single quotes), shortened to 20
    /// characters and quoted by the CLI.
    var command: String {
        var text = record.commandLine
        if truncate, text.count > 20 { text = String(text.prefix(19)) + "…" }
        return goQuote(text)
    }

    var sizeText: String {
        guard let rw = summary.sizeRw, let virtual = summary.sizeRootFs else { return "0B" }
        return "\(Units.humanSize(rw)) (virtual \(Units.humanSize(virtual)))"
    }

    /// Each mount's volume name or source, shortened to 15 characters as docker's `Ellipsis`.
    var mounts: String {
        (record.MountPoints ?? [:]).sorted { $0.key < $1.key }.map { point in
            let name = point.value.Name?.isEmpty == false ? point.value.Name! : (point.value.Source ?? "")
            return truncate && name.count > 15 ? name.prefix(14) + "…" : name
        }.joined(separator: ",")
    }

    var labels: String {
        (record.Config.Labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    func field(_ name: String) -> String {
        switch name {
        case "ID": id
        case "Image": summary.imageName
        case "Command": command
        case "RunningFor": Units.ago(record.createdSeconds)
        case "CreatedAt": Units.goTimeString(record.createdSeconds)
        case "Status": record.statusText
        case "State": record.status
        case "Ports": ""
        case "Names": record.name
        case "Size": sizeText
        case "Labels": labels
        case "Mounts": mounts
        case "LocalVolumes": String(record.volumeNames.count)
        case "Networks": "bridge"
        default: ""
        }
    }
}

/// Go's `strconv.Quote` for printable text: backslash escapes for quotes, backslashes and
/// control characters.
func goQuote(_ text: String) -> String {
    var output = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\\": output += "\\\\"
        case "\n": output += "\\n"
        case "\t": output += "\\t"
        case "\r": output += "\\r"
        case _ where scalar.value < 0x20 || scalar.value == 0x7f:
            let hex = String(scalar.value, radix: 16)
            output += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: output.unicodeScalars.append(scalar)
        }
    }
    return output + "\""
}
