#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageArchive
import StowageCore
import StowageFileSystem

/// What Stowage keeps per container beside Docker's files (`containers/<id>/stowage-state.json`):
/// how many `mount`s hold its root filesystem, and its writable layer's size as last measured.
///
/// Mounts do not survive a reboot, so a count recorded under another boot ID is zero. Every
/// new mount bumps `generation`; a size measured while nothing held the mount, at the current
/// generation, is still exact, since only a mount lets anything write into the layer.
struct ContainerMountState: Codable, Equatable {
    var bootID: String
    var mounts: Int
    var generation: Int
    /// The writable layer's size, measured at `sizeGeneration` with no mount held.
    var sizeRw: Int64?
    var sizeGeneration: Int?

    static let fileName = "stowage-state.json"

    /// The size if it is still exact.
    var cachedSize: Int64? {
        guard mounts == 0, sizeGeneration == generation else { return nil }
        return sizeRw
    }

    /// Reads, changes and writes the state of the container in `directory` under an
    /// exclusive lock (held by concurrent `mount` and `unmount` of the same container).
    static func update<T>(in directory: String, _ body: (inout ContainerMountState) throws -> T) throws -> T {
        let lock = try FileLock(path: directory + "/.stowage-state.lock")
        return try lock.withExclusive {
            StagedFile.removeAbandoned(in: directory, of: fileName)  // a writer killed under this lock
            var state = read(in: directory)
            let result = try body(&state)
            if state != read(in: directory) { try state.save(in: directory) }
            return result
        }
    }

    /// Runs `body` with the state as recorded, holding the lock `update` takes and writing
    /// nothing: for `rm`, which removes the directory the state is in, so that no `mount` or
    /// `cp` is inside the root filesystem while its layers go.
    static func withLock<T>(in directory: String, _ body: (ContainerMountState) throws -> T) throws -> T {
        let lock = try FileLock(path: directory + "/.stowage-state.lock")
        return try lock.withExclusive { try body(read(in: directory)) }
    }

    /// Writes the state now, under the lock `update` holds: for a change that must be on disk
    /// before the work it announces begins (a copy into the layer, which a kill may cut short).
    func save(in directory: String) throws {
        let bytes = try JSONEncoder().encode(self)
        try StagedFile.write(Array(bytes), to: directory + "/" + Self.fileName, mode: 0o600)
    }

    /// The state as recorded (no lock: a reader may see the state just before a change).
    static func read(in directory: String) -> ContainerMountState {
        let boot = currentBootID
        guard let text = FileDescriptor.readText(directory + "/" + fileName),
              var state = try? JSONDecoder().decode(ContainerMountState.self, from: Data(text.utf8)) else {
            return ContainerMountState(bootID: boot, mounts: 0, generation: 0, sizeRw: nil, sizeGeneration: nil)
        }
        if state.bootID != boot {
            state.bootID = boot
            state.mounts = 0
        }
        return state
    }

    static let currentBootID: String = String((FileDescriptor.readText("/proc/sys/kernel/random/boot_id") ?? "")
        .filter { !$0.isWhitespace })
}
