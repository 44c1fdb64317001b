#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// What `commit` is asked for.
public struct CommitRequest: Sendable {
    public var container: String
    /// `REPO[:TAG]` to tag the new image with.
    public var reference: String?
    public var message: String = ""
    public var author: String = ""
    /// Dockerfile instructions applied to the config (`-c 'CMD ["/bin/true"]'`).
    public var changes: [String] = []

    public init(container: String, reference: String? = nil) {
        self.container = container
        self.reference = reference
    }
}

extension ContainerService {
    /// The diff_id of an empty layer (a tar of only its end blocks): a commit that changed
    /// nothing adds a history step marked `empty_layer` instead of a layer.
    static let emptyLayerDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

    /// `commit`: the writable layer's diff becomes a layer on the container's image, with a
    /// config that records it (Docker's `NewChildImage`). Returns the new image's ID.
    public func commit(_ request: CommitRequest) throws -> ImageID {
        let reference = try request.reference.map { try Reference(parsing: $0).withDefaultTag() }
        let (record, mounted) = try storage.containerLayer(request.container)
        guard let parentID = record.imageID else {
            throw StowageError(.invalidArchive, "container \(record.ID) names no image")
        }
        let containerConfig = try storage.containers.config(of: record.ID)
        let config = try CommitConfigChanges.apply(request.changes, to: containerConfig)
        return try storage.mutation { lease in
            let parentConfig = try storage.graph.withExclusive { () throws -> ImageConfig in
                let parentConfig = try storage.images.config(parentID)
                try lease.add(.image(parentID))
                if let parent = mounted.parent {
                    _ = try storage.layers.requireLayer(parent)
                    try lease.add(.layer(parent))
                }
                return parentConfig
            }
            // The diff goes through a file: the layer store reads a stream, the driver writes one.
            let staging = storage.configuration.dataRoot + "/tmp/commit-" + lease.id
            let file = try FileDescriptor.open(staging, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
            defer { unlink(staging) }
            let result = try storage.driver.diff(mounted.mountID, parent: mounted.initID, to: FileSink(file))
            let isEmpty = result.diffID.description == Self.emptyLayerDiffID
            var diffIDs = parentConfig.rootFS.diffIDs
            if !isEmpty {
                let layer = try storage.layers.register(FileSource(path: staging), parent: mounted.parent, expectedDiffID: result.diffID,
                                                lease: lease).layer
                diffIDs.append(layer.diffID)
            }
            CrashPoint.commitLayerRegistered.reached()
            let now = Timestamp.now()
            let created = Timestamp.formatRFC3339Nano(seconds: now.seconds, nanoseconds: now.nanoseconds)
            let step = ChildHistory(created: created, author: request.author, createdBy: (containerConfig.Cmd ?? []).joined(separator: " "),
                                    comment: request.message, emptyLayer: isEmpty)
            let bytes = Array(childConfig(parent: parentConfig, config: config, containerConfig: containerConfig.inspectJSON,
                                          container: record.ID, created: created, author: request.author,
                                          comment: request.message, diffIDs: diffIDs, step: step).utf8)
            return try storage.graph.withExclusive {
                let id = ImageID(Digest.of(bytes))
                try lease.add(.newImage(id))
                try storage.images.put(bytes)
                try storage.images.setParent(parentID, of: id)
                if let reference {
                    try storage.references.add(reference, image: id)
                    try storage.images.setLastUpdated(id)
                }
                return id
            }
        }
    }

    /// One history step as Go marshals `image.History`.
    struct ChildHistory {
        let created: String
        var author = ""
        var createdBy = ""
        var comment = ""
        var emptyLayer = false

        var json: JSONValue {
            var members: [(String, JSONValue)] = [("created", .string(created))]
            if !author.isEmpty { members.append(("author", .string(author))) }
            if !createdBy.isEmpty { members.append(("created_by", .string(createdBy))) }
            if !comment.isEmpty { members.append(("comment", .string(comment))) }
            if emptyLayer { members.append(("empty_layer", .bool(true))) }
            return .object(members)
        }
    }

    /// The new image's config as Docker writes it: top-level keys sorted, no trailing newline.
    private func childConfig(parent: ImageConfig, config: JSONValue, containerConfig: JSONValue, container: String,
                             created: String, author: String, comment: String, diffIDs: [DiffID], step: ChildHistory) -> String {
        let history = (parent.history ?? []).map { old in
            ChildHistory(created: old.created.flatMap { Timestamp.parseWithNanoseconds($0) }
                            .map { Timestamp.formatRFC3339Nano(seconds: $0.seconds, nanoseconds: $0.nanoseconds) } ?? old.created ?? "0001-01-01T00:00:00Z",
                         author: old.author ?? "", createdBy: old.createdBy ?? "", comment: old.comment ?? "",
                         emptyLayer: old.emptyLayer ?? false)
        } + [step]
        var members: [String: JSONValue] = [
            "architecture": .string(parent.architecture ?? "amd64"), "os": .string(parent.os ?? "linux"),
            "config": config, "container": .string(container), "container_config": containerConfig,
            "created": .string(created), "history": .array(history.map(\.json)),
            // What made the image, as dockerd records its own version.
            "docker_version": .string(Engine.version),
            "rootfs": .object([("type", .string("layers")), ("diff_ids", .array(diffIDs.map { .string($0.description) }))]),
        ]
        if !author.isEmpty { members["author"] = .string(author) }
        if !comment.isEmpty { members["comment"] = .string(comment) }
        if let variant = parent.variant, !variant.isEmpty { members["variant"] = .string(variant) }
        if let version = parent.osVersion, !version.isEmpty { members["os.version"] = .string(version) }
        return JSONValue.sortedObject(members).serialized()
    }
}

/// `commit -c`: the Dockerfile instructions dockerd takes as changes of the committed config
/// (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `HEALTHCHECK`, `LABEL`, `ONBUILD`, `USER`, `VOLUME`,
/// `WORKDIR`); the result in Go's field order, as dockerd writes it.
enum CommitConfigChanges {
    static func apply(_ changes: [String], to base: ContainerConfig) throws -> JSONValue {
        guard case .object(var members) = base.inspectJSON else { return base.inspectJSON }
        func set(_ key: String, _ value: JSONValue) {
            if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
        }
        func get(_ key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }
        var commandSet = false
        for change in changes {
            let trimmed = change.drop { $0 == " " }
            let keyword = trimmed.prefix { $0 != " " }.uppercased()
            let argument = String(trimmed.dropFirst(keyword.count).drop { $0 == " " })
            switch keyword {
            case "CMD":
                set("Cmd", .strings(try commandForm(argument)))
                commandSet = true
            case "ENTRYPOINT":
                set("Entrypoint", .strings(try commandForm(argument)))
                // As a Dockerfile's: a new entrypoint drops the command, unless a CMD came first.
                if !commandSet { set("Cmd", .null) }
            case "WORKDIR": set("WorkingDir", .string(argument))
            case "USER": set("User", .string(argument))
            case "ONBUILD":
                let trigger = argument.prefix { $0 != " " }.uppercased()
                if trigger == "ONBUILD" { throw StowageError(.invalidArgument, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed") }
                if trigger == "FROM" || trigger == "MAINTAINER" {
                    throw StowageError(.invalidArgument, "\(trigger) isn't allowed as an ONBUILD trigger")
                }
                var triggers: [JSONValue] = []
                if case .array(let existing)? = get("OnBuild") { triggers = existing }
                set("OnBuild", .array(triggers + [.string(argument)]))
            case "HEALTHCHECK":
                set("Healthcheck", try HealthcheckInstruction.parse(argument))
            case "ENV", "LABEL":
                let pair = argument.contains("=") ? argument.split(separator: "=", maxSplits: 1).map(String.init)
                                                  : argument.split(separator: " ", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { throw StowageError(.invalidArgument, "\(keyword) needs a key and a value: \(change)") }
                let value = pair[1].count >= 2 && pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") ? String(pair[1].dropFirst().dropLast()) : pair[1]
                if keyword == "ENV" {
                    var env: [JSONValue] = []
                    if case .array(let existing)? = get("Env") { env = existing.filter { if case .string(let s) = $0 { return !s.hasPrefix(pair[0] + "=") }; return true } }
                    set("Env", .array(env + [.string(pair[0] + "=" + value)]))
                } else {
                    var labels: [(String, JSONValue)] = []
                    if case .object(let existing)? = get("Labels") { labels = existing.filter { $0.0 != pair[0] } }
                    set("Labels", .sortedObject(Dictionary(labels + [(pair[0], .string(value))], uniquingKeysWith: { $1 })))
                }
            case "EXPOSE", "VOLUME":
                let key = keyword == "EXPOSE" ? "ExposedPorts" : "Volumes"
                var entries: [(String, JSONValue)] = []
                if case .object(let existing)? = get(key) { entries = existing }
                let items = jsonArray(argument) ?? argument.split(separator: " ").map(String.init)
                for item in items where !item.isEmpty {
                    let name = keyword == "EXPOSE" && !item.contains("/") ? item + "/tcp" : item
                    entries.append((name, .object([])))
                }
                set(key, .sortedObject(Dictionary(entries, uniquingKeysWith: { $1 })))
            default:
                throw StowageError(.invalidArgument, "\(keyword.lowercased()) is not a valid change command")
            }
        }
        // Decoded and written again: the keys in Go's order (`ExposedPorts` after `AttachStderr`).
        return try JSONDecoder().decode(ContainerConfig.self, from: Data(JSONValue.object(members).serialized().utf8)).inspectJSON
    }

    /// `["a","b"]` (exec form) as is; anything else (shell form) as `/bin/sh -c '…'`.
    private static func commandForm(_ argument: String) throws -> [String] {
        jsonArray(argument) ?? ["/bin/sh", "-c", argument]
    }

    private static func jsonArray(_ argument: String) -> [String]? {
        guard argument.hasPrefix("[") else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(argument.utf8))
    }
}

/// `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--retries=N] CMD command`,
/// or `HEALTHCHECK NONE`, as the config's `Healthcheck`: a shell command as `CMD-SHELL`,
/// durations in nanoseconds, the zero ones left out.
enum HealthcheckInstruction {
    static func parse(_ argument: String) throws -> JSONValue {
        var rest = Substring(argument)
        var members: [(String, JSONValue)] = []
        var options: [String: Int64] = [:]
        while rest.hasPrefix("--") {
            let option = rest.prefix { $0 != " " }
            rest = rest.dropFirst(option.count).drop { $0 == " " }
            let pair = option.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw StowageError(.invalidArgument, "HEALTHCHECK option \(option) needs a value") }
            switch pair[0] {
            case "interval", "timeout", "start-period":
                guard let duration = GoDuration.nanoseconds(pair[1]) else {
                    throw StowageError(.invalidArgument, "time: invalid duration \"\(pair[1])\"")
                }
                options[pair[0]] = duration
            case "retries":
                guard let retries = Int64(pair[1]) else { throw StowageError(.invalidArgument, "strconv.ParseInt: parsing \"\(pair[1])\": invalid syntax") }
                options["retries"] = retries
            default:
                throw StowageError(.invalidArgument, "Unknown flag: \(pair[0])")
            }
        }
        let kind = rest.prefix { $0 != " " }.uppercased()
        let command = String(rest.dropFirst(kind.count).drop { $0 == " " })
        switch kind {
        case "NONE":
            guard command.isEmpty, options.isEmpty else { throw StowageError(.invalidArgument, "HEALTHCHECK NONE takes no arguments") }
            return .object([("Test", .strings(["NONE"]))])
        case "CMD":
            guard !command.isEmpty else { throw StowageError(.invalidArgument, "Missing command after HEALTHCHECK CMD") }
            let exec = command.hasPrefix("[") ? try? JSONDecoder().decode([String].self, from: Data(command.utf8)) : nil
            members.append(("Test", .strings(exec.map { ["CMD"] + $0 } ?? ["CMD-SHELL", command])))
        default:
            throw StowageError(.invalidArgument, "Unknown type \"\(kind)\" in HEALTHCHECK (try CMD)")
        }
        for (option, key) in [("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"), ("retries", "Retries")] {
            if let value = options[option], value != 0 { members.append((key, .integer(value))) }
        }
        return .object(members)
    }
}

/// Go's `time.ParseDuration` for the units Dockerfiles use: `1h2m3.5s`, `300ms`, `10us`.
enum GoDuration {
    static func nanoseconds(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return 0 }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return Int64(total)
    }
}
