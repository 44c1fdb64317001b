/// JSON read as Go's encoding/json reads it into a struct, for the documents Docker reads
/// (`manifest.json`, image configs, OCI indexes and manifests), so that one document cannot
/// mean one thing to Stowage and another to Docker. Swift's `JSONDecoder` differs in each
/// of these: it keeps the first of duplicate keys, matches keys exactly, and refuses invalid
/// UTF-8 and lone surrogate escapes. Go's rules, reproduced here:
///
/// - a key names the field whose JSON name it equals byte for byte, otherwise the first
///   field whose name it equals case-insensitively (Unicode simple folding: `ſ` is `s`,
///   the Kelvin sign is `k`); keys that name no field are skipped;
/// - every occurrence is decoded in order, so the last one wins, *into* what the earlier
///   ones left: a struct (or a non-nil pointer to one) is merged field by field, a map
///   gains keys, a slice takes the new length but decodes each element into the element
///   an earlier, longer array left at that index;
/// - `null` sets a pointer, slice or map to nil and leaves a string, number, bool or struct
///   as it was;
/// - a value of the wrong type is an error; invalid UTF-8 in a string is U+FFFD, as is a
///   lone surrogate escape; nesting deeper than 10000 is an error.
///
/// `normalize` returns the decoded value as plain JSON (keys spelled as the shape names
/// them, no duplicates) for `JSONDecoder`. It is only a view: digests are always of the
/// bytes as received.
public enum GoJSON {
    /// The Go type a JSON value is decoded into. Field names are the JSON names (the
    /// struct tags), all ASCII.
    public indirect enum Shape: Sendable {
        case string
        /// An integer type (`int`, `int64`, `time.Duration`): a number without fraction or exponent.
        case integer
        case bool
        /// A struct: its fields that matter, in Go's field order.
        case structure([(String, Shape)])
        /// A pointer (`*T`): `null` resets it to nil; otherwise as `T`, allocated when nil.
        case pointer(Shape)
        /// A slice (`[]T`).
        case slice(Shape)
        /// A map with string keys (`map[string]T`): keys match exactly; each value is decoded fresh.
        case map(Shape)
        /// Docker's `strslice.StrSlice`: a string (one element) or an array of strings, replaced whole.
        case stringOrStrings
    }

    /// Go's limit on nesting (`maxNestingDepth`).
    public static let maximumDepth = 10000

    /// Decodes `bytes` as Go decodes them into a fresh value of `shape`, and writes the result
    /// back as JSON without duplicate keys.
    /// - Parameters:
    ///   - what: names the document in errors (`manifest.json`, `image config`).
    ///   - ignoringTrailingData: read one value and ignore what follows, as Go's
    ///     `json.Decoder.Decode` does (Docker reads `manifest.json` so); otherwise only
    ///     whitespace may follow, as for `json.Unmarshal`.
    /// - Throws: `StowageError(.invalidArchive)` naming `what`, the offset, or the field.
    public static func normalize(_ bytes: [UInt8], as shape: Shape, what: String, ignoringTrailingData: Bool = false) throws -> [UInt8] {
        var parser = Parser(bytes: bytes, what: what)
        let node = try parser.document(ignoringTrailingData: ignoringTrailingData)
        let value = try decode(node, as: shape, into: .zero, at: "", what: what)
        return Array(json(value, as: shape).serialized().utf8)
    }

    // MARK: - Decoding into a shape

    /// A parsed JSON value, with every member of every object in order, duplicates included.
    fileprivate indirect enum Node {
        case null, bool(Bool), number(String), string(String), array([Node]), object([(String, Node)])
    }

    /// A Go value as decoding leaves it.
    private indirect enum Value {
        /// Go's zero value: nil, "", 0, false, or a struct with every field zero.
        case zero
        case string(String), integer(Int64), bool(Bool)
        /// A slice: what its backing array holds (elements past `count` stay there, as in Go) and its length.
        case list([Value], count: Int)
        /// A struct's fields or a map's entries, in the order they were first set.
        case members([(String, Value)])
    }

