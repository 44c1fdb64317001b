import StowageCore
import Testing

/// Cases are taken from distribution/reference's normalize_test.go and reference_test.go
/// where they exist there, and checked against that package's `ParseNormalizedNamed`,
/// `String`, `FamiliarString` and `FamiliarName`.
@Suite("Image references, parsed and normalised as Docker does")
struct ReferenceTests {
    static let redisDigest = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
    static let busyboxDigest = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    static let fDigest = "sha256:" + String(repeating: "f", count: 64)
    static let zeroDigest = "sha256:" + String(repeating: "0", count: 64)
    static let hex64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
    static let hex63 = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
    static let tag128 = String(repeating: "t", count: 128)
    /// The longest path Docker accepts, 255 characters.
    static let path255 = String(repeating: "p", count: 255)
    /// A single component that `library/` brings to exactly 255 characters.
    static let name247 = String(repeating: "n", count: 247)

    static let validCases: [(String, String, String)] = [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
        ("ubuntu", "docker.io/library/ubuntu", "ubuntu"),
        ("docker.io/library/ubuntu:latest", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
        ("library/debian", "docker.io/library/debian", "debian"),
        ("docker.io/debian", "docker.io/library/debian", "debian"),
        ("index.docker.io/debian", "docker.io/library/debian", "debian"),
        ("index.docker.io/library/debian", "docker.io/library/debian", "debian"),
        ("index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker"),
        ("docker/docker", "docker.io/docker/docker", "docker/docker"),
        ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest", "dmcgowan/myapp:latest"),
        ("library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
        ("docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
        ("store/foo/bar", "docker.io/store/foo/bar", "store/foo/bar"),
        ("other/library", "docker.io/other/library", "other/library"),
        ("ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "ubuntu-12.04-base"),
        ("localhost", "docker.io/library/localhost", "localhost"),
        ("localhost/x", "localhost/x", "localhost/x"),
        ("localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag"),
        ("localhost:5000/a/b@" + zeroDigest, "localhost:5000/a/b@" + zeroDigest, "localhost:5000/a/b@" + zeroDigest),
        ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker"),
        ("192.168.0.1", "docker.io/library/192.168.0.1", "192.168.0.1"),
        ("192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80"),
        ("192.168.0.1:8/debian", "192.168.0.1:8/debian", "192.168.0.1:8/debian"),
        ("[fc00::1]:5000/docker", "[fc00::1]:5000/docker", "[fc00::1]:5000/docker"),
        ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian"),
        ("[2001:db8::1]/repo", "[2001:db8::1]/repo", "[2001:db8::1]/repo"),
        ("[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x"),
        ("[2001:db8::1]:5000/repo:tag@" + fDigest, "[2001:db8::1]:5000/repo:tag@" + fDigest, "[2001:db8::1]:5000/repo:tag@" + fDigest),
        ("a.b.c/d", "a.b.c/d", "a.b.c/d"),
        ("Example.com/lower", "Example.com/lower", "Example.com/lower"),
        ("Docker/docker", "Docker/docker", "Docker/docker"),
        ("DOCKER/docker", "DOCKER/docker", "DOCKER/docker"),
        ("test_com/foo", "docker.io/test_com/foo", "test_com/foo"),
        ("test-com:8080/foo", "test-com:8080/foo", "test-com:8080/foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"),
        ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com"),
        ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"),
        ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"),
        ("a_b.c/d", "a_b.c/d", "a_b.c/d"),
        ("lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"),
        ("x:v1.0-rc_2", "docker.io/library/x:v1.0-rc_2", "x:v1.0-rc_2"),
        ("x:_underscore", "docker.io/library/x:_underscore", "x:_underscore"),
        ("x:" + tag128, "docker.io/library/x:" + tag128, "x:" + tag128),
        ("redis@" + redisDigest, "docker.io/library/redis@" + redisDigest, "redis@" + redisDigest),
        ("dmcgowan/myapp@" + redisDigest, "docker.io/dmcgowan/myapp@" + redisDigest, "dmcgowan/myapp@" + redisDigest),
        ("busybox:latest@" + busyboxDigest, "docker.io/library/busybox:latest@" + busyboxDigest, "busybox:latest@" + busyboxDigest),
        ("docker.io/" + hex64, "docker.io/library/" + hex64, hex64),
        (hex64 + ":tag", "docker.io/library/" + hex64 + ":tag", hex64 + ":tag"),
        (hex63, "docker.io/library/" + hex63, hex63),
        ("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
         "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
         "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"),
        ("docker---rules/docker", "docker.io/docker---rules/docker", "docker---rules/docker"),
        ("dock__er/docker", "docker.io/dock__er/docker", "dock__er/docker"),
        ("d/docker", "docker.io/d/docker", "d/docker"),
        ("jess/t", "docker.io/jess/t", "jess/t"),
        ("a.b", "docker.io/library/a.b", "a.b"),
        ("a_b", "docker.io/library/a_b", "a_b"),
        ("a-b---c", "docker.io/library/a-b---c", "a-b---c"),
        ("example.com/" + path255, "example.com/" + path255, "example.com/" + path255),
        (name247 + ":tag", "docker.io/library/" + name247 + ":tag", name247 + ":tag"),
    ]

    /// Input, normalised form (`String()`), familiar form (`FamiliarString`).
    @Test("valid references normalise as Docker's", arguments: validCases)
    func valid(_ input: String, _ normalised: String, _ familiar: String) throws {
        let reference = try Reference(parsing: input)
        #expect(reference.description == normalised)
        #expect(reference.familiarString == familiar)
        #expect(try Reference(parsing: normalised) == reference, "the normalised form parses to the same reference")
        if familiar != Self.hex64 {  // the one familiar form Docker itself refuses to parse
            #expect(try Reference(parsing: familiar) == reference, "the familiar form parses to the same reference")
        }
    }

    static let partCases: [(String, String, String, String)] = [
        ("fooo/bar", "docker.io", "fooo/bar", "fooo/bar"),
        ("index.docker.io/fooo/bar", "docker.io", "fooo/bar", "fooo/bar"),
        ("library/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "nonlibrary/ubuntu"),
        ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", "127.0.0.1:8000/private/moonbase"),
        ("example.com:8000/privatebasee", "example.com:8000", "privatebasee", "example.com:8000/privatebasee"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "library/foo/bar"),
        ("Foo/bar", "Foo", "bar", "Foo/bar"),
        ("test.com/foo", "test.com", "foo", "test.com/foo"),
        ("test_com/foo", "docker.io", "test_com/foo", "test_com/foo"),
        ("foo", "docker.io", "library/foo", "foo"),
        ("localhost:5000/a/b:tag", "localhost:5000", "a/b", "localhost:5000/a/b"),
        ("[::1]:5000/x", "[::1]:5000", "x", "[::1]:5000/x"),
        ("a_b.c/d", "", "a_b.c/d", "a_b.c/d"),
    ]

    /// Input, domain, path, familiar name (normalize_test.go's repository info and split cases).
    @Test("domain, path and familiar name", arguments: partCases)
    func parts(_ input: String, _ domain: String, _ path: String, _ familiarName: String) throws {
        let reference = try Reference(parsing: input)
        #expect(reference.domain == domain)
        #expect(reference.path == path)
        #expect(reference.familiarName == familiarName)
        #expect(reference.name == (domain.isEmpty ? path : domain + "/" + path))
    }

    @Test("tag and digest are both kept")
    func tagAndDigest() throws {
        let reference = try Reference(parsing: "busybox:latest@" + Self.busyboxDigest)
        #expect(reference.tag == "latest")
        #expect(reference.digest == (try Digest(parsing: Self.busyboxDigest)))
        #expect(reference.name == "docker.io/library/busybox")
        #expect(reference.familiarName == "busybox")
        let untagged = try Reference(parsing: "busybox")
        #expect(untagged.tag == nil)
        #expect(untagged.digest == nil)
    }

    static let invalidCases: [(String, String)] = [
        ("", "invalid reference format"),
        ("Uppercase", "invalid reference format: repository name (library/Uppercase) must be lowercase"),
        ("docker/Docker", "invalid reference format: repository name (docker/Docker) must be lowercase"),
        ("docker.io/docker/Docker", "repository name (docker/Docker) must be lowercase"),
        ("test:5000/Uppercase/lowercase:tag", "repository name (Uppercase/lowercase) must be lowercase"),
        ("Ä", "must be lowercase"),
        ("a//b", "invalid reference format"),
        ("docker///docker", "invalid reference format"),
        ("docker.io/docker///docker", "invalid reference format"),
        ("-a", "invalid reference format"),
        ("a-", "invalid reference format"),
        ("-docker/docker", "invalid reference format"),
        ("docker-/docker", "invalid reference format"),
        ("-docker.io/docker/docker", "invalid reference format"),
        ("_docker/_docker", "invalid reference format"),
        ("____/____", "invalid reference format"),
        ("a..b", "invalid reference format"),
        ("dock_.er/docker", "invalid reference format"),
        ("dock-.er/docker", "invalid reference format"),
        ("a___b", "invalid reference format"),
        (":tag", "invalid reference format"),
        ("a:", "invalid reference format"),
        ("a:tag:tag", "invalid reference format"),
        ("a:-tag", "invalid reference format"),
        ("a:" + String(repeating: "t", count: 129), "invalid reference format"),
        ("@" + fDigest, "invalid reference format"),
        ("a@sha256:short", "invalid reference format"),
        ("a@sha256:abc", "invalid reference format"),
        ("a@" + fDigest + "@" + fDigest, "invalid reference format"),
        ("repo@sha256:" + String(repeating: "f", count: 34), "invalid checksum digest length"),
        ("repo@sha256:" + String(repeating: "f", count: 65), "invalid checksum digest length"),
        ("repo@sha256:" + String(repeating: "F", count: 64), "invalid checksum digest format"),
        ("validname@invaliddigest:" + String(repeating: "f", count: 64), "unsupported digest algorithm"),
        ("validname:t@Invalid:" + String(repeating: "f", count: 64), "invalid checksum digest format"),
        // Docker checks case up to the first colon, so an untagged digest's algorithm counts as the name.
        ("validname@Invalid:" + String(repeating: "f", count: 64), "repository name (library/validname@Invalid) must be lowercase"),
        (hex64, "invalid repository name (\(hex64)), cannot specify 64-byte hexadecimal strings"),
        ("a/", "invalid reference format"),
        ("docker/", "invalid reference format"),
        ("a/b/", "invalid reference format"),
        ("/a", "invalid reference format"),
        ("a b", "invalid reference format"),
        ("a/b c", "invalid reference format"),
        ("a\n", "invalid reference format"),
        ("ä", "invalid reference format"),
        ("aa/asdf$$^/aa", "invalid reference format"),
        ("https://github.com/docker/docker", "invalid reference format"),
        ("[fc00::1]", "invalid reference format"),
        ("[fc00::1]:5000", "invalid reference format"),
        ("fc00::1:5000/debian", "invalid reference format"),
        ("[fe80::1%eth0]:5000/debian", "invalid reference format"),
        ("[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid reference format"),
        ("example.com:port/a", "invalid reference format"),
        ("example.com:/a", "invalid reference format"),
        ("-host.com/a", "invalid reference format"),
        ("host-.com/a", "invalid reference format"),
        ("foo_bar.com:8080/x", "invalid reference format"),
        ("example.com/" + path255 + "p", "repository name must not be more than 255 characters"),
        (name247 + "n", "repository name must not be more than 255 characters"),
        (String(repeating: "a/", count: 128) + "a:tag", "repository name must not be more than 255 characters"),
    ]

    /// Input and a fragment of the message Docker gives for it.
    @Test("invalid references are refused with Docker's message", arguments: invalidCases)
    func invalid(_ input: String, _ message: String) {
        let error = #expect(throws: StowageError.self, "\(input)") { try Reference(parsing: input) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(message) == true, "\(input): \(error.map { "\($0)" } ?? "no error")")
    }

    @Test("a well-formed digest other than sha256 is refused as unsupported")
    func otherAlgorithms() {
        for (algorithm, length) in [("sha384", 96), ("sha512", 128)] {
            let input = "busybox@\(algorithm):" + String(repeating: "a", count: length)
            let error = #expect(throws: StowageError.self) { try Reference(parsing: input) }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("only sha256 is supported") == true)
        }
        // Docker's own checks come first.
        let short = #expect(throws: StowageError.self) { try Reference(parsing: "busybox@sha512:" + String(repeating: "a", count: 64)) }
        #expect(short?.message == "invalid checksum digest length")
    }

    @Test("a default tag is added only when there is neither tag nor digest")
    func defaultTag() throws {
        #expect(try Reference(parsing: "busybox").withDefaultTag().description == "docker.io/library/busybox:latest")
        #expect(try Reference(parsing: "busybox").withDefaultTag().familiarString == "busybox:latest")
        #expect(try Reference(parsing: "localhost:5000/a").withDefaultTag().familiarString == "localhost:5000/a:latest")
        #expect(try Reference(parsing: "busybox:1").withDefaultTag().familiarString == "busybox:1")
        let digested = "busybox@" + Self.busyboxDigest
        #expect(try Reference(parsing: digested).withDefaultTag().familiarString == digested)
        #expect(Reference.defaultTag == "latest")
    }

    @Test("withTag, withDigest and nameOnly keep the rest as Docker's WithTag and WithDigest do")
    func derived() throws {
        #expect(try Reference(parsing: "a/b").withTag("v2").description == "docker.io/a/b:v2")
        #expect(try Reference(parsing: "a/b:v1").withTag("TAG5").familiarString == "a/b:TAG5")
        let digested = try Reference(parsing: "a@" + Self.fDigest)
        #expect(try digested.withTag("t").familiarString == "a:t@" + Self.fDigest)
        let error = #expect(throws: StowageError.self) { try Reference(parsing: "a").withTag("-foo") }
        #expect(error?.message == "invalid tag format")
        #expect(throws: StowageError.self) { try Reference(parsing: "a").withTag("bad tag") }
        let digest = try Digest(parsing: Self.zeroDigest)
        #expect(try Reference(parsing: "a:t").withDigest(digest).description == "docker.io/library/a:t@" + Self.zeroDigest)
        #expect(try Reference(parsing: "a:t@" + Self.fDigest).nameOnly.description == "docker.io/library/a")
    }

    static let tagCases: [(String, Bool)] = [
        ("latest", true), ("1.36", true), ("_x", true), ("V1.0-rc_2", true), ("a", true),
        (tag128, true), (tag128 + "t", false), ("", false), ("-x", false), (".x", false),
        ("a:b", false), ("a/b", false), ("a b", false), ("a@b", false), ("é", false),
    ]

    @Test("isValidTag follows [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", arguments: tagCases)
    func tags(_ tag: String, _ valid: Bool) {
        #expect(Reference.isValidTag(tag) == valid)
    }

    @Test("equal references hash alike, whatever form they were written in")
    func equality() throws {
        let forms = ["busybox", "library/busybox", "docker.io/busybox", "index.docker.io/library/busybox", "docker.io/library/busybox"]
        let references = try forms.map { try Reference(parsing: $0) }
        #expect(Set(references).count == 1)
        #expect(try Reference(parsing: "busybox") != Reference(parsing: "busybox:latest"))
    }
}
