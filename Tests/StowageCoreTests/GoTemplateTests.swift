import StowageCore
import Testing

/// Expected outputs are what the docker CLIs (20.10 and 28) printed for the same templates
/// on `docker image inspect` of the same image.
@Suite("Go templates as the docker CLI runs --format")
struct GoTemplateTests {
    static let image = JSONValue.object([
        ("Id", .string("sha256:c329d53d1624b6fad756c6ac12fd0f32e5abb23aebfed30d625a3d011ab400f7")),
        ("RepoTags", .strings(["fixture/base:latest"])),
        ("RepoDigests", .array([])),
        ("Parent", .string("")),
        ("ContainerConfig", .object([("Env", .null), ("Cmd", .null), ("Volumes", .null), ("Labels", .null)])),
        ("Config", .object([("Env", .null), ("Cmd", .strings(["/bin/sh"])), ("Volumes", .null),
                            ("Labels", .object([("a", .string("x&y<z>"))]))])),
        ("Os", .string("linux")),
        ("Size", .integer(1_982_302)),
        ("GraphDriver", .object([("Data", .null), ("Name", .string("vfs"))])),
        ("RootFS", .object([("Type", .string("layers")),
                            ("Layers", .strings(["sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10"]))])),
        ("Metadata", .object([("LastTagTime", .string("2026-12-04T17:57:07.022216937Z"))])),
    ])

    private func run(_ template: String, _ data: JSONValue = Self.image, as kind: GoTemplate.DataKind = .inspected) throws -> String {
        try GoTemplate(template).execute(data, as: kind)
    }

    private func failure(_ template: String, as kind: GoTemplate.DataKind = .inspected) -> String? {
        do {
            _ = try run(template, as: kind)
            return nil
        } catch {
            return (error as? GoTemplate.Failure)?.description
        }
    }

