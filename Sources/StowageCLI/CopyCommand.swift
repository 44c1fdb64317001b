#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StowageArchive
import StowageCore
import StowageDockerTypes
import StowageEngine
import StowageFileSystem
import StowageTar

/// `stowage cp`: files and directories between a container and the local filesystem, by
/// the docker CLI's rules (`CopyPlan`): a trailing `/` asserts a directory, `SRC/.` copies a
/// directory's contents, the destination's last link is followed, `-` is a tar stream.
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy files/folders between a container and the local filesystem.",
        usage: "stowage cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       stowage cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        discussion: """
            Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in a container. \
            Use '-' as the destination to stream a tar archive of a container source to stdout.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("a"), .customLong("archive")], help: "Archive mode (copy all uid/gid information).")
    var archive = false

    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH.")
    var followLink = false

    @Flag(name: .shortAndLong, help: "Suppress progress output during copy (always suppressed when stderr is no terminal).")
    var quiet = false

    @Argument(help: "CONTAINER:SRC_PATH, a local path, or - for a tar stream on standard input.")
    var source: String

    @Argument(help: "DEST_PATH, CONTAINER:DEST_PATH, or - for a tar stream on standard output.")
    var destination: String

    func run() throws {
        try reportingErrors {
            let (sourceContainer, sourcePath) = Self.split(source)
            let (destinationContainer, destinationPath) = Self.split(destination)
            switch (sourceContainer, destinationContainer) {
            case (.some, .some):
                throw StowageError(.invalidArgument, "copying between containers is not supported")
            case (nil, nil):
                throw StowageError(.invalidArgument, "must specify at least one container source")
            case (let container?, nil):
                guard !sourcePath.isEmpty else { throw StowageError(.invalidArgument, "path cannot be empty") }
                try copy(from: container, sourcePath, to: destinationPath, engine: try global.openEngine(toRead: true))
            case (nil, let container?):
                guard !destinationPath.isEmpty else { throw StowageError(.invalidArgument, "path cannot be empty") }
                try copy(sourcePath, into: container, destinationPath, engine: try global.openEngine())
            }
        }
    }

    /// The docker CLI's `splitCpArg`: `NAME:PATH` names a container unless the argument is
    /// an absolute path or starts with `.` (`./file:name`).
    static func split(_ argument: String) -> (container: String?, path: String) {
        guard !argument.hasPrefix("/"), let colon = argument.firstIndex(of: ":"), !argument.hasPrefix(".") else { return (nil, argument) }
        return (String(argument[..<colon]), String(argument[argument.index(after: colon)...]))
    }

    // MARK: - Out of a container

    private func copy(from container: String, _ path: String, to destination: String, engine: Engine) throws {
        let destination = destination == "-" ? "-" : GoPath.absolute(destination)
        try LocalPath.validateOutput(destination)
        var path = path
        var rebaseName: String?
        if followLink, let stat = try? engine.containers.statPath(container, path), stat.isSymbolicLink {
            let target = stat.linkTarget.hasPrefix("/") ? stat.linkTarget : GoPath.join(GoPath.splitDirectoryEntry(path).directory, stat.linkTarget)
            (path, rebaseName) = GoPath.rebaseName(path, resolved: target)
        }
        if destination == "-" {
            _ = try engine.containers.archive(container, path: path, to: StandardOutput())
            return
        }
        let stat = try engine.containers.statPath(container, path)
        let sourceBase = GoPath.splitDirectoryEntry(path).entry
        let plan = try CopyPlan(sourcePath: path, sourceIsDirectory: stat.isDirectory, rebaseName: rebaseName,
                                destination: try LocalPath.destinationInfo(destination))
        let rootName = plan.rootName ?? rebaseName
        let copied = try StreamConnection.run(producing: { sink in
            _ = try engine.containers.archive(container, path: path, to: sink)
        }, consuming: { source in
            let counted = CountingSource(source)
            try CopyExtractor.extract(from: counted, into: [], of: [.init(path: [], directory: plan.directory, shownAs: plan.directory)],
                                      rules: CopyRules(ownership: .unchanged), shownDestination: plan.directory,
                                      renaming: rootName.map { (sourceBase, $0) })
            return counted.count
        })
        reportCopied(copied, to: destination)
    }

    // MARK: - Into a container

    private func copy(_ path: String, into container: String, _ destination: String, engine: Engine) throws {
        var info = LocalPath.Info(path: destination, exists: false, isDirectory: false)
        var stat = try? engine.containers.statPath(container, destination)
        if let link = stat, link.isSymbolicLink {
            info.path = link.linkTarget.hasPrefix("/") ? link.linkTarget
                : GoPath.join(GoPath.splitDirectoryEntry(destination).directory, link.linkTarget)
            stat = try? engine.containers.statPath(container, info.path)
        }
        if let stat {
            let type = stat.mode & UInt32(S_IFMT)
            if type == UInt32(S_IFCHR) || type == UInt32(S_IFBLK) || type == UInt32(S_IFIFO) || type == UInt32(S_IFSOCK) {
                throw StowageError(.invalidArgument, "destination \"\(container):\(destination)\" must be a directory or a regular file: got a device")
            }
            (info.exists, info.isDirectory) = (true, stat.isDirectory)
        }
        if path == "-" {
            guard info.isDirectory else { throw StowageError(.invalidArgument, "destination \"\(container):\(destination)\" must be a directory") }
            try engine.containers.extract(container, into: info.path, from: try openInput("-"), copyingOwnership: archive)
            return
        }
        let source = try LocalPath.sourceInfo(GoPath.absolute(path), followingLink: followLink)
        let plan = try CopyPlan(sourcePath: source.path, sourceIsDirectory: source.isDirectory, rebaseName: source.rebaseName,
                                destination: info)
        let (sourceDirectory, sourceBase) = GoPath.splitDirectoryEntry(source.path)
        let rootName = plan.rootName ?? source.rebaseName ?? sourceBase
        let copied = try StreamConnection.run(producing: { sink in
            let parent = try FileDescriptor.openDirectory(sourceDirectory)
            _ = try DirectoryArchiver.archiveEntry(sourceBase, in: parent, as: rootName, to: sink)
        }, consuming: { stream in
            let counted = CountingSource(stream)
            try engine.containers.extract(container, into: plan.directory, from: counted, copyingOwnership: archive)
            return counted.count
        })
        reportCopied(copied, to: container + ":" + info.path)
    }

    /// The docker CLI's last line on a terminal.
    private func reportCopied(_ bytes: Int64, to destination: String) {
        guard !quiet, isatty(2) == 1 else { return }
        var standardError = StandardErrorStream()
        print("Successfully copied \(Units.humanSize(bytes)) to \(destination)", to: &standardError)
    }
}

