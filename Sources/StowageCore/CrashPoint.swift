#if canImport(Glibc)
import Glibc
#endif

/// Named places in multi-step changes where a crash must leave the data root consistent.
/// Crash tests set `STOWAGE_TEST_CRASH_AT=<name>`: the process then kills itself with
/// SIGKILL on reaching that place, exactly as a power cut or `kill -9` would stop it.
public enum CrashPoint: String, Sendable {
    /// A layer's files are applied; its metadata is not yet committed.
    case layerApplied = "layer-applied"
    /// All of an image's layers are stored; its config is not.
    case layersStored = "layers-stored"
    /// The image config is stored; its tags are not.
    case imageStored = "image-stored"
    /// The new repositories.json is written under a temporary name, not yet renamed.
    case referencesStaged = "references-staged"
    /// A container's init and writable layers exist; its `layerdb/mounts` entry does not.
    case containerLayersCreated = "container-layers-created"
    /// A container's layers and mount entry exist; its `config.v2.json` does not.
    case containerLayersRecorded = "container-layers-recorded"
    /// A commit's layer is registered; its image config is not stored.
    case commitLayerRegistered = "commit-layer-registered"
    /// A removed container's `config.v2.json` is gone; its layers are not.
    case containerUnlisted = "container-unlisted"
    /// A removed container's `mount-id` is gone; its driver layers are not.
    case containerLayerUnlisted = "container-layer-unlisted"

    private static let requested: String? = getenv("STOWAGE_TEST_CRASH_AT").map { String(cString: $0) }

    public func reached() {
        if Self.requested == rawValue { kill(getpid(), SIGKILL) }
    }
}
