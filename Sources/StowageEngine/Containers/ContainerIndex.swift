#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// A cache of what listings, names and lookups need of every container
/// (`<root>/.stowage/containers.index`), so that `create`, `ps -a`, `rmi` and name and ID
/// lookups decode no container's `config.v2.json`. Docker's files stay the truth: the index
/// is derived from them, and never trusted when it may differ.
///
/// The index is *sealed* with the identity of what changes when containers come and go or
/// another engine works on the root: `containers/`'s inode and change time, and
/// `volumes/metadata.db`'s (dockerd rewrites that database whenever it starts). A seal that
/// differs from the root's, a damaged file (its SHA-256 trailer), or a running dockerd make
/// the index stale: it is rebuilt from the real files, and written back when the graph lock
/// is free and nothing changed meanwhile.
///
/// Every change of Stowage's own to the containers runs under the graph lock through
/// `change(affecting:_:)`: the index is removed first, the change made, and the index written
/// with the changed containers read back and a fresh seal. A kill at any point leaves either
/// a valid index or none.
final class ContainerIndex: Sendable {
    static let magic = "stowage-containers-index 1"

    let path: String
    private let store: ContainerStore
    private let dataRoot: String

    init(dataRoot: String, store: ContainerStore) throws {
        self.dataRoot = dataRoot
        self.store = store
        try FileDescriptor.ensureDirectory(dataRoot + "/.stowage", mode: 0o700)
        path = dataRoot + "/.stowage/containers.index"
    }

    /// Every listed container, by ID: from the index when it is valid, from the files otherwise.
    /// `graph` is the root's graph lock, taken (without waiting) to write a rebuilt index.
    func records(graph: GraphLock) throws -> [String: ContainerRecord] {
        let seal = Seal(dataRoot: dataRoot)
        let indexIdentity = Seal.identity(of: path)  // (not the access time, which reading it may change)
        if seal.trustworthy, let valid = read(sealed: seal) { return valid }
        let rebuilt = try rebuild()
        if seal.trustworthy {
            _ = try? graph.withExclusiveIfFree {
                // Written only if no change came between the seal and the read of the files.
                guard Seal(dataRoot: dataRoot) == seal, Seal.identity(of: path) == indexIdentity else { return }
                try write(rebuilt, sealed: seal)
            }
        }
        return rebuilt
    }

    /// Runs a change of the containers `ids` (made, removed or rewritten), given every listed
    /// container as it was before; call it holding the graph lock. The index is rewritten
    /// after `body`, whether it succeeded or not.
    func change<T>(affecting ids: [String], _ body: ([String: ContainerRecord]) throws -> T) throws -> T {
        let seal = Seal(dataRoot: dataRoot)
        var records = try (seal.trustworthy ? read(sealed: seal) : nil) ?? rebuild()
        if unlink(path) != 0, errno != ENOENT { throw SystemError("unlink", path: path, errno: errno) }
        defer {
            for id in ids { records[id] = try? store.record(id) }
            let after = Seal(dataRoot: dataRoot)
            if after.trustworthy { try? write(records, sealed: after) }
        }
        return try body(records)
    }

    /// The index's containers that differ from the files (made, removed or changed without
    /// the index learning of it), by ID; empty when the index is stale or missing, since a
    /// stale index is never used. For `stowage check`.
    func disagreements() throws -> [String] {
        let seal = Seal(dataRoot: dataRoot)
        guard seal.trustworthy, let indexed = read(sealed: seal) else { return [] }
        let actual = try rebuild()
        let encoded = { (record: ContainerRecord?) -> [UInt8] in
            var writer = CompactWriter(magic: "")
            record?.write(to: &writer)
            return writer.bytes
        }
        return Set(indexed.keys).union(actual.keys).sorted().filter { encoded(indexed[$0]) != encoded(actual[$0]) }
    }

    /// Removes the index: the next reader rebuilds it. For changes made outside `change`.
    func invalidate() {
        unlink(path)
    }

    // MARK: - The file

    private func rebuild() throws -> [String: ContainerRecord] {
        var records: [String: ContainerRecord] = [:]
        for record in try store.all() { records[record.ID] = record }
        return records
    }

    private func read(sealed seal: Seal) -> [String: ContainerRecord]? {
        guard let bytes = FileDescriptor.readBytes(path), var reader = try? CompactReader(bytes, magic: Self.magic) else { return nil }
        do {
            guard try Seal(reading: &reader) == seal else { return nil }
            let count = try reader.count()
            var records: [String: ContainerRecord] = [:]
            records.reserveCapacity(count)
            for _ in 0..<count {
                let record = try ContainerRecord(reading: &reader)
                records[record.ID] = record
            }
            return reader.isAtEnd ? records : nil
        } catch {
            return nil
        }
    }

