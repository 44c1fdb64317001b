#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageCore
import StowageFileSystem
import Synchronization

/// Size limits for directories through XFS project quotas, as Docker's overlay2 applies
/// `overlay2.size`: each limited directory gets its own project ID (inherited by all it
/// holds), and the project a block limit. Needs xfs mounted with `pquota`.
final class ProjectQuota: Sendable {
    private let home: String
    /// A block device node for the backing filesystem, which quotactl(2) wants.
    private let device: String
    private let nextProject: Mutex<UInt32>

    init(home: String) throws {
        self.home = home
        device = home + "/backingFsBlockDev"
        let status = try FileDescriptor.openDirectory(home).status()
        unlink(device)
        try SystemError.check(stowage_mknodat(AT_FDCWD, device, mode_t(S_IFBLK) | 0o600,
                                              UInt32(stowage_major(status.device)), UInt32(stowage_minor(status.device))),
                              "mknod", device)
        // Project IDs above the home's own, past every one in use.
        var highest = try Self.project(of: home)
        for name in try FileDescriptor.openDirectory(home).childNames() {
            if let project = try? Self.project(of: home + "/" + name + "/diff") { highest = max(highest, project) }
        }
        nextProject = Mutex(max(highest, 1) + 1)
    }

    /// Limits everything under `directory` to `bytes`.
    func limit(_ directory: String, to bytes: Int64) throws {
        let project = nextProject.withLock { next in
            defer { next += 1 }
            return next
        }
        let handle = try FileDescriptor.openDirectory(directory)
        try SystemError.check(stowage_set_project(handle.rawValue, project), "set project", directory)
        guard stowage_set_project_limit(device, project, UInt64(bytes)) == 0 else {
            throw StowageError(.unsupported, "project quotas are not enforced on \(home) (xfs needs the pquota mount option)",
                               underlying: SystemError("quotactl", path: device, errno: errno))
        }
    }

    static func project(of path: String) throws -> UInt32 {
        let handle = try FileDescriptor.openDirectory(path)
        var project: UInt32 = 0
        try SystemError.check(stowage_get_project(handle.rawValue, &project), "get project", path)
        return project
    }
}
