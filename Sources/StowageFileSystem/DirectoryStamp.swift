#if canImport(Glibc)
import Glibc
#endif
import StowageCore

/// What identifies a directory's list of entries without reading it: its device and inode
/// and its change and modification times, which the kernel sets whenever an entry is added,
/// removed or renamed.
///
/// A stamp can be trusted to tell "unchanged" only once it is settled: a change made within
/// the same tick of the filesystem's clock as the stamp itself would leave the times as they
/// were (the "racy git" problem). A stamp `isSettled` when the directory's last change is at
/// least `settlingTime` old: every later change then moves the times past it.
public struct DirectoryStamp: Sendable, Equatable {
    public let device: UInt64
    public let inode: UInt64
    public let changeSeconds: Int64
    public let changeNanoseconds: Int64
    public let modificationSeconds: Int64
    public let modificationNanoseconds: Int64

    /// Longer than the coarsest timestamp granularity Stowage's roots may have (one second).
    public static let settlingTime: Int64 = 2

    public init(device: UInt64, inode: UInt64, changeSeconds: Int64, changeNanoseconds: Int64,
                modificationSeconds: Int64, modificationNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.changeSeconds = changeSeconds
        self.changeNanoseconds = changeNanoseconds
        self.modificationSeconds = modificationSeconds
        self.modificationNanoseconds = modificationNanoseconds
    }

    public init(_ status: FileStatus) {
        self.init(device: status.device, inode: status.inode, changeSeconds: status.changeSeconds,
                  changeNanoseconds: status.changeNanoseconds, modificationSeconds: status.modificationSeconds,
                  modificationNanoseconds: status.modificationNanoseconds)
    }

    /// The directory's stamp now; nil when it cannot be read.
    public static func current(_ path: String) -> DirectoryStamp? {
        FileDescriptor.status(at: path).map(DirectoryStamp.init)
    }

    /// Whether the directory's last change is settled (see the type's comment). Take the
    /// stamp before reading the entries it stands for: a change made in between then makes
    /// the stamp differ later, never the other way round.
    public var isSettled: Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) - max(changeSeconds, modificationSeconds) >= Self.settlingTime
    }
}

extension CompactWriter {
    /// A stamp as six integers.
    public mutating func directoryStamp(_ stamp: DirectoryStamp) {
        for value in [Int64(bitPattern: stamp.device), Int64(bitPattern: stamp.inode), stamp.changeSeconds,
                      stamp.changeNanoseconds, stamp.modificationSeconds, stamp.modificationNanoseconds] {
            integer(value)
        }
    }
}

extension CompactReader {
    /// What `CompactWriter.directoryStamp(_:)` wrote.
    public mutating func directoryStamp() throws -> DirectoryStamp {
        DirectoryStamp(device: UInt64(bitPattern: try integer()), inode: UInt64(bitPattern: try integer()),
                       changeSeconds: try integer(), changeNanoseconds: try integer(),
                       modificationSeconds: try integer(), modificationNanoseconds: try integer())
    }
}
