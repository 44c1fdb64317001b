/// A JSON value with object keys in a chosen order, written exactly as Go's encoding/json
/// writes it (`Marshal` and `MarshalIndent`, HTML characters escaped; or an `Encoder` with
/// `SetEscapeHTML(false)`, as the docker CLI prints `inspect`), so that output meant to match Docker's
/// matches byte for byte.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    /// Keys in output order.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.serialized() == rhs.serialized()
    }

    /// An object from a dictionary, keys sorted as Go sorts map keys.
    public static func sortedObject(_ dictionary: [String: JSONValue]) -> JSONValue {
        .object(dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
    }

    /// A string array, or null when nil (Go's nil slice).
    public static func strings(_ values: [String]?) -> JSONValue {
        values.map { .array($0.map(JSONValue.string)) } ?? .null
    }

    /// Compact (`indent` nil) or indented like `json.MarshalIndent(v, "", indent)`.
    ///
    /// `escapingHTML` false writes `<`, `>` and `&` as they are, as the docker CLI prints
    /// `inspect` (Go's `Encoder.SetEscapeHTML(false)`); its `{{json .}}` template function, the
    /// API's bodies and the files Docker stores are written by `json.Marshal`, which escapes them.
    public func serialized(indent: String? = nil, escapingHTML: Bool = true) -> String {
        var output = ""
        write(to: &output, indent: indent, escapingHTML: escapingHTML, level: 0)
        return output
    }

    private func write(to output: inout String, indent: String?, escapingHTML: Bool, level: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .integer(let value): output += String(value)
        case .string(let value): output += Self.quote(value, escapingHTML: escapingHTML)
        case .array(let values):
            guard !values.isEmpty else { output += "[]"; return }
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                Self.newline(&output, indent: indent, level: level + 1)
                value.write(to: &output, indent: indent, escapingHTML: escapingHTML, level: level + 1)
            }
            Self.newline(&output, indent: indent, level: level)
            output += "]"
        case .object(let members):
            guard !members.isEmpty else { output += "{}"; return }
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += "," }
                Self.newline(&output, indent: indent, level: level + 1)
                output += Self.quote(key, escapingHTML: escapingHTML)
                output += indent == nil ? ":" : ": "
                value.write(to: &output, indent: indent, escapingHTML: escapingHTML, level: level + 1)
            }
            Self.newline(&output, indent: indent, level: level)
            output += "}"
        }
    }

    private static func newline(_ output: inout String, indent: String?, level: Int) {
        guard let indent else { return }
        output += "\n" + String(repeating: indent, count: level)
    }

    /// A JSON string as Go writes it: control characters, U+2028 and U+2029 as `\uXXXX`, and
    /// `<`, `>`, `&` too unless `escapingHTML` is false.
    public static func quote(_ text: String, escapingHTML: Bool = true) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "<", ">", "&":
                if escapingHTML { output += Self.unicodeEscape(scalar) } else { output.unicodeScalars.append(scalar) }
            case _ where scalar.value < 0x20, "\u{2028}", "\u{2029}":
                output += Self.unicodeEscape(scalar)
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// `\uXXXX`, lowercase hex as Go writes it.
    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

/// A JSON value as a part of a `Codable` type: written as it is, read back with object keys
/// sorted (a `Decoder` gives no order).
extension JSONValue: Codable {
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .integer(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let values):
            var container = encoder.unkeyedContainer()
            for value in values { try container.encode(value) }
        case .object(let members):
            var container = encoder.container(keyedBy: StringCodingKey.self)
            for (key, value) in members { try container.encode(value, forKey: StringCodingKey(key)) }
        }
    }

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: StringCodingKey.self) {
            self = .object(try container.allKeys.sorted { $0.stringValue.utf8.lexicographicallyPrecedes($1.stringValue.utf8) }
                .map { ($0.stringValue, try container.decode(JSONValue.self, forKey: $0)) })
        } else if var container = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !container.isAtEnd { values.append(try container.decode(JSONValue.self)) }
            self = .array(values)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }

}

/// A coding key that is any string: an object member or a map key.
public struct StringCodingKey: CodingKey, Sendable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { stringValue = String(intValue) }
}
