#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StowageArchive
import StowageFileSystem
import StowageTar
import StowageTestSupport
import Testing

/// Tars written by other tools parse to the entries `tar -tv` lists, and survive a rewrite.
@Suite("Tars written by GNU tar, busybox and Python")
struct CrossWriterTests {
    /// A tree with every entry type, long names, odd modes and an xattr.
    static func makeTree(in work: TemporaryDirectory) throws -> String {
        let root = work.join("tree")
        let longDirectory = String(repeating: "long-directory-name/", count: 8)
        try shell("""
            set -e
            mkdir -p '\(root)' && cd '\(root)'
            mkdir -p etc tmp '\(longDirectory)' empty-dir
            printf 'hello\\n' > etc/motd
            head -c 1048576 /dev/urandom > random.bin
            : > empty-file
            printf x > setuid && chmod 4755 setuid
            printf y > setgid && chmod 2711 setgid
            chmod 1777 tmp
            ln -s ../etc/motd relative-link
            ln -s /etc/motd absolute-link
            ln etc/motd hard-link
            mkfifo fifo
            mknod char-device c 1 3
            mknod block-device b 7 99
            printf z > '\(longDirectory)a-file-with-a-rather-long-name-that-does-not-fit-in-one-hundred-bytes-at-all.txt'
            chown 1234:5678 etc/motd
            python3 -c "import os; os.setxattr('random.bin', 'user.stowage', b'value'); os.setxattr('setuid', 'security.capability', bytes([1,0,0,2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]))"
            touch -d '2024-01-02 03:04:05.123456789' etc/motd
            """)
        return root
    }

    static let writers: [(name: String, command: String)] = [
        ("gnu-pax", "tar --format=pax --xattrs --xattrs-include='*' -cf '$OUT' ."),
        ("gnu-gnu", "tar --format=gnu -cf '$OUT' ."),
        ("gnu-ustar-short", "tar --format=ustar -cf '$OUT' ./etc ./tmp ./setuid ./fifo ./char-device ./hard-link ./relative-link"),
        ("busybox", "busybox tar -cf '$OUT' ."),
        ("python-pax", "python3 -c \"import tarfile; t = tarfile.open('$OUT', 'w', format=tarfile.PAX_FORMAT); t.add('.'); t.close()\""),
        ("python-gnu", "python3 -c \"import tarfile; t = tarfile.open('$OUT', 'w', format=tarfile.GNU_FORMAT); t.add('.'); t.close()\""),
    ]

