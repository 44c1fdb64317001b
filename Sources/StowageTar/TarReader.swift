/// Reads a tar stream entry by entry without holding more than a buffer of it in memory.
///
/// Accepts what `docker save`, Go's archive/tar, GNU tar, busybox tar and Python's tarfile
/// write: ustar, PAX (local and global), GNU long names and links, base-256 numbers.
/// For tar-split it also accounts for the raw bytes that are not file data: after `next()`,
/// `rawBytes` holds the previous entry's padding plus every header block and special-entry
/// payload consumed to reach this entry.
public final class TarReader {
    private let source: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var bufferStart = 0
    private var bufferEnd = 0
    private var sourceExhausted = false

    /// Bytes consumed from the source so far (the position in the tar stream).
    public private(set) var offset: Int64 = 0
    private var remainingData: Int64 = 0
    private var remainingPadding: Int64 = 0
    private var current: TarHeader?
    private var finished = false
    private var recording = false

    /// The raw bytes consumed by the last `next()` call that were not file data.
    public private(set) var rawBytes: [UInt8] = []

    /// - Parameters:
    ///   - source: the uncompressed tar stream.
    ///   - bufferSize: how much is read from the source at a time.
    public init(source: ByteSource, bufferSize: Int = 1 << 20) {
        self.source = source
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bufferSize, TarBlock.size), alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next entry's header, or nil at the end of the archive. Skips what is left of the
    /// current entry's data.
    public func next() throws -> TarHeader? {
        guard !finished else { return nil }
        rawBytes.removeAll(keepingCapacity: true)
        try skipRemainingData()
        recording = true
        defer { recording = false }
        try skip(remainingPadding)
        remainingPadding = 0
        current = nil

        var paxRecords: [(key: String, value: [UInt8])] = []
        var longName: [UInt8]?
        var longLink: [UInt8]?
        while true {
            let blockOffset = offset
            var block = [UInt8](repeating: 0, count: TarBlock.size)
            let got = try readFully(&block, allowEmpty: true)
            if got == 0 {
                // A stream that ends cleanly after an entry is accepted without the zero blocks.
                guard paxRecords.isEmpty, longName == nil, longLink == nil else {
                    throw TarError(.truncated, offset: blockOffset)
                }
                finished = true
                return nil
            }
            guard got == TarBlock.size else { throw TarError(.truncated, offset: blockOffset) }
            if block.allSatisfy({ $0 == 0 }) {
                let secondOffset = offset
                var second = [UInt8](repeating: 0, count: TarBlock.size)
                let gotSecond = try readFully(&second, allowEmpty: true)
                if gotSecond == 0 {
                    finished = true
                    return nil
                }
                guard gotSecond == TarBlock.size else { throw TarError(.truncated, offset: secondOffset) }
                guard second.allSatisfy({ $0 == 0 }) else { throw TarError(.invalidEndOfArchive, offset: secondOffset) }
                finished = true
                return nil
            }

            var header = try block.withUnsafeBytes { raw in try Self.parseBlock(raw, offset: blockOffset) }
            let size = header.size
            switch header.typeflag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let data = try readSpecial(size: size, offset: blockOffset, name: header.name)
                let records: [(key: String, value: [UInt8])]
                do {
                    records = try PAXRecords.parse(data)
                } catch let error as PAXParseError {
                    throw TarError(.invalidPAXRecord(error.reason), offset: blockOffset, entry: header.name)
                }
                if header.typeflag == UInt8(ascii: "g") {
                    var global = TarHeader(nameBytes: header.nameBytes, typeflag: header.typeflag)
                    global.format = .pax
                    global.size = 0
                    try Self.merge(records, into: &global, offset: blockOffset)
                    current = global
                    return global
                }
                paxRecords.append(contentsOf: records)
            case UInt8(ascii: "L"):
                longName = Self.trimNUL(try readSpecial(size: size, offset: blockOffset, name: header.name))
            case UInt8(ascii: "K"):
                longLink = Self.trimNUL(try readSpecial(size: size, offset: blockOffset, name: header.name))
            case UInt8(ascii: "S"):
                throw TarError(.unsupported("GNU sparse file"), offset: blockOffset, entry: header.name)
            default:
                if !paxRecords.isEmpty {
                    header.format = .pax
                    try Self.merge(paxRecords, into: &header, offset: blockOffset)
                }
                if let longName { header.nameBytes = longName }
                if let longLink { header.linkNameBytes = longLink }
                guard header.size >= 0, header.size <= TarBlock.maxEntrySize else {
                    throw TarError(.invalidSize(header.size), offset: blockOffset, entry: header.name)
                }
                remainingData = header.dataSize
                remainingPadding = Self.padding(for: remainingData)
                current = header
                return header
            }
        }
    }

    /// Reads the current entry's data; returns 0 at its end.
    public func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        guard remainingData > 0, destination.count > 0 else { return 0 }
        let wanted = Int(min(Int64(destination.count), remainingData))
        let got: Int
        if bufferStart < bufferEnd {
            got = min(wanted, bufferEnd - bufferStart)
            destination.baseAddress!.copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: got)
            bufferStart += got
        } else if wanted >= buffer.count / 2 {
            // Large reads bypass the buffer: one copy less.
            got = try readSource(into: UnsafeMutableRawBufferPointer(rebasing: destination[0..<wanted]))
        } else {
            try refill()
            got = min(wanted, bufferEnd - bufferStart)
            if got > 0 {
                destination.baseAddress!.copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: got)
                bufferStart += got
            }
        }
        guard got > 0 else { throw TarError(.truncated, offset: offset, entry: current?.name) }
        offset += Int64(got)
        remainingData -= Int64(got)
        return got
    }

    /// After `next()` returned nil: reads whatever follows the end-of-archive marker
    /// (record padding some writers add). Returns 0 at the end of the source.
    public func readTrailing(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(finished, "readTrailing is for after the end of the archive")
        if bufferStart < bufferEnd {
            let got = min(destination.count, bufferEnd - bufferStart)
            destination.baseAddress!.copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: got)
            bufferStart += got
            offset += Int64(got)
            return got
        }
        let got = try readSource(into: destination)
        offset += Int64(got)
        return got
    }

    // MARK: - Internals

    /// Errors of the source (I/O, decompression, limits) pass through unchanged: they are not
    /// faults of the tar stream.
    private func readSource(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !sourceExhausted else { return 0 }
        let got = try source.read(into: destination)
        if got == 0 { sourceExhausted = true }
        return got
    }

    private func refill() throws {
        bufferStart = 0
        bufferEnd = try readSource(into: buffer)
    }

    /// Reads up to `block.count` bytes; returns fewer only at the end of the stream.
    private func readFully(_ bytes: inout [UInt8], allowEmpty: Bool) throws -> Int {
        var filled = 0
        while filled < bytes.count {
            if bufferStart == bufferEnd {
                try refill()
                if bufferEnd == 0 { break }
            }
            let count = min(bytes.count - filled, bufferEnd - bufferStart)
            bytes.withUnsafeMutableBytes { destination in
                (destination.baseAddress! + filled).copyMemory(from: buffer.baseAddress! + bufferStart, byteCount: count)
            }
            bufferStart += count
            filled += count
        }
        offset += Int64(filled)
        if recording { rawBytes.append(contentsOf: bytes[0..<filled]) }
        return filled
    }

    private func skip(_ count: Int64) throws {
        var left = count
        var scratch = [UInt8](repeating: 0, count: Int(min(count, 64 * 1024)))
        while left > 0 {
            let chunk = Int(min(left, Int64(scratch.count)))
            var slice = [UInt8](repeating: 0, count: chunk)
            let got = try readFully(&slice, allowEmpty: false)
            guard got == chunk else { throw TarError(.truncated, offset: offset, entry: current?.name) }
            left -= Int64(got)
            scratch = slice
        }
    }

    private func skipRemainingData() throws {
        guard remainingData > 0 else { return }
        if let skippable = source as? SkippableByteSource, remainingData > Int64(bufferEnd - bufferStart) {
            let jump = remainingData - Int64(bufferEnd - bufferStart)
            offset += Int64(bufferEnd - bufferStart)
            bufferStart = bufferEnd
            try skippable.skip(jump)
            offset += jump
            remainingData = 0
            return
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { scratch.deallocate() }
        while remainingData > 0 {
            _ = try read(into: scratch)
        }
    }

    private func readSpecial(size: Int64, offset blockOffset: Int64, name: String) throws -> [UInt8] {
        guard size >= 0 else { throw TarError(.invalidSize(size), offset: blockOffset, entry: name) }
        guard size <= TarBlock.maxSpecialSize else {
            throw TarError(.specialEntryTooLarge(size), offset: blockOffset, entry: name)
        }
        var data = [UInt8](repeating: 0, count: Int(size))
        guard try readFully(&data, allowEmpty: false) == data.count else {
            throw TarError(.truncated, offset: offset, entry: name)
        }
        try skip(Self.padding(for: size))
        return data
    }

    static func padding(for size: Int64) -> Int64 {
        let remainder = size % Int64(TarBlock.size)
        return remainder == 0 ? 0 : Int64(TarBlock.size) - remainder
    }

    private static func trimNUL(_ bytes: [UInt8]) -> [UInt8] {
        if let nul = bytes.firstIndex(of: 0) { return Array(bytes[..<nul]) }
        return bytes
    }

    /// Parses and verifies one header block.
    static func parseBlock(_ block: UnsafeRawBufferPointer, offset: Int64) throws -> TarHeader {
        guard let stored = TarBlock.number(block, TarBlock.checksum) else {
            throw TarError(.invalidNumber(field: "checksum"), offset: offset)
        }
        let sums = TarBlock.checksums(block)
        guard stored == sums.unsigned || stored == sums.signed else {
            throw TarError(.checksumMismatch(stored: stored, computed: sums.unsigned), offset: offset)
        }
        let magic = Array(block[TarBlock.magic])
        let version = Array(block[TarBlock.version])
        let format: TarFormat
        if magic == TarBlock.ustarMagic, version == TarBlock.ustarVersion {
            format = .ustar
        } else if magic == TarBlock.gnuMagic, version == TarBlock.gnuVersion {
            format = .gnu
        } else {
            format = .v7
        }

        var header = TarHeader(nameBytes: TarBlock.string(block, TarBlock.name), typeflag: block[TarBlock.typeflag])
        let entryName = header.name
        func number(_ range: Range<Int>, _ field: String) throws -> Int64 {
            guard let value = TarBlock.number(block, range) else {
                throw TarError(.invalidNumber(field: field), offset: offset, entry: entryName)
            }
            return value
        }
        header.format = format
        header.mode = try number(TarBlock.mode, "mode")
        header.uid = Int(try number(TarBlock.uid, "uid"))
        header.gid = Int(try number(TarBlock.gid, "gid"))
        header.size = try number(TarBlock.size_, "size")
        header.modificationTime = TarTime(seconds: try number(TarBlock.mtime, "mtime"))
        header.linkNameBytes = TarBlock.string(block, TarBlock.linkName)
        if format != .v7 {
            header.userName = String(decoding: TarBlock.string(block, TarBlock.userName), as: UTF8.self)
            header.groupName = String(decoding: TarBlock.string(block, TarBlock.groupName), as: UTF8.self)
            header.deviceMajor = UInt32(truncatingIfNeeded: try number(TarBlock.deviceMajor, "devmajor"))
            header.deviceMinor = UInt32(truncatingIfNeeded: try number(TarBlock.deviceMinor, "devminor"))
        }
        switch format {
        case .ustar:
            let prefix = TarBlock.string(block, TarBlock.prefix)
            if !prefix.isEmpty { header.nameBytes = prefix + [UInt8(ascii: "/")] + header.nameBytes }
        case .gnu:
            if block[TarBlock.gnuAccessTime.lowerBound] != 0 {
                header.accessTime = TarTime(seconds: try number(TarBlock.gnuAccessTime, "atime"))
            }
            if block[TarBlock.gnuChangeTime.lowerBound] != 0 {
                header.changeTime = TarTime(seconds: try number(TarBlock.gnuChangeTime, "ctime"))
            }
        default:
            break
        }
        return header
    }

    /// Applies PAX records to a header, as Go's archive/tar mergePAX does.
    static func merge(_ records: [(key: String, value: [UInt8])], into header: inout TarHeader, offset: Int64) throws {
        let entry = header.name
        func decimal(_ value: [UInt8], _ key: String) throws -> Int64 {
            guard let number = Int64(String(decoding: value, as: UTF8.self)) else {
                throw TarError(.invalidPAXRecord("\(key) is not a decimal number"), offset: offset, entry: entry)
            }
            return number
        }
        func time(_ value: [UInt8], _ key: String) throws -> TarTime {
            guard let parsed = PAXRecords.time(value) else {
                throw TarError(.invalidPAXRecord("\(key) is not a timestamp"), offset: offset, entry: entry)
            }
            return parsed
        }
        for (key, value) in records {
            switch key {
            case PAXRecords.path: header.nameBytes = value
            case PAXRecords.linkPath: header.linkNameBytes = value
            case PAXRecords.userName: header.userName = String(decoding: value, as: UTF8.self)
            case PAXRecords.groupName: header.groupName = String(decoding: value, as: UTF8.self)
            case PAXRecords.uid: header.uid = Int(try decimal(value, key))
            case PAXRecords.gid: header.gid = Int(try decimal(value, key))
            case PAXRecords.size:
                let size = try decimal(value, key)
                guard size >= 0 else { throw TarError(.invalidSize(size), offset: offset, entry: entry) }
                header.size = size
            case PAXRecords.mtime: header.modificationTime = try time(value, key)
            case PAXRecords.atime: header.accessTime = try time(value, key)
            case PAXRecords.ctime: header.changeTime = try time(value, key)
            default:
                if key.hasPrefix(PAXRecords.xattrPrefix) {
                    header.xattrs[String(key.dropFirst(PAXRecords.xattrPrefix.count))] = value
                } else if key.hasPrefix("GNU.sparse.") {
                    throw TarError(.unsupported("GNU sparse file (PAX format)"), offset: offset, entry: entry)
                } else {
                    header.paxRecords[key] = String(decoding: value, as: UTF8.self)
                }
            }
        }
    }
}
