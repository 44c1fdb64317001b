extension JSONValue {
    /// Parses JSON keeping each object's keys in their order, as Docker's files store them
    /// (Go writes struct fields in declaration order), so that they can be shown as they are.
    /// Numbers must be integers (Docker's files hold no others). `what` names the input in errors.
    public init(parsing bytes: [UInt8], what: String) throws {
        var parser = JSONParser(bytes: bytes, what: what)
        self = try parser.parseDocument()
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    let what: String
    var index = 0
    var depth = 0

    init(bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    mutating func parseDocument() throws -> JSONValue {
        let value = try parseValue()
        skipSpace()
        guard index == bytes.count else { throw failure("unexpected data after the value") }
        return value
    }

    private mutating func parseValue() throws -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return try nested { parser in
                var members: [(String, JSONValue)] = []
                try parser.parseSequence(closing: UInt8(ascii: "}")) { parser in
                    parser.skipSpace()
                    guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
                        throw parser.failure("expected a key")
                    }
                    let key = try parser.parseString()
                    parser.skipSpace()
                    guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ":") else {
                        throw parser.failure("expected ':'")
                    }
                    parser.index += 1
                    members.append((key, try parser.parseValue()))
                }
                return .object(members)
            }
        case UInt8(ascii: "["):
            return try nested { parser in
                var values: [JSONValue] = []
                try parser.parseSequence(closing: UInt8(ascii: "]")) { parser in values.append(try parser.parseValue()) }
                return .array(values)
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start, let number = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                throw failure("expected a value")
            }
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                throw failure("a number that is not an integer")
            }
            return .integer(number)
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws -> JSONValue) throws -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 10_000 else { throw failure("nested too deeply") }
        index += 1
        return try body(&self)
    }

    /// Elements separated by commas up to `closing` (the opening bracket already read).
    private mutating func parseSequence(closing: UInt8, _ element: (inout JSONParser) throws -> Void) throws {
        skipSpace()
        if index < bytes.count, bytes[index] == closing { index += 1; return }
        while true {
            try element(&self)
            skipSpace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == closing { index += 1; return }
            guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected ',' or '\(Character(UnicodeScalar(closing)))'") }
            index += 1
        }
    }

    private mutating func parseString() throws -> String {
        index += 1
        var output: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw failure("unexpected end") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "n"): output.append(10)
                case UInt8(ascii: "t"): output.append(9)
                case UInt8(ascii: "r"): output.append(13)
                case UInt8(ascii: "b"): output.append(8)
                case UInt8(ascii: "f"): output.append(12)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                       bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                    }
                    output += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
                default: output.append(escape)
                }
            default:
                guard byte >= 0x20 else { throw failure("a control character in a string") }
                output.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else {
            throw failure("bad \\u escape")
        }
        index += 4
        return value
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws -> JSONValue {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<(index + expected.count)]) == expected else {
            throw failure("expected a value")
        }
        index += expected.count
        return value
    }

    private mutating func skipSpace() {
        while index < bytes.count, [32, 9, 10, 13].contains(bytes[index]) { index += 1 }
    }

    private func failure(_ problem: String) -> StowageError {
        StowageError(.invalidArchive, "\(what) is not valid JSON: \(problem) at byte \(index)")
    }
}
