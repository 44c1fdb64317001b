/// Go's `text/template`, as the docker CLI runs `--format` templates, evaluated over JSON
/// values: fields (`{{.Config.Env}}`), variables, pipelines, `if`/`else if`/`else`, `range`,
/// `with`, trim markers, comments, Go's built-in functions (`and`, `or`, `not`, `len`, `index`,
/// `eq`…`ge`, `print`, `printf`, `println`) and the CLI's (`json`, `join`, `split`, `title`,
/// `lower`, `upper`, `pad`, `truncate`). Values print as Go's `fmt` prints the CLI's types;
/// errors read as Go's (`template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"`).
public struct GoTemplate: Sendable {
    /// A template that does not parse, or fails on some data; `description` is Go's message.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        /// Whether the template itself is wrong (rather than the data it met).
        public let isParseError: Bool
    }

    /// What the data is, for the messages of fields it lacks.
    public enum DataKind: Equatable, Sendable {
        /// An inspected object (the CLI falls back to its raw JSON, with `missingkey=error`).
        case inspected
        /// A row of a listing: docker's formatter context type, such as `*formatter.imageContext`,
        /// whose `{{json .}}` escapes HTML characters as `json.Marshal` does.
        case listingRow(typeName: String)
    }

    private let source: [UInt8]
    private let nodes: [Node]

    public init(_ text: String) throws {
        source = Array(text.utf8)
        var parser = Parser(source: source)
        nodes = try parser.parseDocument()
    }

    /// The template applied to `data`.
    ///
    /// Inspected data is tried as the docker CLI tries it: first as Docker's Go types (Go's
    /// field names, such as `ID`; nil slices and maps, `omitempty` fields), then, when that
    /// fails, as the raw JSON (its keys, such as `Id`; a missing key an error).
    public func execute(_ data: JSONValue, as kind: DataKind = .inspected) throws -> String {
        do {
            return try execute(data, as: kind, raw: false)
        } catch let typedFailure as Failure {
            guard kind == .inspected else { throw typedFailure }
            return try execute(data, as: kind, raw: true)
        }
    }

    private func execute(_ data: JSONValue, as kind: DataKind, raw: Bool) throws -> String {
        var execution = Execution(source: source, kind: kind, root: Value(data, isRoot: true, isRaw: raw))
        var output = ""
        try execution.run(nodes, dot: execution.root, into: &output)
        return output
    }
}

// MARK: - Syntax

extension GoTemplate {
    fileprivate indirect enum Operand: Sendable {
        case dot(position: Int)
        case field(chain: [String], position: Int, text: String)
        case variable(name: String, chain: [String], position: Int, text: String)
        case literal(JSONValue, position: Int)
        case function(name: String, position: Int)
        case pipeline(Pipeline, chain: [String], position: Int)

        var position: Int {
            switch self {
            case .dot(let position), .field(_, let position, _), .variable(_, _, let position, _), .literal(_, let position),
                 .function(_, let position), .pipeline(_, _, let position): position
            }
        }
    }

    fileprivate struct Command: Sendable {
        var operands: [Operand]
    }

    fileprivate struct Pipeline: Sendable {
        var declared: [String] = []
        var commands: [Command] = []
        var position: Int
    }

    fileprivate indirect enum Node: Sendable {
        case text(String)
        case output(Pipeline)
        /// `if` (or `with`, which also sets the dot) with its `else` part.
        case conditional(Pipeline, setsDot: Bool, then: [Node], otherwise: [Node])
        case loop(Pipeline, body: [Node], otherwise: [Node])
        case loopControl(isBreak: Bool)
    }

    fileprivate static let functionNames: Set<String> = [
        "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "print", "printf", "println",
        "json", "join", "split", "title", "lower", "upper", "pad", "truncate",
    ]

    fileprivate static func lineNumber(of position: Int, in source: [UInt8]) -> Int {
        1 + source[..<min(position, source.count)].count(where: { $0 == UInt8(ascii: "\n") })
    }
}

// MARK: - Parsing

extension GoTemplate {
    private enum Token: Equatable {
        case field(String), dot, variable(String), identifier(String), literal(JSONValue)
        case pipe, leftParenthesis, rightParenthesis, declare, assign, comma

        static func == (lhs: Token, rhs: Token) -> Bool { "\(lhs)" == "\(rhs)" }
    }

    private struct Lexeme {
        let token: Token
        let position: Int
        /// No space between it and the lexeme before: `$x.Field`, `(…).Field`.
        let isAdjacent: Bool
    }

    /// One action's words, between `{{` and `}}`.
    private struct Action {
        var lexemes: [Lexeme]
        let position: Int
        var keyword: String? {
            if case .identifier(let word)? = lexemes.first?.token,
               ["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"].contains(word) { return word }
            return nil
        }
    }

    private struct Parser {
        let source: [UInt8]
        var index = 0
        /// Text after an action that ended with `-}}` loses its leading white space.
        var trimNextText = false

