import StowageTar
import Testing

@Suite("Tar reader and writer")
struct TarCodecTests {
    static let allKinds: [(header: TarHeader, data: [UInt8])] = [
        (header("etc/", TarHeader.directoryFlag, mode: 0o755), []),
        (header("etc/motd", size: 6), Array("hello\n".utf8)),
        (header("bin/su", size: 3, mode: 0o4755), [1, 2, 3]),
        (header("tmp/", TarHeader.directoryFlag, mode: 0o1777), []),
        (header("usr/bin/sh", TarHeader.symbolicLinkFlag, mode: 0o777, link: "/bin/busybox"), []),
        (header("usr/bin/ls", TarHeader.hardLinkFlag, link: "etc/motd"), []),
        (header("dev/null", TarHeader.characterDeviceFlag, mode: 0o666) { $0.deviceMajor = 1; $0.deviceMinor = 3 }, []),
        (header("dev/sda", TarHeader.blockDeviceFlag, mode: 0o660) { $0.deviceMajor = 8; $0.deviceMinor = 0 }, []),
        (header("run/fifo", TarHeader.fifoFlag), []),
        (header(String(repeating: "d", count: 90) + "/" + String(repeating: "f", count: 90), size: 1), [7]),
        (header(String(repeating: "long/", count: 60) + "name", size: 0), []),
        (header("link-with-long-target", TarHeader.symbolicLinkFlag, link: String(repeating: "t/", count: 80)), []),
        (header("big-ids", size: 0) { $0.uid = 3_000_000; $0.gid = 70_000_000 }, []),
        (header("nanos", size: 0) { $0.modificationTime = TarTime(seconds: 1_700_000_000, nanoseconds: 123_456_789) }, []),
        (header("pre-epoch", size: 0) { $0.modificationTime = TarTime(seconds: -100, nanoseconds: 500_000_000) }, []),
        (header("xattrs", size: 2) { $0.xattrs = ["user.bin": [0, 255, 10, 61], "security.capability": [1, 0, 0, 2]] }, [9, 9]),
        (header("names", size: 0) { $0.userName = "a-very-long-user-name-longer-than-32-bytes"; $0.groupName = "staff" }, []),
        (header("unicode-é-名前", size: 1), [1]),
        (header("empty", size: 0), []),
        (header("exact-block", size: 512), [UInt8](repeating: 0x5a, count: 512)),
    ]

    @Test("every field of every entry type survives write then read")
    func roundTrip() throws {
        let bytes = try writeAll(Self.allKinds)
        #expect(bytes.count % 512 == 0)
        let read = try readAll(MemorySource(bytes))
        #expect(read.count == Self.allKinds.count)
        for (original, parsed) in zip(Self.allKinds, read) {
            #expect(HeaderFields(parsed.header) == HeaderFields(original.header))
            #expect(parsed.data == original.data, "\(original.header.name)")
        }
        // Written again, the stream is identical: the writer is deterministic.
        #expect(try writeAll(read) == bytes)
    }

    @Test("sizes over 8 GiB are carried in a PAX record")
    func largeSizeHeader() throws {
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        try writer.writeHeader(header("huge", size: 9 << 30))
        let reader = TarReader(source: MemorySource(sink.bytes))
        #expect(try reader.next()?.size == 9 << 30)
    }

    @Test("base-256 numeric fields are read")
    func base256() throws {
        var block = try writeAll([(header("b256", size: 0), [])])
        // size field (124..<136): 0x80 marker then big-endian 10 GiB.
        let size: Int64 = 10 << 30
        block[124] = 0x80
        for index in 1..<12 { block[124 + index] = UInt8(truncatingIfNeeded: size >> (8 * Int64(11 - index))) }
        reseal(&block)
        let reader = TarReader(source: MemorySource(Array(block[0..<512])))
        #expect(try reader.next()?.size == size)
    }

    /// Modes beyond octal's 7 digits; -779069751892298496 is what the fuzzer found truncated.
    static let base256Modes: [Int64] = [1 << 56, (1 << 62) - 1, -1, -(1 << 56) - 1, -779_069_751_892_298_496, -(1 << 62)]

    @Test("base-256 mode and device numbers use the whole field (fuzzer regression)",
          arguments: base256Modes)
    func base256RoundTrip(mode: Int64) throws {
        let entry = header("m", mode: mode) { $0.deviceMajor = .max; $0.deviceMinor = 1 << 31 }
        let read = try readAll(MemorySource(try writeAll([(entry, [])])))
        #expect(read.first?.header.mode == mode)
        #expect(read.first?.header.deviceMajor == .max)
        #expect(read.first?.header.deviceMinor == 1 << 31)
    }

    @Test("a mode that no 8-byte base-256 field holds is refused, not truncated")
    func base256Overflow() {
        let writer = TarWriter(sink: MemorySink())
        guard case .invalidHeader = tarError({ try writer.writeHeader(header("m", mode: 1 << 62)) })?.kind else {
            Issue.record("mode 2^62 accepted"); return
        }
    }

    @Test("raw bytes account for every non-data byte, so tar-split can rebuild the stream")
    func rawAccounting() throws {
        let bytes = try writeAll(Self.allKinds)
        let reader = TarReader(source: MemorySource(bytes))
        var rebuilt: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while let _ = try reader.next() {
            rebuilt += reader.rawBytes
            while true {
                let got = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
                if got == 0 { break }
                rebuilt += chunk[0..<got]
            }
        }
        rebuilt += reader.rawBytes
        #expect(rebuilt == bytes)
    }

