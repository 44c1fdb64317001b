#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageCore

/// Columns as the docker CLI aligns them (Go's tabwriter: minimum width 10, padding 3).
struct Table {
    private var rows: [[String]] = []

    init(header: [String]) { rows.append(header) }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// Every cell but the last of a row is padded to its column's width (counted in Unicode
    /// scalars, as Go's tabwriter counts runes).
    func render() -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        let scalarCounts = rows.map { row in row.map { $0.unicodeScalars.count } }
        for (row, counts) in zip(rows, scalarCounts) where row.count > 1 {
            for index in 0..<(row.count - 1) { widths[index] = max(widths[index], max(counts[index] + 3, 10)) }
        }
        var output: [UInt8] = []
        output.reserveCapacity(rows.count * (widths.reduce(0, +) + 16))
        for (row, counts) in zip(rows, scalarCounts) {
            for (index, cell) in row.enumerated() {
                output.append(contentsOf: cell.utf8)
                if index < row.count - 1 { output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[index] - counts[index])) }
            }
            output.append(UInt8(ascii: "\n"))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The rows of one listing as docker's formatter knows them: its context type (named in
/// errors), its fields (the keys of `{{json .}}`, in order) and their column titles.
struct ListingContext {
    let typeName: String
    let fields: [String]
    let titles: [String: String]

    static let images = ListingContext(
        typeName: "*formatter.imageContext",
        fields: ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"],
        titles: ["ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "SharedSize": "SHARED SIZE",
                 "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"])
    static let history = ListingContext(
        typeName: "*image.historyContext", fields: ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"],
        titles: ["ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY"])
    static let containers = ListingContext(
        typeName: "*formatter.ContainerContext",
        fields: ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Platform", "Ports",
                 "RunningFor", "Size", "State", "Status"],
        titles: ["ID": "CONTAINER ID", "RunningFor": "CREATED", "CreatedAt": "CREATED AT", "LocalVolumes": "LOCAL VOLUMES"])
    /// `docker info --format`: the whole report is one row.
    static let info = ListingContext(typeName: "system.dockerInfo", fields: [], titles: [:])
    static let volumes = ListingContext(
        typeName: "*formatter.volumeContext",
        fields: ["Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size", "Status"],
        titles: ["Name": "VOLUME NAME"])
}

/// A listing's `--format` as docker's formatter takes it: a Go template run on each row,
/// or `table …`, which adds a header row (the template run on the column titles) and
/// aligns the columns.
struct ListingFormat {
    let isTable: Bool
    private let template: GoTemplate
    private let context: ListingContext
    /// What the CLI calls a template that does not run (docker's `ps` words it its own way).
    private let executeErrorPrefix: String

    /// Parses `format`; a template that does not parse, or reads a field the rows lack, is
    /// refused before any row is listed, as docker's.
    init(_ format: String, context: ListingContext, parseErrorPrefix: String = "template parsing error",
         executeErrorPrefix: String = "template parsing error") throws {
        isTable = format.hasPrefix("table")
        let body = (isTable ? String(format.dropFirst(5).drop { $0 == " " }) : format)
            .replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        self.context = context
        self.executeErrorPrefix = executeErrorPrefix
        do {
            template = try GoTemplate(body)
        } catch let failure as GoTemplate.Failure {
            throw StowageError(.invalidArgument, "\(parseErrorPrefix): \(failure)")
        }
        if !context.fields.isEmpty { _ = try execute(.object(context.fields.map { ($0, .string("")) })) }
    }

    /// Whether the template reads `field` (so that a listing computes it only when needed).
    func uses(_ field: String) -> Bool {
        let marker = "\u{E000}"
        let probe = JSONValue.object(context.fields.map { ($0, .string($0 == field ? marker : "")) })
        return (try? template.execute(probe, as: .listingRow(typeName: context.typeName)))?.contains(marker) ?? false
    }

    /// The rows (objects of the context's fields) rendered, each on its own line; for a
    /// table, the titles first and the columns aligned.
    func render(_ rows: [JSONValue]) throws -> String {
        var lines = try rows.map(execute)
        guard isTable else { return lines.map { $0 + "\n" }.joined() }
        let titles = JSONValue.object(context.fields.map { ($0, .string(context.title(of: $0))) })
        lines.insert(try execute(titles), at: 0)
        var table = Table(header: lines[0].components(separatedBy: "\t"))
        for line in lines.dropFirst() { table.append(line.components(separatedBy: "\t")) }
        return table.render()
    }

    private func execute(_ row: JSONValue) throws -> String {
        do {
            return try template.execute(row, as: .listingRow(typeName: context.typeName))
        } catch let failure as GoTemplate.Failure {
            throw StowageError(.invalidArgument, executeErrorPrefix.isEmpty ? "\(failure)" : "\(executeErrorPrefix): \(failure)")
        }
    }
}

extension ListingContext {
    /// A column's title: `CONTAINER ID` for `ID`, the field's name in capitals for most.
    func title(of field: String) -> String { titles[field] ?? field.uppercased() }

    /// A row: each field's text, in the context's order; `Platform` is null, as docker's.
    func row(_ field: (String) -> String) -> JSONValue {
        .object(fields.map { ($0, $0 == "Platform" ? .null : .string(field($0))) })
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let trimmed = drop { set.contains($0) }
        return String(trimmed.reversed().drop { set.contains($0) }.reversed())
    }

    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return String(self) }
        var output = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            output += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return output + rest
    }

    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty, count >= target.count else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