        init(source: [UInt8]) { self.source = source }

        mutating func parseDocument() throws -> [Node] {
            let (nodes, terminator) = try parseList()
            if let terminator { throw failure("unexpected {{\(terminator.keyword ?? "")}}", at: terminator.position) }
            return nodes
        }

        /// Nodes up to an `{{end}}` or `{{else …}}` (returned) or the end of the source.
        private mutating func parseList() throws -> ([Node], Action?) {
            var nodes: [Node] = []
            while index < source.count {
                let open = find("{{", from: index) ?? source.count
                var text = Array(source[index..<open])
                if trimNextText { text = Array(text.drop(while: Self.isSpace)); trimNextText = false }
                let trimsBefore = open + 3 <= source.count && source[open + 2] == UInt8(ascii: "-") && open + 3 < source.count
                    && Self.isSpace(source[open + 3])
                if trimsBefore { while let last = text.last, Self.isSpace(last) { text.removeLast() } }
                if !text.isEmpty { nodes.append(.text(String(decoding: text, as: UTF8.self))) }
                guard open < source.count else { index = open; break }
                index = open + (trimsBefore ? 3 : 2)
                guard let action = try lexAction(openedAt: open) else { continue }  // a comment
                switch action.keyword {
                case "end", "else":
                    return (nodes, action)
                case "if", "with":
                    nodes.append(try parseConditional(action, setsDot: action.keyword == "with"))
                case "range":
                    let pipeline = try parsePipeline(Array(action.lexemes.dropFirst()), at: action.position, allowsTwoVariables: true)
                    let (body, otherwise) = try parseBranches(of: "range", at: action.position)
                    nodes.append(.loop(pipeline, body: body, otherwise: otherwise))
                case "break", "continue":
                    nodes.append(.loopControl(isBreak: action.keyword == "break"))
                case let keyword?:
                    throw failure("{{\(keyword)}} is not supported in --format templates", at: action.position)
                case nil:
                    nodes.append(.output(try parsePipeline(action.lexemes, at: action.position, allowsTwoVariables: false)))
                }
            }
            return (nodes, nil)
        }

        private mutating func parseConditional(_ action: Action, setsDot: Bool) throws -> Node {
            let pipeline = try parsePipeline(Array(action.lexemes.dropFirst()), at: action.position, allowsTwoVariables: false)
            let (then, otherwise) = try parseBranches(of: setsDot ? "with" : "if", at: action.position)
            return .conditional(pipeline, setsDot: setsDot, then: then, otherwise: otherwise)
        }

        /// The body up to `{{else}}` or `{{end}}`, and the `else` part (an `else if` nests).
        private mutating func parseBranches(of keyword: String, at position: Int) throws -> ([Node], [Node]) {
            let (body, terminator) = try parseList()
            guard let terminator else { throw failure("unexpected EOF", at: source.count) }
            if terminator.keyword == "end" { return (body, []) }
            let rest = Array(terminator.lexemes.dropFirst())
            if case .identifier(let word)? = rest.first?.token, word == "if" || word == "with" {
                let nested = Action(lexemes: rest, position: terminator.position)
                return (body, [try parseConditional(nested, setsDot: word == "with")])
            }
            guard rest.isEmpty else { throw failure("unexpected \(rest[0].token) in else", at: rest[0].position) }
            let (otherwise, end) = try parseList()
            guard let end, end.keyword == "end" else {
                throw failure(end == nil ? "unexpected EOF" : "expected end; found {{else}}", at: end?.position ?? source.count)
            }
            return (body, otherwise)
        }

