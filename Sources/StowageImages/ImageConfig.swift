#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageCore

/// The parts of an image config (Docker's and OCI's `config.json`) that storage needs. The
/// config's bytes are kept as received; this is only a view of them.
public struct ImageConfig: Decodable, Sendable {
    public struct RootFS: Decodable, Sendable {
        public let type: String
        public let diffIDs: [DiffID]

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    /// One step of how the image was made; `emptyLayer` steps made no layer.
    public struct History: Decodable, Sendable {
        public let created: String?
        public let createdBy: String?
        public let author: String?
        public let comment: String?
        public let emptyLayer: Bool?

        /// Docker's `History.Equal`: the same author, comment, command, emptiness and time.
        public func isSameStep(as other: History) -> Bool {
            author == other.author && comment == other.comment && createdBy == other.createdBy
                && (emptyLayer ?? false) == (other.emptyLayer ?? false)
                && created.flatMap(Timestamp.parseWithNanoseconds).map { [$0.seconds, $0.nanoseconds] }
                    == other.created.flatMap(Timestamp.parseWithNanoseconds).map { [$0.seconds, $0.nanoseconds] }
        }

        enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by"
            case emptyLayer = "empty_layer"
        }
    }

    public let architecture: String?
    public let os: String?
    public let variant: String?
    public let osVersion: String?
    public let created: String?
    public let author: String?
    public let comment: String?
    public let container: String?
    public let dockerVersion: String?
    public let parent: String?
    public let config: ContainerConfig?
    public let containerConfig: ContainerConfig?
    public let rootFS: RootFS
    public let history: [History]?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant, created, author, comment, container, parent, config, history
        case osVersion = "os.version"
        case dockerVersion = "docker_version"
        case containerConfig = "container_config"
        case rootFS = "rootfs"
    }

    /// Decodes and checks a config: it must be JSON with a `rootfs` of type `layers`. It is
    /// read as Docker reads it (`GoJSON`: the last of duplicate keys wins, keys match
    /// case-insensitively), so that the diff_ids and history are the ones Docker sees.
    public init(bytes: [UInt8]) throws {
        let normalized = try GoJSON.normalize(bytes, as: Self.goShape, what: "image config")
        do {
            self = try JSONDecoder().decode(ImageConfig.self, from: Data(normalized))
        } catch {
            throw StowageError(.invalidArchive, "image config is not valid: \(error)")
        }
        guard rootFS.type == "layers" else {
            throw StowageError(.invalidArchive, "image config has rootfs type \"\(rootFS.type)\", expected \"layers\"")
        }
    }

    /// Docker's `image.Image` (with `V1Image`) as Go decodes it: the fields read here.
    static let goShape = GoJSON.Shape.structure([
        ("parent", .string), ("comment", .string), ("created", .string), ("container", .string),
        ("container_config", ContainerConfig.goShape), ("docker_version", .string), ("author", .string),
        ("config", .pointer(ContainerConfig.goShape)), ("architecture", .string), ("variant", .string), ("os", .string),
        ("rootfs", .pointer(.structure([("type", .string), ("diff_ids", .slice(.string))]))),
        ("history", .slice(.structure([("created", .string), ("author", .string), ("created_by", .string),
                                       ("comment", .string), ("empty_layer", .bool)]))),
        ("os.version", .string),
    ])

    /// The creation time in seconds since 1970, if the config has a readable one.
    public var createdSeconds: Int64? { created.flatMap(Timestamp.parse) }
}

/// The container configuration inside an image config (`config`, `container_config`),
/// with Docker's field names.
public struct ContainerConfig: Decodable, Sendable {
    public struct HealthConfig: Decodable, Sendable {
        public let Test: [String]?
        public let Interval: Int64?
        public let Timeout: Int64?
        public let StartPeriod: Int64?
        public let Retries: Int64?
    }

    public let Hostname: String?
    public let Domainname: String?
    public let User: String?
    public let AttachStdin: Bool?
    public let AttachStdout: Bool?
    public let AttachStderr: Bool?
    public let ExposedPorts: [String: EmptyObject]?
    public let Tty: Bool?
    public let OpenStdin: Bool?
    public let StdinOnce: Bool?
    public let Env: [String]?
    public let Cmd: [String]?
    public let Healthcheck: HealthConfig?
    public let ArgsEscaped: Bool?
    public let Image: String?
    public let Volumes: [String: EmptyObject]?
    public let WorkingDir: String?
    public let Entrypoint: [String]?
    public let NetworkDisabled: Bool?
    public let MacAddress: String?
    public let OnBuild: [String]?
    public let Labels: [String: String]?
    public let StopSignal: String?
    public let StopTimeout: Int64?
    public let Shell: [String]?

