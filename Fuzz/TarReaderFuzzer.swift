// libFuzzer target for StowageTar's TarReader (and, for inputs that parse, TarWriter).
//
// Built by Fuzz/run.sh: this file is compiled together with Sources/StowageTar/*.swift into
// one module named StowageTar, so no package build is involved.
//
// What counts as a bug: a crash, a trap (overflow, out-of-range index, precondition), a hang
// or a huge allocation on any input; thrown errors are the expected outcome for malformed
// input and are ignored. For inputs that parse without error, three invariants are checked
// with fatalError:
//   1. tar-split accounting: the `rawBytes` of every `next()` call, interleaved with the
//      entry data read after it, followed by `readTrailing`, reproduce the input exactly.
//   2. Round trip: every entry re-serialised with TarWriter (header, then exactly
//      `dataSize` bytes of the data read) parses again, without error, to the same number of
//      entries with equal name bytes, link name bytes, typeflag, mode, uid, gid, size,
//      modificationTime, deviceMajor/Minor, xattrs, userName and groupName (plus, as extras,
//      accessTime, changeTime, the remaining PAX records and the data itself).
//   3. The writer accepts every header the reader produced (it must not throw).
//
// Exclusions from the round trip (what TarWriter legitimately cannot express), decided from
// TarWriter.swift:
//   * PAX global headers (typeflag 'g') are left out of the re-serialised archive.
//     writeHeader() puts a header's records in a *local* 'x' header in front of the header
//     block, and the reader discards pending local records when it meets a 'g' block (it
//     reads the 'g' payload, here empty, as the global records), so a global header's
//     records cannot be reproduced through writeHeader(). They are dropped from the
//     comparison on both sides.
//   Nothing else is excluded: names and link names without NUL (the reader never produces a
//   NUL in them) go to PAX path/linkpath when they do not fit ustar; uid, gid, size and
//   mtime go to PAX when out of octal range; user/group names to PAX uname/gname; xattrs and
//   other PAX records are written back verbatim; mode and device numbers fall back to
//   base-256 when out of octal range, and an 8-byte base-256 field holds every value the
//   reader can produce there (-2^62 ... 2^62-1; device numbers are UInt32), so a mismatch
//   in those is a writer bug, not a limitation.
//
// The first parse uses the smallest TarReader buffer (512 bytes) and a cycle of read sizes
// (1, 7, 300, 4096, 65536 bytes) so that refills, partial copies and the large-read bypass
// are all exercised; the re-parse uses the default buffer and 64 KiB reads, as production
// code does. Both choices are fixed, so every input is reproducible.

#if canImport(Glibc)
import Glibc
#endif

private struct ParsedEntry {
    var header: TarHeader
    var data: [UInt8]
}

private struct ParsedArchive {
    var entries: [ParsedEntry]
    /// rawBytes, entry data and trailing bytes, in stream order.
    var reconstructed: [UInt8]
}

private let readSizes = [1, 7, 300, 4096, 65536]

private func parseArchive(_ bytes: [UInt8], bufferSize: Int, varyReadSizes: Bool) throws -> ParsedArchive {
    let reader = TarReader(source: MemorySource(bytes), bufferSize: bufferSize)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    defer { scratch.deallocate() }
    var readIndex = 0
    func nextReadSize() -> Int {
        guard varyReadSizes else { return scratch.count }
        defer { readIndex += 1 }
        return readSizes[readIndex % readSizes.count]
    }

    var entries: [ParsedEntry] = []
    var reconstructed: [UInt8] = []
    reconstructed.reserveCapacity(bytes.count)
    while let header = try reader.next() {
        reconstructed.append(contentsOf: reader.rawBytes)
        var data: [UInt8] = []
        while true {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<nextReadSize()])
            let got = try reader.read(into: chunk)
            if got == 0 { break }
            precondition(got > 0 && got <= chunk.count, "read returned \(got) for a \(chunk.count)-byte buffer")
            data.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<got]))
        }
        if Int64(data.count) != header.dataSize {
            fatalError("entry \(header.nameBytes): read \(data.count) bytes of data, dataSize says \(header.dataSize)")
        }
        reconstructed.append(contentsOf: data)
        entries.append(ParsedEntry(header: header, data: data))
    }
    // The call that returned nil consumed the end-of-archive blocks (and the last padding).
    reconstructed.append(contentsOf: reader.rawBytes)
    while true {
        let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<nextReadSize()])
        let got = try reader.readTrailing(into: chunk)
        if got == 0 { break }
        precondition(got > 0 && got <= chunk.count, "readTrailing returned \(got) for a \(chunk.count)-byte buffer")
        reconstructed.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<got]))
    }
    // Once finished, next() keeps returning nil.
    let afterEnd = try reader.next()
    precondition(afterEnd == nil, "next() returned an entry after the end of the archive")
    return ParsedArchive(entries: entries, reconstructed: reconstructed)
}

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes.prefix(256) {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xf)])
    }
    return bytes.count > 256 ? text + "…" : text
}