        private func parsePipeline(_ lexemes: [Lexeme], at position: Int, allowsTwoVariables: Bool) throws -> Pipeline {
            var pipeline = Pipeline(position: lexemes.first?.position ?? position)
            var rest = lexemes[...]
            // `$x :=`, `$x =`, or in `range`, `$i, $v :=`.
            if case .variable(let first)? = rest.first?.token {
                let afterFirst = rest.dropFirst()
                if let next = afterFirst.first?.token, next == .declare || next == .assign {
                    pipeline.declared = [first]
                    rest = afterFirst.dropFirst()
                } else if allowsTwoVariables, afterFirst.first?.token == .comma, case .variable(let second)? = afterFirst.dropFirst().first?.token,
                          afterFirst.dropFirst(2).first?.token == .declare {
                    pipeline.declared = [first, second]
                    rest = afterFirst.dropFirst(3)
                }
            }
            var command = Command(operands: [])
            var depth = 0
            var group: [Lexeme] = []
            var groupStart = 0
            var lastWasGroup = false
            for lexeme in rest {
                if depth > 0 {
                    if lexeme.token == .leftParenthesis { depth += 1 }
                    if lexeme.token == .rightParenthesis { depth -= 1 }
                    if depth > 0 { group.append(lexeme); continue }
                    let inner = try parsePipeline(group, at: groupStart, allowsTwoVariables: false)
                    command.operands.append(.pipeline(inner, chain: [], position: groupStart))
                    lastWasGroup = true
                    continue
                }
                defer { if lexeme.token != .rightParenthesis { lastWasGroup = false } }
                switch lexeme.token {
                case .leftParenthesis:
                    depth = 1
                    group = []
                    groupStart = lexeme.position
                case .rightParenthesis:
                    throw failure("unexpected right paren", at: lexeme.position)
                case .pipe:
                    guard !command.operands.isEmpty else { throw failure("missing command", at: lexeme.position) }
                    pipeline.commands.append(command)
                    command = Command(operands: [])
                case .field(let name) where lexeme.isAdjacent && !command.operands.isEmpty:
                    // A field of the operand before it: `$x.Name`, `(…).Name`, `.A.B`.
                    try extendLast(&command, with: name, lastWasGroup: lastWasGroup, at: lexeme)
                case .field(let name):
                    command.operands.append(.field(chain: [name], position: lexeme.position, text: "." + name))
                case .dot:
                    command.operands.append(.dot(position: lexeme.position))
                case .variable(let name):
                    command.operands.append(.variable(name: name, chain: [], position: lexeme.position, text: "$" + name))
                case .literal(let value):
                    command.operands.append(.literal(value, position: lexeme.position))
                case .identifier(let name):
                    switch name {
                    case "true", "false": command.operands.append(.literal(.bool(name == "true"), position: lexeme.position))
                    case "nil": command.operands.append(.literal(.null, position: lexeme.position))
                    default:
                        guard GoTemplate.functionNames.contains(name) else {
                            throw failure("function \"\(name)\" not defined", at: lexeme.position)
                        }
                        command.operands.append(.function(name: name, position: lexeme.position))
                    }
                case .declare, .assign, .comma:
                    throw failure("unexpected \"\(lexeme.token == .comma ? "," : "=")\" in command", at: lexeme.position)
                }
            }
            if depth > 0 { throw failure("unclosed left paren", at: groupStart) }
            guard !command.operands.isEmpty else { throw failure("missing value for command", at: position) }
            pipeline.commands.append(command)
            return pipeline
        }

        private func extendLast(_ command: inout Command, with name: String, lastWasGroup: Bool, at lexeme: Lexeme) throws {
            switch command.operands.removeLast() {
            case .field(let chain, _, let text):
                command.operands.append(.field(chain: chain + [name], position: lexeme.position, text: text + "." + name))
            case .variable(let variable, let chain, _, let text):
                command.operands.append(.variable(name: variable, chain: chain + [name], position: lexeme.position, text: text + "." + name))
            case .pipeline(let inner, let chain, let position) where lastWasGroup || !chain.isEmpty:
                command.operands.append(.pipeline(inner, chain: chain + [name], position: position))
            case let other:
                command.operands.append(other)
                command.operands.append(.field(chain: [name], position: lexeme.position, text: "." + name))
            }
        }

        /// The words of the action that opens at `open`, leaving `index` after its `}}`; nil
        /// for a comment.
        private mutating func lexAction(openedAt open: Int) throws -> Action? {
            skipSpaces()
            if hasPrefix("/*") {
                guard let end = find("*/", from: index + 2) else { throw failure("unclosed comment", at: open) }
                index = end + 2
                try closeAction(openedAt: open)
                return nil
            }
            var lexemes: [Lexeme] = []
            var spaced = true
            while true {
                guard index < source.count else { throw failure("unclosed action", at: open) }
                if Self.isSpace(source[index]) {
                    index += 1
                    let closesTrimming = hasPrefix("-}}")
                    index -= 1
                    if closesTrimming { break }
                    skipSpaces()
                    spaced = true
                    continue
                }
                if hasPrefix("}}") { break }
                let start = index
                let token = try lexToken(openedAt: open)
                lexemes.append(Lexeme(token: token, position: start, isAdjacent: !spaced))
                spaced = false
            }
            try closeAction(openedAt: open)
            return Action(lexemes: lexemes, position: lexemes.first?.position ?? open)
        }

        private mutating func closeAction(openedAt open: Int) throws {
            skipSpaces(keepingTrimMarker: true)
            if hasPrefix("-}}") {
                index += 3
                trimNextText = true
            } else if hasPrefix("}}") {
                index += 2
            } else {
                throw failure(index >= source.count ? "unclosed action" : "unexpected \"\(Character(UnicodeScalar(source[index])))\" in command", at: open)
            }
        }

