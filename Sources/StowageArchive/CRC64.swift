import CStowageShim

/// CRC-64 with the ISO polynomial, as Go's `hash/crc64` with `crc64.ISO`: tar-split's
/// checksum of each file's payload.
public struct CRC64: Sendable, Equatable {
    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = stowage_crc64_iso_update(value, base, bytes.count)
    }

    /// The checksum as Go's `Sum(nil)` returns it: 8 bytes, big-endian.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}
