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
        guard let text = String(validating: name, as: UTF8.self) else {
            throw StowageError(.unsupported, "\(what) name is not valid UTF-8: \(String(decoding: name, as: UTF8.self))")
        }
        return try components(text, what: what)
    }

    static func components(_ text: String, what: String = "entry") throws -> [String] {
        var result: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !result.isEmpty else {
                    throw StowageError(.unsafePath, "\(what) \"\(text)\" points outside the layer")
                }
                result.removeLast()
            default:
                result.append(String(part))
            }
        }
        return result
    }

    /// Go's `filepath.Clean`, used to compare names the way tar-split does.
    static func cleanForComparison(_ name: [UInt8]) -> String {
        let text = String(decoding: name, as: UTF8.self)
        let rooted = text.hasPrefix("/")
        var parts: [Substring] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(part) }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
