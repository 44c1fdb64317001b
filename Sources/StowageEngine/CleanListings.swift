import StowageArchive
import StowageCore
import StowageFileSystem

/// Directories found holding nothing a full sweep would remove, remembered by their settled
/// stamps (`<root>/.stowage/clean-listings-<driver>`), so that the next exclusive open checks
/// each with a `stat` instead of listing its 10,000 entries.
///
/// Leftovers appear only as new entries (a layer renamed to `-removing`, a staging file),
/// and every new entry changes its directory's stamp; a settled stamp cannot miss one
/// (see `DirectoryStamp`). The file is a cache: torn, damaged or missing, it fails its
/// SHA-256 trailer or matches nothing, and the directories are listed.
struct CleanListings {
    private static let magic = "stowage-clean-listings 1"

    let path: String

    /// Whether every directory is clean: those unchanged since they were last found clean by
    /// their stamp, the rest by their `isClean` check. When all are clean and settled, the
    /// stamps (taken before the checks) are recorded.
    func allClean(_ checks: [(directory: String, isClean: () throws -> Bool)]) throws -> Bool {
        let stamps = checks.map { DirectoryStamp.current($0.directory) }
        let recorded = read()
        var unchanged = true
        for (index, check) in checks.enumerated() {
            let stamp = stamps[index]
            if let stamp, recorded?[check.directory] == stamp { continue }
            unchanged = false
            if try !check.isClean() { return false }
        }
        if !unchanged, stamps.allSatisfy({ $0?.isSettled == true }) {
            write(Dictionary(uniqueKeysWithValues: zip(checks.map(\.directory), stamps.map { $0! })))
        }
        return true
    }

    private func read() -> [String: DirectoryStamp]? {
        guard let bytes = FileDescriptor.readBytes(path), var reader = try? CompactReader(bytes, magic: Self.magic) else { return nil }
        var stamps: [String: DirectoryStamp] = [:]
        guard let count = try? reader.count() else { return nil }
        for _ in 0..<count {
            guard let directory = try? reader.string(), let stamp = try? reader.directoryStamp() else { return nil }
            stamps[directory] = stamp
        }
        return reader.isAtEnd ? stamps : nil
    }

    private func write(_ stamps: [String: DirectoryStamp]) {
        var writer = CompactWriter(magic: Self.magic)
        writer.integer(stamps.count)
        for (directory, stamp) in stamps.sorted(by: { $0.key < $1.key }) {
            writer.string(directory)
            writer.directoryStamp(stamp)
        }
        try? StagedFile.write(writer.finished(), to: path, mode: 0o600, synced: false)
    }
}
