/// PAX extended header records: `"<length> <key>=<value>\n"`, where length counts the whole record.
enum PAXRecords {
    static let path = "path"
    static let linkPath = "linkpath"
    static let size = "size"
    static let uid = "uid"
    static let gid = "gid"
    static let userName = "uname"
    static let groupName = "gname"
    static let mtime = "mtime"
    static let atime = "atime"
    static let ctime = "ctime"
    static let xattrPrefix = "SCHILY.xattr."

    /// Parses a PAX header's data into key/value pairs, in order. Values stay bytes:
    /// xattr values may be binary.
    static func parse(_ data: [UInt8]) throws -> [(key: String, value: [UInt8])] {
        var records: [(key: String, value: [UInt8])] = []
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")) else {
                throw PAXParseError("a record has no length")
            }
            let digits = data[index..<space]
            guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw PAXParseError("a record length is not a decimal number")
            }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
            guard length >= 5, length <= data.count - index, length > digits.count + 1 else {
                throw PAXParseError("a record says it is \(length) bytes long, which does not fit the header")
            }
            let end = index + length
            guard data[end - 1] == UInt8(ascii: "\n") else {
                throw PAXParseError("a record of \(length) bytes does not end with a newline where its length says")
            }
            let body = data[(space + 1)..<(end - 1)]
            guard let equals = body.firstIndex(of: UInt8(ascii: "=")), equals > body.startIndex else {
                throw PAXParseError("a record has no key=value")
            }
            let keyBytes = body[body.startIndex..<equals]
            let value = Array(body[(equals + 1)...])
            guard !keyBytes.contains(0) else { throw PAXParseError("a key holds a NUL byte") }
            let key = String(decoding: keyBytes, as: UTF8.self)
            if [path, linkPath, userName, groupName].contains(key), value.contains(0) {
                throw PAXParseError("the \(key) record holds a NUL byte")
            }
            records.append((key, value))
            index = end
        }
        return records
    }

    /// Encodes records sorted by key (as Go's archive/tar writes them).
    static func encode(_ records: [(key: String, value: [UInt8])]) -> [UInt8] {
        var output: [UInt8] = []
        for (key, value) in records.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let bodyLength = 1 + key.utf8.count + 1 + value.count + 1  // " key=value\n"
            var length = bodyLength + String(bodyLength).utf8.count
            if String(length).utf8.count + bodyLength != length { length = bodyLength + String(length).utf8.count }
            output.append(contentsOf: String(length).utf8)
            output.append(UInt8(ascii: " "))
            output.append(contentsOf: key.utf8)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: value)
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    /// Parses a decimal timestamp with an optional fraction (`1700000000.123456789`).
    static func time(_ value: [UInt8]) -> TarTime? {
        let text = String(decoding: value, as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, let seconds = Int64(whole) else { return nil }
        guard parts.count == 2 else { return TarTime(seconds: seconds) }
        let fraction = parts[1]
        guard !fraction.isEmpty, fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let nine = String((fraction + "000000000").prefix(9))
        var nanos = Int32(nine) ?? 0
        var secs = seconds
        if whole.hasPrefix("-"), nanos != 0 {
            // -1.5 means 1.5 seconds before the epoch: seconds -2, nanoseconds 500000000.
            secs -= 1
            nanos = 1_000_000_000 - nanos
        }
        return TarTime(seconds: secs, nanoseconds: nanos)
    }

    static func format(_ time: TarTime) -> [UInt8] {
        guard time.nanoseconds != 0 else { return Array(String(time.seconds).utf8) }
        var seconds = time.seconds
        var nanos = Int64(time.nanoseconds)
        var sign = ""
        if seconds < 0 {
            sign = "-"
            seconds = -(seconds + 1)
            nanos = 1_000_000_000 - nanos
        }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return Array("\(sign)\(seconds).\(fraction)".utf8)
    }
}

struct PAXParseError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