    private static func decode(_ node: Node, as shape: Shape, into current: Value, at path: String, what: String) throws -> Value {
        if case .null = node {
            switch shape {
            case .pointer, .slice, .map, .stringOrStrings: return .zero
            case .string, .integer, .bool, .structure: return current
            }
        }
        func mismatch(_ expected: String) -> StowageError {
            StowageError(.invalidArchive, "\(what) is not valid: cannot read \(node.kind) as \(path.isEmpty ? "the document" : path) (\(expected))")
        }
        switch shape {
        case .string:
            guard case .string(let text) = node else { throw mismatch("a string") }
            return .string(text)
        case .integer:
            guard case .number(let text) = node, let number = Int64(text) else { throw mismatch("an integer") }
            return .integer(number)
        case .bool:
            guard case .bool(let flag) = node else { throw mismatch("true or false") }
            return .bool(flag)
        case .pointer(let target):
            return try decode(node, as: target, into: current, at: path, what: what)
        case .structure(let fields):
            guard case .object(let members) = node else { throw mismatch("an object") }
            var values: [(String, Value)] = []
            if case .members(let existing) = current { values = existing }
            for (key, member) in members {
                guard let (name, fieldShape) = field(matching: key, in: fields) else { continue }
                let index = values.firstIndex { $0.0 == name }
                let decoded = try decode(member, as: fieldShape, into: index.map { values[$0].1 } ?? .zero,
                                         at: path.isEmpty ? name : path + "." + name, what: what)
                if let index { values[index].1 = decoded } else { values.append((name, decoded)) }
            }
            return .members(values)
        case .map(let element):
            guard case .object(let members) = node else { throw mismatch("an object") }
            var entries: [(String, Value)] = []
            if case .members(let existing) = current { entries = existing }
            for (key, member) in members {
                let decoded = try decode(member, as: element, into: .zero, at: path + "[\"\(key)\"]", what: what)
                if let index = entries.firstIndex(where: { $0.0.utf8.elementsEqual(key.utf8) }) {
                    entries[index].1 = decoded
                } else {
                    entries.append((key, decoded))
                }
            }
            return .members(entries)
        case .slice(let element):
            guard case .array(let items) = node else { throw mismatch("an array") }
            guard !items.isEmpty else { return .list([], count: 0) }  // Go makes a new, empty slice
            var backing: [Value] = []
            if case .list(let existing, _) = current { backing = existing }
            for (index, item) in items.enumerated() {
                let decoded = try decode(item, as: element, into: index < backing.count ? backing[index] : .zero,
                                         at: "\(path)[\(index)]", what: what)
                if index < backing.count { backing[index] = decoded } else { backing.append(decoded) }
            }
            return .list(backing, count: items.count)
        case .stringOrStrings:
            if case .string(let text) = node { return .list([.string(text)], count: 1) }
            guard case .array = node else { throw mismatch("a string or an array of strings") }
            return try decode(node, as: .slice(.string), into: .zero, at: path, what: what)
        }
    }

    /// The field a key sets: the one named exactly so, else the first that matches when
    /// case is folded.
    private static func field(matching key: String, in fields: [(String, Shape)]) -> (String, Shape)? {
        if let exact = fields.first(where: { $0.0.utf8.elementsEqual(key.utf8) }) { return exact }
        let folded = foldedForASCIIName(key)
        return fields.first { foldedForASCIIName($0.0) == folded }
    }

    /// Each scalar as Go folds it when the other side is an ASCII name: ASCII letters upper
    /// case, `ſ` (U+017F) as `S` and the Kelvin sign (U+212A) as `K`, the only non-ASCII
    /// scalars whose fold set holds an ASCII letter. Other scalars stay (they match nothing).
    private static func foldedForASCIIName(_ text: String) -> [UInt32] {
        text.unicodeScalars.map { scalar in
            switch scalar.value {
            case 0x61...0x7a: scalar.value - 0x20
            case 0x17f: 0x53
            case 0x212a: 0x4b
            default: scalar.value
            }
        }
    }

