import Foundation
import StowageFileSystem
import StowageTestSupport
import Testing

@Suite("Copying a layer tree exactly (the vfs driver's copy)")
struct TreeCopierTests {
    /// Every extended attribute of every path, without following symlinks.
    private func extendedAttributes(_ root: String) throws -> String {
        try runProcess(["getfattr", "-R", "-h", "-d", "-m", "-", "."], directory: root).output
    }

    /// Paths grouped by inode, for comparing hard links.
    private func linkGroups(_ root: String) throws -> Set<[String]> {
        let listing = try shell("cd '\(root)' && find . -type f -printf '%i %p\\n'")
        var groups: [String: [String]] = [:]
        for line in listing.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            groups[parts[0], default: []].append(parts[1])
        }
        return Set(groups.values.map { $0.sorted() })
    }

    @Test("contents, types, modes, owners, xattrs, hard links, devices and times survive")
    func exactCopy() throws {
        let work = try TemporaryDirectory("copy")
        let source = work.join("source"), copy = work.join("copy")
        try shell("""
            set -e
            mkdir -p '\(source)/dir/sub' '\(source)/sticky' '\(copy)'
            printf 'hello\\n' > '\(source)/dir/file'
            head -c 3000000 /dev/urandom > '\(source)/big'
            ln '\(source)/dir/file' '\(source)/dir/sub/hardlink'
            ln '\(source)/dir/file' '\(source)/hardlink-at-top'
            ln -s file '\(source)/dir/relative-link'
            ln -s /etc/passwd '\(source)/absolute-link'
            ln -s /nonexistent '\(source)/dangling'
            printf 'x' > '\(source)/setuid' && chmod 4755 '\(source)/setuid'
            chmod 1777 '\(source)/sticky'
            chmod 0700 '\(source)/dir/sub'
            mkfifo '\(source)/fifo'
            mknod '\(source)/null' c 1 3
            mknod '\(source)/block' b 7 200
            chown 1234:5678 '\(source)/dir/file'
            chown -h 42:43 '\(source)/dir/relative-link'
            setfattr -n user.note -v kept '\(source)/dir/file'
            setfattr -n trusted.overlay.opaque -v y '\(source)/dir/sub'
            setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= '\(source)/setuid'
            touch -h -d '2001-02-03 04:05:06.123456789' '\(source)/dir/relative-link' '\(source)/big'
            touch -d '1999-12-31 23:59:59' '\(source)/dir/sub' '\(source)/dir' '\(source)'
            """)
        try TreeCopier.copy(from: source, to: copy)

        let expected = try TreeSnapshot(source), actual = try TreeSnapshot(copy)
        #expect(actual == expected, "\(actual.difference(from: expected))")
        #expect(try extendedAttributes(copy) == (try extendedAttributes(source)))
        #expect(try linkGroups(copy) == (try linkGroups(source)))
        #expect(try linkGroups(copy).contains(["./dir/file", "./dir/sub/hardlink", "./hardlink-at-top"]))
    }
}
