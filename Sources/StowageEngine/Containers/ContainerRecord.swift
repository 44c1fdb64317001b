#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageCore
import StowageDockerTypes
import StowageImages

/// A container as its `containers/<id>/config.v2.json` describes it: the parts storage and
/// listings need, read from files Stowage or Docker wrote, or from the container index.
/// A class, so that listings of thousands pass each along as one reference.
public final class ContainerRecord: Decodable, Sendable {
    public struct RunState: Decodable, Sendable {
        public let Running: Bool?
        public let Paused: Bool?
        public let Restarting: Bool?
        public let Dead: Bool?
        public let ExitCode: Int?
        public let StartedAt: String?
        public let FinishedAt: String?
    }

    /// A volume or bind mount of the container (`MountPoints` values).
    public struct MountPoint: Decodable, Sendable {
        public let Source: String?
        public let Destination: String
        public let RW: Bool?
        /// The volume's name; empty for a bind mount.
        public let Name: String?
        public let Driver: String?
        /// `volume` or `bind`.
        public let `Type`: String?
    }

    /// The parts of the container's `Config` a listing shows; `ContainerStore.config(of:)`
    /// reads the whole of it.
    public struct ListedConfig: Decodable, Sendable {
        /// The image as given at create.
        public let Image: String?
        public let Labels: [String: String]?
    }

    public let ID: String
    /// With Docker's leading slash: `/web`.
    public let Name: String
    public let Created: String
    public let Image: String
    public let Path: String?
    public let Args: [String]?
    public let Config: ListedConfig
    public let State: RunState?
    public let MountPoints: [String: MountPoint]?
    public let Driver: String?

    init(ID: String, Name: String, Created: String, Image: String, Path: String?, Args: [String]?, Config: ListedConfig,
         State: RunState?, MountPoints: [String: MountPoint]?, Driver: String?) {
        self.ID = ID
        self.Name = Name
        self.Created = Created
        self.Image = Image
        self.Path = Path
        self.Args = Args
        self.Config = Config
        self.State = State
        self.MountPoints = MountPoints
        self.Driver = Driver
    }

    public var name: String { Self.withoutSlash(Name) }

    /// A name as `ps` shows it: Docker's leading slash dropped.
    static func withoutSlash(_ name: String) -> String {
        name.hasPrefix("/") ? String(name.dropFirst()) : name
    }
    public var imageID: ImageID? { try? ImageID(parsing: Image) }
    public var createdSeconds: Int64 { Timestamp.parse(Created) ?? 0 }
    /// Volumes (not binds) it mounts, by name.
    public var volumeNames: [String] {
        (MountPoints ?? [:]).values.filter { $0.Type == "volume" }.compactMap(\.Name).filter { !$0.isEmpty }.sorted()
    }

    /// `created`, `running`, `paused`, `restarting`, `exited` or `dead`, as `ps` filters on.
    public var status: String {
        guard let state = self.State else { return "created" }
        if state.Running == true { return state.Paused == true ? "paused" : state.Restarting == true ? "restarting" : "running" }
        if state.Dead == true { return "dead" }
        let started = state.StartedAt.map { $0 != "0001-01-01T00:00:00Z" } ?? false
        return started ? "exited" : "created"
    }

    /// The daemon's `Status`: `Created`, `Exited (0) 5 minutes ago`, `Running`…
    public var statusText: String {
        switch status {
        case "exited":
            let finished = State?.FinishedAt.flatMap(Timestamp.parse) ?? createdSeconds
            return "Exited (\(State?.ExitCode ?? 0)) \(Units.ago(finished))"
        case "created": return "Created"
        default: return status.prefix(1).uppercased() + status.dropFirst()
        }
    }

    /// The daemon's `Command`: the path and arguments, those with spaces in single quotes.
    public var commandLine: String {
        ([Path ?? ""] + (Args ?? []).map { $0.contains(" ") ? "'\($0)'" : $0 }).joined(separator: " ")
    }

    /// The record `config.v2.json`'s bytes describe; `path` names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> ContainerRecord {
        do {
            return try JSONDecoder().decode(ContainerRecord.self, from: Data(bytes))
        } catch {
            throw StowageError(.invalidArchive, "container config \(path) is not valid: \(error)")
        }
    }
}