        private mutating func lexToken(openedAt open: Int) throws -> Token {
            let byte = source[index]
            switch byte {
            case UInt8(ascii: "|"): index += 1; return .pipe
            case UInt8(ascii: "("): index += 1; return .leftParenthesis
            case UInt8(ascii: ")"): index += 1; return .rightParenthesis
            case UInt8(ascii: ","): index += 1; return .comma
            case UInt8(ascii: "="): index += 1; return .assign
            case UInt8(ascii: ":"):
                guard hasPrefix(":=") else { throw failure("expected :=", at: index) }
                index += 2
                return .declare
            case UInt8(ascii: "."):
                index += 1
                let name = readIdentifier()
                return name.isEmpty ? .dot : .field(name)
            case UInt8(ascii: "$"):
                index += 1
                return .variable(readIdentifier())
            case UInt8(ascii: "\""):
                return .literal(.string(try readQuoted(openedAt: open)))
            case UInt8(ascii: "`"):
                guard let end = source[(index + 1)...].firstIndex(of: UInt8(ascii: "`")) else { throw failure("unterminated raw quoted string", at: index) }
                let text = String(decoding: source[(index + 1)..<end], as: UTF8.self)
                index = end + 1
                return .literal(.string(text))
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                index += 1
                while index < source.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(source[index]) { index += 1 }
                guard let number = Int64(String(decoding: source[start..<index], as: UTF8.self)) else {
                    throw failure("bad number syntax: \"\(String(decoding: source[start..<index], as: UTF8.self))\"", at: start)
                }
                return .literal(.integer(number))
            default:
                let name = readIdentifier()
                guard !name.isEmpty else {
                    throw failure("unexpected \"\(Character(UnicodeScalar(byte)))\" in command", at: index)
                }
                return .identifier(name)
            }
        }

        private mutating func readQuoted(openedAt open: Int) throws -> String {
            var bytes: [UInt8] = []
            index += 1
            while index < source.count, source[index] != UInt8(ascii: "\"") {
                if source[index] == UInt8(ascii: "\\"), index + 1 < source.count {
                    index += 1
                    switch source[index] {
                    case UInt8(ascii: "n"): bytes.append(10)
                    case UInt8(ascii: "t"): bytes.append(9)
                    case UInt8(ascii: "r"): bytes.append(13)
                    default: bytes.append(source[index])
                    }
                } else if source[index] == 10 {
                    throw failure("unterminated quoted string", at: index)
                } else {
                    bytes.append(source[index])
                }
                index += 1
            }
            guard index < source.count else { throw failure("unterminated quoted string", at: open) }
            index += 1
            return String(decoding: bytes, as: UTF8.self)
        }

        private mutating func readIdentifier() -> String {
            let start = index
            while index < source.count, Self.isIdentifierByte(source[index]) { index += 1 }
            return String(decoding: source[start..<index], as: UTF8.self)
        }

        private mutating func skipSpaces(keepingTrimMarker: Bool = false) {
            while index < source.count, Self.isSpace(source[index]) {
                if keepingTrimMarker, index + 1 < source.count, source[index + 1] == UInt8(ascii: "-") { index += 1; return }
                index += 1
            }
        }

        private func hasPrefix(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            return index + bytes.count <= source.count && Array(source[index..<(index + bytes.count)]) == bytes
        }

        private func find(_ text: String, from start: Int) -> Int? {
            let bytes = Array(text.utf8)
            var position = start
            while position + bytes.count <= source.count {
                if source[position] == bytes[0], Array(source[position..<(position + bytes.count)]) == bytes { return position }
                position += 1
            }
            return nil
        }

        private func failure(_ message: String, at position: Int) -> Failure {
            Failure(description: "template: :\(GoTemplate.lineNumber(of: position, in: source)): \(message)", isParseError: true)
        }

        static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

        static func isIdentifierByte(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
        }
    }
}

// MARK: - Execution

extension GoTemplate {
    /// Keys whose values are Go maps in Docker's types: a missing key or a null value is
    /// `<no value>` or `map[]`, not an error, and they print as `map[key:value]`.
    fileprivate static let mapKeys: Set<String> = [
        "Labels", "Volumes", "ExposedPorts", "Options", "Data", "Ports", "Networks", "Annotations", "DriverOpts",
        "Sysctls", "StorageOpt", "Tmpfs", "Status", "PortBindings",
    ]
    /// Go field names of Docker's types that differ from their JSON keys (`ID` is `Id`).
    fileprivate static let jsonNames: [String: String] = [
        "ID": "Id", "CPUShares": "CpuShares", "NanoCPUs": "NanoCpus", "CPUPeriod": "CpuPeriod", "CPUQuota": "CpuQuota",
        "CPURealtimePeriod": "CpuRealtimePeriod", "CPURealtimeRuntime": "CpuRealtimeRuntime", "CPUCount": "CpuCount",
        "CPUPercent": "CpuPercent",
    ]
    /// Those JSON keys, which Docker's types do not have as fields.
    fileprivate static let jsonNamesOfOtherGoFields = Set(jsonNames.values)
    /// Keys whose values are pointers to structs in Docker's types: null prints as `<nil>`.
    fileprivate static let pointerKeys: Set<String> = ["Healthcheck", "UsageData", "HostConfig", "NetworkSettings", "Platform", "StopTimeout",
                                                      "SizeRw", "SizeRootFs", "MemorySwappiness", "PidsLimit"]
    /// Fields of Docker's types that its JSON leaves out when empty (`omitempty`): the typed
    /// template the CLI tries first still finds them, with Go's zero value.
    fileprivate static let omittedFields: [String: JSONValue] = [
        "Healthcheck": .null, "StopTimeout": .null, "StopSignal": .string(""), "MacAddress": .string(""),
        "ArgsEscaped": .bool(false), "NetworkDisabled": .bool(false), "Shell": .null, "SizeRw": .null, "SizeRootFs": .null,
        "Status": .null,
    ]