    @Test("fields, functions, conditions, ranges and variables print as Go prints Docker's values")
    func printsAsDocker() throws {
        #expect(try run(#"{{printf "%v|%s|%d" .Size .Os .Size}} {{.RepoTags | json}} {{join .RepoTags ","}} {{upper .Os}} {{if .Parent}}p{{else}}np{{end}} {{range $i, $t := .RepoTags}}{{$i}}={{$t}}{{end}} {{println .Os}}x"#)
                == "1982302|linux|1982302 [\"fixture/base:latest\"] fixture/base:latest LINUX np 0=fixture/base:latest linux\nx")
        #expect(try run(#"{{json .Config.Labels}} {{.Config.Labels}} {{.Config.Labels.a}} {{.Config.Labels.nope}} {{index .Config.Labels "nope"}}|{{.ContainerConfig.Labels}}|{{.Config.Volumes}}|{{.Config.Healthcheck}}|{{.GraphDriver}}|{{.Metadata}}"#)
                == "{\"a\":\"x&y<z>\"} map[a:x&y<z>] x&y<z> <no value> |map[]|map[]|<nil>|{map[] vfs}|{2026-12-04 17:57:07.022216937 +0000 UTC}")
        #expect(try run("{{.Config.Env}} {{json .RootFS}} {{index .Config.Labels \"a\"}} {{range .RepoTags}}[{{.}}]{{end}} {{.Os}} {{len .RootFS.Layers}}")
                == "[] {\"Type\":\"layers\",\"Layers\":[\"sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10\"]} x&y<z> [fixture/base:latest] linux 1")
    }

    @Test("inspected data is tried as Docker's Go types (ID, nil maps), then as raw JSON (Id, <no value>), as the CLI tries it")
    func typedThenRaw() throws {
        let id = "sha256:c329d53d1624b6fad756c6ac12fd0f32e5abb23aebfed30d625a3d011ab400f7"
        let layer = "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10"
        #expect(try run("{{.ID}} {{.ContainerConfig.Labels}} {{.RootFS}} {{.Size}}") == "\(id) map[] {layers [\(layer)]} 1982302")
        #expect(try run("{{.Id}} {{.ContainerConfig.Labels}} {{.RootFS}} {{.Size}} {{.Config.Env}}")
                == "\(id) <no value> map[Layers:[\(layer)] Type:layers] 1982302 <no value>")
        #expect(failure("{{.Id}} {{.Config.Healthcheck}}") == #"template: :1:17: executing "" at <.Config.Healthcheck>: map has no entry for key "Healthcheck""#)
    }

    @Test("idioms from the field: joined lists, parenthesised pipelines, $ inside ranges, pipes into printf")
    func idioms() throws {
        let layer = "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10"
        let image = JSONValue.object([
            ("RepoTags", .strings(["fixture/base:latest", "fixture/base:v2"])), ("Architecture", .string("amd64")), ("Os", .string("linux")),
            ("Config", .object([("Cmd", .strings(["/bin/sh"])), ("Labels", .null)])), ("Size", .integer(1_982_302)),
            ("RootFS", .object([("Type", .string("layers")), ("Layers", .strings([layer]))])),
        ])
        // What the docker 28 CLI printed for the same templates on the same image.
        let cases = [
            ("{{range $i, $e := .RepoTags}}{{if $i}},{{end}}{{$e}}{{end}}", "fixture/base:latest,fixture/base:v2"),
            (#"{{(index .RepoTags 0)}} {{len (index .RootFS.Layers 0)}} {{printf "%s-%d" (index .RepoTags 0) (len .RepoTags)}}"#,
             "fixture/base:latest 71 fixture/base:latest-2"),
            (#"{{if and .Os (eq .Architecture "amd64")}}yes{{end}} {{or "" "fallback"}} {{lt 1 2}} {{ge (len .RepoTags) 2}}"#, "yes fallback true true"),
            (#"{{.Config.Cmd | json}} {{.Os | upper | printf "%q"}}"#, #"["/bin/sh"] "LINUX""#),
            ("{{with $x := .Os}}{{$x}}{{end}} {{range .RootFS.Layers}}{{.}} {{$.Os}}{{end}}", "linux \(layer) linux"),
            (#"{{index .Config.Labels "x"}}|{{.Size | printf "%d"}}|{{printf "%v" .RootFS.Layers}}"#, "|1982302|[\(layer)]"),
        ]
        for (template, expected) in cases {
            #expect(try run(template, image) == expected, "\(template)")
        }
    }

    @Test("control structures: else if, with, range over maps and empty lists, break, variables, trim markers, comments")
    func controlStructures() throws {
        #expect(try run("{{if eq .Os \"windows\"}}w{{else if eq .Os \"linux\"}}l{{else}}o{{end}}") == "l")
        #expect(try run("{{with .Config}}{{.Cmd}}{{end}}{{with .Parent}}never{{else}}none{{end}}") == "[/bin/sh]none")
        #expect(try run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}{{range .RepoDigests}}x{{else}}empty{{end}}") == "a=x&y<z>;empty")
        #expect(try run("{{$os := .Os}}{{range .RepoTags}}{{$os}}:{{.}}{{break}}{{end}} {{$.Size}}") == "linux:fixture/base:latest 1982302")
        #expect(try run("a  {{- /* a comment */ -}}  b {{- .Os -}} \n c") == "ablinuxc")
        #expect(try run("{{not .Parent}} {{and .Os .Size}} {{or .Parent \"x\"}} {{gt .Size 5}} {{ne .Os \"linux\"}}") == "true 1982302 x true false")
        #expect(try run("{{title \"hello world\"}} {{lower \"AB\"}} {{pad \"x\" 1 2}}| {{truncate \"abcdef\" 3}} {{split \"a,b\" \",\"}}") == "Hello World ab  x  | abc [a b]")
        #expect(try run("{{printf \"%-6s|%5d|%q\" .Os .Size .Os}}") == "linux |1982302|\"linux\"")
    }

    @Test("a field the data lacks fails as Go's does, with its position")
    func missingFields() {
        #expect(failure("{{.Nope}}") == #"template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#)
        #expect(failure("{{.Config.Nope}}") == #"template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope""#)
        #expect(failure("{{.Size}} {{.Nope.X}}") == #"template: :1:17: executing "" at <.Nope.X>: map has no entry for key "Nope""#)
        #expect(failure("{{.Nope}}", as: .listingRow(typeName: "*formatter.imageContext"))
                == #"template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.imageContext"#)
    }

    @Test("a template that does not parse says so as Go's parser does")
    func parseErrors() {
        #expect(failure("{{.Config.Nope") == "template: :1: unclosed action")
        #expect(failure("{{nope .Os}}") == #"template: :1: function "nope" not defined"#)
        #expect(failure("{{if .Os}}x") == "template: :1: unexpected EOF")
        #expect(failure("x{{end}}") == "template: :1: unexpected {{end}}")
    }

    @Test("{{json .}} of a listing row escapes HTML characters, as its MarshalJSON does; of inspected data it does not")
    func jsonEscaping() throws {
        let row = JSONValue.object([("Command", .string("\"a && b\""))])
        #expect(try run("{{json .}}", row, as: .listingRow(typeName: "*formatter.ContainerContext")) == #"{"Command":"\"a \u0026\u0026 b\""}"#)
        #expect(try run("{{json .}}", row) == #"{"Command":"\"a && b\""}"#)
        #expect(try run("{{json .Command}}", row, as: .listingRow(typeName: "*formatter.ContainerContext")) == #""\"a && b\"""#)
    }
}
