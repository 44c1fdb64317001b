import StowageCore
import Testing

@Suite("Image references, normalised as Docker normalises them")
struct ReferenceTests {
    /// Input, normalised form, familiar form.
    @Test("valid references", arguments: [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
        ("library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("docker.io/library/busybox", "docker.io/library/busybox", "busybox"),
        ("docker.io/busybox", "docker.io/library/busybox", "busybox"),
        ("index.docker.io/busybox", "docker.io/library/busybox", "busybox"),
        ("index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        ("user/app", "docker.io/user/app", "user/app"),
        ("user/app/sub", "docker.io/user/app/sub", "user/app/sub"),
        ("docker.io/library/a/b", "docker.io/library/a/b", "library/a/b"),
        ("localhost/app", "localhost/app", "localhost/app"),
        ("localhost:5000/a/b", "localhost:5000/a/b", "localhost:5000/a/b"),
        ("localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app", "127.0.0.1:5000/app"),
        ("[::1]:5000/app:v2", "[::1]:5000/app:v2", "[::1]:5000/app:v2"),
        ("example.com/a", "example.com/a", "example.com/a"),
        ("a.b.c/d/e", "a.b.c/d/e", "a.b.c/d/e"),
        ("foo-bar.com:8080/x", "foo-bar.com:8080/x", "foo-bar.com:8080/x"),
        ("Example.com/lower", "Example.com/lower", "Example.com/lower"),
        ("registry-1.docker.io/x/y", "registry-1.docker.io/x/y", "registry-1.docker.io/x/y"),
        ("a:5000", "docker.io/library/a:5000", "a:5000"),
        ("a_b", "docker.io/library/a_b", "a_b"),
        ("a__b", "docker.io/library/a__b", "a__b"),
        ("a.b", "docker.io/library/a.b", "a.b"),
        ("a-b", "docker.io/library/a-b", "a-b"),
        ("a---b", "docker.io/library/a---b", "a---b"),
        ("a0/b1/c2", "docker.io/a0/b1/c2", "a0/b1/c2"),
        ("x:v1.0-rc_2", "docker.io/library/x:v1.0-rc_2", "x:v1.0-rc_2"),
        ("x:_underscore", "docker.io/library/x:_underscore", "x:_underscore"),
        ("x:UPPER", "docker.io/library/x:UPPER", "x:UPPER"),
        ("x:" + String(repeating: "t", count: 128), "docker.io/library/x:" + String(repeating: "t", count: 128), "x:" + String(repeating: "t", count: 128)),
        ("x@sha256:" + String(repeating: "ab", count: 32), "docker.io/library/x@sha256:" + String(repeating: "ab", count: 32), "x@sha256:" + String(repeating: "ab", count: 32)),
        ("x:1@sha256:" + String(repeating: "cd", count: 32), "docker.io/library/x:1@sha256:" + String(repeating: "cd", count: 32), "x:1@sha256:" + String(repeating: "cd", count: 32)),
        ("localhost:5000/a/b@sha256:" + String(repeating: "0", count: 64), "localhost:5000/a/b@sha256:" + String(repeating: "0", count: 64), "localhost:5000/a/b@sha256:" + String(repeating: "0", count: 64)),
        ("fixture/links:latest", "docker.io/fixture/links:latest", "fixture/links:latest"),
        (String(repeating: "a", count: 63), "docker.io/library/" + String(repeating: "a", count: 63), String(repeating: "a", count: 63)),
        (String(repeating: "f", count: 65), "docker.io/library/" + String(repeating: "f", count: 65), String(repeating: "f", count: 65)),
        ("example.com:443/" + String(repeating: "p", count: 239), "example.com:443/" + String(repeating: "p", count: 239), "example.com:443/" + String(repeating: "p", count: 239)),
        ("host-with-dash.io/app", "host-with-dash.io/app", "host-with-dash.io/app"),
        ("192.168.0.1/app", "192.168.0.1/app", "192.168.0.1/app"),
    ])
    func valid(_ input: String, _ normalised: String, _ familiar: String) throws {
        let reference = try Reference(parsing: input)
        #expect(reference.description == normalised)
        #expect(reference.familiarString == familiar)
        #expect(try Reference(parsing: reference.description) == reference, "normalised form parses to itself")
        #expect(try Reference(parsing: reference.familiarString) == reference, "familiar form parses to the same")
    }

    @Test("invalid references are refused with Docker's message", arguments: [
        ("", "invalid reference format"),
        ("Uppercase", "repository name must be lowercase"),
        ("user/App", "repository name must be lowercase"),
        ("a//b", "invalid reference format"),
        ("-a", "invalid reference format"),
        ("a-", "invalid reference format"),
        ("_a", "invalid reference format"),
        ("a..b", "invalid reference format"),
        ("a___b", "invalid reference format"),
        ("a-_b", "invalid reference format"),
        (":tag", "invalid reference format"),
        ("a:", "invalid reference format"),
        ("a:tag:tag", "invalid reference format"),
        ("a:-tag", "invalid reference format"),
        ("a:" + String(repeating: "t", count: 129), "invalid reference format"),
        ("@sha256:" + String(repeating: "a", count: 64), "invalid reference format"),
        ("a@sha256:abc", "invalid checksum digest length"),
        ("a@sha256:" + String(repeating: "z", count: 64), "invalid reference format"),
        ("a@md5:" + String(repeating: "a", count: 32), "only sha256"),
        (String(repeating: "a", count: 64), "cannot specify 64-byte hexadecimal strings"),
        ("a/", "invalid reference format"),
        ("a b", "invalid reference format"),
        ("a/b c", "invalid reference format"),
        ("example.com:port/a", "invalid reference format"),
        ("-host.com/a", "invalid reference format"),
        ("host-.com/a", "invalid reference format"),
        ("example.com:443/" + String(repeating: "p", count: 240), "must not be more than 255 characters"),
        ("a/b/", "invalid reference format"),
        ("ä", "invalid reference format"),
    ])
    func invalid(_ input: String, _ message: String) {
        let error = #expect(throws: StowageError.self, "\(input)") { try Reference(parsing: input) }
        #expect(error.map { "\($0)".contains(message) } == true, "\(input): \(error.map { "\($0)" } ?? "no error")")
    }

    @Test("a default tag is added only when there is neither tag nor digest")
    func defaultTag() throws {
        #expect(try Reference(parsing: "busybox").withDefaultTag().familiarString == "busybox:latest")
        #expect(try Reference(parsing: "busybox:1").withDefaultTag().familiarString == "busybox:1")
        let digest = "busybox@sha256:" + String(repeating: "1", count: 64)
        #expect(try Reference(parsing: digest).withDefaultTag().familiarString == digest)
        #expect(try Reference(parsing: "a/b").withTag("v2").description == "docker.io/a/b:v2")
        #expect(throws: StowageError.self) { try Reference(parsing: "a").withTag("bad tag") }
    }
}
