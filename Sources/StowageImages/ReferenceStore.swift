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

    /// A compact copy of the parsed table, keyed by the SHA-256 of the file it came from, so a
    /// new process reads thousands of names without decoding the JSON; nil for none.
    private let parsedCopyPath: String?

    /// `parsedCopyPath`, when given, is where the parsed table is kept between processes (a
    /// cache: any damage or difference from the file makes it ignored and rewritten).
    public init(path: String, parsedCopyPath: String? = nil) throws {
        self.path = path
        self.parsedCopyPath = parsedCopyPath
        let directory = String(path[..<path.lastIndex(of: "/")!])
        lock = try FileLock(path: directory + "/.repositories.lock")
    }

    /// Every reference with its image, sorted by name.
    public func all() throws -> [(reference: Reference, image: ImageID)] {
        // Each name spelled once, not once per comparison.
        try read().map { (name: $0.key.description, reference: $0.key, image: $0.value) }
            .sorted { $0.name < $1.name }.map { ($0.reference, $0.image) }
    }

    /// `references` in the order `all()` lists them (by name), each name spelled once.
    public static func sorted(_ references: [Reference]) -> [Reference] {
        references.count < 2 ? references : references.map { ($0.description, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Every reference with its image, in no order.
    public func table() throws -> [Reference: ImageID] {
        try read()
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
        let contentDigest = Digest.of(bytes)
        let table = try readParsedCopy(of: contentDigest) ?? parse(bytes, digest: contentDigest)
        cache.withLock { $0 = (identity, table) }
        return table
    }

    private func parse(_ bytes: [UInt8], digest: Digest) throws -> [Reference: ImageID] {
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
        writeParsedCopy(table, of: digest)
        return table
    }

    // MARK: - The parsed copy

    private static let parsedCopyMagic = "stowage-references 3"

    /// The parsed copy, if it was made from the file with this digest and is intact.
    private func readParsedCopy(of fileDigest: Digest) -> [Reference: ImageID]? {
        guard let parsedCopyPath, let bytes = FileDescriptor.readBytes(parsedCopyPath),
              var reader = try? CompactReader(bytes, magic: Self.parsedCopyMagic) else { return nil }
        do {
            guard try reader.string() == fileDigest.hex else { return nil }
            var table: [Reference: ImageID] = [:]
            let count = try reader.count()
            table.reserveCapacity(count)
            for _ in 0..<count {
                let domain = try reader.string(), path = try reader.string(), tag = try reader.optionalString()
                let digest = try reader.optionalDigest()
                let image = ImageID(try reader.digest())
                table[Reference(domain: domain, path: path, tag: tag, digest: digest)] = image
            }
            return reader.isAtEnd ? table : nil
        } catch {
            return nil
        }
    }

    /// Writes the parsed copy; a failure only costs the next reader a parse.
    private func writeParsedCopy(_ table: [Reference: ImageID], of fileDigest: Digest) {
        guard let parsedCopyPath else { return }
        var writer = CompactWriter(magic: Self.parsedCopyMagic)
        writer.string(fileDigest.hex)
        writer.integer(table.count)
        for (reference, image) in table {
            writer.string(reference.domain)
            writer.string(reference.path)
            writer.optionalString(reference.tag)
            writer.optionalDigest(reference.digest)
            writer.digest(image.digest)
        }
        try? StagedFile.write(writer.finished(), to: parsedCopyPath, mode: 0o600, synced: false)
    }

    /// Writes the file as Docker does: compact, keys sorted, familiar names.
    private func write(_ table: [Reference: ImageID]) throws {
        var repositories: [String: [String: JSONValue]] = [:]
        for (reference, image) in table {
            repositories[reference.familiarName, default: [:]][reference.familiarString] = .string(image.description)
        }
        let json = JSONValue.object([("Repositories", .sortedObject(repositories.mapValues { .sortedObject($0) }))])
        let bytes = Array(json.serialized().utf8)
        let file = try StagedFile(finalPath: path, replacing: true, mode: 0o600)
        do {
            try file.descriptor.writeAll(bytes)
            try file.descriptor.sync()
            CrashPoint.referencesStaged.reached()
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
        writeParsedCopy(table, of: Digest.of(bytes))
    }
}