/// Where a copy is extracted and under which name, by the docker CLI's rules
/// (`archive.PrepareArchiveCopy`).
struct CopyPlan {
    /// The directory the archive is extracted into.
    let directory: String
    /// The name the archive's root entry gets there; nil keeps the source's.
    let rootName: String?

    init(sourcePath: String, sourceIsDirectory: Bool, rebaseName: String?, destination: LocalPath.Info) throws {
        let (destinationDirectory, destinationBase) = GoPath.splitDirectoryEntry(destination.path)
        switch (destination.exists, destination.isDirectory, sourceIsDirectory) {
        case (true, true, _):
            (directory, rootName) = (destination.path, nil)  // extracted inside, names kept
        case (true, false, true):
            throw StowageError(.invalidArgument, "cannot copy directory")
        case (false, _, false) where GoPath.assertsDirectory(destination.path):
            throw StowageError(.notFound, "no such directory")
        default:
            (directory, rootName) = (destinationDirectory, destinationBase)  // renamed to the destination's name
        }
    }
}

/// Local paths as the docker CLI's `archive` package sees them.
enum LocalPath {
    /// What a copy knows of its local end (`archive.CopyInfo`).
    struct Info {
        var path: String
        var exists: Bool
        var isDirectory: Bool
        var rebaseName: String?
    }

    static let maximumLinks = 10

    /// `CopyInfoDestinationPath`: the destination with its links followed; a missing one
    /// needs an existing parent directory.
    static func destinationInfo(_ path: String) throws -> Info {
        var path = path
        var links = 0
        while let status = FileDescriptor.status(at: path, followingLink: false), status.isSymbolicLink {
            links += 1
            guard links <= maximumLinks else { throw StowageError(.invalidArgument, "too many symlinks in \(path)") }
            let target = try readLink(path)
            path = target.hasPrefix("/") ? target : GoPath.join(GoPath.splitDirectoryEntry(path).directory, target)
        }
        if let status = FileDescriptor.status(at: path, followingLink: false) {
            return Info(path: path, exists: true, isDirectory: status.isDirectory)
        }
        let parent = GoPath.splitDirectoryEntry(path).directory
        guard let parentStatus = FileDescriptor.status(at: parent, followingLink: true) else {
            throw StowageError(.notFound, "stat \(parent): no such file or directory")
        }
        guard parentStatus.isDirectory else { throw StowageError(.invalidArgument, "not a directory") }
        return Info(path: path, exists: false, isDirectory: false)
    }

