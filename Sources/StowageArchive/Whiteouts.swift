/// The two whiteout encodings: AUFS/OCI names in tars, and overlayfs objects on disk.
public enum Whiteout {
    /// `.wh.NAME` in a layer tar deletes NAME from the layers below.
    public static let prefix = ".wh."
    /// `.wh..wh..opq` in a directory hides everything the layers below have in it.
    public static let opaqueMarker = ".wh..wh..opq"
    /// AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): never extracted.
    public static let metaPrefix = ".wh..wh."
    /// On overlay, an opaque directory carries this xattr set to `y`.
    public static let overlayOpaqueXattr = "trusted.overlay.opaque"

    /// How an apply writes whiteouts into the target directory.
    public enum Format: Sendable, Equatable {
        /// The target is a full copy of the parent (vfs, btrfs, overlay's legacy root):
        /// deletions are carried out.
        case plain
        /// The target is an overlayfs upper directory: a deletion becomes a 0/0 character
        /// device and an opaque directory gets `trusted.overlay.opaque=y`.
        case overlay
    }
}