    /// A value met while executing: JSON (nil for Go's missing value), with the key it was
    /// found under, which decides how Go would print it.
    fileprivate struct Value {
        var json: JSONValue?
        var key: String?
        /// The data itself: its `{{json .}}` is a listing row's `MarshalJSON`.
        var isRoot = false
        /// Part of the raw JSON (decoded into Go's `interface{}`), not of Docker's types.
        var isRaw = false

        init(_ json: JSONValue?, key: String? = nil, isRoot: Bool = false, isRaw: Bool = false) {
            self.json = json
            self.key = key
            self.isRoot = isRoot
            self.isRaw = isRaw
        }

        /// A value found under `key` in this one.
        func member(_ json: JSONValue?, key: String?) -> Value { Value(json, key: key, isRaw: isRaw) }

        var isMap: Bool { !isRaw && (key.map(GoTemplate.mapKeys.contains) ?? false) }

        /// Go's truth: false, 0, nil and empty values are false.
        var isTrue: Bool {
            switch json {
            case nil, .null?: false
            case .bool(let value)?: value
            case .integer(let value)?: value != 0
            case .string(let value)?: !value.isEmpty
            case .array(let values)?: !values.isEmpty
            case .object(let members)?: !members.isEmpty
            }
        }

        /// As `fmt.Sprint` prints the Go value.
        var printed: String {
            guard let json else { return "<no value>" }
            return isRaw ? Self.printRaw(json) : Self.print(json, key: key)
        }

        /// As Go prints JSON decoded into `interface{}`: every object a map, null `<no value>`.
        private static func printRaw(_ json: JSONValue) -> String {
            switch json {
            case .null: return "<no value>"
            case .array(let values): return "[" + values.map(printRaw).joined(separator: " ") + "]"
            case .object(let members):
                let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
                return "map[" + sorted.map { "\($0.0):" + printRaw($0.1) }.joined(separator: " ") + "]"
            default: return print(json, key: nil)
            }
        }

        private static func print(_ json: JSONValue, key: String?) -> String {
            let isMap = key.map(GoTemplate.mapKeys.contains) ?? false
            switch json {
            case .null:
                if isMap { return "map[]" }
                if let key, GoTemplate.pointerKeys.contains(key) { return "<nil>" }
                return key == nil ? "<no value>" : "[]"
            case .bool(let value): return value ? "true" : "false"
            case .integer(let value): return String(value)
            case .string(let value) where key == "LastTagTime": return goTime(value)
            case .string(let value): return value
            case .array(let values): return "[" + values.map { print($0, key: nil) }.joined(separator: " ") + "]"
            case .object(let members):
                if isMap {
                    let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
                    return "map[" + sorted.map { "\($0.0):" + print($0.1, key: nil) }.joined(separator: " ") + "]"
                }
                return "{" + members.map { print($0.1, key: $0.0) }.joined(separator: " ") + "}"
            }
        }
    }

    /// A `time.Time` as Go prints it (`2026-12-04 17:57:07.022216937 +0000 UTC`), from its
    /// RFC 3339 form in UTC.
    fileprivate static func goTime(_ text: String) -> String {
        guard text.hasSuffix("Z"), let split = text.firstIndex(of: "T") else { return text }
        return text[..<split] + " " + text[text.index(after: split)...].dropLast() + " +0000 UTC"
    }

    private enum LoopSignal: Error { case breakLoop, continueLoop }