    // MARK: - Bad input

    @Test("a stream cut inside a header is a truncation error with its offset")
    func truncatedHeader() throws {
        let bytes = try writeAll(Self.allKinds)
        let error = tarError { _ = try readAll(MemorySource(Array(bytes[0..<(512 + 300)]))) }
        #expect(error?.kind == .truncated)
        #expect(error?.offset == 512)
    }

    @Test("a stream cut inside a file's data is a truncation error naming the entry")
    func truncatedData() throws {
        let bytes = try writeAll([(header("data", size: 2000), [UInt8](repeating: 1, count: 2000))])
        let error = tarError { _ = try readAll(MemorySource(Array(bytes[0..<1500]))) }
        #expect(error?.kind == .truncated)
        #expect(error?.entry == "data")
    }

    @Test("a header whose checksum does not match is refused")
    func checksumMismatch() throws {
        var bytes = try writeAll([(header("file", size: 0), [])])
        bytes[0] = UInt8(ascii: "g")
        let error = tarError { _ = try readAll(MemorySource(bytes)) }
        guard case .checksumMismatch = error?.kind else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test("a PAX record that lies about its length is refused", arguments: [
        "30 path=short\n", "12 path=longer-than-twelve\n", "x path=a\n", "9 pathnoequals\n", "5 a=b\n",
    ])
    func lyingPAXRecord(_ record: String) throws {
        let bytes = paxArchive(record)
        let error = tarError { _ = try readAll(MemorySource(bytes)) }
        guard case .invalidPAXRecord = error?.kind else { Issue.record("\(record): got \(String(describing: error))"); return }
    }

    @Test("negative and absurd sizes are refused")
    func badSizes() throws {
        var block = try writeAll([(header("neg", size: 0), [])])
        for index in 124..<136 { block[index] = 0xff }  // base-256 -1
        reseal(&block)
        let negative = tarError { _ = try readAll(MemorySource(block)) }
        #expect(negative?.kind == .invalidSize(-1))

        let absurd = tarError { _ = try readAll(MemorySource(paxArchive("28 size=1152921504606846976\n"))) }
        #expect(absurd?.kind == .invalidSize(1 << 60))
        let notNumber = tarError { _ = try readAll(MemorySource(paxArchive("30 size=99999999999999999999\n"))) }
        guard case .invalidPAXRecord = notNumber?.kind else { Issue.record("got \(String(describing: notNumber))"); return }
    }

    @Test("a non-octal numeric field is refused")
    func badOctal() throws {
        var block = try writeAll([(header("octal", size: 0), [])])
        block[100] = UInt8(ascii: "9")
        reseal(&block)
        #expect(tarError { _ = try readAll(MemorySource(block)) }?.kind == .invalidNumber(field: "mode"))
    }

    @Test("a zero block followed by data is refused")
    func badEndOfArchive() throws {
        var bytes = [UInt8](repeating: 0, count: 512)
        bytes += try writeAll([(header("after", size: 0), [])])
        #expect(tarError { _ = try readAll(MemorySource(bytes)) }?.kind == .invalidEndOfArchive)
    }

    @Test("a GNU long name over 1 MiB is refused")
    func hugeLongName() throws {
        var block = try writeAll([(header("././@LongLink", UInt8(ascii: "L"), size: 0), [])])
        let size = String(2 << 20, radix: 8)
        let field = Array((String(repeating: "0", count: 11 - size.count) + size).utf8)
        for (index, byte) in field.enumerated() { block[124 + index] = byte }
        reseal(&block)
        #expect(tarError { _ = try readAll(MemorySource(Array(block[0..<512]))) }?.kind == .specialEntryTooLarge(2 << 20))
    }

    @Test("a stream without end-of-archive blocks ends cleanly after its last entry")
    func missingTrailer() throws {
        let bytes = try writeAll([(header("a", size: 3), [1, 2, 3])])
        let read = try readAll(MemorySource(Array(bytes[0..<1024])))
        #expect(read.map(\.header.name) == ["a"])
    }

    @Test("GNU sparse files are refused clearly")
    func sparse() throws {
        var block = try writeAll([(header("sparse", UInt8(ascii: "S"), size: 0), [])])
        reseal(&block)
        guard case .unsupported = tarError({ _ = try readAll(MemorySource(block)) })?.kind else {
            Issue.record("sparse accepted"); return
        }
    }
}

/// Recomputes a header block's checksum after a test edited it.
func reseal(_ bytes: inout [UInt8]) {
    var sum = 0
    for index in 0..<512 { sum += (148..<156).contains(index) ? 32 : Int(bytes[index]) }
    let text = Array(String(sum, radix: 8).utf8)
    let field = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - text.count) + text + [0, 32]
    for (index, byte) in field.enumerated() { bytes[148 + index] = byte }
}

/// An archive with one PAX header holding `record` verbatim, then a file.
func paxArchive(_ record: String) -> [UInt8] {
    let data = Array(record.utf8)
    var pax = (try? writeAll([(header("PaxHeaders/f", UInt8(ascii: "x"), size: Int64(data.count)), data)])) ?? []
    pax.removeLast(1024)  // drop the end-of-archive blocks
    let file = (try? writeAll([(header("f", size: 0), [])])) ?? []
    return pax + file
}
