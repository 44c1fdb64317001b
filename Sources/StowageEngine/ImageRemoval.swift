import StowageCore
import StowageFileSystem
import StowageImages
import StowageLayers

/// One step of an image removal, in the order Docker reports them: an image's names, then
/// the image, then the layers only it held, then the same for each untagged parent it took
/// along. The Engine API sends each as `{"Untagged": …}` or `{"Deleted": …}`.
public enum ImageRemovalEvent: Hashable, Sendable {
    case untagged(Reference)
    case deletedImage(ImageID)
    case deletedLayer(ChainID)

    /// The Engine API's key: `Untagged` or `Deleted`.
    public var kind: String {
        if case .untagged = self { "Untagged" } else { "Deleted" }
    }

    /// The reference (familiar, as `busybox:latest`) or the full digest.
    public var value: String {
        switch self {
        case .untagged(let reference): reference.familiarString
        case .deletedImage(let id): id.description
        case .deletedLayer(let chainID): chainID.description
        }
    }
}

/// Why an image cannot be deleted, as Docker's `checkImageDeleteConflict` decides: a hard
/// conflict (children, a running container) stands even when forced; a soft one (names, a
/// stopped container) only without force.
struct ImageDeleteConflict: Error {
    struct Kinds: OptionSet {
        let rawValue: Int
        static let dependentChild = Kinds(rawValue: 1)
        static let runningContainer = Kinds(rawValue: 2)
        static let activeReference = Kinds(rawValue: 4)
        static let stoppedContainer = Kinds(rawValue: 8)
        static let hard: Kinds = [.dependentChild, .runningContainer]
        static let all: Kinds = [.dependentChild, .runningContainer, .activeReference, .stoppedContainer]
    }

    let image: ImageID
    let isHard: Bool
    /// A container uses the image (as opposed to names or children keeping it).
    let isUsedByContainer: Bool
    let reason: String

    var error: StowageError {
        StowageError(.alreadyExists, "conflict: unable to delete \(image.shortForm) (\(isHard ? "cannot be forced" : "must be forced")) - \(reason)")
    }
}

extension ImageService {
    /// `rmi`: removes a name, and the image with its unused layers once no name is left (or
    /// at once with `force`), with the untagged parents nothing else keeps: Docker's
    /// `ImageDelete`, conflicts and messages included.
    ///
    /// Names and images go under the graph lock, with the layers' metadata; the layers'
    /// files are removed after it, announced in the lease so that a kill is finished later.
    public func remove(_ text: String, force: Bool) throws -> [ImageRemovalEvent] {
        try storage.mutation { lease in
            let (events, removals) = try storage.graph.withExclusive { try removeImageNow(text, force: force, lease: lease) }
            for layer in removals { try storage.layers.finishRemoval(layer.chainID) }
            return events
        }
    }

    private func removeImageNow(_ text: String, force: Bool, lease: Lease) throws -> ([ImageRemovalEvent], [LayerRecord]) {
        let id = try storage.resolveImage(text)
        let refs = try storage.references.references(to: id)
        var removal = ImageRemovalSteps()
        var lastNameRemoved = false
        if !Self.isIDPrefix(text, of: id) {
            // A name was given: it goes first, and the image only with the last of its names.
            if !force, Self.isSingleReference(refs), let user = try storage.containersUsing(id).first {
                throw StowageError(.alreadyExists, "conflict: unable to remove repository reference \"\(text)\" (must force) - container \(user.ID.prefix(12)) is using its referenced image \(id.shortForm)")
            }
            let named = try Reference(parsing: text)
            let reference = named.digest == nil ? named.withDefaultTag() : named
            var doomed = [reference]
            if reference.digest == nil, !refs.contains(where: { $0 != reference && $0.digest == nil && $0.name == reference.name }) {
                // No tag of that repository is left: its digests go with it.
                doomed += refs.filter { $0.digest != nil && $0.name == reference.name }
            }
            let remaining = refs.filter { !doomed.contains($0) }
            if remaining.isEmpty, try isDeletable(id, force: force, lease: lease) {
                // Announced before the names go, so that a kill leaves no nameless image behind.
                try removal.announce(id, in: lease, usedByContainers: force && !storage.containersUsing(id).isEmpty)
            }
            for name in doomed {
                try storage.references.remove(name)
                removal.events.append(.untagged(name))
            }
            guard remaining.isEmpty else { return (removal.events, []) }
            lastNameRemoved = true
        } else if Self.isSingleReference(refs) {
            // An ID with the names of one repository: they go, unless a container keeps the image.
            if let conflict = try deleteConflict(id, checking: force ? .hard : [.hard, .stoppedContainer]) { throw conflict.error }
            if try isHeldByChange(id, lease: lease) { throw changeConflict(id) }
            try removal.announce(id, in: lease, usedByContainers: force && !storage.containersUsing(id).isEmpty)
            for reference in refs {
                try storage.references.remove(reference)
                removal.events.append(.untagged(reference))
            }
        }
        try deleteWithParents(id, force: force, quietly: lastNameRemoved, into: &removal, lease: lease)
        return (removal.events, removal.layers)
    }

