#if canImport(Glibc)
import Glibc
#endif
import StowageCore
import StowageFileSystem

/// Which storage driver a data root uses, decided as Docker decides: an explicit choice wins;
/// otherwise a driver that already has data in the root; otherwise the first that works, in
/// Docker's priority order.
public enum DriverSelection {
    /// Docker's order of preference.
    public static let priority = ["btrfs", "zfs", "overlay2", "aufs", "overlay", "devicemapper", "vfs"]
    /// The drivers Stowage implements (Docker's aufs, devicemapper and zfs are refused).
    public static let implemented = ["btrfs", "overlay2", "overlay", "fuse-overlayfs", "vfs"]
    /// Every name a user may give.
    public static let known = Set(priority + ["fuse-overlayfs"])

    /// The decision and what the user should be told about it.
    public struct Choice {
        public let driver: any DiffApplyingDriver
        /// Lines for standard error (such as another driver's images being hidden).
        public let warnings: [String]
    }

    public static func open(dataRoot: String, requested: String?, options: [String] = []) throws -> Choice {
        let prior = priorDrivers(in: dataRoot)
        if let requested {
            guard known.contains(requested) else {
                throw StowageError(.invalidArgument,
                                   "unknown storage driver \"\(requested)\"; the drivers are \(priority.joined(separator: ", ")), fuse-overlayfs")
            }
            let others = prior.filter { $0 != requested }
            let warnings = others.map {
                "WARNING: \(dataRoot) also holds data of the \($0) storage driver; its images are not shown while \(requested) is in use"
            }
            return Choice(driver: try make(requested, dataRoot: dataRoot, options: options), warnings: warnings)
        }
        if prior.count > 1 {
            throw StowageError(.invalidArgument,
                               "\(dataRoot) contains several valid storage drivers: \(prior.joined(separator: ", ")); choose one with --storage-driver")
        }
        if let existing = prior.first {
            return Choice(driver: try make(existing, dataRoot: dataRoot, options: options), warnings: [])
        }
        var reasons: [String] = []
        for name in priority {
            do {
                return Choice(driver: try make(name, dataRoot: dataRoot, options: options), warnings: [])
            } catch let error as StowageError where error.code == .unsupported {
                reasons.append("\(name): \(error.message)")
            }
        }
        throw StowageError(.unsupported, "no storage driver works on \(dataRoot): \(reasons.joined(separator: "; "))")
    }

    /// Drivers whose home in the root holds layers. Reads each home only up to its first layer.
    static func priorDrivers(in dataRoot: String) -> [String] {
        priority.filter { name in
            let (home, isLayer): (String, (String) -> Bool) = switch name {
            case "vfs": (dataRoot + "/vfs/dir", { _ in true })
            case "overlay2": (dataRoot + "/overlay2", { $0 != "l" })
            default: (dataRoot + "/" + name, { _ in true })
            }
            return (try? FileDescriptor.openDirectory(home).containsChild(where: isLayer)) == true
        }
    }

    /// Opens driver `name`, or says precisely why it cannot work here.
    static func make(_ name: String, dataRoot: String, options: [String]) throws -> any DiffApplyingDriver {
        let settings = try StorageOptions(options, driver: name)
        switch name {
        case "vfs":
            return try VFSDriver(dataRoot: dataRoot)
        case "overlay2":
            return try Overlay2Driver(dataRoot: dataRoot, writableLayerSize: settings.overlaySize)
        case "fuse-overlayfs":
            return try Overlay2Driver(dataRoot: dataRoot, mounter: .fuse)
        case "overlay":
            return try OverlayDriver(dataRoot: dataRoot)
        case "aufs":
            throw StowageError(.unsupported, "driver not supported: AUFS was not found in /proc/filesystems; use overlay2 or vfs")
        case "devicemapper":
            let hasDeviceMapper = FileDescriptor.exists("/dev/mapper/control")
            throw StowageError(.unsupported, hasDeviceMapper
                ? "driver not supported: devicemapper is not available in this build of stowage; use overlay2 or vfs"
                : "driver not supported: devicemapper needs the device-mapper kernel module (no /dev/mapper/control); use overlay2 or vfs")
        case "zfs":
            let filesystems = FileDescriptor.readText("/proc/filesystems") ?? ""
            throw StowageError(.unsupported, filesystems.contains("\tzfs")
                ? "driver not supported: zfs is not available in this build of stowage; use overlay2 or vfs"
                : "driver not supported: zfs was not found in /proc/filesystems (no zfs module); use overlay2 or vfs")
        case "btrfs":
            return try BtrfsDriver(dataRoot: dataRoot, minimumFreeSpace: settings.btrfsMinimumSpace)
        default:
            throw StowageError(.unsupported, "driver not supported: \(name) is not available in this build of stowage; use overlay2 or vfs")
        }
    }
}
