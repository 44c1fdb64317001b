import StowageCore
import StowageFileSystem

/// What an operation's lease names, one line each: what it protects while it runs and what
/// recovery looks at once it is abandoned.
public enum LeaseEntry: Sendable, Hashable, CustomStringConvertible {
    /// A layer found or made (kept while the lease lives; collected when abandoned and unused).
    case layer(ChainID)
    /// A driver directory about to be made (removed when abandoned and no kept record names it).
    case cache(LayerCacheID)
    /// An image the operation builds on (kept while the lease lives).
    case image(ImageID)
    /// An image the operation stores and that must go if the operation does not complete (commit).
    case newImage(ImageID)
    /// An image being deleted: an abandoned deletion is finished.
    case deletingImage(ImageID)
    /// An image being deleted although stopped containers use it (`rmi -f`): an abandoned
    /// deletion is finished all the same (the containers keep its layers).
    case deletingUsedImage(ImageID)
    /// A container being made or removed: abandoned, it is finished (removed) unless complete.
    case container(String)
    /// A volume used or staged (protected while the lease lives; its staging swept after).
    case volume(String)
    /// A volume made by the operation: removed when abandoned and no container uses it.
    case newVolume(String)

    public var description: String {
        switch self {
        case .layer(let id): "layer \(id)"
        case .cache(let id): "cache \(id.rawValue)"
        case .image(let id): "image \(id)"
        case .newImage(let id): "new-image \(id)"
        case .deletingImage(let id): "deleting-image \(id)"
        case .deletingUsedImage(let id): "deleting-used-image \(id)"
        case .container(let id): "container \(id)"
        case .volume(let name): "volume \(name)"
        case .newVolume(let name): "new-volume \(name)"
        }
    }

    /// Parses a line written by `description`; nil for anything else.
    public init?(_ line: String) {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let value = String(line[line.index(after: space)...])
        guard !value.isEmpty else { return nil }
        switch line[..<space] {
        case "layer": guard let id = try? ChainID(parsing: value) else { return nil }; self = .layer(id)
        case "cache": guard let id = try? LayerCacheID(value) else { return nil }; self = .cache(id)
        case "image": guard let id = try? ImageID(parsing: value) else { return nil }; self = .image(id)
        case "new-image": guard let id = try? ImageID(parsing: value) else { return nil }; self = .newImage(id)
        case "deleting-image": guard let id = try? ImageID(parsing: value) else { return nil }; self = .deletingImage(id)
        case "deleting-used-image": guard let id = try? ImageID(parsing: value) else { return nil }; self = .deletingUsedImage(id)
        case "container": guard Self.isPlainName(value) else { return nil }; self = .container(value)
        case "volume": guard Self.isPlainName(value) else { return nil }; self = .volume(value)
        case "new-volume": guard Self.isPlainName(value) else { return nil }; self = .newVolume(value)
        default: return nil
        }
    }

    /// A name that is one path component (container IDs, volume names).
    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}

extension Lease {
    /// Records `entry` before the change it announces.
    public func add(_ entry: LeaseEntry) throws { try add(entry.description) }

    /// The entries as typed values.
    public var typedEntries: [LeaseEntry] { entries.compactMap(LeaseEntry.init) }
}

extension AbandonedLease {
    public var typedEntries: [LeaseEntry] { entries.compactMap(LeaseEntry.init) }
}