    // MARK: - Writing the decoded value

    private static func json(_ value: Value, as shape: Shape) -> JSONValue {
        switch (value, shape) {
        case (_, .pointer(let target)):
            if case .zero = value { return .null }
            return json(value, as: target)
        case (.zero, .string): return .string("")
        case (.zero, .integer): return .integer(0)
        case (.zero, .bool): return .bool(false)
        case (.zero, .structure): return .object([])
        case (.zero, _): return .null
        case (.string(let text), _): return .string(text)
        case (.integer(let number), _): return .integer(number)
        case (.bool(let flag), _): return .bool(flag)
        case (.list(let backing, let count), .slice(let element)):
            return .array(backing.prefix(count).map { json($0, as: element) })
        case (.list(let backing, let count), _):  // a StrSlice
            return .array(backing.prefix(count).map { json($0, as: .string) })
        case (.members(let entries), .map(let element)):
            return .object(entries.map { ($0.0, json($0.1, as: element)) })
        case (.members(let fields), .structure(let shapes)):
            // Zero fields are left out: absent, as for a Swift optional.
            return .object(fields.compactMap { name, field in
                if case .zero = field { return nil }
                return shapes.first { $0.0 == name }.map { (name, json(field, as: $0.1)) }
            })
        case (.members, _):
            return .null  // not reached: members come only from structures and maps
        }
    }
}

extension GoJSON.Node {
    /// What the value is, for messages.
    fileprivate var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a bool"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// RFC 8259 JSON as Go's scanner accepts it, strings unquoted as Go unquotes them.
private struct Parser {
    let bytes: [UInt8]
    let what: String
    var index = 0

