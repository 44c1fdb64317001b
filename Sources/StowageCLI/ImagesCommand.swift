import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine

/// `stowage images`: the images stored, as `docker images` lists them.
struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "List images.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Show all images (default hides intermediate images).")
    var all = false

    @Flag(name: .shortAndLong, help: "Only show image IDs.")
    var quiet = false

    @Flag(help: "Show digests.")
    var digests = false

    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.")
    var noTrunc = false

    @Option(name: .shortAndLong, help: "Filter output: dangling=true|false, reference=PATTERN.")
    var filter: [String] = []

    @Option(help: "Format output: json, table, or a Go-style template such as '{{.Repository}}:{{.Tag}}'.")
    var format: String?

    @Argument(help: "Only images of this repository (and tag).")
    var repository: String?

    /// One row: an image under one of its names (or `<none>`).
    private struct Row {
        let summary: ImageListing
        let repository: String
        let tag: String
        let digest: String
    }

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            let filters = try ImageFilters(filter + (repository.map { ["reference=" + $0] } ?? []), engine: engine)
            var rows: [Row] = []
            for summary in try engine.images.list() {
                if !all, summary.isDangling, summary.hasChildren { continue }
                guard filters.matches(summary) else { continue }
                rows += Self.rows(for: summary, filters: filters)
            }
            print(try render(rows), terminator: "")
        }
    }

    private static func rows(for summary: ImageListing, filters: ImageFilters) -> [Row] {
        let digestFor = { (name: String) in summary.repoDigests.first { $0.familiarName == name }?.digest?.description ?? "<none>" }
        var rows = summary.repoTags.filter { filters.matchesReference($0) }.map {
            Row(summary: summary, repository: $0.familiarName, tag: $0.tag!, digest: digestFor($0.familiarName))
        }
        let taggedNames = Set(summary.repoTags.map(\.familiarName))
        for reference in summary.repoDigests where !taggedNames.contains(reference.familiarName) && filters.matchesReference(reference) {
            rows.append(Row(summary: summary, repository: reference.familiarName, tag: "<none>", digest: reference.digest!.description))
        }
        if rows.isEmpty, summary.repoTags.isEmpty, summary.repoDigests.isEmpty {
            rows.append(Row(summary: summary, repository: "<none>", tag: "<none>", digest: "<none>"))
        }
        return rows
    }

    private func id(_ summary: ImageListing) -> String {
        noTrunc ? summary.id.description : summary.id.shortForm
    }

    private func field(_ name: String, _ row: Row) -> String {
        switch name {
        case "ID": id(row.summary)
        case "Repository": row.repository
        case "Tag": row.tag
        case "Digest": row.digest
        case "CreatedSince": Units.ago(row.summary.created)
        case "CreatedAt": Units.goTimeString(row.summary.created)
        case "Size": Units.humanSize(row.summary.size)
        case "VirtualSize": Units.humanSize(row.summary.size, precision: 4)
        case "Containers", "SharedSize", "UniqueSize": "N/A"
        default: "<no value>"
        }
    }

    private func render(_ rows: [Row]) throws -> String {
        if quiet {
            return rows.map { id($0.summary) + "\n" }.joined()  // one per row, as docker does
        }
        if let format, format != "table" {
            let listing = try ListingFormat(format == "json" ? "{{json .}}" : format, context: .images)
            return try listing.render(rows.map { row in ListingContext.images.row { field($0, row) } })
        }
        var header = ["REPOSITORY", "TAG"]
        if digests { header.append("DIGEST") }
        header += ["IMAGE ID", "CREATED", "SIZE"]
        var table = Table(header: header)
        for row in rows {
            var cells = [row.repository, row.tag]
            if digests { cells.append(row.digest) }
            cells += [id(row.summary), Units.ago(row.summary.created), Units.humanSize(row.summary.size)]
            table.append(cells)
        }
        return table.render()
    }
}

#if canImport(Glibc)
import Glibc
#endif