    /// `CopyInfoSourcePath`: the source with the links of its parent followed (all of them
    /// with `-L`), and the name to give it when following renamed it.
    static func sourceInfo(_ path: String, followingLink: Bool) throws -> Info {
        var resolved: String
        var rebaseName: String?
        if followingLink {
            resolved = try realPath(path)
            (resolved, rebaseName) = GoPath.rebaseName(path, resolved: resolved)
        } else {
            let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            let (directory, base) = (String(path[..<slash]), String(path[slash...]))
            resolved = try realPath(directory.isEmpty ? "." : directory)
            resolved = (resolved == "/" ? "" : resolved) + "/" + base
            if path.hasSuffix("/"), GoPath.base(path) != GoPath.base(resolved) { rebaseName = GoPath.base(path) }
        }
        guard let status = FileDescriptor.status(at: resolved, followingLink: false) else {
            throw StowageError(.notFound, "lstat \(resolved): \(goErrorText(errno))")
        }
        return Info(path: resolved, exists: true, isDirectory: status.isDirectory, rebaseName: rebaseName)
    }

    /// The docker CLI's `ValidateOutputPath`: the parent must exist, and an existing path
    /// must be a directory or a regular file.
    static func validateOutput(_ path: String) throws {
        let directory = GoPath.directory(GoPath.clean(path))
        if directory != ".", FileDescriptor.status(at: directory, followingLink: true) == nil, errno == ENOENT {
            throw StowageError(.notFound, "invalid output path: directory \"\(directory)\" does not exist")
        }
        if let status = FileDescriptor.status(at: path, followingLink: true), !status.isDirectory, !status.isRegular {
            throw StowageError(.invalidArgument, "invalid output path: \"\(path)\" must be a directory or a regular file: got a device")
        }
    }

    /// An errno as Go's `syscall.Errno` prints it: `no such file or directory`.
    private static func goErrorText(_ number: Int32) -> String {
        let text = String(cString: strerror(number))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    private static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw StowageError(.ioFailure, "cannot read link", underlying: SystemError("readlink", path: path, errno: errno)) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Go's `filepath.EvalSymlinks`, which fails for a missing path.
    private static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw StowageError(.notFound, "lstat \(GoPath.clean(path)): \(goErrorText(errno))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Go's `path/filepath` and the `archive` package's path helpers, for local paths.
enum GoPath {
    /// `filepath.Clean`.
    static func clean(_ path: String) -> String {
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(part) }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return rooted ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// `filepath.Join` of two elements.
    static func join(_ first: String, _ second: String) -> String { clean(first + "/" + second) }

    /// `filepath.Dir`.
    static func directory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return clean(String(path[...slash]))
    }

    /// `filepath.Base`.
    static func base(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        if path.isEmpty { return "." }
        if path == "/" { return "/" }
        return String(path.split(separator: "/").last ?? "")
    }

    static func specifiesCurrentDirectory(_ path: String) -> Bool { base(path) == "." }

    /// `archive.AssertsDirectory`: a trailing `/` or `/.`.
    static func assertsDirectory(_ path: String) -> Bool { path.hasSuffix("/") || specifiesCurrentDirectory(path) }

    /// `archive.SplitPathDirEntry`: the parent directory and the entry a path names.
    static func splitDirectoryEntry(_ path: String) -> (directory: String, entry: String) {
        var cleaned = clean(path)
        if specifiesCurrentDirectory(path) { cleaned += "/." }
        return (directory(cleaned), base(cleaned))
    }

    /// `archive.PreserveTrailingDotOrSeparator`.
    static func preservingTrailingDotOrSeparator(_ cleaned: String, of original: String) -> String {
        var cleaned = cleaned
        if !specifiesCurrentDirectory(cleaned), specifiesCurrentDirectory(original) {
            if !cleaned.hasSuffix("/") { cleaned += "/" }
            cleaned += "."
        }
        if !cleaned.hasSuffix("/"), original.hasSuffix("/") { cleaned += "/" }
        return cleaned
    }

    /// The docker CLI's `resolveLocalPath`: absolute, keeping a trailing `/` or `/.`.
    static func absolute(_ path: String) -> String {
        var directory = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let workingDirectory = getcwd(&directory, directory.count) != nil ? String(cString: directory) : "/"
        return preservingTrailingDotOrSeparator(clean(path.hasPrefix("/") ? path : workingDirectory + "/" + path), of: path)
    }

    /// `archive.GetRebaseName`: the resolved path with the original's trailing `/` or `/.`,
    /// and the original's last name when resolving changed it.
    static func rebaseName(_ path: String, resolved: String) -> (path: String, rebaseName: String?) {
        var resolved = resolved
        if specifiesCurrentDirectory(path), !specifiesCurrentDirectory(resolved) { resolved += "/." }
        if path.hasSuffix("/"), !resolved.hasSuffix("/") { resolved += "/" }
        return (resolved, base(path) != base(resolved) ? base(path) : nil)
    }
}

/// Counts the bytes read through it, for the report of a copy.
final class CountingSource: ByteSource {
    private let source: ByteSource
    private(set) var count: Int64 = 0

    init(_ source: ByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let got = try source.read(into: buffer)
        count += Int64(got)
        return got
    }
}
