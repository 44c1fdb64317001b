/// A point in time with nanoseconds, as PAX records keep it.
public struct TarTime: Hashable, Sendable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: TarTime, rhs: TarTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

/// What an entry is. The raw type flag is kept in `TarHeader.typeflag` for round trips.
public enum TarEntryKind: Sendable, Equatable {
    case regular, hardLink, symbolicLink, characterDevice, blockDevice, directory, fifo
    /// A PAX global header ('g'), passed through as an entry of its own, as Go does.
    case globalExtendedHeader
    /// Any other type flag; its data (if any) is readable like a regular file's.
    case other(UInt8)
}

/// The tar format a header was read in, or should be written in.
public enum TarFormat: Sendable, Equatable {
    case v7, ustar, pax, gnu
}

/// One archive entry's metadata after PAX and GNU long-name records are merged into it.
///
/// Names are byte strings: tar does not promise UTF-8, and a layer must round-trip whatever
/// names it holds. `name` and `linkName` give the decoded view.
public struct TarHeader: Sendable, Equatable {
    public var nameBytes: [UInt8]
    public var linkNameBytes: [UInt8] = []
    /// The type flag byte: `'0'` regular, `'1'` hard link, `'2'` symlink, `'3'` char device, …
    public var typeflag: UInt8
    /// The mode field as stored: permissions with setuid/setgid/sticky, sometimes type bits.
    public var mode: Int64 = 0o644
    public var uid: Int = 0
    public var gid: Int = 0
    public var userName: String = ""
    public var groupName: String = ""
    /// The size field. Entries of header-only types (links, devices, dirs, FIFOs) carry no data
    /// whatever this says; see `dataSize`.
    public var size: Int64 = 0
    public var modificationTime = TarTime(seconds: 0)
    public var accessTime: TarTime?
    public var changeTime: TarTime?
    public var deviceMajor: UInt32 = 0
    public var deviceMinor: UInt32 = 0
    /// Extended attributes from `SCHILY.xattr.*` records, by attribute name.
    public var xattrs: [String: [UInt8]] = [:]
    /// PAX records other than the ones mapped to fields above, kept for round trips.
    public var paxRecords: [String: String] = [:]
    /// The format the header was read in.
    public var format: TarFormat = .pax

    public init(name: String, typeflag: UInt8) {
        self.nameBytes = Array(name.utf8)
        self.typeflag = typeflag
    }

    public init(nameBytes: [UInt8], typeflag: UInt8) {
        self.nameBytes = nameBytes
        self.typeflag = typeflag
    }

    public var name: String {
        get { String(decoding: nameBytes, as: UTF8.self) }
        set { nameBytes = Array(newValue.utf8) }
    }

    public var linkName: String {
        get { String(decoding: linkNameBytes, as: UTF8.self) }
        set { linkNameBytes = Array(newValue.utf8) }
    }

    public var kind: TarEntryKind {
        switch typeflag {
        case UInt8(ascii: "0"), UInt8(ascii: "7"): return .regular
        case 0: return nameBytes.last == UInt8(ascii: "/") ? .directory : .regular
        case UInt8(ascii: "1"): return .hardLink
        case UInt8(ascii: "2"): return .symbolicLink
        case UInt8(ascii: "3"): return .characterDevice
        case UInt8(ascii: "4"): return .blockDevice
        case UInt8(ascii: "5"): return .directory
        case UInt8(ascii: "6"): return .fifo
        case UInt8(ascii: "g"): return .globalExtendedHeader
        default: return .other(typeflag)
        }
    }

    /// How many bytes of data follow the header in the archive.
    public var dataSize: Int64 {
        switch kind {
        case .hardLink, .symbolicLink, .characterDevice, .blockDevice, .directory, .fifo, .globalExtendedHeader: return 0
        default: return size
        }
    }

    /// The permission bits with setuid, setgid and sticky (the low 12 bits of `mode`).
    public var permissions: UInt32 { UInt32(truncatingIfNeeded: mode & 0o7777) }
}

extension TarHeader {
    public static let regularFlag = UInt8(ascii: "0")
    public static let hardLinkFlag = UInt8(ascii: "1")
    public static let symbolicLinkFlag = UInt8(ascii: "2")
    public static let characterDeviceFlag = UInt8(ascii: "3")
    public static let blockDeviceFlag = UInt8(ascii: "4")
    public static let directoryFlag = UInt8(ascii: "5")
    public static let fifoFlag = UInt8(ascii: "6")
}