    fileprivate struct Execution {
        let source: [UInt8]
        let kind: DataKind
        let root: Value
        var variables: [(String, Value)] = []

        init(source: [UInt8], kind: DataKind, root: Value) {
            self.source = source
            self.kind = kind
            self.root = root
            variables = [("", root)]
        }

        mutating func run(_ nodes: [Node], dot: Value, into output: inout String) throws {
            for node in nodes {
                switch node {
                case .text(let text):
                    output += text
                case .output(let pipeline):
                    let value = try evaluate(pipeline, dot: dot)
                    if pipeline.declared.isEmpty { output += value.printed }
                case .conditional(let pipeline, let setsDot, let then, let otherwise):
                    let scope = variables.count
                    defer { variables.removeSubrange(scope...) }
                    let value = try evaluate(pipeline, dot: dot)
                    if value.isTrue {
                        try run(then, dot: setsDot ? value : dot, into: &output)
                    } else {
                        try run(otherwise, dot: dot, into: &output)
                    }
                case .loop(let pipeline, let body, let otherwise):
                    try runLoop(pipeline, body: body, otherwise: otherwise, dot: dot, into: &output)
                case .loopControl(let isBreak):
                    throw isBreak ? LoopSignal.breakLoop : LoopSignal.continueLoop
                }
            }
        }

        private mutating func runLoop(_ pipeline: Pipeline, body: [Node], otherwise: [Node], dot: Value, into output: inout String) throws {
            let scope = variables.count
            defer { variables.removeSubrange(scope...) }
            var declared = pipeline.declared
            declared.removeAll()
            var inner = pipeline
            inner.declared = []
            let collection = try evaluate(inner, dot: dot)
            let items: [(Value, Value)]
            switch collection.json {
            case .array(let values)?: items = values.enumerated().map { (Value(.integer(Int64($0.offset))), collection.member($0.element, key: nil)) }
            case .object(let members)?:
                items = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { (Value(.string($0.0)), collection.member($0.1, key: $0.0)) }
            case nil, .null?: items = []
            case let other?:
                throw failure("range can't iterate over \(Value(other).printed)", at: pipeline.position, text: "")
            }
            if items.isEmpty { return try run(otherwise, dot: dot, into: &output) }
            for (index, element) in items {
                let iteration = variables.count
                switch pipeline.declared.count {
                case 1: variables.append((pipeline.declared[0], element))
                case 2: variables += [(pipeline.declared[0], index), (pipeline.declared[1], element)]
                default: break
                }
                defer { variables.removeSubrange(iteration...) }
                do {
                    try run(body, dot: element, into: &output)
                } catch LoopSignal.breakLoop {
                    break
                } catch LoopSignal.continueLoop {
                    continue
                }
            }
        }

        private mutating func evaluate(_ pipeline: Pipeline, dot: Value) throws -> Value {
            var value: Value?
            for command in pipeline.commands {
                value = try evaluate(command, dot: dot, piped: value)
            }
            let result = value ?? Value(nil)
            if let name = pipeline.declared.first {
                if let existing = variables.lastIndex(where: { $0.0 == name }) {
                    variables[existing].1 = result
                } else {
                    variables.append((name, result))
                }
            }
            return result
        }

        private mutating func evaluate(_ command: Command, dot: Value, piped: Value?) throws -> Value {
            let first = command.operands[0]
            if case .function(let name, let position) = first {
                var arguments = try command.operands.dropFirst().map { try evaluate($0, dot: dot) }
                if let piped { arguments.append(piped) }
                do {
                    return try call(name, arguments)
                } catch let message as CallFailure {
                    throw failure("error calling \(name): \(message.text)", at: position, text: name)
                }
            }
            guard command.operands.count == 1, piped == nil else {
                throw failure("can't give argument to non-function \(describe(first))", at: first.position, text: describe(first))
            }
            return try evaluate(first, dot: dot)
        }

        private mutating func evaluate(_ operand: Operand, dot: Value) throws -> Value {
            switch operand {
            case .dot:
                return dot
            case .literal(let json, _):
                return Value(json)
            case .field(let chain, let position, let text):
                return try follow(chain, from: dot, position: position, text: text)
            case .variable(let name, let chain, let position, let text):
                guard let value = variables.last(where: { $0.0 == name })?.1 else {
                    throw failure("undefined variable: $\(name)", at: position, text: text)
                }
                return try follow(chain, from: value, position: position, text: text)
            case .pipeline(let pipeline, let chain, let position):
                return try follow(chain, from: try evaluate(pipeline, dot: dot), position: position, text: "")
            case .function(let name, let position):
                do {
                    return try call(name, [])
                } catch let message as CallFailure {
                    throw failure("error calling \(name): \(message.text)", at: position, text: name)
                }
            }
        }

        private func follow(_ chain: [String], from start: Value, position: Int, text: String) throws -> Value {
            var value = start
            for name in chain {
                switch value.json {
                case .object(let members)?:
                    if !value.isRaw, kind == .inspected, GoTemplate.jsonNamesOfOtherGoFields.contains(name), !value.isMap {
                        throw failure("can't evaluate field \(name)", at: position, text: text)
                    }
                    let key = value.isRaw || value.isMap || kind != .inspected ? name : GoTemplate.jsonNames[name] ?? name
                    if let member = members.first(where: { $0.0 == key }) {
                        value = value.member(member.1, key: key)
                    } else if value.isMap {
                        value = Value(nil)
                    } else if !value.isRaw, let zero = GoTemplate.omittedFields[name], kind == .inspected {
                        value = value.member(zero, key: name)
                    } else if case .listingRow(let typeName) = kind, value.isRoot {
                        throw failure("can't evaluate field \(name) in type \(typeName)", at: position, text: text)
                    } else {
                        throw failure("map has no entry for key \"\(name)\"", at: position, text: text)
                    }
                case .null? where value.isMap:
                    value = Value(nil)
                case nil, .null?:
                    throw failure("nil pointer evaluating interface {}.\(name)", at: position, text: text)
                case let other?:
                    throw failure("can't evaluate field \(name) in type \(Self.goType(other))", at: position, text: text)
                }
            }
            return value
        }

        private func describe(_ operand: Operand) -> String {
            switch operand {
            case .dot: "."
            case .field(_, _, let text), .variable(_, _, _, let text): text
            case .literal(let json, _): json.serialized()
            case .function(let name, _): name
            case .pipeline: "(…)"
            }
        }

        private func failure(_ message: String, at position: Int, text: String) -> Failure {
            let line = GoTemplate.lineNumber(of: position, in: source)
            let lineStart = source[..<min(position, source.count)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            return Failure(description: "template: :\(line):\(position - lineStart): executing \"\" at <\(text)>: \(message)", isParseError: false)
        }

        static func goType(_ json: JSONValue) -> String {
            switch json {
            case .null: "interface {}"
            case .bool: "bool"
            case .integer: "json.Number"
            case .string: "string"
            case .array: "[]interface {}"
            case .object: "map[string]interface {}"
            }
        }
    }

    /// A function's complaint, which the caller places in Go's `error calling …` message.
    private struct CallFailure: Error { let text: String }
}

// MARK: - Functions

extension GoTemplate.Execution {
    fileprivate func call(_ name: String, _ arguments: [GoTemplate.Value]) throws -> GoTemplate.Value {
        typealias Value = GoTemplate.Value
        func count(_ expected: Int) throws {
            guard arguments.count == expected else {
                throw GoTemplate.CallFailure(text: "wrong number of args for \(name): want \(expected) got \(arguments.count)")
            }
        }
        func string(_ value: Value) throws -> String {
            guard case .string(let text)? = value.json else { throw GoTemplate.CallFailure(text: "expected a string, got \(value.printed)") }
            return text
        }
        func integer(_ value: Value) throws -> Int {
            guard case .integer(let number)? = value.json else { throw GoTemplate.CallFailure(text: "expected an integer, got \(value.printed)") }
            return Int(number)
        }
        switch name {
        case "and":
            return arguments.first { !$0.isTrue } ?? arguments.last ?? Value(nil)
        case "or":
            return arguments.first { $0.isTrue } ?? arguments.last ?? Value(nil)
        case "not":
            try count(1)
            return Value(.bool(!arguments[0].isTrue))
        case "len":
            try count(1)
            switch arguments[0].json {
            case .string(let text)?: return Value(.integer(Int64(text.utf8.count)))
            case .array(let values)?: return Value(.integer(Int64(values.count)))
            case .object(let members)?: return Value(.integer(Int64(members.count)))
            case .null?: return Value(.integer(0))
            default: throw GoTemplate.CallFailure(text: "len of type \(arguments[0].json.map(Self.goType) ?? "<nil>")")
            }
        case "index":
            guard var value = arguments.first else { try count(1); return Value(nil) }
            for key in arguments.dropFirst() {
                switch (value.json, key.json) {
                case (.array(let values)?, .integer(let position)?):
                    guard position >= 0, position < values.count else { throw GoTemplate.CallFailure(text: "error calling index: index out of range: \(position)") }
                    value = value.member(values[Int(position)], key: nil)
                case (.object(let members)?, .string(let name)?):
                    value = members.first { $0.0 == name }.map { value.member($0.1, key: name) } ?? Value(value.isMap ? .string("") : nil)
                case (.null?, _) where value.isMap:
                    value = Value(.string(""))
                default:
                    throw GoTemplate.CallFailure(text: "can't index item of type \(value.json.map(Self.goType) ?? "<nil>")")
                }
            }
            return value
        case "eq", "ne", "lt", "le", "gt", "ge":
            guard arguments.count >= 2 else { try count(2); return Value(nil) }
            let left = arguments[0]
            if name == "eq" {
                return Value(.bool(try arguments.dropFirst().contains { try Self.compare(left, $0) == 0 }))
            }
            try count(2)
            let order = try Self.compare(left, arguments[1], ordering: name != "ne")
            let result = switch name {
            case "ne": order != 0
            case "lt": order < 0
            case "le": order <= 0
            case "gt": order > 0
            default: order >= 0
            }
            return Value(.bool(result))
        case "print":
            // fmt.Sprint: a space between operands when neither is a string.
            var output = ""
            for (position, argument) in arguments.enumerated() {
                if position > 0, !Self.isString(argument), !Self.isString(arguments[position - 1]) { output += " " }
                output += argument.printed
            }
            return Value(.string(output))
        case "println":
            return Value(.string(arguments.map(\.printed).joined(separator: " ") + "\n"))
        case "printf":
            guard let format = arguments.first else { try count(1); return Value(nil) }
            return Value(.string(try Self.printf(try string(format), Array(arguments.dropFirst()))))
        case "json":
            try count(1)
            guard let json = arguments[0].json else { return Value(.string("null")) }
            // A listing row marshals itself with json.Marshal, which escapes HTML characters;
            // the CLI's encoder does not.
            let escaping: Bool = if case .listingRow = kind, arguments[0].isRoot { true } else { false }
            return Value(.string(json.serialized(escapingHTML: escaping)))
        case "join":
            try count(2)
            guard case .array(let values)? = arguments[0].json else {
                if arguments[0].json == .null { return Value(.string("")) }
                throw GoTemplate.CallFailure(text: "wrong type for value; expected []string; got \(arguments[0].json.map(Self.goType) ?? "<nil>")")
            }
            return Value(.string(try values.map { try string(Value($0)) }.joined(separator: try string(arguments[1]))))
        case "split":
            try count(2)
            let separator = try string(arguments[1])
            let text = try string(arguments[0])
            let parts = separator.isEmpty ? text.map(String.init) : text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
            return Value(.array(parts.map(JSONValue.string)))
        case "title":
            try count(1)
            var previousIsLetter = false
            let titled = try string(arguments[0]).map { character -> String in
                defer { previousIsLetter = character.isLetter || character.isNumber || character == "_" || character == "'" }
                return previousIsLetter ? String(character) : character.uppercased()
            }.joined()
            return Value(.string(titled))
        case "lower":
            try count(1)
            return Value(.string(try string(arguments[0]).lowercased()))
        case "upper":
            try count(1)
            return Value(.string(try string(arguments[0]).uppercased()))
        case "pad":
            try count(3)
            let padding = { (width: Int) in String(repeating: " ", count: max(0, width)) }
            return Value(.string(padding(try integer(arguments[1])) + (try string(arguments[0])) + padding(try integer(arguments[2]))))
        case "truncate":
            try count(2)
            let text = try string(arguments[0])
            let length = try integer(arguments[1])
            return Value(.string(text.count > length ? String(text.prefix(length)) : text))
        default:
            throw GoTemplate.CallFailure(text: "function \(name) not defined")
        }
    }

