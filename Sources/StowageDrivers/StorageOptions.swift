import StowageCore
import StowageFileSystem

/// `storage-opts` (`--storage-opt`): `driver.key=value` settings, checked against the driver
/// in use.
public struct StorageOptions: Sendable {
    /// `overlay2.size`: a per-layer size limit, in bytes.
    public var overlaySize: Int64?
    /// `btrfs.min_space`: free space a new layer must leave, in bytes.
    public var btrfsMinimumSpace: Int64?
    /// `stowage.max-layer-size`, for every driver: the most bytes one layer of a loaded image
    /// may decompress to (its tar stream); nil, the default, or 0 for no limit.
    public var maximumLayerSize: Int64?

    /// The key of `maximumLayerSize`.
    public static let maximumLayerSizeKey = "stowage.max-layer-size"

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
            case Self.maximumLayerSizeKey:
                let size = try Self.bytes(parts[1], option: key)
                maximumLayerSize = size == 0 ? nil : size
            default:
                throw StowageError(.invalidArgument, "unknown option \(parts[0]) for the \(driver) storage driver")
            }
        }
    }

    /// `10G`, `512m`, `1.5GiB`, `1024` → bytes, in binary units, as Docker's `units.RAMInBytes`
    /// reads them: `^(\d+(\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`.
    static func bytes(_ text: String, option: String) throws -> Int64 {
        let invalid = StowageError(.invalidArgument, "invalid size \"\(text)\" for \(option): expected a number of bytes with an optional unit (k, m, g, t, p; 512m, 10GB)")
        var rest = Substring(text)
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        if rest.first == " " { rest = rest.dropFirst() }
        var multiplier: Double = 1
        if let unit = rest.first, let power = "kmgtp".firstIndex(of: Character(unit.lowercased())) {
            multiplier = Double(Int64(1) << (10 * ("kmgtp".distance(from: "kmgtp".startIndex, to: power) + 1)))
            rest = rest.dropFirst()
        }
        if rest.first == "i" || rest.first == "I" { rest = rest.dropFirst() }
        if rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard rest.isEmpty, !number.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }),
              let value = Double(number), value * multiplier < 0x1p63 else { throw invalid }
        return Int64(value * multiplier)
    }

    /// `stowage.max-layer-size` among `options` (checked like the rest when the driver opens).
    public static func maximumLayerSize(in options: [String]) throws -> Int64? {
        var size: Int64?
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].lowercased() == maximumLayerSizeKey else { continue }
            let value = try bytes(parts[1], option: maximumLayerSizeKey)
            size = value == 0 ? nil : value
        }
        return size
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
