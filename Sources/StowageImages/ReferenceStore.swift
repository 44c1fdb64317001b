#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem
import Synchronization

/// Docker's tag store (`image/<driver>/repositories.json`): which names and digests point at
/// which image, as `{"Repositories":{"busybox":{"busybox:latest":"sha256:…"}}}`.
///
/// Reads see a complete file; changes take an exclusive lock on a file beside it, read the
/// current file, and replace it atomically.
public final class ReferenceStore: Sendable {
    public let path: String
    private let lock: FileLock
    /// The table as last read, with the identity of the file it came from: the file is only
    /// ever replaced whole (a new inode), so an unchanged identity means unchanged contents.
    private let cache = Mutex<(identity: [Int64], table: [Reference: ImageID])?>(nil)

    public init(path: String) throws {
        self.path = path
        let directory = String(path[..<path.lastIndex(of: "/")!])
        lock = try FileLock(path: directory + "/.repositories.lock")
    }

    /// Every reference with its image, sorted by name.
    public func all() throws -> [(reference: Reference, image: ImageID)] {
        try read().sorted { $0.key.description < $1.key.description }.map { ($0.key, $0.value) }
    }

    /// The image `reference` names, if any.
    public func image(for reference: Reference) throws -> ImageID? {
        try read()[reference]
    }

    /// The references to `image`, sorted.
    public func references(to image: ImageID) throws -> [Reference] {
        try read().filter { $0.value == image }.map(\.key).sorted { $0.description < $1.description }
    }

    /// Points `reference` at `image`. A digest reference must not be moved to another image.
    public func add(_ reference: Reference, image: ImageID) throws {
        try add([(reference, image)])
    }

    /// Points each reference at its image with one write of the file (an archive's 2,000 tags
    /// are one rewrite, not 2,000). Nothing is written if any digest reference would move.
    public func add(_ pairs: [(reference: Reference, image: ImageID)]) throws {
        guard !pairs.isEmpty else { return }
        try lock.withExclusive {
            var table = try read()
            for (reference, image) in pairs {
                if reference.digest != nil, let existing = table[reference], existing != image {
                    throw StowageError(.alreadyExists, "Cannot overwrite digest \(reference.familiarString)")
                }
                table[reference] = image
            }
            try write(table)
        }
    }

    /// Removes `reference`; returns the image it pointed at.
    @discardableResult
    public func remove(_ reference: Reference) throws -> ImageID? {
        try lock.withExclusive {
            var table = try read()
            guard let image = table.removeValue(forKey: reference) else { return nil }
            try write(table)
            return image
        }
    }

    /// Removes every reference to `image`.
    public func removeAll(pointingAt image: ImageID) throws {
        try lock.withExclusive {
            var table = try read()
            let before = table.count
            table = table.filter { $0.value != image }
            if table.count != before { try write(table) }
        }
    }

    // MARK: - The file

    private struct File: Decodable {
        let Repositories: [String: [String: String]]?
    }

    private func read() throws -> [Reference: ImageID] {
        let handle: FileDescriptor
        do {
            handle = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC)
        } catch let error as SystemError where error.errno == ENOENT {
            return [:]
        }
        let status = try handle.status()
        let identity = [Int64(bitPattern: status.device), Int64(bitPattern: status.inode), status.size,
                        status.modificationSeconds, status.modificationNanoseconds]
        if let cached = cache.withLock({ $0 }), cached.identity == identity { return cached.table }
        let bytes = try FileSource(handle).readAll(what: path)
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw StowageError(.invalidArchive, "\(path) is not valid: \(error)")
        }
        var table: [Reference: ImageID] = [:]
        for (_, references) in file.Repositories ?? [:] {
            for (text, image) in references {
                table[try Reference(parsing: text)] = try ImageID(parsing: image)
            }
        }
        cache.withLock { $0 = (identity, table) }
        return table
    }

    /// Writes the file as Docker does: compact, keys sorted, familiar names.
    private func write(_ table: [Reference: ImageID]) throws {
        var repositories: [String: [String: JSONValue]] = [:]
        for (reference, image) in table {
            repositories[reference.familiarName, default: [:]][reference.familiarString] = .string(image.description)
        }
        let json = JSONValue.object([("Repositories", .sortedObject(repositories.mapValues { .sortedObject($0) }))])
        let file = try StagedFile(finalPath: path, replacing: true, mode: 0o600)
        do {
            try file.descriptor.writeAll(Array(json.serialized().utf8))
            try file.descriptor.sync()
            CrashPoint.referencesStaged.reached()
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }
}
