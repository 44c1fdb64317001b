/// An image reference, normalised as Docker normalises one (distribution's
/// `ParseNormalizedNamed`): `busybox` is `docker.io/library/busybox`, `index.docker.io` is
/// `docker.io`, and names must be lowercase. A reference that cannot be constructed is not
/// one Docker accepts.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    /// `docker.io`, `localhost:5000`, `[::1]:5000`, …
    public let domain: String
    /// `library/busybox`, `a/b`.
    public let path: String
    public let tag: String?
    public let digest: Digest?

    /// Parses and normalises `text`.
    public init(parsing text: String) throws {
        if text.utf8.count == 64, text.utf8.allSatisfy(Self.isHexDigit) {
            throw StowageError(.invalidArgument,
                               "invalid repository name (\(text)), cannot specify 64-byte hexadecimal strings")
        }
        guard !text.isEmpty else { throw Self.invalid("repository name must have at least one component") }
        // Split the domain as Docker does: the first component is a domain if it has a dot
        // or a colon or is `localhost`, or has uppercase letters.
        var domain = Self.defaultDomain
        var remainder = text
        if let slash = text.firstIndex(of: "/") {
            let first = String(text[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                domain = first
                remainder = String(text[text.index(after: slash)...])
            }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        if domain == Self.defaultDomain, !remainder.contains("/") { remainder = "library/" + remainder }
        let remoteName = remainder.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
        if remoteName.lowercased() != remoteName {
            throw Self.invalid("repository name must be lowercase")
        }

        var rest = Substring(remainder)
        var digest: Digest?
        if let at = rest.lastIndex(of: "@") {
            digest = try Self.parseDigest(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let text = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(text) else { throw Self.invalid() }
            tag = text
            rest = rest[..<colon]
        }
        guard Self.isValidDomain(domain), Self.isValidPath(rest) else { throw Self.invalid() }
        guard domain.utf8.count + 1 + rest.utf8.count <= 255 else {
            throw StowageError(.invalidArgument, "repository name must not be more than 255 characters")
        }
        self.domain = domain
        self.path = String(rest)
        self.tag = tag
        self.digest = digest
    }

    private init(domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// `docker.io/library/busybox`.
    public var name: String { domain + "/" + path }

    /// `busybox`, `user/app`, `localhost:5000/a/b`: the name as users write it.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        if path.hasPrefix("library/"), !path.dropFirst(8).contains("/") { return String(path.dropFirst(8)) }
        return path
    }

    /// `busybox:latest`, `localhost:5000/a/b@sha256:…`.
    public var familiarString: String { familiarName + suffix }

    /// `docker.io/library/busybox:latest`.
    public var description: String { name + suffix }

    private var suffix: String {
        (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// The same name with a tag and without a digest.
    public func withTag(_ tag: String) throws -> Reference {
        guard Self.isValidTag(tag) else { throw Self.invalid("invalid tag \"\(tag)\"") }
        return Reference(domain: domain, path: path, tag: tag, digest: nil)
    }

    /// `latest` added when there is neither a tag nor a digest (Docker's `TagNameOnly`).
    public func withDefaultTag() -> Reference {
        tag == nil && digest == nil ? Reference(domain: domain, path: path, tag: Self.defaultTag, digest: nil) : self
    }

    /// The name alone, without tag or digest.
    public var nameOnly: Reference { Reference(domain: domain, path: path, tag: nil, digest: nil) }

    // MARK: - Grammar

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count), isWordCharacter(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isWordCharacter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Path components of lowercase letters and digits, joined by `.`, `_`, `__` or runs of `-`.
    static func isValidPath(_ path: Substring) -> Bool {
        guard !path.isEmpty else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            let bytes = Array(component.utf8)
            guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else {
                return false
            }
            var index = 0
            while index < bytes.count {
                if isLowerAlphanumeric(bytes[index]) { index += 1; continue }
                var end = index
                while end < bytes.count, !isLowerAlphanumeric(bytes[end]) { end += 1 }
                let separator = bytes[index..<end]
                let valid = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                    || separator.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                    || separator.allSatisfy { $0 == UInt8(ascii: "-") }
                guard valid else { return false }
                index = end
            }
            return true
        }
    }

    /// Host names (`a.b-c.d`), `[IPv6]`, each with an optional `:port`.
    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
            host = host[..<colon]
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        guard !host.isEmpty else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { component in
            let bytes = Array(component.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
            return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func parseDigest(_ text: Substring) throws -> Digest {
        guard let colon = text.firstIndex(of: ":"), !text[..<colon].isEmpty else { throw invalid() }
        guard text[..<colon] == "sha256" else {
            throw StowageError(.invalidArgument, "unsupported digest algorithm in \"\(text)\": only sha256 is supported")
        }
        let hex = text[text.index(after: colon)...]
        guard hex.utf8.allSatisfy(isHexDigit), !hex.isEmpty else { throw invalid() }
        guard hex.utf8.count == 64 else { throw StowageError(.invalidArgument, "invalid checksum digest length") }
        return try Digest(parsing: String(text))
    }

    private static func invalid(_ detail: String? = nil) -> StowageError {
        StowageError(.invalidArgument, "invalid reference format" + (detail.map { ": " + $0 } ?? ""))
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 122)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (byte >= 65 && byte <= 90)
    }

    private static func isWordCharacter(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "_")
    }
}
