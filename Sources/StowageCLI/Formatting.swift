#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageCore

/// Sizes and times as the docker CLI prints them (go-units).
enum Units {
    /// `HumanSizeWithPrecision`: decimal units, `%.*g`: `1.98MB`, `17B`, `0B`.
    static func humanSize(_ bytes: Int64, precision: Int32 = 3) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
        var size = Double(bytes)
        var index = 0
        while size >= 1000, index < units.count - 1 {
            size /= 1000
            index += 1
        }
        return significant(size, precision) + units[index]
    }

    /// `HumanDuration`: `Less than a second`, `About a minute`, `3 hours`, `2 weeks`, …
    static func humanDuration(seconds: Int64) -> String {
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int64(Double(seconds) / 3600 + 0.5)
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(seconds / 3600 / 24 / 365) years"
    }

    /// `5 minutes ago`, as `CreatedSince` shows a time.
    static func ago(_ seconds: Int64) -> String {
        humanDuration(seconds: Timestamp.now().seconds - seconds) + " ago"
    }

    /// Go's `time.Time.String()` in UTC: `2026-11-22 15:55:22 +0000 UTC`.
    static func goTimeString(_ seconds: Int64) -> String {
        let text = Timestamp.formatRFC3339(seconds: seconds)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8) + " +0000 UTC"
    }

    /// `%.<precision>g`.
    private static func significant(_ value: Double, _ precision: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            _ = stowage_format_significant(buffer.baseAddress!, UInt(buffer.count), precision, value)
            return String(cString: buffer.baseAddress!)
        }
    }

}

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

/// A small subset of Go templates as `--format` takes them: `{{.Field}}` placeholders,
/// `{{json .}}`, `\t` and `\n`, and a leading `table` for a header row.
struct OutputTemplate {
    let isTable: Bool
    private let parts: [Part]

    private enum Part {
        case text(String)
        case field(String)
        case json
    }

    init(_ text: String) throws {
        var body = text
        isTable = body.hasPrefix("table")
        if isTable { body = String(body.dropFirst(5)).drop(while: { $0 == " " }).description }
        body = body.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        var parts: [Part] = []
        var rest = Substring(body)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw StowageError(.invalidArgument, "template parsing error: unclosed action in \"\(text)\"")
            }
            let action = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: " ")
            if action == "json ." {
                parts.append(.json)
            } else if action.hasPrefix("."), action.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber }) {
                parts.append(.field(String(action.dropFirst())))
            } else {
                throw StowageError(.invalidArgument, "template: unsupported action {{\(action)}} (fields as {{.Name}} and {{json .}} are supported)")
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// The header row of a `table` template: each field's name in capitals.
    func header(_ names: [String: String]) -> String {
        render { names[$0] ?? $0.uppercased() } json: { "" }
    }

    func render(field: (String) -> String, json: () -> String) -> String {
        parts.map { part in
            switch part {
            case .text(let text): text
            case .field(let name): field(name)
            case .json: json()
            }
        }.joined()
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
