/// Offsets and encodings of the fields in a 512-byte tar header block.
enum TarBlock {
    static let size = 512
    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size_ = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeflag = 156
    static let linkName = 157..<257
    static let magic = 257..<263
    static let version = 263..<265
    static let userName = 265..<297
    static let groupName = 297..<329
    static let deviceMajor = 329..<337
    static let deviceMinor = 337..<345
    static let prefix = 345..<500
    static let gnuAccessTime = 345..<357
    static let gnuChangeTime = 357..<369

    static let ustarMagic: [UInt8] = Array("ustar\u{0}".utf8)
    static let ustarVersion: [UInt8] = Array("00".utf8)
    static let gnuMagic: [UInt8] = Array("ustar ".utf8)
    static let gnuVersion: [UInt8] = [UInt8(ascii: " "), 0]

    /// The largest PAX header or GNU long name accepted, as Go's archive/tar.
    static let maxSpecialSize: Int64 = 1 << 20
    /// Sizes beyond this (64 PiB) are taken as corrupt rather than real.
    static let maxEntrySize: Int64 = 1 << 56

    /// Unsigned and signed sums of the block with the checksum field read as spaces.
    static func checksums(_ block: UnsafeRawBufferPointer) -> (unsigned: Int64, signed: Int64) {
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for index in 0..<size {
            let byte = checksum.contains(index) ? UInt8(ascii: " ") : block[index]
            unsigned += Int64(byte)
            signed += Int64(Int8(bitPattern: byte))
        }
        return (unsigned, signed)
    }

    /// The bytes of a NUL-terminated field.
    static func string(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        var result: [UInt8] = []
        for index in range {
            let byte = block[index]
            if byte == 0 { break }
            result.append(byte)
        }
        return result
    }

    /// An octal or base-256 numeric field; nil if it holds anything else.
    static func number(_ block: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        let first = block[range.lowerBound]
        if first & 0x80 != 0 {
            // Base-256: two's complement, big-endian, the top bit of the first byte is a marker.
            let negative = first & 0x40 != 0
            var value: Int64 = 0
            for (position, index) in range.enumerated() {
                var byte = block[index]
                if position == 0 { byte &= 0x7f }
                if negative { byte ^= 0xff }
                if position == 0, negative { byte &= 0x7f }
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
                if overflow { return nil }
                value = shifted | Int64(byte)
            }
            return negative ? ~value : value
        }
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, block[start] == UInt8(ascii: " ") || block[start] == 0 { start += 1 }
        while end > start, block[end - 1] == UInt8(ascii: " ") || block[end - 1] == 0 { end -= 1 }
        var value: Int64 = 0
        for index in start..<end {
            let byte = block[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
