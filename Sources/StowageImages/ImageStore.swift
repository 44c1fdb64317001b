#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// Docker's image store (`image/<driver>/imagedb`): image configs stored as received under
/// the sha256 of their bytes, plus per-image metadata (`parent`, `lastUpdated`).
public final class ImageStore: Sendable {
    /// `image/<driver>/imagedb`.
    public let root: String
    private var contentDirectory: String { root + "/content/sha256" }
    private var metadataDirectory: String { root + "/metadata/sha256" }

    public init(root: String) throws {
        self.root = root
        for directory in [root, root + "/content", contentDirectory, root + "/metadata", metadataDirectory] {
            try FileDescriptor.ensureDirectory(directory, mode: 0o700)
        }
    }

    /// Stores a config (after checking it is one) and returns its image ID.
    @discardableResult
    public func put(_ config: [UInt8]) throws -> ImageID {
        _ = try ImageConfig(bytes: config)
        let id = ImageID(Digest.of(config))
        let path = contentDirectory + "/" + id.digest.hex
        if exists(id) { return id }
        try StagedFile.write(config, to: path, mode: 0o600, replacing: true)
        return id
    }

    public func exists(_ id: ImageID) -> Bool {
        var st = stat()
        return lstat(contentDirectory + "/" + id.digest.hex, &st) == 0
    }

    /// The config bytes, checked against the ID.
    public func configBytes(_ id: ImageID) throws -> [UInt8] {
        guard let bytes = try readFile(contentDirectory + "/" + id.digest.hex) else {
            throw StowageError(.notFound, "No such image: \(id)")
        }
        guard Digest.of(bytes) == id.digest else {
            throw StowageError(.digestMismatch, "image \(id): stored config does not match its digest")
        }
        return bytes
    }

    public func config(_ id: ImageID) throws -> ImageConfig {
        try ImageConfig(bytes: configBytes(id))
    }

    /// Every stored image.
    public func ids() throws -> [ImageID] {
        try FileDescriptor.openDirectory(contentDirectory).childNames().compactMap { try? ImageID(Digest(hex: $0)) }
    }

    /// Removes the image's config, then its metadata: the image is gone with the first step;
    /// metadata left by an interrupted removal is only a leftover (`removeMetadata`).
    public func delete(_ id: ImageID) throws {
        let content = try FileDescriptor.openDirectory(contentDirectory)
        try content.removeEntry(id.digest.hex)
        try removeMetadata(id)
    }

    /// Removes the metadata directory of an image (missing is fine).
    public func removeMetadata(_ id: ImageID) throws {
        try FileDescriptor.openDirectory(metadataDirectory).removeEntry(id.digest.hex)
    }

    /// Images that have a metadata directory, stored or not.
    public func idsWithMetadata() throws -> [ImageID] {
        try FileDescriptor.openDirectory(metadataDirectory).childNames().compactMap { try? ImageID(Digest(hex: $0)) }
    }

    /// `imagedb/metadata/sha256/<id>`, where staging files of the image's metadata are written.
    public func metadataPath(of id: ImageID) -> String { metadataDirectory + "/" + id.digest.hex }

    /// `imagedb/content/sha256`.
    public var contentPath: String { contentDirectory }

    // MARK: - Metadata

    /// The image this one was built from, if recorded.
    public func parent(of id: ImageID) throws -> ImageID? {
        try readFile(metadataDirectory + "/" + id.digest.hex + "/parent").map {
            try ImageID(parsing: String(decoding: $0, as: UTF8.self))
        }
    }

    public func setParent(_ parent: ImageID, of id: ImageID) throws {
        try writeMetadata(id, "parent", parent.description)
    }

    /// When the image was last tagged (Docker's `Metadata.LastTagTime`), as written.
    public func lastUpdated(_ id: ImageID) throws -> String? {
        try readFile(metadataDirectory + "/" + id.digest.hex + "/lastUpdated").map { String(decoding: $0, as: UTF8.self) }
    }

    public func setLastUpdated(_ id: ImageID, to time: (seconds: Int64, nanoseconds: Int64) = Timestamp.now()) throws {
        try writeMetadata(id, "lastUpdated", Timestamp.formatRFC3339Nano(seconds: time.seconds, nanoseconds: time.nanoseconds))
    }

    private func writeMetadata(_ id: ImageID, _ name: String, _ value: String) throws {
        let directory = metadataDirectory + "/" + id.digest.hex
        try FileDescriptor.ensureDirectory(directory, mode: 0o700)
        try StagedFile.write(Array(value.utf8), to: directory + "/" + name, mode: 0o600)
    }
}

/// The whole file, or nil if it does not exist.
func readFile(_ path: String) throws -> [UInt8]? {
    let file: FileDescriptor
    do {
        file = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC)
    } catch let error as SystemError where error.errno == ENOENT {
        return nil
    }
    return try FileSource(file).readAll(what: path)
}