    /// Docker's `container.Config` as Go decodes it (untagged fields: the Go names).
    static let goShape = GoJSON.Shape.structure([
        ("Hostname", .string), ("Domainname", .string), ("User", .string), ("AttachStdin", .bool),
        ("AttachStdout", .bool), ("AttachStderr", .bool), ("ExposedPorts", .map(.structure([]))), ("Tty", .bool),
        ("OpenStdin", .bool), ("StdinOnce", .bool), ("Env", .slice(.string)), ("Cmd", .stringOrStrings),
        ("Healthcheck", .pointer(.structure([("Test", .slice(.string)), ("Interval", .integer), ("Timeout", .integer),
                                              ("StartPeriod", .integer), ("Retries", .integer)]))),
        ("ArgsEscaped", .bool), ("Image", .string), ("Volumes", .map(.structure([]))), ("WorkingDir", .string),
        ("Entrypoint", .stringOrStrings), ("NetworkDisabled", .bool), ("MacAddress", .string), ("OnBuild", .slice(.string)),
        ("Labels", .map(.string)), ("StopSignal", .string), ("StopTimeout", .pointer(.integer)), ("Shell", .stringOrStrings),
    ])

    /// `{}` in `ExposedPorts` and `Volumes`.
    public struct EmptyObject: Decodable, Sendable {}

    /// A config with no field set, as Docker prints an image's missing `ContainerConfig`.
    public static var empty: ContainerConfig {
        // swiftlint:disable:next force_try
        try! JSONDecoder().decode(ContainerConfig.self, from: Data("{}".utf8))
    }

    /// Docker's `container.Config` as `inspect` prints it: every field in Go's order, zero
    /// values where the image has none, `omitempty` fields left out when empty.
    public var inspectJSON: JSONValue {
        var members: [(String, JSONValue)] = [
            ("Hostname", .string(Hostname ?? "")), ("Domainname", .string(Domainname ?? "")), ("User", .string(User ?? "")),
            ("AttachStdin", .bool(AttachStdin ?? false)), ("AttachStdout", .bool(AttachStdout ?? false)),
            ("AttachStderr", .bool(AttachStderr ?? false)),
        ]
        if let ExposedPorts, !ExposedPorts.isEmpty {
            members.append(("ExposedPorts", .sortedObject(ExposedPorts.mapValues { _ in .object([]) })))
        }
        members += [("Tty", .bool(Tty ?? false)), ("OpenStdin", .bool(OpenStdin ?? false)),
                    ("StdinOnce", .bool(StdinOnce ?? false)), ("Env", .strings(Env)), ("Cmd", .strings(Cmd))]
        if let health = self.Healthcheck {
            var check: [(String, JSONValue)] = []
            if let test = health.Test { check.append(("Test", .strings(test))) }
            for (key, value) in [("Interval", health.Interval), ("Timeout", health.Timeout),
                                 ("StartPeriod", health.StartPeriod), ("Retries", health.Retries)] {
                if let value, value != 0 { check.append((key, .integer(value))) }
            }
            members.append(("Healthcheck", .object(check)))
        }
        if ArgsEscaped == true { members.append(("ArgsEscaped", .bool(true))) }
        members += [("Image", .string(Image ?? "")),
                    ("Volumes", Volumes.map { .sortedObject($0.mapValues { _ in .object([]) }) } ?? .null),
                    ("WorkingDir", .string(WorkingDir ?? "")), ("Entrypoint", .strings(Entrypoint))]
        if NetworkDisabled == true { members.append(("NetworkDisabled", .bool(true))) }
        if let MacAddress, !MacAddress.isEmpty { members.append(("MacAddress", .string(MacAddress))) }
        members += [("OnBuild", .strings(OnBuild)),
                    ("Labels", Labels.map { .sortedObject($0.mapValues(JSONValue.string)) } ?? .null)]
        if let StopSignal, !StopSignal.isEmpty { members.append(("StopSignal", .string(StopSignal))) }
        if let StopTimeout { members.append(("StopTimeout", .integer(StopTimeout))) }
        if let Shell, !Shell.isEmpty { members.append(("Shell", .strings(Shell))) }
        return .object(members)
    }
}