    private static func isString(_ value: GoTemplate.Value) -> Bool {
        if case .string? = value.json { true } else { false }
    }

    /// -1, 0 or 1; Go's `eq` compares basic values of one kind, `lt` and the others only
    /// integers and strings.
    private static func compare(_ left: GoTemplate.Value, _ right: GoTemplate.Value, ordering: Bool = false) throws -> Int {
        switch (left.json, right.json) {
        case (.integer(let a)?, .integer(let b)?): return a < b ? -1 : a == b ? 0 : 1
        case (.string(let a)?, .string(let b)?): return a < b ? -1 : a == b ? 0 : 1
        case (.bool(let a)?, .bool(let b)?) where !ordering: return a == b ? 0 : 1
        case (.null?, .null?) where !ordering, (nil, nil) where !ordering: return 0
        default: throw GoTemplate.CallFailure(text: "incompatible types for comparison")
        }
    }

    /// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %q %t %%`, with flags and widths.
    private static func printf(_ format: String, _ arguments: [GoTemplate.Value]) throws -> String {
        var output = ""
        var remaining = arguments[...]
        var characters = Array(format)[...]
        while let character = characters.popFirst() {
            guard character == "%" else { output.append(character); continue }
            var leftAligned = false
            var zeroPadded = false
            var width = 0
            while let flag = characters.first, flag == "-" || flag == "0" || flag == "+" || flag == " " {
                if flag == "-" { leftAligned = true }
                if flag == "0" { zeroPadded = true }
                characters.removeFirst()
            }
            while let digit = characters.first?.wholeNumberValue { width = width * 10 + digit; characters.removeFirst() }
            guard let verb = characters.popFirst() else { output += "%!(NOVERB)"; break }
            if verb == "%" { output += "%"; continue }
            guard let argument = remaining.popFirst() else { output += "%!\(verb)(MISSING)"; continue }
            var text: String
            switch verb {
            case "q":
                text = JSONValue.quote(argument.printed, escapingHTML: false)
            case "d":
                guard case .integer(let number)? = argument.json else { text = "%!d(\(argument.printed))"; break }
                text = String(number)
            case "t":
                guard case .bool(let flag)? = argument.json else { text = "%!t(\(argument.printed))"; break }
                text = flag ? "true" : "false"
            default:
                text = argument.printed
            }
            if text.count < width {
                let padding = String(repeating: zeroPadded && !leftAligned ? "0" : " ", count: width - text.count)
                text = leftAligned ? text + padding : padding + text
            }
            output += text
        }
        for extra in remaining { output += "%!(EXTRA \(extra.printed))" }
        return output
    }
}
