/// An image reference, parsed and normalised as Docker does it (distribution/reference's
/// `ParseNormalizedNamed`): `busybox` is `docker.io/library/busybox`, `user/app` is
/// `docker.io/user/app`, `index.docker.io` is `docker.io`, and the repository must be
/// lowercase. A value of this type is always one that Docker accepts.
///
/// The grammar, as Docker has it:
///
///     reference        := name [ ":" tag ] [ "@" digest ]
///     name             := [ domain "/" ] path
///     domain           := host [ ":" port ]
///     host             := domain-name | "[" IPv6 "]"
///     domain-name      := domain-component [ "." domain-component ]*
///     domain-component := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
///     port             := /[0-9]+/
///     path             := path-component [ "/" path-component ]*
///     path-component   := /[a-z0-9]+/ [ separator /[a-z0-9]+/ ]*
///     separator        := "." | "_" | "__" | /-+/
///     tag              := /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/
///     digest           := algorithm ":" /[0-9a-fA-F]{32,}/
///
/// The path is at most 255 characters. Of the digests Docker accepts, only sha256 can be
/// represented here: a valid sha384 or sha512 digest is refused with `.unsupported`.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// The registry a name without a domain belongs to: Docker Hub.
    public static let defaultDomain = "docker.io"
    /// Docker Hub's old name, normalised to `docker.io`.
    public static let legacyDefaultDomain = "index.docker.io"
    /// The namespace of Docker Hub's official images, added to single-component names.
    public static let officialRepositoryPrefix = "library/"
    /// The tag `withDefaultTag()` adds.
    public static let defaultTag = "latest"
    /// The longest path (the name without its domain) Docker accepts.
    public static let maximumPathLength = 255

    /// `docker.io`, `localhost:5000`, `[::1]:5000`, `Example.com`. Empty only in Docker's
    /// odd case of a first component with a dot that is a path component but not a host
    /// name (`a_b.c/d`): Docker then keeps the whole name as the path.
    public let domain: String
    /// The repository within the domain: `library/busybox`, `user/app`.
    public let path: String
    /// `latest`, `1.36`; nil when the reference has none.
    public let tag: String?
    /// The content digest pinned by `@sha256:…`; nil when the reference has none.
    public let digest: Digest?

    /// Parses and normalises `text` as Docker's `ParseNormalizedNamed` does, with Docker's
    /// error messages (`invalid reference format`, `invalid reference format: repository
    /// name (library/Foo) must be lowercase`, …). Throws `StowageError(.invalidArgument)`,
    /// or `.unsupported` for a well-formed digest whose algorithm is not sha256.
    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        if bytes.count == 64, bytes.allSatisfy(Self.isLowerHexDigit) {
            throw StowageError(.invalidArgument,
                               "invalid repository name (\(text)), cannot specify 64-byte hexadecimal strings")
        }
        let (domain, remainder) = Self.splitDockerDomain(bytes)
        let remote = String(decoding: remainder.prefix { $0 != Self.colon }, as: UTF8.self)
        if !Self.isLowercase(remote) {
            throw StowageError(.invalidArgument, "invalid reference format: repository name (\(remote)) must be lowercase")
        }
        self = try Self.parse(domain + [Self.slash] + remainder)
    }

    /// A reference from parts that were validated when it was first parsed (the tag store's
    /// parsed copy); not for text from outside.
    package init(domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    // MARK: - Forms

    /// The full name without tag or digest: `docker.io/library/busybox`.
    public var name: String { domain.isEmpty ? path : domain + "/" + path }

    /// The name as users write it (Docker's `FamiliarName`): `busybox`, `user/app`,
    /// `localhost:5000/a/b`. Docker Hub's domain is dropped, and `library/` when nothing
    /// is nested below it.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        let prefix = Self.officialRepositoryPrefix
        if path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if !rest.contains("/") { return String(rest) }
        }
        return path
    }

    /// The reference as users write it (Docker's `FamiliarString`): `busybox:latest`,
    /// `localhost:5000/a/b@sha256:…`.
    public var familiarString: String { familiarName + suffix }

    /// The full normalised reference: `docker.io/library/busybox:latest`.
    public var description: String { name + suffix }

    private var suffix: String {
        (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    // MARK: - Derived references

    /// The reference with `latest` added when it has neither tag nor digest (Docker's
    /// `TagNameOnly`); otherwise unchanged.
    public func withDefaultTag() -> Reference {
        guard tag == nil, digest == nil else { return self }
        return Reference(domain: domain, path: path, tag: Self.defaultTag, digest: nil)
    }

    /// The same name with `tag` in place of any tag; a digest is kept (Docker's `WithTag`).
    /// Throws `StowageError(.invalidArgument, "invalid tag format")` for a malformed tag.
    public func withTag(_ tag: String) throws -> Reference {
        guard Self.isValidTag(tag) else { throw StowageError(.invalidArgument, "invalid tag format") }
        return Reference(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// The same name with `digest` in place of any digest; a tag is kept (Docker's `WithDigest`).
    public func withDigest(_ digest: Digest) -> Reference {
        Reference(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// The name alone, without tag or digest (Docker's `TrimNamed`).
    public var nameOnly: Reference { Reference(domain: domain, path: path, tag: nil, digest: nil) }

    /// Whether `tag` is a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool { isTag(Array(tag.utf8)[...]) }

    // MARK: - Normalisation

    /// Docker's `splitDockerDomain`: the first component is a domain when it is
    /// `localhost`, contains `.` or `:`, or is not lowercase; otherwise the name is on
    /// Docker Hub, where a single component gets the `library/` namespace.
    private static func splitDockerDomain(_ text: [UInt8]) -> (domain: [UInt8], remainder: [UInt8]) {
        let hub = Array(defaultDomain.utf8)
        let library = Array(officialRepositoryPrefix.utf8)
        guard let slashIndex = text.firstIndex(of: slash) else { return (hub, library + text) }
        let first = Array(text[..<slashIndex])
        var domain = first
        var remainder = Array(text[(slashIndex + 1)...])
        let firstString = String(decoding: first, as: UTF8.self)
        if firstString == "localhost" || first.contains(dot) || first.contains(colon) || !isLowercase(firstString) {
            if firstString == legacyDefaultDomain { domain = hub }
        } else {
            domain = hub
            remainder = text
        }
        if domain == hub, !remainder.contains(slash) { remainder = library + remainder }
        return (domain, remainder)
    }

    /// Docker's `Parse` of the normalised text.
    private static func parse(_ text: [UInt8]) throws -> Reference {
        guard let parts = match(text[...]) else {
            let lowered = Array(lowercased(String(decoding: text, as: UTF8.self)).utf8)
            if lowered != text, match(lowered[...]) != nil {
                throw StowageError(.invalidArgument, "repository name must be lowercase")
            }
            throw StowageError(.invalidArgument, "invalid reference format")
        }
        guard parts.path.count <= maximumPathLength else {
            throw StowageError(.invalidArgument, "repository name must not be more than \(maximumPathLength) characters")
        }
        return Reference(domain: String(decoding: parts.domain, as: UTF8.self),
                         path: String(decoding: parts.path, as: UTF8.self),
                         tag: parts.tag.map { String(decoding: $0, as: UTF8.self) },
                         digest: try parts.digest.map(parseDigest))
    }

    private typealias Bytes = ArraySlice<UInt8>

    /// Matches `name [":" tag] ["@" digest]` and splits the name into domain and path,
    /// preferring a domain as the regular expression does. Nil when `text` does not match.
    private static func match(_ text: Bytes) -> (domain: Bytes, path: Bytes, tag: Bytes?, digest: Bytes?)? {
        var name = text
        var digest: Bytes?
        if let atIndex = text.firstIndex(of: at) {
            name = text[..<atIndex]
            digest = text[(atIndex + 1)...]
            guard isDigest(digest!) else { return nil }
        }
        var tag: Bytes?
        // A colon followed by no slash ends the name; one followed by a slash is a port.
        if let colonIndex = name.lastIndex(of: colon), !name[colonIndex...].contains(slash) {
            tag = name[(colonIndex + 1)...]
            name = name[..<colonIndex]
            guard isTag(tag!) else { return nil }
        }
        if let slashIndex = name.firstIndex(of: slash), isDomain(name[..<slashIndex]), isPath(name[(slashIndex + 1)...]) {
            return (name[..<slashIndex], name[(slashIndex + 1)...], tag, digest)
        }
        guard isPath(name) else { return nil }
        return (name[name.startIndex..<name.startIndex], name, tag, digest)
    }

    /// go-digest's `Parse` of a digest that matched the reference grammar, with its messages.
    private static func parseDigest(_ text: Bytes) throws -> Digest {
        let colonIndex = text.firstIndex(of: colon)!
        let algorithm = String(decoding: text[..<colonIndex], as: UTF8.self)
        let encoded = text[(colonIndex + 1)...]
        let lengths = ["sha256": 64, "sha384": 96, "sha512": 128]
        guard let length = lengths[algorithm] else {
            let message = algorithm.utf8.contains(where: isUppercase) ? "invalid checksum digest format" : "unsupported digest algorithm"
            throw StowageError(.invalidArgument, message)
        }
        guard encoded.count == length else { throw StowageError(.invalidArgument, "invalid checksum digest length") }
        guard encoded.allSatisfy(isLowerHexDigit) else { throw StowageError(.invalidArgument, "invalid checksum digest format") }
        guard algorithm == "sha256" else {
            throw StowageError(.unsupported, "unsupported digest algorithm \(algorithm) in \"\(String(decoding: text, as: UTF8.self))\": only sha256 is supported")
        }
        return try Digest(hex: String(decoding: encoded, as: UTF8.self))
    }

    /// Go's `strings.ToLower`: each scalar's simple lowercase mapping, so `İ` becomes `i`
    /// (Swift's `lowercased()` applies the full mapping, `i̇`, and context such as final sigma).
    private static func lowercased(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                result.append(isUppercase(UInt8(scalar.value)) ? Unicode.Scalar(scalar.value + 0x20)! : scalar)
            } else if scalar == "\u{130}" {
                result.append("i")
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    /// Whether Go's `strings.ToLower` leaves `text` as it is (compared scalar by scalar,
    /// not by Swift's canonical equivalence).
    private static func isLowercase(_ text: String) -> Bool {
        lowercased(text).unicodeScalars.elementsEqual(text.unicodeScalars)
    }

    // MARK: - Grammar

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    private static func isTag(_ tag: Bytes) -> Bool {
        guard let first = tag.first, tag.count <= 128, isWordCharacter(first) else { return false }
        return tag.dropFirst().allSatisfy { isWordCharacter($0) || $0 == dot || $0 == dash }
    }

    /// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
    private static func isDigest(_ digest: Bytes) -> Bool {
        guard let colonIndex = digest.firstIndex(of: colon) else { return false }
        let separators: [UInt8] = [dash, underscore, plus, dot]
        var expectingComponent = true
        for byte in digest[..<colonIndex] {
            if expectingComponent {
                guard isLetter(byte) else { return false }
                expectingComponent = false
            } else if separators.contains(byte) {
                expectingComponent = true
            } else if !isLetter(byte), !isDigit(byte) {
                return false
            }
        }
        let encoded = digest[(colonIndex + 1)...]
        return !expectingComponent && encoded.count >= 32 && encoded.allSatisfy(isHexDigit)
    }

    /// `host [":" port]`, the host a dotted name of letters, digits and inner dashes, or an
    /// IPv6 address of hex digits and colons in brackets.
    private static func isDomain(_ domain: Bytes) -> Bool {
        var host = domain
        var port = domain[domain.endIndex...]
        if domain.first == UInt8(ascii: "[") {
            guard let close = domain.firstIndex(of: UInt8(ascii: "]")) else { return false }
            host = domain[...close]
            port = domain[(close + 1)...]
            let address = host.dropFirst().dropLast()
            guard !address.isEmpty, address.allSatisfy({ isHexDigit($0) || $0 == colon }) else { return false }
        } else {
            if let colonIndex = domain.firstIndex(of: colon) {
                host = domain[..<colonIndex]
                port = domain[colonIndex...]
            }
            let components = host.split(separator: dot, omittingEmptySubsequences: false)
            guard components.allSatisfy(isDomainComponent) else { return false }
        }
        guard let first = port.first else { return true }
        return first == colon && port.count > 1 && port.dropFirst().allSatisfy(isDigit)
    }

    /// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
    private static func isDomainComponent(_ component: Bytes) -> Bool {
        guard let first = component.first, let last = component.last, isAlphanumeric(first), isAlphanumeric(last) else {
            return false
        }
        return component.allSatisfy { isAlphanumeric($0) || $0 == dash }
    }

    /// Path components joined by single slashes.
    private static func isPath(_ path: Bytes) -> Bool {
        path.split(separator: slash, omittingEmptySubsequences: false).allSatisfy(isPathComponent)
    }

    /// `[a-z0-9]+` runs joined by `.`, `_`, `__` or a run of `-`.
    private static func isPathComponent(_ component: Bytes) -> Bool {
        var index = component.startIndex
        while true {
            let runStart = index
            while index < component.endIndex, isLowerAlphanumeric(component[index]) { index += 1 }
            guard index > runStart else { return false }
            guard index < component.endIndex else { return true }
            switch component[index] {
            case dot:
                index += 1
            case underscore:
                index += 1
                if index < component.endIndex, component[index] == underscore { index += 1 }
            case dash:
                while index < component.endIndex, component[index] == dash { index += 1 }
            default:
                return false
            }
        }
    }

    private static let slash = UInt8(ascii: "/")
    private static let colon = UInt8(ascii: ":")
    private static let at = UInt8(ascii: "@")
    private static let dot = UInt8(ascii: ".")
    private static let dash = UInt8(ascii: "-")
    private static let underscore = UInt8(ascii: "_")
    private static let plus = UInt8(ascii: "+")

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isUppercase(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5a }
    private static func isLowercase(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7a }
    private static func isLetter(_ byte: UInt8) -> Bool { isUppercase(byte) || isLowercase(byte) }
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLowercase(byte) }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
    private static func isWordCharacter(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == underscore }
    private static func isLowerHexDigit(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= 0x61 && byte <= 0x66) }
    private static func isHexDigit(_ byte: UInt8) -> Bool { isLowerHexDigit(byte) || (byte >= 0x41 && byte <= 0x46) }
}
