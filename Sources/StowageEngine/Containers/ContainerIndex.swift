#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// A cache of what listings, names and lookups need of every container, so that `create`,
/// `ps -a`, `rmi` and name and ID lookups decode no container's `config.v2.json`. Docker's
/// files stay the truth: the index is derived from them, and never trusted when it may differ.
///
/// Two files in `<root>/.stowage/`: `containers.index`, a snapshot of every container, and
/// `containers.journal`, the changes since, appended one frame per change (so a change costs
/// the size of what it changed, not of every container). A snapshot is written anew (and
/// the journal dropped) when the journal has grown to half the snapshot's size, or after a
/// rebuild. Journal frames carry the snapshot's token, so frames of an older snapshot are
/// ignored.
///
/// The index is *sealed* with the identity of what changes when containers come and go or
/// another engine works on the root: `containers/`'s inode and change time, and
/// `volumes/metadata.db`'s (dockerd rewrites that database whenever it starts). The seal
/// written last (the snapshot's, or the last frame's) must match the root's; a damaged
/// snapshot or frame (SHA-256 trailers), a change still in flight, or a running dockerd make
/// the index stale: it is rebuilt from the real files, and written back when the graph lock
/// is free and nothing changed meanwhile.
///
/// Every change of Stowage's own to the containers runs under the graph lock through
/// `change(affecting:_:)`: a *pending* frame is appended first, the change made, and a frame
/// with the changed containers (read back from their files) and a fresh seal appended after.
/// A kill at any point leaves either a valid index or one that is seen to be stale.
final class ContainerIndex: Sendable {
    static let magic = "stowage-containers-index 3"
    static let frameMagic = "stowage-containers-journal 2"

    let path: String
    let journalPath: String
    private let store: ContainerStore
    private let dataRoot: String

    init(dataRoot: String, store: ContainerStore) throws {
        self.dataRoot = dataRoot
        self.store = store
        try FileDescriptor.ensureDirectory(dataRoot + "/.stowage", mode: 0o700)
        path = dataRoot + "/.stowage/containers.index"
        journalPath = dataRoot + "/.stowage/containers.journal"
    }

    /// Every listed container, by ID: from the index when it is valid, from the files otherwise.
    /// `graph` is the root's graph lock, taken (without waiting) to write a rebuilt index.
    func records(graph: GraphLock) throws -> [String: ContainerRecord] {
        let seal = Seal(dataRoot: dataRoot)
        let identities = fileIdentities()  // (not the access times, which reading may change)
        if seal.trustworthy, let valid = read(sealed: seal, decoding: true) { return valid.records }
        let rebuilt = try rebuild()
        if seal.trustworthy {
            _ = try? graph.withExclusiveIfFree {
                // Written only if no change came between the seal and the read of the files.
                guard Seal(dataRoot: dataRoot) == seal, fileIdentities() == identities else { return }
                try writeSnapshot(rebuilt, sealed: seal)
            }
        }
        return rebuilt
    }

    /// Runs a change of the containers `ids` (made, removed or rewritten), given the names in
    /// use before it; call it holding the graph lock. The index learns of the change after
    /// `body`, whether it succeeded or not.
    func change<T>(affecting ids: [String], _ body: (_ names: NameTable) throws -> T) throws -> T {
        let seal = Seal(dataRoot: dataRoot)
        if seal.trustworthy, let current = read(sealed: seal, decoding: false) {
            try append(Frame(token: current.token, seal: nil, changes: []))  // pending
            defer {
                let after = Seal(dataRoot: dataRoot)
                let changes = ids.map { id in (id, try? store.record(id)) }
                if after.trustworthy {
                    try? append(Frame(token: current.token, seal: after, changes: changes))
                    if current.journalSize > max(64 << 10, current.snapshotSize / 2) { try? compact() }
                }
            }
            return try body(current.names)
        }
        var records = try rebuild()
        invalidate()
        defer {
            for id in ids { records[id] = try? store.record(id) }
            let after = Seal(dataRoot: dataRoot)
            if after.trustworthy { try? writeSnapshot(records, sealed: after) }
        }
        return try body(NameTable(records.values))
    }

