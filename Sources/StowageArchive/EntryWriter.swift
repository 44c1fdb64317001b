#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem
import StowageTar

/// Sees an entry's data bytes as they are written.
typealias PayloadObserver = (UnsafeRawBufferPointer) -> Void

/// Writes tar entries into a layer directory, one at a time. See `LayerApplier`.
final class EntryWriter {
    /// Files of at least this many bytes start their writeback as soon as they are written.
    static let earlyWritebackSize = 1 << 20

    private let root: FileDescriptor
    private let options: ApplyOptions
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// The last resolved parent directory; dropped whenever the tree's shape may have changed.
    private var cachedParent: (components: [String], descriptor: FileDescriptor)?
    /// Paths this layer created (opaque whiteouts keep them).
    private var created: Set<String> = [""]
    /// Directory times are set last, so that later entries do not disturb them.
    private var directoryTimes: [(components: [String], header: TarHeader)] = []

    /// Whether the layer root was empty when this writer began (a new layer): then only what
    /// this layer made can stand where an entry goes, and no entry needs a look first.
    private let rootStartedEmpty: Bool
    /// Whether this layer made a symbolic link, which can give what it made a second path.
    private var madeSymbolicLink = false
    /// How the root and the destination of a copy are named in messages (container paths).
    private let shownRoot: String, shownDestination: String

    init(root: FileDescriptor, options: ApplyOptions, shownRoot: String = "/", shownDestination: String = "/") {
        self.root = root
        self.options = options
        self.shownRoot = shownRoot
        self.shownDestination = shownDestination
        rootStartedEmpty = (try? root.isEmptyDirectory()) ?? false
    }

    deinit { buffer.deallocate() }

    /// Writes one entry; `observe` sees every byte of the entry's data as it passes.
    func write(_ header: TarHeader, data: TarReader, observe: PayloadObserver?) throws {
        try write(header, at: try LayerPath.components(header.nameBytes), linkTarget: nil, data: data, observe: observe)
    }

    /// Writes one entry at `components` of the root; a hard link points at `linkTarget`
    /// (components of the root too) when given, at its own link name otherwise.
    func write(_ header: TarHeader, at components: [String], linkTarget: [String]?, data: TarReader, observe: PayloadObserver?) throws {
        let entryName = header.name
        do {
            try write(header, components: components, linkTarget: linkTarget, data: data, observe: observe)
        } catch let error as SystemError {
            throw StowageError(.ioFailure, "cannot \(options.copy == nil ? "apply layer entry" : "extract") \"\(entryName)\"", underlying: error)
        } catch let error as StowageError {
            throw error
        }
    }

