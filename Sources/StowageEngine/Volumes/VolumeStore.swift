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

/// One local volume.
public struct LocalVolume: Sendable {
    public let name: String
    /// `<root>/volumes/<name>/_data`.
    public let mountpoint: String
    public let labels: [String: String]
    /// RFC 3339 in seconds, as `volume inspect` prints `CreatedAt`.
    public let createdAt: String
    /// The local driver's mount options (`type`, `device`, `o`), as given at create.
    public var options: [String: String] = [:]
    /// Made for one container without a name from the user (64 hex digits).
    public var isAnonymous: Bool { labels[Self.anonymousLabel] != nil || Self.looksAnonymous(name) }

    /// The label Docker (API 1.42+) puts on anonymous volumes.
    public static let anonymousLabel = "com.docker.volume.anonymous"

    static func looksAnonymous(_ name: String) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

/// Docker's local volume driver (`<root>/volumes/<name>/_data`): data that outlives the
/// containers that mount it. Labels are kept in `<name>/stowage-volume.json` beside `_data`
/// (Docker keeps them in its `metadata.db`).
public final class VolumeStore: Sendable {
    /// `<root>/volumes`.
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileDescriptor.ensureDirectory(root, mode: 0o701)
    }

    /// Names as Docker accepts them: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        let isAlphanumeric = { (byte: UInt8) in (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) }
        guard bytes.count >= 2, isAlphanumeric(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isAlphanumeric($0) || $0 == 95 || $0 == 46 || $0 == 45 }
    }

    /// Creates a volume, or returns the existing one of that name (as Docker does). It is
    /// built as `.creating-<name>-<stagingSuffix>` and renamed into place whole.
    @discardableResult
    public func create(_ name: String, labels: [String: String] = [:], options: [String: String] = [:], stagingSuffix: String) throws -> LocalVolume {
        guard Self.isValidName(name) else {
            throw StowageError(.invalidArgument, "create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
        }
        try Self.checkOptions(options, of: name)
        if let existing = try volume(name) { return existing }
        let directory = root + "/" + name
        let staging = root + "/.creating-" + name + "-" + stagingSuffix
        try SystemError.check(mkdir(staging, 0o701), "mkdir", staging)
        do {
            chmod(staging, 0o701)
            try SystemError.check(mkdir(staging + "/_data", 0o755), "mkdir", staging + "/_data")
            let now = Timestamp.now()
            let metadata = JSONValue.object([
                ("CreatedAt", .string(Timestamp.formatRFC3339(seconds: now.seconds))),
                ("Labels", labels.isEmpty ? .null : .sortedObject(labels.mapValues(JSONValue.string))),
                ("Options", options.isEmpty ? .null : .sortedObject(options.mapValues(JSONValue.string))),
            ])
            try StagedFile.write(Array(metadata.serialized().utf8), to: staging + "/" + Self.metadataName, mode: 0o600)
            if !options.isEmpty {
                // What dockerd's local driver keeps, and mounts the volume with.
                let mount = JSONValue.object([("MountType", .string(options["type"] ?? "")), ("MountOpts", .string(options["o"] ?? "")),
                                              ("MountDevice", .string(options["device"] ?? "")), ("Quota", .object([("Size", .integer(0))]))])
                try StagedFile.write(Array(mount.serialized().utf8), to: staging + "/opts.json", mode: 0o600)
            }
            try FileDescriptor.rename(staging, to: directory, noReplace: true)
        } catch {
            try? FileDescriptor.removeTree(staging)
            if let existing = try volume(name) { return existing }
            throw error
        }
        return try volume(name)!
    }

    /// The local driver's checks of its options, with dockerd's messages: only `type`,
    /// `device`, `o` (and `size`, which needs quotas this driver does not keep); a mount needs
    /// both a device and a type.
    static func checkOptions(_ options: [String: String], of name: String) throws {
        for key in options.keys.sorted() where !["type", "device", "o", "size"].contains(key) {
            throw StowageError(.invalidArgument, "create \(name): invalid option: \"\(key)\"")
        }
        if options["size"] != nil { throw StowageError(.unsupported, "create \(name): quota size requested but no quota support") }
        guard !options.isEmpty else { return }
        for required in ["device", "type"] where (options[required] ?? "").isEmpty {
            throw StowageError(.invalidArgument, "create \(name): missing required option: \"\(required)\"")
        }
    }

    /// The volume `name`, or nil.
    public func volume(_ name: String) throws -> LocalVolume? {
        guard Self.isValidName(name) else { return nil }
        let directory = root + "/" + name
        guard FileDescriptor.exists(directory + "/_data") else { return nil }
        var labels: [String: String] = [:]
        var options: [String: String] = [:]
        var created: String?
        if let text = FileDescriptor.readText(directory + "/" + Self.metadataName),
           let metadata = try? JSONDecoder().decode(Metadata.self, from: Data(text.utf8)) {
            labels = metadata.Labels ?? [:]
            options = metadata.Options ?? [:]
            created = metadata.CreatedAt
        }
        if created == nil {
            var st = stat()
            let seconds = stat(directory, &st) == 0 ? Int64(st.st_ctim.tv_sec) : 0
            created = Timestamp.formatRFC3339(seconds: seconds)
        }
        return LocalVolume(name: name, mountpoint: directory + "/_data", labels: labels, createdAt: created!, options: options)
    }

    /// The volume `name`; Docker's error when it does not exist.
    public func require(_ name: String) throws -> LocalVolume {
        guard let volume = try volume(name) else { throw StowageError(.notFound, "get \(name): no such volume") }
        return volume
    }

    /// Every volume, by name.
    public func all() throws -> [LocalVolume] {
        try FileDescriptor.openDirectory(root).childNames().sorted().compactMap { try volume($0) }
    }

    /// Removes a volume and its data (the caller checks that no container uses it): renamed
    /// to `.removing-<name>-<stagingSuffix>` first, so that it is gone at once and an
    /// interrupted removal is recognisable.
    public func remove(_ name: String, stagingSuffix: String) throws {
        _ = try require(name)
        let doomed = root + "/.removing-" + name + "-" + stagingSuffix
        try FileDescriptor.rename(root + "/" + name, to: doomed)
        try FileDescriptor.removeTree(doomed)
    }

    /// Fills an empty volume with a copy of `source` all at once: the copy is made beside
    /// `_data` (as `fillingName(stagingSuffix)`) and renamed over it, so that a volume is
    /// either empty (and filled at its next use) or complete. False when `_data` was not
    /// empty (nothing is copied then).
    @discardableResult
    public func fill(_ volume: LocalVolume, from source: String, stagingSuffix: String) throws -> Bool {
        guard try FileDescriptor.openDirectory(volume.mountpoint).isEmptyDirectory() else { return false }
        let directory = root + "/" + volume.name
        let staging = directory + "/" + Self.fillingName(stagingSuffix)
        try SystemError.check(mkdir(staging, 0o755), "mkdir", staging)
        do {
            try TreeCopier.copy(from: source, to: staging)
            try FileDescriptor.openDirectory(directory).syncFileSystem()
            try FileDescriptor.rename(staging, to: volume.mountpoint)  // replaces only an empty directory
        } catch let error as SystemError where error.errno == ENOTEMPTY || error.errno == EEXIST {
            try? FileDescriptor.removeTree(staging)
            return false
        } catch {
            try? FileDescriptor.removeTree(staging)
            throw error
        }
        return true
    }

    /// The staging directory of a fill, inside the volume's directory.
    public static func fillingName(_ stagingSuffix: String) -> String { ".filling-" + stagingSuffix }

    /// Removes what interrupted `create`, `fill` and `remove` left (only while nobody else uses the root).
    public func sweep() throws {
        for name in try FileDescriptor.openDirectory(root).childNames() {
            if name.hasPrefix(".creating-") || name.hasPrefix(".removing-") {
                try FileDescriptor.removeTree(root + "/" + name)
            } else if let directory = try? FileDescriptor.openDirectory(root + "/" + name) {
                try directory.removeAllChildren(keeping: { !$0.hasPrefix(".filling-") })
            }
        }
    }

    /// The bytes of the files in a volume (`system df`: what removing it frees).
    public func size(of volume: LocalVolume) throws -> Int64 {
        try DiskUsage.bytes(under: volume.mountpoint)
    }

    private static let metadataName = "stowage-volume.json"

    private struct Metadata: Decodable {
        let CreatedAt: String?
        let Labels: [String: String]?
        let Options: [String: String]?
    }
}