    @Test("entries match `tar -tv`, and a rewrite keeps every field", arguments: writers.map(\.name))
    func matchesTarListing(_ writer: String) throws {
        let work = try TemporaryDirectory("cross")
        let root = try Self.makeTree(in: work)
        let archive = work.join("\(writer).tar")
        let command = Self.writers.first { $0.name == writer }!.command.replacingOccurrences(of: "$OUT", with: archive)
        try shell(command, directory: root)

        let entries = try readAll(try FileSource(path: archive))
        let listing = try runProcess(["tar", "--numeric-owner", "--full-time", "-tvf", archive], environment: ["TZ": "UTC"])
        #expect(listing.status == 0)
        let expected = listing.output.split(separator: "\n").map(String.init)
        #expect(entries.count == expected.count)
        for (entry, line) in zip(entries, expected) {
            #expect(Self.listingLine(entry.header) == Self.normalize(line))
            if entry.header.kind == .regular { #expect(Int64(entry.data.count) == entry.header.size) }
        }

        // Written back by Stowage and read again: the same fields and data.
        let rewritten = try readAll(MemorySource(try writeAll(entries)))
        #expect(rewritten.map { HeaderFields($0.header) } == entries.map { HeaderFields($0.header) })
        #expect(rewritten.map(\.data) == entries.map(\.data))
        // ... and GNU tar lists the rewrite the same way.
        let rewrittenPath = try work.write("rewritten.tar", try writeAll(entries))
        let relisted = try runProcess(["tar", "--numeric-owner", "--full-time", "-tvf", rewrittenPath], environment: ["TZ": "UTC"])
        #expect(relisted.output == listing.output)
    }

    @Test("GNU tar's xattrs and sub-second times arrive through PAX records")
    func paxDetails() throws {
        let work = try TemporaryDirectory("pax")
        let root = try Self.makeTree(in: work)
        let archive = work.join("pax.tar")
        try shell("tar --format=pax --xattrs --xattrs-include='*' -cf '\(archive)' .", directory: root)
        let entries = try readAll(try FileSource(path: archive))
        let random = try #require(entries.first { $0.header.name == "./random.bin" })
        #expect(random.header.xattrs["user.stowage"] == Array("value".utf8))
        let capability = try #require(entries.first { $0.header.name == "./setuid" })
        #expect(capability.header.xattrs["security.capability"]?.count == 20)
        let motd = try #require(entries.first { $0.header.name == "./etc/motd" })
        #expect(motd.header.modificationTime.nanoseconds == 123_456_789)
        #expect(motd.header.uid == 1234 && motd.header.gid == 5678)
    }

    @Test("files over 8 GiB stream through in GNU base-256 and PAX form", arguments: ["gnu", "pax"])
    func largeFile(_ format: String) throws {
        let work = try TemporaryDirectory("large")
        let size: Int64 = (8 << 30) + 4097
        try shell("truncate -s \(size) big && printf end >> big", directory: work.path)
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "--format=\(format)", "-cf", "-", "big"]
        process.currentDirectoryURL = URL(fileURLWithPath: work.path)
        process.standardOutput = pipe
        try process.run()
        let source = FileSource(FileDescriptor(adopting: dup(pipe.fileHandleForReading.fileDescriptor), path: "tar output"))
        try pipe.fileHandleForReading.close()
        let reader = TarReader(source: source)
        let header = try #require(try reader.next())
        #expect(header.size == size + 3)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        var last: [UInt8] = []
        while true {
            let got = try reader.read(into: buffer)
            if got == 0 { break }
            total += Int64(got)
            last = Array(buffer[max(0, got - 3)..<got])
        }
        #expect(total == size + 3)
        #expect(last == Array("end".utf8))
        #expect(try reader.next() == nil)
        process.waitUntilExit()
    }

    // MARK: - `tar -tv` lines

    /// How GNU tar lists a header with `--numeric-owner --full-time` in UTC.
    static func listingLine(_ header: TarHeader) -> String {
        let typeChar: Character
        switch header.kind {
        case .directory: typeChar = "d"
        case .symbolicLink: typeChar = "l"
        case .characterDevice: typeChar = "c"
        case .blockDevice: typeChar = "b"
        case .fifo: typeChar = "p"
        case .hardLink: typeChar = "h"
        default: typeChar = "-"
        }
        let permissions = header.permissions
        var bits = Array("rwxrwxrwx")
        for index in 0..<9 where permissions & (0o400 >> UInt32(index)) == 0 { bits[index] = "-" }
        if permissions & 0o4000 != 0 { bits[2] = bits[2] == "x" ? "s" : "S" }
        if permissions & 0o2000 != 0 { bits[5] = bits[5] == "x" ? "s" : "S" }
        if permissions & 0o1000 != 0 { bits[8] = bits[8] == "x" ? "t" : "T" }
        let mode = String(typeChar) + String(bits)
        let size = (header.kind == .characterDevice || header.kind == .blockDevice)
            ? "\(header.deviceMajor),\(header.deviceMinor)" : String(header.kind == .hardLink || header.kind == .symbolicLink ? 0 : header.size)
        var time = tm()
        var seconds = time_t(header.modificationTime.seconds)
        gmtime_r(&seconds, &time)
        let date = String(format: "%04d-%02d-%02d %02d:%02d:%02d", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday,
                          time.tm_hour, time.tm_min, time.tm_sec)
        var fraction = ""
        if header.modificationTime.nanoseconds != 0 {
            fraction = String(format: ".%09d", header.modificationTime.nanoseconds)
            while fraction.hasSuffix("0") { fraction.removeLast() }
        }
        var line = "\(mode) \(header.uid)/\(header.gid) \(size) \(date)\(fraction) \(header.name)"
        if header.kind == .symbolicLink { line += " -> \(header.linkName)" }
        if header.kind == .hardLink { line += " link to \(header.linkName)" }
        return line
    }

    /// Collapses the column padding of a `tar -tv` line.
    static func normalize(_ line: String) -> String {
        line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