    /// Docker's `imageDeleteHelper`: deletes the image unless a conflict keeps it (ignored
    /// `quietly` when the image is still needed), then each parent that nothing keeps.
    private func deleteWithParents(_ id: ImageID, force: Bool, quietly: Bool, into removal: inout ImageRemovalSteps, lease: Lease) throws {
        var next: ImageID? = id
        var (force, quietly) = (force, quietly)
        while let image = next {
            if let conflict = try deleteConflict(image, checking: force ? .hard : .all) {
                if quietly, try !isDangling(image) || conflict.isUsedByContainer { return }
                throw conflict.error
            }
            if try isHeldByChange(image, lease: lease) {
                if quietly { return }
                throw changeConflict(image)
            }
            next = try storage.images.parent(of: image)
            try removal.announce(image, in: lease, usedByContainers: force && !storage.containersUsing(image).isEmpty)
            for reference in try storage.references.references(to: image) {
                try storage.references.remove(reference)
                removal.events.append(.untagged(reference))
            }
            let layers = try deleteImage(image, lease: lease)
            removal.events.append(.deletedImage(image))
            removal.events += layers.map { .deletedLayer($0.chainID) }
            removal.layers += layers
            (force, quietly) = (false, true)
        }
    }

    /// The first conflict of `kinds` that keeps the image, checked in Docker's order.
    private func deleteConflict(_ id: ImageID, checking kinds: ImageDeleteConflict.Kinds) throws -> ImageDeleteConflict? {
        if kinds.contains(.dependentChild), try storage.hasChildren(id) {
            return ImageDeleteConflict(image: id, isHard: true, isUsedByContainer: false, reason: "image has dependent child images")
        }
        let users = kinds.isDisjoint(with: [.runningContainer, .stoppedContainer]) ? [] : try storage.containersUsing(id)
        if kinds.contains(.runningContainer), let running = users.first(where: { $0.State?.Running == true }) {
            return ImageDeleteConflict(image: id, isHard: true, isUsedByContainer: true,
                                       reason: "image is being used by running container \(running.ID.prefix(12))")
        }
        if kinds.contains(.activeReference), try !storage.references.references(to: id).isEmpty {
            return ImageDeleteConflict(image: id, isHard: false, isUsedByContainer: false, reason: "image is referenced in multiple repositories")
        }
        if kinds.contains(.stoppedContainer), let stopped = users.first(where: { $0.State?.Running != true }) {
            return ImageDeleteConflict(image: id, isHard: false, isUsedByContainer: true,
                                       reason: "image is being used by stopped container \(stopped.ID.prefix(12))")
        }
        return nil
    }

    /// Whether `deleteWithParents` would delete the image once its names are gone.
    private func isDeletable(_ id: ImageID, force: Bool, lease: Lease) throws -> Bool {
        let kinds: ImageDeleteConflict.Kinds = force ? .hard : ImageDeleteConflict.Kinds.all.subtracting(.activeReference)
        return try deleteConflict(id, checking: kinds) == nil && !isHeldByChange(id, lease: lease)
    }

    /// Whether a load, create or commit in flight holds the image.
    private func isHeldByChange(_ id: ImageID, lease: Lease) throws -> Bool {
        try storage.imagesInUseByChanges(excludingLeases: [lease.id]).contains(id)
    }

    private func changeConflict(_ id: ImageID) -> StowageError {
        StowageError(.alreadyExists, "conflict: unable to delete \(id.shortForm) (cannot be forced) - image is in use by a change in progress (a load, create or commit of it)")
    }