    /// Reads what is left of an entry's data (entries not written as files), for `observe`.
    func drain(_ reader: TarReader, observe: PayloadObserver?) throws {
        while true {
            let got = try reader.read(into: buffer)
            if got == 0 { return }
            observe?(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
    }

    /// Reads whatever follows the end-of-archive marker.
    func drainTrailing(_ reader: TarReader, _ record: ([UInt8]) throws -> Void) throws {
        while true {
            let got = try reader.readTrailing(into: buffer)
            if got == 0 { return }
            try record(Array(buffer[0..<got]))
        }
    }

    /// Sets directory times, deepest first.
    func finish() throws {
        cachedParent = nil
        for (components, header) in directoryTimes.reversed() {
            do {
                let parent = try lookUpDirectory(Array(components.dropLast()))
                try setTimes(header, name: components.last ?? ".", in: parent)
            } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
                continue  // removed or replaced by a later entry
            } catch let error as SystemError {
                throw StowageError(.ioFailure, "cannot set times of \"\(header.name)\"", underlying: error)
            }
        }
    }

    // MARK: - Entries

    private func write(_ header: TarHeader, components: [String], linkTarget: [String]?, data: TarReader,
                       observe: PayloadObserver?) throws {
        if case .globalExtendedHeader = header.kind { return }
        guard let base = components.last else {
            if options.copy != nil { return }  // the destination of a copy keeps its own metadata
            guard header.kind == .directory else {
                throw StowageError(.unsafePath, "layer entry \"\(header.name)\" names the layer root but is not a directory")
            }
            try applyMetadata(header, name: ".", in: root, isDirectory: true)
            directoryTimes.append(([], header))
            return
        }
        let parentComponents = Array(components.dropLast())
        if base.hasPrefix(Whiteout.prefix), options.copy == nil {
            try writeWhiteout(header, base: base, parentComponents: parentComponents)
            return
        }
        let parent = try directory(parentComponents, creating: true)
        let path = components.joined(separator: "/")
        let mayExist = !rootStartedEmpty || madeSymbolicLink || created.contains(path)
        let existing = mayExist ? try parent.statusOfEntry(base) : nil
        if let existing, !(existing.isDirectory && header.kind == .directory) {
            if options.copy != nil, existing.isDirectory != (header.kind == .directory) {
                let shown = shownRoot == "/" ? "/" + path : shownRoot + "/" + path
                throw StowageError(.alreadyExists, existing.isDirectory
                    ? "cannot overwrite directory \"\(shown)\" with non-directory \"\(shownDestination)\""
                    : "cannot overwrite non-directory \"\(shown)\" with directory \"\(shownDestination)\"")
            }
            try parent.removeEntry(base)
            cachedParent = nil
        }
        switch header.kind {
        case .directory:
            if existing?.isDirectory != true { try parent.makeDirectory(base, mode: 0o700) }
            try applyMetadata(header, name: base, in: parent, isDirectory: true)
            directoryTimes.append((components, header))
        case .regular, .other:
            let file = try parent.createFile(base, mode: 0o600)
            var written = 0
            while true {
                let got = try data.read(into: buffer)
                if got == 0 { break }
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<got])
                observe?(bytes)
                try file.writeAll(bytes)
                written += got
            }
            // A large file starts its writeback now, so that the layer's one syncfs waits for
            // less; small ones are left to it, which writes them together (one request each
            // would cost more than the wait it saves).
            if written >= Self.earlyWritebackSize { file.startWriteback() }
            try applyMetadata(header, handle: file, name: base, in: parent)
        case .symbolicLink:
            // The target is stored as written, as Docker stores it, even when it climbs above
            // the root (`ok -> ../lib`): every later lookup resolves it inside the layer.
            try parent.makeSymbolicLink(base, target: header.linkNameBytes)
            madeSymbolicLink = true
            cachedParent = nil
            try applyMetadata(header, name: base, in: parent, isSymbolicLink: true)
        case .hardLink:
            let targetComponents = try linkTarget ?? LayerPath.components(header.linkNameBytes, what: "hard link target of \"\(header.name)\"")
            guard let targetBase = targetComponents.last else {
                throw StowageError(.unsafePath, "hard link \"\(header.name)\" points at the layer root")
            }
            let targetParent = try lookUpDirectory(Array(targetComponents.dropLast()))
            try parent.makeHardLink(base, to: targetBase, in: targetParent)
            let target = try parent.statusOfEntry(base)
            if target?.isSymbolicLink == false { try applyMetadata(header, name: base, in: parent) }
        case .characterDevice, .blockDevice:
            guard options.allowDeviceNodes else {
                throw StowageError(.unsafePath, "layer entry \"\(header.name)\" is a device node, which is not allowed here")
            }
            let type = header.kind == .characterDevice ? S_IFCHR : S_IFBLK
            try parent.makeNode(base, mode: mode_t(type) | 0o600, major: header.deviceMajor, minor: header.deviceMinor)
            try applyMetadata(header, name: base, in: parent)
        case .fifo:
            try parent.makeNode(base, mode: mode_t(S_IFIFO) | 0o600, major: 0, minor: 0)
            try applyMetadata(header, name: base, in: parent)
        case .globalExtendedHeader:
            return
        }
        created.insert(path)
    }

    private func writeWhiteout(_ header: TarHeader, base: String, parentComponents: [String]) throws {
        if base == Whiteout.opaqueMarker {
            let directory = try directory(parentComponents, creating: true)
            switch options.whiteoutFormat {
            case .plain:
                // The directory's own path, not the entry's: the entry may reach it through a symlink.
                try removeLowerEntries(in: directory, path: try pathInsideRoot(of: directory))
                cachedParent = nil
            case .overlay:
                try directory.setExtendedAttribute(Whiteout.overlayOpaqueXattr, Array("y".utf8))
            }
            return
        }
        if base.hasPrefix(Whiteout.metaPrefix) { return }  // AUFS metadata
        let target = String(base.dropFirst(Whiteout.prefix.count))
        guard !target.isEmpty, target != ".", target != ".." else {
            throw StowageError(.unsafePath, "layer entry \"\(header.name)\" is a whiteout of \"\(target)\", which names no file")
        }
        let parent: FileDescriptor
        do {
            parent = try directory(parentComponents, creating: options.whiteoutFormat == .overlay)
        } catch let error as SystemError where options.whiteoutFormat == .plain && (error.errno == ENOENT || error.errno == ENOTDIR) {
            return  // no such directory below: nothing to delete
        }
        try parent.removeEntry(target)
        cachedParent = nil
        if options.whiteoutFormat == .overlay {
            try parent.makeNode(target, mode: mode_t(S_IFCHR), major: 0, minor: 0)
            if options.restoreOwnership {
                try parent.openEntryHandle(target).changeOwner(uid: UInt32(header.uid), gid: UInt32(header.gid))
            }
            // Docker leaves the device's time at "now"; keeping the entry's makes the
            // re-exported whiteout identical to the one applied.
            try setTimes(header, name: target, in: parent)
        }
    }

    /// The path of a directory resolved inside the root, relative to the root.
    private func pathInsideRoot(of directory: FileDescriptor) throws -> String {
        let rootPath = try root.resolvedPath(), path = try directory.resolvedPath()
        if path == rootPath { return "" }
        guard path.hasPrefix(rootPath + "/") else {
            throw StowageError(.unsafePath, "directory \(path) is not inside the layer root \(rootPath)")
        }
        return String(path.dropFirst(rootPath.count + 1))
    }

    /// Removes, below `directory`, everything this layer did not create.
    private func removeLowerEntries(in directory: FileDescriptor, path: String) throws {
        for name in try directory.childNames() {
            let childPath = path.isEmpty ? name : path + "/" + name
            if created.contains(childPath) {
                if try directory.statusOfEntry(name)?.isDirectory == true {
                    try removeLowerEntries(in: try directory.openChildDirectory(name), path: childPath)
                }
            } else {
                try directory.removeEntry(name)
            }
        }
    }

    // MARK: - Metadata

    private func applyMetadata(_ header: TarHeader, handle: FileDescriptor? = nil, name: String, in parent: FileDescriptor,
                               isDirectory: Bool = false, isSymbolicLink: Bool = false) throws {
        let entry = try handle ?? (name == "." ? parent : parent.openEntryHandle(name))
        switch options.copy?.ownership {
        case .fixed(let uid, let gid)?:
            try entry.changeOwner(uid: uid, gid: gid)
        case .unchanged?:
            break
        case .fromArchive?, nil:
            if options.restoreOwnership {
                try entry.changeOwner(uid: UInt32(truncatingIfNeeded: header.uid), gid: UInt32(truncatingIfNeeded: header.gid))
            }
        }
        for (key, value) in header.xattrs.sorted(by: { $0.key < $1.key }) {
            do {
                try entry.setExtendedAttribute(key, value)
            } catch let error as SystemError where error.errno == ENOTSUP {
                continue  // the filesystem does not keep this namespace; Docker ignores it too
            }
        }
        if !isSymbolicLink {
            try entry.changeMode(mode_t(header.permissions))
        }
        if !isDirectory {
            try setTimes(header, name: name, in: parent, handle: handle)
        }
    }

    /// Through `handle`, an open regular file, when there is one (no lookup of `name` again).
    private func setTimes(_ header: TarHeader, name: String, in parent: FileDescriptor, handle: FileDescriptor? = nil) throws {
        let modification = header.modificationTime
        var access = header.accessTime ?? modification
        if access < modification { access = modification }
        let times = (access: (access.seconds, Int64(access.nanoseconds)), modification: (modification.seconds, Int64(modification.nanoseconds)))
        if let handle {
            try handle.setTimes(access: times.access, modification: times.modification)
        } else {
            try parent.setTimes(name, access: times.access, modification: times.modification)
        }
    }

    // MARK: - Resolving directories inside the root

    /// The directory at `components` (resolved as if the layer root were `/`), created with
    /// mode 0755 where missing when `creating`.
    private func directory(_ components: [String], creating: Bool) throws -> FileDescriptor {
        if let cachedParent, cachedParent.components == components { return cachedParent.descriptor }
        let descriptor: FileDescriptor
        do {
            descriptor = try lookUpDirectory(components)
        } catch let error as SystemError where error.errno == ENOENT && creating {
            descriptor = try makeDirectories(components)
        }
        cachedParent = (components, descriptor)
        return descriptor
    }

    private func lookUpDirectory(_ components: [String]) throws -> FileDescriptor {
        if components.isEmpty { return root }
        return try root.openInRoot(components.joined(separator: "/"), O_RDONLY | O_DIRECTORY)
    }

    private func makeDirectories(_ components: [String]) throws -> FileDescriptor {
        var current = root
        for index in components.indices {
            let prefix = Array(components[...index])
            do {
                current = try lookUpDirectory(prefix)
            } catch let error as SystemError where error.errno == ENOENT {
                do {
                    try current.makeDirectory(components[index], mode: 0o755)
                } catch let mkdirError as SystemError where mkdirError.errno == EEXIST {
                    throw StowageError(.unsafePath,
                                       "cannot create directory \"\(prefix.joined(separator: "/"))\": a symlink to a missing directory is in the way",
                                       underlying: mkdirError)
                }
                created.insert(prefix.joined(separator: "/"))
                current = try lookUpDirectory(prefix)
            }
        }
        return current
    }
}
