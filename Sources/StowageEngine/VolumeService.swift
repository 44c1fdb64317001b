import StowageCore
import StowageDockerTypes
import StowageFileSystem
import StowageLayers

/// Named and anonymous volumes on one data root (`<root>/volumes`, Docker's `local` driver).
/// Obtained from `Engine.volumes`; safe to use from many tasks at once.
public struct VolumeService: Sendable {
    let storage: StorageGraph
}

extension VolumeService {
    /// Every volume, by name.
    public func list() throws -> [LocalVolume] { try storage.volumes.all() }

    /// The volume called `name`, or nil.
    public func volume(_ name: String) throws -> LocalVolume? { try storage.volumes.volume(name) }

    /// `docker volume inspect`'s object for the volume.
    public func inspect(_ name: String) throws -> Volume {
        try storage.volumes.require(name).apiVolume
    }

    /// The bytes the volume's files take.
    public func size(of volume: LocalVolume) throws -> Int64 { try storage.volumes.size(of: volume) }

    /// Names of the volumes some container mounts, with those containers' IDs.
    public func users() throws -> [String: [String]] { try storage.volumeUsers() }

    /// `volume create`: with the `local` driver (the only one here) and its mount options.
    @discardableResult
    public func create(_ name: String, driver: String = "local", labels: [String: String], options: [String: String] = [:]) throws -> LocalVolume {
        guard driver == "local" else {
            throw StowageError(.notFound, "create \(name): error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        return try storage.mutation { lease in
            try lease.add(.volume(name))
            return try storage.volumes.create(name, labels: labels, options: options, stagingSuffix: lease.id)
        }
    }

    /// `volume rm`: refused while a container (or a create in flight) uses the volume.
    public func remove(_ name: String) throws {
        try storage.mutation { lease in
            try storage.graph.withExclusive {
                _ = try storage.volumes.require(name)
                if let users = try storage.volumeUsers()[name] {
                    throw StowageError(.alreadyExists, "remove \(name): volume is in use - [\(users.joined(separator: ", "))]")
                }
                if try volumesInUseByChanges(excluding: lease).contains(name) {
                    throw StowageError(.alreadyExists, "remove \(name): volume is in use by a change in progress")
                }
                try lease.add(.volume(name))
            }
            try storage.volumes.remove(name, stagingSuffix: lease.id)
        }
    }

    /// `volume prune`: removes unused anonymous volumes (every unused volume with `all`).
    public func prune(all: Bool) throws -> (names: [String], reclaimed: Int64) {
        try storage.mutation { lease in
            let doomed = try storage.graph.withExclusive { () throws -> [LocalVolume] in
                let users = try storage.volumeUsers()
                let inFlight = try volumesInUseByChanges(excluding: lease)
                let doomed = try storage.volumes.all().filter { users[$0.name] == nil && !inFlight.contains($0.name) && (all || $0.isAnonymous) }
                for volume in doomed { try lease.add(.volume(volume.name)) }
                return doomed
            }
            var reclaimed: Int64 = 0
            for volume in doomed {
                reclaimed += try storage.volumes.size(of: volume)
                try storage.volumes.remove(volume.name, stagingSuffix: lease.id)
            }
            return (doomed.map(\.name), reclaimed)
        }
    }

    /// Volumes that changes in flight (other than `lease`'s) use or make.
    private func volumesInUseByChanges(excluding lease: Lease) throws -> Set<String> {
        Set(try storage.leases.liveEntries(excluding: [lease.id]).compactMap { line in
            if case .volume(let name)? = LeaseEntry(line) { name } else { nil }
        })
    }
}

extension LocalVolume {
    /// The volume as the API shows it: no labels or options are `null`, as Docker's nil maps.
    public var apiVolume: Volume {
        Volume(createdAt: createdAt, labels: labels.isEmpty ? nil : labels, mountpoint: mountpoint, name: name,
               options: options.isEmpty ? nil : options)
    }
}