    /// The names in use, from the index when it is valid (without decoding any container),
    /// from the files otherwise.
    func names(graph: GraphLock) throws -> NameTable {
        let seal = Seal(dataRoot: dataRoot)
        if seal.trustworthy, let valid = read(sealed: seal, decoding: false) { return valid.names }
        return NameTable(try records(graph: graph).values)
    }

    /// The index's containers that differ from the files (made, removed or changed without
    /// the index learning of it), by ID; empty when the index is stale or missing, since a
    /// stale index is never used. For `stowage check`.
    func disagreements() throws -> [String] {
        let seal = Seal(dataRoot: dataRoot)
        guard seal.trustworthy, let indexed = read(sealed: seal, decoding: true)?.records else { return [] }
        let actual = try rebuild()
        let encoded = { (record: ContainerRecord?) -> [UInt8] in
            record.map { Array($0.Name.utf8) + $0.restEncoded() } ?? []
        }
        return Set(indexed.keys).union(actual.keys).sorted().filter { encoded(indexed[$0]) != encoded(actual[$0]) }
    }

    /// Removes the index: the next reader rebuilds it. For changes made outside `change`.
    func invalidate() {
        unlink(path)
        unlink(journalPath)
    }

    // MARK: - Reading

    /// What a valid index holds; `records` only when decoded.
    private struct Contents {
        var token: String
        var names: NameTable
        var records: [String: ContainerRecord] = [:]
        var snapshotSize = 0
        var journalSize = 0
    }

    private func rebuild() throws -> [String: ContainerRecord] {
        var records: [String: ContainerRecord] = [:]
        for record in try store.all() { records[record.ID] = record }
        return records
    }

