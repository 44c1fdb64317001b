#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// Docker's container directory (`<root>/containers/<id>/`): each container's
/// `config.v2.json` and `hostconfig.json`. A directory without `config.v2.json` is a
/// container half made or half removed, and is swept.
public final class ContainerStore: Sendable {
    /// `<root>/containers`.
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileDescriptor.ensureDirectory(root, mode: 0o710)
    }

    public func directory(of id: String) -> String { root + "/" + id }

    /// Every listed container.
    public func all() throws -> [ContainerRecord] {
        try FileDescriptor.openDirectory(root).childNames().compactMap { try record($0) }
    }

    /// The container `id`, or nil when it is not (or no longer, or not yet) listed.
    public func record(_ id: String) throws -> ContainerRecord? {
        let path = directory(of: id) + "/config.v2.json"
        guard let text = FileDescriptor.readText(path, limit: 16 << 20) else { return nil }
        return try ContainerRecord(bytes: Array(text.utf8), path: path)
    }

    /// The container `text` names: its ID, a unique ID prefix, or its name (`/` optional).
    public func resolve(_ text: String) throws -> ContainerRecord {
        if text.utf8.count == 64, !text.contains("/"), let record = try record(text), record.ID == text { return record }
        let ids = try FileDescriptor.openDirectory(root).childNames()
        // A container named `name` has `"Name":"/name"` in its file: only such files are decoded.
        let name = text.hasPrefix("/") ? String(text.dropFirst()) : text
        let nameField = "\"Name\":\"/\(name)\""
        for id in ids {
            let path = directory(of: id) + "/config.v2.json"
            guard let config = FileDescriptor.readText(path, limit: 16 << 20), config.contains(nameField) else { continue }
            let record = try ContainerRecord(bytes: Array(config.utf8), path: path)
            if record.name == name { return record }
        }
        let matches = text.isEmpty ? [] : try ids.filter { $0.hasPrefix(text) }.compactMap { try record($0) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw StowageError(.invalidArgument, "multiple IDs found with provided prefix: \(text)")
        }
        throw StowageError(.notFound, "No such container: \(text)")
    }

    /// Writes a new container's files; `config.v2.json` last, so that it appears complete.
    func write(_ document: ContainerDocument) throws {
        let directory = self.directory(of: document.id)
        try SystemError.check(mkdir(directory, 0o710), "mkdir", directory)
        chmod(directory, 0o710)
        try SystemError.check(mkdir(directory + "/checkpoints", 0o700), "mkdir", directory + "/checkpoints")
        try StagedFile.write(Array(document.hostConfigJSON.utf8), to: directory + "/hostconfig.json", mode: 0o644)
        try StagedFile.write(Array(document.configJSON.utf8), to: directory + "/config.v2.json", mode: 0o600)
    }

    /// Takes the container out of every listing: the first step of removing it.
    func unlist(_ id: String) throws {
        let path = directory(of: id) + "/config.v2.json"
        if unlink(path) != 0, errno != ENOENT { throw SystemError("unlink", path: path, errno: errno) }
        try FileDescriptor.openDirectory(directory(of: id)).sync()
    }

    /// Removes what is left of an unlisted container.
    func removeDirectory(_ id: String) throws {
        try FileDescriptor.removeTree(directory(of: id))
    }

    /// Directories of containers never completed or not completely removed.
    func unlistedIDs() throws -> [String] {
        try FileDescriptor.openDirectory(root).childNames().filter { !FileDescriptor.exists(directory(of: $0) + "/config.v2.json") }
    }

    /// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    static func isValidName(_ name: String) -> Bool { VolumeStore.isValidName(name) }
}
