import Foundation

/// A filesystem of a given type in a sparse image file, loop-mounted in a temporary
/// directory; unmounted and removed on release, also when the test fails.
public final class LoopFileSystem {
    public let scratch: TemporaryDirectory
    /// Where it is mounted.
    public let mountPoint: String

    /// - Parameters:
    ///   - type: `btrfs`, `xfs`, `ext4`, …: `mkfs.<type>` must exist.
    ///   - options: mount options, such as `pquota` for xfs project quotas.
    public init(type: String, sizeMiB: Int = 512, options: String? = nil) throws {
        scratch = try TemporaryDirectory("loop-\(type)")
        let image = scratch.join("image")
        mountPoint = scratch.join("mnt")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let force = type == "btrfs" || type == "xfs" ? "-f" : "-F"
        try shell("truncate -s \(sizeMiB)M '\(image)' && mkfs.\(type) -q \(force) '\(image)' >/dev/null")
        try shell("mount -o loop\(options.map { "," + $0 } ?? "") '\(image)' '\(mountPoint)'")
    }

    deinit {
        unmountEverything(under: mountPoint)
    }
}