    init(bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    mutating func document(ignoringTrailingData: Bool) throws -> GoJSON.Node {
        skipWhitespace()
        let node = try value()
        skipWhitespace()
        if !ignoringTrailingData, index < bytes.count { throw error("after the top-level value") }
        return node
    }

    private func error(_ context: String) -> StowageError {
        guard index < bytes.count else {
            return StowageError(.invalidArchive, "\(what) is not valid JSON: unexpected end of input")
        }
        let byte = bytes[index]
        let shown = byte >= 0x20 && byte < 0x7f ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return StowageError(.invalidArchive, "\(what) is not valid JSON: invalid character \(shown) at offset \(index) \(context)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
    }

    /// A container being read: its items so far and, in an object, the key of the member
    /// whose value comes next.
    private enum Open {
        case array([GoJSON.Node])
        case object([(String, GoJSON.Node)], key: String)
    }

    /// One value, read without recursion (an explicit stack of open containers), so that
    /// nesting as deep as Go allows cannot exhaust the thread's stack.
    private mutating func value() throws -> GoJSON.Node {
        var stack: [Open] = []
        reading: while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("") }
            var node: GoJSON.Node
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = bytes[index] == UInt8(ascii: "{")
                guard stack.count < GoJSON.maximumDepth else {
                    throw StowageError(.invalidArchive, "\(what) is not valid JSON: nested deeper than \(GoJSON.maximumDepth) levels")
                }
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: isObject ? "}" : "]") {
                    index += 1
                    node = isObject ? .object([]) : .array([])
                } else {
                    stack.append(isObject ? .object([], key: try key()) : .array([]))
                    continue reading
                }
            case UInt8(ascii: "\""): node = .string(try string())
            case UInt8(ascii: "t"): try literal("true"); node = .bool(true)
            case UInt8(ascii: "f"): try literal("false"); node = .bool(false)
            case UInt8(ascii: "n"): try literal("null"); node = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): node = .number(try number())
            default: throw error("looking for the beginning of a value")
            }
            // Hand the value to the innermost container; close those that end here.
            while let open = stack.popLast() {
                skipWhitespace()
                guard index < bytes.count else { throw error("") }
                let separator = bytes[index]
                index += 1
                switch open {
                case .array(var items):
                    items.append(node)
                    if separator == UInt8(ascii: ",") { stack.append(.array(items)); continue reading }
                    guard separator == UInt8(ascii: "]") else { index -= 1; throw error("after an array element") }
                    node = .array(items)
                case .object(var members, let key):
                    members.append((key, node))
                    if separator == UInt8(ascii: ",") { stack.append(.object(members, key: try self.key())); continue reading }
                    guard separator == UInt8(ascii: "}") else { index -= 1; throw error("after an object member") }
                    node = .object(members)
                }
            }
            return node
        }
    }

    /// After `{` or `,` in an object: a key and its colon.
    private mutating func key() throws -> String {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("looking for the beginning of an object key") }
        let key = try string()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("after an object key") }
        index += 1
        return key
    }

    private mutating func literal(_ text: StaticString) throws {
        for byte in UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount) {
            guard index < bytes.count, bytes[index] == byte else { throw error("in a literal") }
            index += 1
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func number() throws -> String {
        let start = index
        func digits(_ parser: inout Parser) -> Int {
            let first = parser.index
            while parser.index < parser.bytes.count, (0x30...0x39).contains(parser.bytes[parser.index]) { parser.index += 1 }
            return parser.index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw error("in a number") }
        if bytes[index] == UInt8(ascii: "0") { index += 1 } else { _ = digits(&self) }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("after the decimal point in a number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("in the exponent of a number") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// A string, unquoted as Go does: invalid UTF-8 bytes and lone surrogates become U+FFFD.
    private mutating func string() throws -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        while true {
            guard index < bytes.count else { throw error("") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                index += 1
                scalars.append(try escape())
            case 0..<0x20:
                throw error("in a string literal")
            case 0x20..<0x80:
                scalars.append(Unicode.Scalar(byte))
                index += 1
            default:
                let (scalar, length) = Self.decodeUTF8(bytes, at: index)
                scalars.append(scalar)
                index += length
            }
        }
    }

    private mutating func escape() throws -> Unicode.Scalar {
        guard index < bytes.count else { throw error("") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(byte)
        case UInt8(ascii: "b"): return "\u{8}"
        case UInt8(ascii: "f"): return "\u{c}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            guard (0xd800..<0xe000).contains(unit) else { return Unicode.Scalar(unit)! }
            // A high surrogate takes a following \u low surrogate; anything else leaves it alone.
            if unit < 0xdc00, index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                let saved = index
                index += 2
                let low = try hex4()
                if (0xdc00..<0xe000).contains(low) {
                    return Unicode.Scalar(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))!
                }
                index = saved
            }
            return "\u{fffd}"
        default:
            index -= 1
            throw error("in a string escape code")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = Self.hexValue(bytes[index]) else { throw error("in a \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }

    /// Go's `utf8.DecodeRune` at a byte of 0x80 or more: a valid sequence, or U+FFFD for one byte.
    static func decodeUTF8(_ bytes: [UInt8], at start: Int) -> (Unicode.Scalar, Int) {
        let first = bytes[start]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xbf
        switch first {
        case 0xc2...0xdf: length = 2
        case 0xe0: length = 3; second = 0xa0...0xbf
        case 0xe1...0xec, 0xee...0xef: length = 3
        case 0xed: length = 3; second = 0x80...0x9f
        case 0xf0: length = 4; second = 0x90...0xbf
        case 0xf1...0xf3: length = 4
        case 0xf4: length = 4; second = 0x80...0x8f
        default: return ("\u{fffd}", 1)
        }
        guard start + length <= bytes.count, second.contains(bytes[start + 1]) else { return ("\u{fffd}", 1) }
        var value = UInt32(first) & (length == 2 ? 0x1f : length == 3 ? 0x0f : 0x07)
        for offset in 1..<length {
            let byte = bytes[start + offset]
            guard (0x80...0xbf).contains(byte) else { return ("\u{fffd}", 1) }
            value = value << 6 | UInt32(byte & 0x3f)
        }
        return (Unicode.Scalar(value)!, length)
    }
}