    private func write(_ records: [String: ContainerRecord], sealed seal: Seal) throws {
        var writer = CompactWriter(magic: Self.magic)
        seal.write(to: &writer)
        writer.integer(records.count)
        for id in records.keys.sorted() { records[id]!.write(to: &writer) }
        // Not synced: a lost or torn index is detected (seal, trailer) and rebuilt.
        try StagedFile.write(writer.finished(), to: path, mode: 0o600, synced: false)
    }

    /// What the index was derived from: a change of either part means the index may be stale.
    struct Seal: Equatable {
        var containers: [Int64]
        var dockerDatabase: [Int64]
        /// False while a Docker daemon runs on the root: it changes containers in place, so
        /// nothing derived from them can be trusted or kept.
        var trustworthy: Bool

        init(dataRoot: String) {
            containers = Self.identity(of: dataRoot + "/containers")
            let database = dataRoot + "/volumes/metadata.db"
            dockerDatabase = Self.identity(of: database)
            trustworthy = !DockerDaemon.holds(database)
        }

        init(reading reader: inout CompactReader) throws {
            containers = try (0..<4).map { _ in try reader.integer() }
            dockerDatabase = try (0..<4).map { _ in try reader.integer() }
            trustworthy = true
        }

        func write(to writer: inout CompactWriter) {
            for value in containers + dockerDatabase { writer.integer(value) }
        }

        /// Inode, size, and change time (seconds, nanoseconds); zeros when missing.
        static func identity(of path: String) -> [Int64] {
            guard let status = FileDescriptor.status(at: path) else { return [0, 0, 0, 0] }
            return [Int64(bitPattern: status.inode), status.size, status.changeSeconds, status.changeNanoseconds]
        }
    }
}

/// A Docker daemon on a data root: while it runs it holds `<root>/volumes/metadata.db`
/// locked (bbolt's flock).
enum DockerDaemon {
    static func holds(_ database: String) -> Bool {
        guard let file = try? FileDescriptor.open(database, O_RDONLY) else { return false }
        if flock(file.rawValue, LOCK_SH | LOCK_NB) == 0 {
            flock(file.rawValue, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}

extension ContainerRecord {
    init(reading reader: inout CompactReader) throws {
        ID = try reader.string()
        Name = try reader.string()
        Created = try reader.string()
        Image = try reader.string()
        Path = try reader.optionalString()
        Args = try reader.bool() ? try reader.strings() : nil
        let configImage = try reader.optionalString()
        let labels: [String: String]? = try reader.bool() ? try Self.readPairs(&reader) : nil
        Config = ListedConfig(Image: configImage, Labels: labels)
        if try reader.bool() {
            State = RunState(Running: try reader.optionalBool(), Paused: try reader.optionalBool(),
                             Restarting: try reader.optionalBool(), Dead: try reader.optionalBool(),
                             ExitCode: try reader.optionalInteger().map { Int($0) },
                             StartedAt: try reader.optionalString(), FinishedAt: try reader.optionalString())
        } else {
            State = nil
        }
        if try reader.bool() {
            var points: [String: MountPoint] = [:]
            for _ in 0..<(try reader.count()) {
                let key = try reader.string()
                points[key] = MountPoint(Source: try reader.optionalString(), Destination: try reader.string(),
                                         RW: try reader.optionalBool(), Name: try reader.optionalString(),
                                         Driver: try reader.optionalString(), Type: try reader.optionalString())
            }
            MountPoints = points
        } else {
            MountPoints = nil
        }
        Driver = try reader.optionalString()
    }

    func write(to writer: inout CompactWriter) {
        writer.string(ID)
        writer.string(Name)
        writer.string(Created)
        writer.string(Image)
        writer.optionalString(Path)
        writer.bool(Args != nil)
        if let Args { writer.strings(Args) }
        writer.optionalString(Config.Image)
        writer.bool(Config.Labels != nil)
        if let labels = Config.Labels {
            writer.integer(labels.count)
            for key in labels.keys.sorted() {
                writer.string(key)
                writer.string(labels[key]!)
            }
        }
        writer.bool(State != nil)
        if let State {
            writer.optionalBool(State.Running)
            writer.optionalBool(State.Paused)
            writer.optionalBool(State.Restarting)
            writer.optionalBool(State.Dead)
            writer.optionalInteger(State.ExitCode.map { Int64($0) })
            writer.optionalString(State.StartedAt)
            writer.optionalString(State.FinishedAt)
        }
        writer.bool(MountPoints != nil)
        if let MountPoints {
            writer.integer(MountPoints.count)
            for key in MountPoints.keys.sorted() {
                let point = MountPoints[key]!
                writer.string(key)
                writer.optionalString(point.Source)
                writer.string(point.Destination)
                writer.optionalBool(point.RW)
                writer.optionalString(point.Name)
                writer.optionalString(point.Driver)
                writer.optionalString(point.Type)
            }
        }
        writer.optionalString(Driver)
    }

    private static func readPairs(_ reader: inout CompactReader) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for _ in 0..<(try reader.count()) {
            let key = try reader.string()
            pairs[key] = try reader.string()
        }
        return pairs
    }
}
