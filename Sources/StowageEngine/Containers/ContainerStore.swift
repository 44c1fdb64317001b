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

/// Docker's container directory (`<root>/containers/<id>/`): each container's
/// `config.v2.json` and `hostconfig.json`. A directory without `config.v2.json` is a
/// container half made or half removed, and is swept.
public final class ContainerStore: Sendable {
    /// `<root>/containers`.
    public let root: String
    /// `<root>/tmp`: where removed containers' files go before they are deleted.
    let temporaryDirectory: String

    public init(root: String, temporaryDirectory: String) throws {
        self.root = root
        self.temporaryDirectory = temporaryDirectory
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
        return try ContainerRecord.decode(Array(text.utf8), path: path)
    }

    /// The container's whole `Config` (what `commit` records), read from its `config.v2.json`.
    func config(of id: String) throws -> ContainerConfig {
        struct File: Decodable { let Config: ContainerConfig }
        let path = directory(of: id) + "/config.v2.json"
        guard let text = FileDescriptor.readText(path, limit: 16 << 20) else {
            throw StowageError(.notFound, "No such container: \(id)")
        }
        do {
            return try JSONDecoder().decode(File.self, from: Data(text.utf8)).Config
        } catch {
            throw StowageError(.invalidArchive, "container config \(path) is not valid: \(error)")
        }
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

    /// Rewrites the container's `config.v2.json` with another `Name` (with Docker's leading
    /// slash), every other field as it was; atomically, so that a kill leaves either name.
    func rename(_ id: String, to name: String) throws {
        let path = directory(of: id) + "/config.v2.json"
        guard let text = FileDescriptor.readText(path, limit: 16 << 20) else { throw StowageError(.notFound, "No such container: \(id)") }
        guard case .object(var members) = try JSONValue(parsing: Array(text.utf8), what: path),
              let index = members.firstIndex(where: { $0.0 == "Name" }) else {
            throw StowageError(.invalidArchive, "\(path) has no Name")
        }
        members[index].1 = .string(name)
        try StagedFile.write(Array((JSONValue.object(members).serialized() + (text.hasSuffix("\n") ? "\n" : "")).utf8), to: path, mode: 0o600)
    }

    /// Takes the container out of every listing, the first step of removing it: its
    /// directory is renamed into `<root>/tmp` (`container-<id>-<suffix>`), so that it leaves
    /// `containers/` at once and whole.
    func unlist(_ id: String, stagingSuffix: String) throws {
        let staging = unlistedPath(id, stagingSuffix: stagingSuffix)
        do {
            try FileDescriptor.rename(directory(of: id), to: staging, noReplace: true)
        } catch let error as SystemError where error.errno == ENOENT {
            return  // unlisted already
        }
        try FileDescriptor.openDirectory(root).sync()
    }

    /// Removes the files of a container `unlist` took out.
    func removeUnlisted(_ id: String, stagingSuffix: String) throws {
        try FileDescriptor.removeTree(unlistedPath(id, stagingSuffix: stagingSuffix))
    }

    private func unlistedPath(_ id: String, stagingSuffix: String) -> String {
        temporaryDirectory + "/container-" + id + "-" + stagingSuffix
    }

    /// Removes the directory of a container never completed.
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
