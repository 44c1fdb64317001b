import StowageCore

/// Encodes `Encodable` values to a `JSONValue` as Go's encoding/json writes Docker's types:
/// object keys in the order they are encoded (a struct's declaration order, as Go's fields),
/// a nil optional as `null` (Go writes every field; a type that has `omitempty` fields encodes
/// them only when present), a `[String: …]` dictionary with its keys sorted as Go sorts map
/// keys, and a `JSONValue` as it is.
public struct JSONValueEncoder {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let node = Node()
        try node.encode(value, codingPath: [])
        return node.value
    }
}

extension Encodable {
    /// The value as Docker's JSON (`JSONValueEncoder`).
    public var dockerJSON: JSONValue {
        get throws { try JSONValueEncoder().encode(self) }
    }
}

/// A value being built: set once as a scalar, or grown as an object or an array.
private final class Node {
    enum Content {
        case unset
        case scalar(JSONValue)
        case object([(String, Node)])
        case array([Node])
    }

    var content = Content.unset

    var value: JSONValue {
        switch content {
        case .unset: return .object([])
        case .scalar(let value): return value
        case .object(let members): return .object(members.map { ($0.0, $0.1.value) })
        case .array(let elements): return .array(elements.map(\.value))
        }
    }

    func encode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let json = value as? JSONValue {
            content = .scalar(json)
        } else if let dictionary = value as? [String: any Encodable] {
            var members: [(String, Node)] = []
            for key in dictionary.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                let child = Node()
                try child.encode(dictionary[key]!, codingPath: codingPath + [StringCodingKey(key)])
                members.append((key, child))
            }
            content = .object(members)
        } else {
            try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
        }
    }

    /// The member `key`, made (or replaced) at the end of the object.
    func member(_ key: String) -> Node {
        var members: [(String, Node)] = []
        if case .object(let existing) = content { members = existing.filter { $0.0 != key } }
        let child = Node()
        members.append((key, child))
        content = .object(members)
        return child
    }

    func appendElement() -> Node {
        var elements: [Node] = []
        if case .array(let existing) = content { elements = existing }
        let child = Node()
        elements.append(child)
        content = .array(elements)
        return child
    }

    func makeObject() { if case .object = content {} else { content = .object([]) } }
    func makeArray() { if case .array = content {} else { content = .array([]) } }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

/// Integers as JSON numbers; floating point has no place in Docker's objects here.
private func scalar<T: Encodable>(_ value: T, _ codingPath: [any CodingKey]) throws -> JSONValue? {
    switch value {
    case let value as Bool: return .bool(value)
    case let value as String: return .string(value)
    case let value as Int: return .integer(Int64(value))
    case let value as Int64: return .integer(value)
    case let value as Int32: return .integer(Int64(value))
    case let value as UInt32: return .integer(Int64(value))
    case let value as UInt64:
        guard let exact = Int64(exactly: value) else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) exceeds Int64"))
        }
        return .integer(exact)
    case is Double, is Float:
        throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "floating point is not encoded"))
    default: return nil
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).content = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = node.member(key.stringValue)
        if let scalar = try scalar(value, codingPath + [key]) {
            child.content = .scalar(scalar)
        } else {
            try child.encode(value, codingPath: codingPath + [key])
        }
    }

    // A nil optional is written as null, as Go writes a nil pointer, slice or map.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }

    private mutating func encodeOptional<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.member(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.makeArray()
        return UnkeyedNodeContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let elements) = node.content { return elements.count }
        return 0
    }

    mutating func encodeNil() throws { node.appendElement().content = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = node.appendElement()
        if let scalar = try scalar(value, codingPath) {
            child.content = .scalar(scalar)
        } else {
            try child.encode(value, codingPath: codingPath)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appendElement()
        child.makeObject()
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appendElement()
        child.makeArray()
        return UnkeyedNodeContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appendElement(), codingPath: codingPath) }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if let scalar = try scalar(value, codingPath) {
            node.content = .scalar(scalar)
        } else {
            try node.encode(value, codingPath: codingPath)
        }
    }
}
