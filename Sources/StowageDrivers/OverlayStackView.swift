#if canImport(Glibc)
import Glibc
#endif
import StowageArchive
import StowageFileSystem

/// A directory of a tree as the naive diff walks it: names, attributes, subdirectories.
public protocol TreeView {
    func childNames() throws -> [String]
    /// The entry's attributes, nil when there is no such entry.
    func statusOfEntry(_ name: String) throws -> FileStatus?
    func childView(_ name: String) throws -> Self
    /// The entry's `security.capability` extended attribute (symbolic links have none).
    func capability(of name: String) throws -> [UInt8]?
}

extension FileDescriptor: TreeView {
    public func childView(_ name: String) throws -> FileDescriptor { try openChildDirectory(name) }

    public func capability(of name: String) throws -> [UInt8]? {
        try openEntryHandle(name).extendedAttribute("security.capability")
    }
}

/// One directory of a stack of overlay-format layer directories, merged as overlayfs merges
/// them, without mounting anything: an entry is the topmost layer's, a 0/0 character device
/// hides the name below it, a directory marked `trusted.overlay.opaque=y` hides what is
/// below it, and a directory merges with the directories of the same name below it.
/// (Exact for stacks the kernel does not redirect: no `redirect_dir`, no `metacopy`.)
public struct OverlayStackView: TreeView {
    /// The directories that make up this one, topmost first.
    private let layers: [FileDescriptor]

    /// The root of the stack of `layerDirectories`, topmost first.
    public init(layerDirectories: [String]) throws {
        layers = try layerDirectories.map { try FileDescriptor.openDirectory($0) }
    }

    private init(layers: [FileDescriptor]) { self.layers = layers }

    public func childNames() throws -> [String] {
        var decided: Set<String> = []
        var names: [String] = []
        for layer in layers {
            for name in try layer.childNames() where decided.insert(name).inserted {
                if let status = try layer.statusOfEntry(name), !Self.isWhiteout(status) { names.append(name) }
            }
        }
        return names
    }

    public func statusOfEntry(_ name: String) throws -> FileStatus? {
        guard let (_, status) = try topmost(name) else { return nil }
        return status
    }

    public func childView(_ name: String) throws -> OverlayStackView {
        var below: [FileDescriptor] = []
        for layer in layers {
            guard let status = try layer.statusOfEntry(name) else { continue }
            guard status.isDirectory else {
                if below.isEmpty { throw SystemError("open", path: layer.join(name), errno: ENOTDIR) }
                break  // a file or whiteout above the rest of the stack hides it
            }
            let directory = try layer.openChildDirectory(name)
            below.append(directory)
            if try directory.extendedAttribute(Whiteout.overlayOpaqueXattr) == Array("y".utf8) { break }
        }
        guard !below.isEmpty else { throw SystemError("open", path: layers.first.map { $0.join(name) } ?? name, errno: ENOENT) }
        return OverlayStackView(layers: below)
    }

    public func capability(of name: String) throws -> [UInt8]? {
        guard let (layer, _) = try topmost(name) else { return nil }
        return try layer.capability(of: name)
    }

    /// The layer whose entry `name` is, and that entry; nil when none has it or a whiteout hides it.
    private func topmost(_ name: String) throws -> (FileDescriptor, FileStatus)? {
        for layer in layers {
            guard let status = try layer.statusOfEntry(name) else { continue }
            return Self.isWhiteout(status) ? nil : (layer, status)
        }
        return nil
    }

    private static func isWhiteout(_ status: FileStatus) -> Bool { status.isCharacterDevice && status.rdev == 0 }
}