    /// No name and no child image: what `images` shows as `<none>` and `prune` removes.
    private func isDangling(_ id: ImageID) throws -> Bool {
        try storage.references.references(to: id).isEmpty && !storage.hasChildren(id)
    }

    /// Whether `text` is the start of the image's ID (`sha256:c329…` or `c329…`), rather than a name.
    static func isIDPrefix(_ text: String, of id: ImageID) -> Bool {
        id.description.hasPrefix(text) || id.digest.hex.hasPrefix(text)
    }

    /// Docker's `isSingleReference`: every name is of one repository, with at most one tag.
    static func isSingleReference(_ refs: [Reference]) -> Bool {
        guard refs.count > 1 else { return refs.count == 1 }
        var tagged: Reference?
        var digestedRepositories = Set<String>()
        for reference in refs {
            if reference.digest != nil {
                digestedRepositories.insert(reference.name)
            } else if tagged == nil {
                tagged = reference
            } else {
                return false
            }
        }
        return digestedRepositories.count == 1 && digestedRepositories.contains((tagged ?? refs[0]).name)
    }

    /// Removes an image that no name points at, and begins removing every layer of it that
    /// nothing else uses (announced in `lease`), top first as Docker lists them. Holding the
    /// graph lock.
    func deleteImage(_ id: ImageID, lease: Lease) throws -> [LayerRecord] {
        let chain = ChainID.chain(of: try storage.images.config(id).rootFS.diffIDs)
        for chainID in chain { try lease.add(.layer(chainID)) }
        try storage.images.delete(id)
        let removals = try storage.beginRemovingUnusedLayers(Set(chain), excludingLeases: [lease.id])
        let order = Dictionary(uniqueKeysWithValues: chain.enumerated().map { ($1, $0) })
        return removals.sorted { order[$0.chainID, default: 0] > order[$1.chainID, default: 0] }
    }

    /// `image prune`: removes dangling images (every unused image with `all`). Returns what
    /// it removed and the bytes reclaimed.
    public func prune(all: Bool) throws -> (events: [ImageRemovalEvent], reclaimed: Int64) {
        try storage.mutation { lease in
            let removal = try storage.graph.withExclusive { try pruneImagesNow(all: all, lease: lease) }
            for layer in removal.layers { try storage.layers.finishRemoval(layer.chainID) }
            return (removal.events, removal.layers.reduce(0) { $0 + $1.size })
        }
    }

    /// Removes the images without children that qualify, and again while that leaves parents
    /// that now qualify: one prune empties a chain, as Docker's (whose delete of a child takes
    /// its untagged parents with it). Images a change in flight builds on stay.
    private func pruneImagesNow(all: Bool, lease: Lease) throws -> ImageRemovalSteps {
        var removal = ImageRemovalSteps()
        var kept = Set(try storage.listedContainers().compactMap(\.imageID))
        kept.formUnion(try storage.imagesInUseByChanges(excludingLeases: [lease.id]))
        while true {
            var removedAny = false
            for summary in try list() where all ? !summary.hasChildren : (summary.isDangling && !summary.hasChildren) {
                if kept.contains(summary.id) { continue }
                try removal.announce(summary.id, in: lease, usedByContainers: false)
                for reference in summary.references {
                    try storage.references.remove(reference)
                    removal.events.append(.untagged(reference))
                }
                let layers = try deleteImage(summary.id, lease: lease)
                removal.events.append(.deletedImage(summary.id))
                removal.events += layers.map { .deletedLayer($0.chainID) }
                removal.layers += layers
                removedAny = true
            }
            if !removedAny { break }
        }
        return removal
    }
}

/// What a removal did so far: the events to report and the layers whose files remain to
/// be removed once the graph lock is released.
private struct ImageRemovalSteps {
    var events: [ImageRemovalEvent] = []
    var layers: [LayerRecord] = []
    private var announced: Set<ImageID> = []

    /// Names the image in the lease, once, before any of its names or files go: a kill
    /// from then on is finished by recovery.
    mutating func announce(_ id: ImageID, in lease: Lease, usedByContainers: Bool) throws {
        guard announced.insert(id).inserted else { return }
        try lease.add(usedByContainers ? .deletingUsedImage(id) : .deletingImage(id))
    }
}
