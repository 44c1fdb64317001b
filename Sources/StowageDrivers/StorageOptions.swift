import StowageCore
import StowageFileSystem

/// `storage-opts` (`--storage-opt`): `driver.key=value` settings, checked against the driver
/// in use.
public struct StorageOptions: Sendable {
    /// `overlay2.size`: a per-layer size limit, in bytes.
    public var overlaySize: Int64?
    /// `btrfs.min_space`: free space a new layer must leave, in bytes.
    public var btrfsMinimumSpace: Int64?

    public init(_ options: [String], driver: String) throws {
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw StowageError(.invalidArgument, "storage option \"\(option)\" is not key=value")
            }
            let key = parts[0].lowercased()
            switch key {
            case "overlay2.size" where driver == "overlay2":
                overlaySize = try Self.bytes(parts[1], option: key)
            case "btrfs.min_space" where driver == "btrfs":
                btrfsMinimumSpace = try Self.bytes(parts[1], option: key)
            default:
                throw StowageError(.invalidArgument, "unknown option \(parts[0]) for the \(driver) storage driver")
            }
        }
    }

    /// `10G`, `512m`, `1024` → bytes, in binary units as Docker's `RAMInBytes`.
    static func bytes(_ text: String, option: String) throws -> Int64 {
        let lowered = text.lowercased()
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
                                        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1)]
        for (suffix, multiplier) in units where lowered.hasSuffix(suffix) {
            guard let value = Double(lowered.dropLast(suffix.count)), value >= 0 else { break }
            return Int64(value * Double(multiplier))
        }
        guard let value = Int64(lowered), value >= 0 else {
            throw StowageError(.invalidArgument, "invalid size \"\(text)\" for \(option)")
        }
        return value
    }
}

extension Overlay2Driver {
    /// `overlay2.size` needs project quotas (xfs mounted with `pquota`); refused clearly
    /// elsewhere.
    static func checkQuotaSupport(dataRoot: String) throws {
        let backing = try BackingFileSystem.name(of: dataRoot)
        guard backing == "xfs" else {
            throw StowageError(.unsupported, "storage option overlay2.size needs project quotas, which \(backing) (\(dataRoot)) does not have; use xfs mounted with pquota, or drop the option")
        }
        let options = mountOptions(of: dataRoot)
        guard options.contains("prjquota") || options.contains("pquota") else {
            throw StowageError(.unsupported, "storage option overlay2.size needs xfs mounted with pquota; \(dataRoot) is on xfs without project quotas")
        }
    }

    /// The mount and superblock options of the mount that holds `path` (the longest mount
    /// point that is a prefix of it).
    static func mountOptions(of path: String) -> String {
        let mounts = FileDescriptor.readText("/proc/self/mountinfo", limit: 16 << 20) ?? ""
        var bestPoint = ""
        var bestOptions = ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 5 else { continue }
            let point = fields[4]
            let covers = point == "/" || path == point || path.hasPrefix(point + "/")
            guard covers, point.count >= bestPoint.count else { continue }
            bestPoint = point
            bestOptions = fields[5] + "," + (fields.last ?? "")
        }
        return bestOptions
    }
}
