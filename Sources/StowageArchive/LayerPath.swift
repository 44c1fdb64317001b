import StowageCore

/// Lexical handling of the names inside a layer tar.
enum LayerPath {
    /// The components of an entry name resolved lexically inside the layer root: a leading
    /// `/` and `.` components are dropped and `..` removes the previous component. Throws
    /// `.unsafePath` if `..` would climb above the root or the name holds a NUL byte, and
    /// `.unsupported` for names that are not UTF-8. An empty result names the root itself.
    static func components(_ name: [UInt8], what: String = "entry") throws -> [String] {
        guard !name.contains(0) else {
            throw StowageError(.unsafePath, "\(what) name contains a NUL byte: \(String(decoding: name.prefix { $0 != 0 }, as: UTF8.self))…")
        }
        guard String(validating: name, as: UTF8.self) != nil else {
            throw StowageError(.unsupported, "\(what) name is not valid UTF-8: \(String(decoding: name, as: UTF8.self))")
        }
        // Split as bytes: `/` never occurs inside a UTF-8 sequence, so every part is UTF-8 too.
        var result: [String] = []
        for part in name.split(separator: slash, omittingEmptySubsequences: true) {
            if isDot(part) { continue }
            if isDotDot(part) {
                guard !result.isEmpty else {
                    throw StowageError(.unsafePath, "\(what) \"\(String(decoding: name, as: UTF8.self))\" points outside the layer")
                }
                result.removeLast()
            } else {
                result.append(String(decoding: part, as: UTF8.self))
            }
        }
        return result
    }

    static func components(_ text: String, what: String = "entry") throws -> [String] {
        try components(Array(text.utf8), what: what)
    }

    /// Go's `filepath.Clean`, used to compare names the way tar-split does.
    static func cleanForComparison(_ name: [UInt8]) -> String {
        let rooted = name.first == slash
        var parts: [ArraySlice<UInt8>] = []
        for part in name.split(separator: slash, omittingEmptySubsequences: true) {
            if isDot(part) { continue }
            if isDotDot(part) {
                if let last = parts.last, !isDotDot(last) { parts.removeLast() } else if !rooted { parts.append(part) }
            } else {
                parts.append(part)
            }
        }
        var cleaned: [UInt8] = rooted ? [slash] : []
        cleaned.reserveCapacity(name.count + 1)
        for (index, part) in parts.enumerated() {
            if index > 0 { cleaned.append(slash) }
            cleaned.append(contentsOf: part)
        }
        return cleaned.isEmpty ? "." : String(decoding: cleaned, as: UTF8.self)
    }

    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    private static func isDot(_ part: ArraySlice<UInt8>) -> Bool {
        part.count == 1 && part.first == dot
    }

    private static func isDotDot(_ part: ArraySlice<UInt8>) -> Bool {
        part.count == 2 && part.first == dot && part.last == dot
    }
}
