import StowageTar

/// A header's fields as a comparable record (everything but the format it was read in).
struct HeaderFields: Equatable, CustomStringConvertible {
    let name: [UInt8], linkName: [UInt8], typeflag: UInt8, mode: Int64, uid: Int, gid: Int
    let userName: String, groupName: String, size: Int64, mtime: TarTime
    let deviceMajor: UInt32, deviceMinor: UInt32, xattrs: [String: [UInt8]]

    init(_ header: TarHeader) {
        name = header.nameBytes; linkName = header.linkNameBytes; typeflag = header.typeflag
        mode = header.mode; uid = header.uid; gid = header.gid
        userName = header.userName; groupName = header.groupName; size = header.size
        mtime = header.modificationTime; deviceMajor = header.deviceMajor; deviceMinor = header.deviceMinor
        xattrs = header.xattrs
    }

    var description: String {
        "\(String(decoding: name, as: UTF8.self)) type=\(Character(Unicode.Scalar(typeflag))) mode=\(String(mode, radix: 8)) "
            + "\(uid)/\(gid) size=\(size) mtime=\(mtime.seconds).\(mtime.nanoseconds) link=\(String(decoding: linkName, as: UTF8.self))"
    }
}

/// Reads every entry of a tar: headers and data.
func readAll(_ source: ByteSource) throws -> [(header: TarHeader, data: [UInt8])] {
    let reader = TarReader(source: source)
    var entries: [(header: TarHeader, data: [UInt8])] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while let header = try reader.next() {
        var data: [UInt8] = []
        while true {
            let got = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
            if got == 0 { break }
            data.append(contentsOf: chunk[0..<got])
        }
        entries.append((header, data))
    }
    return entries
}

/// Writes entries with `TarWriter`.
func writeAll(_ entries: [(header: TarHeader, data: [UInt8])]) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = TarWriter(sink: sink)
    for (header, data) in entries {
        try writer.writeHeader(header)
        try writer.write(data)
    }
    try writer.finish()
    return sink.bytes
}

func header(_ name: String, _ type: UInt8 = TarHeader.regularFlag, size: Int64 = 0, mode: Int64 = 0o644,
            link: String = "", configure: (inout TarHeader) -> Void = { _ in }) -> TarHeader {
    var header = TarHeader(name: name, typeflag: type)
    header.size = size
    header.mode = mode
    header.linkName = link
    header.modificationTime = TarTime(seconds: 1_700_000_000)
    header.userName = "root"
    header.groupName = "root"
    configure(&header)
    return header
}

/// Expects `body` to throw a `TarError` of the kind `matches` accepts.
func tarError(_ body: () throws -> Void) -> TarError? {
    do {
        try body()
        return nil
    } catch let error as TarError {
        return error
    } catch {
        return nil
    }
}
