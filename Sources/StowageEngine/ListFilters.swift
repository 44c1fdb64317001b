#if canImport(Glibc)
import Glibc
#endif
import StowageCore

// The `--filter` values of the listings, parsed once and applied by the engine's callers
// (the CLI, and the Engine API's `filters` parameter to come), with dockerd's semantics.

/// `--filter` of `images`, as dockerd's: `dangling=true|false`, `reference=PATTERN` (shell
/// globs), `before=IMAGE` and `since=IMAGE` (created before or after it), `label=KEY[=VALUE]`.
public struct ImageFilters: Sendable {
    private var dangling: Bool?
    private var referencePatterns: [String] = []
    /// Created strictly before this time, and strictly after that one (seconds).
    private var createdBefore: Int64?
    private var createdAfter: Int64?
    private var labels: [String] = []
    private let engine: Engine

    /// Parses `KEY=VALUE` filters; images they name (`before=`, `since=`) are looked up in `engine`.
    public init(_ filters: [String], engine: Engine) throws {
        self.engine = engine
        for filter in filters {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw StowageError(.invalidArgument, "bad format of filter (expected name=value)") }
            switch parts[0] {
            case "dangling":
                guard let value = Bool(parts[1].lowercased()) ?? (parts[1] == "1" ? true : parts[1] == "0" ? false : nil) else {
                    throw StowageError(.invalidArgument, "invalid filter 'dangling=\(parts[1])'")
                }
                dangling = value
            case "reference":
                referencePatterns.append(parts[1])
            case "before", "since":
                let created = try engine.images.config(of: try engine.images.resolve(parts[1])).createdSeconds ?? 0
                if parts[0] == "before" { createdBefore = min(createdBefore ?? created, created) } else { createdAfter = max(createdAfter ?? created, created) }
            case "label":
                labels.append(parts[1])
            default:
                throw StowageError(.invalidArgument, "invalid filter '\(parts[0])'")
            }
        }
    }

    /// Whether the image passes every filter (`reference=` by any of its names).
    public func matches(_ summary: ImageListing) -> Bool {
        if let dangling, summary.isDangling != dangling { return false }
        if let createdBefore, summary.created >= createdBefore { return false }
        if let createdAfter, summary.created <= createdAfter { return false }
        if !labels.isEmpty {
            let imageLabels = (try? engine.images.config(of: summary.id))?.config?.Labels ?? [:]
            let matchesAll = labels.allSatisfy { label in
                let pair = label.split(separator: "=", maxSplits: 1).map(String.init)
                return pair.count == 2 ? imageLabels[pair[0]] == pair[1] : imageLabels[pair[0]] != nil
            }
            if !matchesAll { return false }
        }
        if !referencePatterns.isEmpty {
            return summary.references.contains(where: matchesReference)
        }
        return true
    }

    /// A pattern matches the familiar name, or name and tag.
    public func matchesReference(_ reference: StowageCore.Reference) -> Bool {
        guard !referencePatterns.isEmpty else { return true }
        return referencePatterns.contains { pattern in
            let target = pattern.contains(":") || pattern.contains("@") ? reference.familiarString : reference.familiarName
            return fnmatch(pattern, target, 0) == 0
        }
    }
}

/// `ps --filter`.
public struct ContainerFilters: Sendable {
    private var conditions: [(String, String)] = []
    private var ancestors: Set<String> = []

    /// Parses `KEY=VALUE` filters; an `ancestor=` image is looked up in `engine`.
    public init(_ filters: [String], engine: Engine) throws {
        for filter in filters {
            let pair = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, ["name", "id", "status", "label", "ancestor", "volume"].contains(pair[0]) else {
                throw StowageError(.invalidArgument, "invalid filter '\(filter)' (name=, id=, status=, label=, ancestor=, volume= are supported)")
            }
            if pair[0] == "ancestor" { ancestors.insert(try engine.images.resolve(pair[1]).description) }
            conditions.append((pair[0], pair[1]))
        }
    }

    /// Whether a `status=` filter is given (which lists stopped containers without `-a`).
    public var filtersStatus: Bool { conditions.contains { $0.0 == "status" } }

    /// Filters of one kind match when any of their values does; all kinds must match.
    public func matches(_ summary: ContainerListing) -> Bool {
        let record = summary.record
        let kinds = Dictionary(grouping: conditions, by: \.0)
        return kinds.allSatisfy { kind, values in
            values.contains { _, value in
                switch kind {
                case "name": record.name.contains(value.hasPrefix("/") ? String(value.dropFirst()) : value)
                case "id": record.ID.hasPrefix(value)
                case "status": record.status == value
                case "label":
                    value.contains("=") ? (record.Config.Labels ?? [:]).contains { "\($0.key)=\($0.value)" == value }
                                        : (record.Config.Labels ?? [:])[value] != nil
                case "ancestor": ancestors.contains(record.Image)
                case "volume": record.volumeNames.contains(value) || (record.MountPoints ?? [:]).keys.contains(value)
                default: false
                }
            }
        }
    }
}

/// `volume ls --filter`, as dockerd's: `dangling` (no container uses it), `driver`, `label`
/// (a key, or KEY=VALUE), `name` (a part of it). Values of one kind are alternatives.
public struct VolumeFilters: Sendable {
    private var conditions: [String: [String]] = [:]

    /// Parses `KEY=VALUE` filters.
    public init(_ filters: [String]) throws {
        for filter in filters {
            let pair = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, ["dangling", "driver", "label", "name"].contains(pair[0]) else {
                throw StowageError(.invalidArgument, "invalid filter '\(filter)' (dangling=, driver=, label=, name= are supported)")
            }
            if pair[0] == "dangling", !["true", "false", "1", "0"].contains(pair[1]) {
                throw StowageError(.invalidArgument, "invalid filter 'dangling=\(pair[1])'")
            }
            conditions[pair[0], default: []].append(pair[1])
        }
    }

    /// Whether matching needs to know which volumes containers use.
    public var needsUsers: Bool { conditions["dangling"] != nil }

    /// Whether the volume passes every filter; `isUsed`: some container mounts it.
    public func matches(_ volume: LocalVolume, isUsed: Bool) -> Bool {
        conditions.allSatisfy { kind, values in
            values.contains { value in
                switch kind {
                case "dangling": (value == "true" || value == "1") != isUsed
                case "driver": value == "local"
                case "label":
                    value.contains("=") ? volume.labels.contains { "\($0.key)=\($0.value)" == value } : volume.labels[value] != nil
                case "name": volume.name.contains(value)
                default: false
                }
            }
        }
    }
}