    /// The snapshot with the journal applied, if both are intact, no change is in flight, and
    /// the last seal written is `seal`; with every record decoded when `decoding`, otherwise
    /// only the names (the snapshot's names section, without the records after it).
    private func read(sealed seal: Seal, decoding: Bool) -> Contents? {
        do {
            guard var (contents, lastSeal) = try decoding ? readSnapshot() : readSnapshotNames() else { return nil }
            if let journal = FileDescriptor.readBytes(journalPath) {
                contents.journalSize = journal.count
                var offset = 0
                var pending = false
                while offset < journal.count {
                    guard journal.count - offset >= 8 else { return nil }  // torn: a change in flight or killed
                    let length = journal[offset..<offset + 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                    guard length >= 0, length <= journal.count - offset - 8 else { return nil }
                    var frame = try CompactReader(Array(journal[offset + 8..<offset + 8 + length]), magic: Self.frameMagic)
                    offset += 8 + length
                    guard try frame.string() == contents.token else { continue }  // of an older snapshot
                    guard try frame.bool() else { pending = true; continue }
                    pending = false
                    lastSeal = try Seal(reading: &frame)
                    for _ in 0..<(try frame.count()) {
                        let id = try frame.string()
                        guard try frame.bool() else {
                            contents.names.changed[id] = .some(nil)
                            contents.records[id] = nil
                            continue
                        }
                        let name = try frame.string()
                        contents.names.changed[id] = .some(ContainerRecord.withoutSlash(name))
                        if decoding {
                            var record = CompactReader(embedded: try frame.embedded())
                            contents.records[id] = try ContainerRecord.read(&record, id: id, name: name)
                        } else {
                            try frame.skipEmbedded()
                        }
                    }
                }
                if pending { return nil }
            }
            return lastSeal == seal ? contents : nil
        } catch {
            return nil
        }
    }

    /// The snapshot's header: its token, its seal, how many containers it holds, and its
    /// names section (each container's ID and name, in the order of the records after it),
    /// checked against that section's own SHA-256.
    private struct SnapshotHeader {
        var token: String
        var seal: Seal
        var count: Int
        var names: ArraySlice<UInt8>

        /// Reads it after the magic.
        init(reading reader: inout CompactReader) throws {
            token = try reader.string()
            seal = try Seal(reading: &reader)
            count = try reader.count()
            let digest = try reader.string()
            names = try reader.embedded()
            guard digest == Digest.of(names).hex else { throw CompactReader.Malformed() }
        }
    }

    /// The whole snapshot, every record decoded (its trailer checked).
    private func readSnapshot() throws -> (Contents, Seal)? {
        guard let bytes = FileDescriptor.readBytes(path), var reader = try? CompactReader(bytes, magic: Self.magic) else { return nil }
        let header = try SnapshotHeader(reading: &reader)
        var names = CompactReader(embedded: header.names)
        var contents = Contents(token: header.token, names: NameTable(snapshot: []), snapshotSize: bytes.count)
        contents.records.reserveCapacity(header.count)
        for _ in 0..<header.count {
            let id = try names.string(), name = try names.string()
            var record = CompactReader(embedded: try reader.embedded())
            contents.records[id] = try ContainerRecord.read(&record, id: id, name: name)
        }
        guard names.isAtEnd, reader.isAtEnd else { return nil }
        return (contents, header.seal)
    }

    /// The snapshot's names only: its header and names section, read from the start of the
    /// file (about a fifth of it) and checked by the section's SHA-256.
    private func readSnapshotNames() throws -> (Contents, Seal)? {
        guard var prefix = FileDescriptor.readPrefix(path, upTo: 4096) else { return nil }
        // Where the names section ends: the header's fields, then its length.
        var probe = CompactReader(embedded: prefix[...])
        guard try probe.string() == Self.magic else { return nil }
        _ = try probe.string()
        _ = try Seal(reading: &probe)
        _ = try probe.integer()
        _ = try probe.string()
        let lengthStart = probe.position
        let namesLength = try probe.integer()
        guard namesLength >= 0, namesLength < 1 << 40 else { return nil }
        let namesEnd = lengthStart + 8 + Int(namesLength)
        if prefix.count < namesEnd {
            guard let longer = FileDescriptor.readPrefix(path, upTo: namesEnd), longer.count == namesEnd else { return nil }
            prefix = longer
        }
        var reader = CompactReader(embedded: prefix[...])
        _ = try reader.string()
        let header = try SnapshotHeader(reading: &reader)
        var contents = Contents(token: header.token, names: NameTable(snapshot: prefix),
                                snapshotSize: FileDescriptor.status(at: path).map { Int($0.size) } ?? 0)
        var names = CompactReader(embedded: header.names)
        contents.names.stored.reserveCapacity(header.count)
        for _ in 0..<header.count { contents.names.stored.append((try names.stringRange(), try names.stringRange())) }
        guard names.isAtEnd else { return nil }
        return (contents, header.seal)
    }

    private func fileIdentities() -> [[Int64]] {
        [Seal.identity(of: path), Seal.identity(of: journalPath)]
    }

    // MARK: - Writing

    /// One change in the journal: pending (no seal) or done, with what it changed.
    private struct Frame {
        var token: String
        var seal: Seal?
        var changes: [(id: String, record: ContainerRecord?)]
    }

    private func append(_ frame: Frame) throws {
        var writer = CompactWriter(magic: Self.frameMagic)
        writer.string(frame.token)
        writer.bool(frame.seal != nil)
        if let seal = frame.seal {
            seal.write(to: &writer)
            writer.integer(frame.changes.count)
            for (id, record) in frame.changes {
                writer.string(id)
                writer.bool(record != nil)
                if let record {
                    writer.string(record.Name)
                    writer.embed(record.restEncoded())
                }
            }
        }
        let bytes = writer.finished()
        let journal = try FileDescriptor.open(journalPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode: 0o600)
        // Not synced: a lost or torn frame is detected (trailer, token, pending) and the index rebuilt.
        try journal.writeAll(withUnsafeBytes(of: Int64(bytes.count).littleEndian, Array.init) + bytes)
    }

    /// Folds the journal into a new snapshot.
    private func compact() throws {
        let seal = Seal(dataRoot: dataRoot)
        guard seal.trustworthy, let contents = read(sealed: seal, decoding: true) else { return }
        try writeSnapshot(contents.records, sealed: seal)
    }

    /// Writes a snapshot with a new token (so frames of the old one no longer apply), then
    /// drops the journal.
    private func writeSnapshot(_ records: [String: ContainerRecord], sealed seal: Seal) throws {
        let ids = records.keys.sorted()
        var names = CompactWriter()
        for id in ids {
            names.string(id)
            names.string(records[id]!.Name)
        }
        var writer = CompactWriter(magic: Self.magic)
        writer.string(LayerCacheID.random().rawValue)
        seal.write(to: &writer)
        writer.integer(records.count)
        writer.string(Digest.of(names.bytes).hex)
        writer.embed(names.bytes)
        for id in ids { writer.embed(records[id]!.restEncoded()) }
        // Not synced: a lost or torn snapshot is detected (seal, trailers) and rebuilt.
        try StagedFile.write(writer.finished(), to: path, mode: 0o600, synced: false)
        unlink(journalPath)
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

/// Which container holds a name, answered from the container index's bytes without decoding
/// them (a create at 10,000 containers compares names in place, and makes no string of them).
struct NameTable {
    /// The snapshot's bytes, and where each container's ID and name (with Docker's slash) are.
    private let snapshot: [UInt8]
    fileprivate var stored: [(id: Range<Int>, name: Range<Int>)] = []
    /// Containers the journal changed since the snapshot: ID → name (without the slash), or
    /// nil for removed.
    fileprivate var changed: [String: String?] = [:]

    fileprivate init(snapshot: [UInt8]) {
        self.snapshot = snapshot
    }

    /// The names of `records` (read from the files).
    init<Records: Sequence>(_ records: Records) where Records.Element == ContainerRecord {
        snapshot = []
        for record in records { changed[record.ID] = .some(record.name) }
    }

    /// The ID of the container named `name` (without the slash), if any.
    func owner(of name: String) -> String? {
        if let (id, _) = changed.first(where: { $0.value == name }) { return id }
        let wanted = Array(name.utf8)
        for (idRange, nameRange) in stored {
            var range = nameRange
            if !range.isEmpty, snapshot[range.lowerBound] == UInt8(ascii: "/") { range = range.dropFirst() }
            guard range.count == wanted.count, snapshot[range].elementsEqual(wanted) else { continue }
            let id = String(decoding: snapshot[idRange], as: UTF8.self)
            if changed[id] == nil { return id }  // (not renamed or removed since)
        }
        return nil
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
    /// Reads what `write(to:)` embedded after the ID and the name.
    static func read(_ reader: inout CompactReader, id: String, name: String) throws -> ContainerRecord {
        let created = try reader.string()
        let image = try reader.string()
        let path = try reader.optionalString()
        let args = try reader.bool() ? try reader.strings() : nil
        let configImage = try reader.optionalString()
        let labels: [String: String]? = try reader.bool() ? try readPairs(&reader) : nil
        var state: RunState?
        if try reader.bool() {
            state = RunState(Running: try reader.optionalBool(), Paused: try reader.optionalBool(),
                             Restarting: try reader.optionalBool(), Dead: try reader.optionalBool(),
                             ExitCode: try reader.optionalInteger().map { Int($0) },
                             StartedAt: try reader.optionalString(), FinishedAt: try reader.optionalString())
        }
        var mountPoints: [String: MountPoint]?
        if try reader.bool() {
            var points: [String: MountPoint] = [:]
            for _ in 0..<(try reader.count()) {
                let key = try reader.string()
                points[key] = MountPoint(Source: try reader.optionalString(), Destination: try reader.string(),
                                         RW: try reader.optionalBool(), Name: try reader.optionalString(),
                                         Driver: try reader.optionalString(), Type: try reader.optionalString())
            }
            mountPoints = points
        }
        let driver = try reader.optionalString()
        guard reader.isAtEnd else { throw CompactReader.Malformed() }
        return ContainerRecord(ID: id, Name: name, Created: created, Image: image, Path: path, Args: args,
                               Config: ListedConfig(Image: configImage, Labels: labels), State: state,
                               MountPoints: mountPoints, Driver: driver)
    }

    /// Everything but the ID and the name, which the index keeps apart (so that a reader of
    /// names skips the rest without decoding it); read back by `read(_:id:name:)`.
    func restEncoded() -> [UInt8] {
        var rest = CompactWriter()
        writeRest(to: &rest)
        return rest.bytes
    }

    private func writeRest(to writer: inout CompactWriter) {
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