private func compare(_ first: ParsedEntry, _ second: ParsedEntry, index: Int) {
    let a = first.header
    let b = second.header
    func check(_ equal: Bool, _ field: String, _ left: Any, _ right: Any) {
        if !equal {
            fatalError("round trip changed \(field) of entry \(index) (\(hex(a.nameBytes))): \(left) -> \(right)")
        }
    }
    check(a.nameBytes == b.nameBytes, "nameBytes", hex(a.nameBytes), hex(b.nameBytes))
    check(a.linkNameBytes == b.linkNameBytes, "linkNameBytes", hex(a.linkNameBytes), hex(b.linkNameBytes))
    check(a.typeflag == b.typeflag, "typeflag", a.typeflag, b.typeflag)
    check(a.mode == b.mode, "mode", a.mode, b.mode)
    check(a.uid == b.uid, "uid", a.uid, b.uid)
    check(a.gid == b.gid, "gid", a.gid, b.gid)
    check(a.size == b.size, "size", a.size, b.size)
    check(a.modificationTime == b.modificationTime, "modificationTime", a.modificationTime, b.modificationTime)
    check(a.deviceMajor == b.deviceMajor, "deviceMajor", a.deviceMajor, b.deviceMajor)
    check(a.deviceMinor == b.deviceMinor, "deviceMinor", a.deviceMinor, b.deviceMinor)
    check(a.xattrs == b.xattrs, "xattrs", a.xattrs, b.xattrs)
    check(a.userName == b.userName, "userName", a.userName.debugDescription, b.userName.debugDescription)
    check(a.groupName == b.groupName, "groupName", a.groupName.debugDescription, b.groupName.debugDescription)
    // Extras beyond the required field list.
    check(a.accessTime == b.accessTime, "accessTime", String(describing: a.accessTime), String(describing: b.accessTime))
    check(a.changeTime == b.changeTime, "changeTime", String(describing: a.changeTime), String(describing: b.changeTime))
    check(a.paxRecords == b.paxRecords, "paxRecords", a.paxRecords, b.paxRecords)
    check(first.data == second.data, "data", hex(first.data), hex(second.data))
}

private func roundTrip(_ archive: ParsedArchive) {
    let kept = archive.entries.filter { $0.header.typeflag != UInt8(ascii: "g") }
    let sink = MemorySink()
    let writer = TarWriter(sink: sink)
    do {
        for entry in kept {
            try writer.writeHeader(entry.header)
            // Exactly dataSize bytes: parseArchive checked data.count == dataSize.
            try writer.write(entry.data)
        }
        try writer.finish()
    } catch {
        fatalError("TarWriter rejected a header TarReader produced: \(error)")
    }
    let again: ParsedArchive
    do {
        again = try parseArchive(sink.bytes, bufferSize: 1 << 20, varyReadSizes: false)
    } catch {
        fatalError("TarWriter output does not parse: \(error)\noutput: \(hex(sink.bytes))")
    }
    if again.entries.count != kept.count {
        fatalError("round trip has \(again.entries.count) entries instead of \(kept.count)")
    }
    for index in kept.indices {
        compare(kept[index], again.entries[index], index: index)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let archive: ParsedArchive
    do {
        archive = try parseArchive(input, bufferSize: TarBlock.size, varyReadSizes: true)
    } catch {
        return 0  // Malformed input: an error is the right answer.
    }
    if archive.reconstructed != input {
        fatalError("rawBytes + data + trailing (\(archive.reconstructed.count) bytes) do not reproduce the \(input.count)-byte input")
    }
    roundTrip(archive)
    return 0
}
