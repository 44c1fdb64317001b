import Foundation
import StowageCore
import StowageDockerTypes
import StowageEngine
import StowageTestSupport
import Testing

@Suite("the Engine API's objects, side by side with dockerd's JSON")
struct APIObjectTests {
    @Test("images, history, image inspect, containers, container inspect, volumes, system df: dockerd's keys, order, nulls and values")
    func sameAsDockerd() throws {
        let root = try DataRoot()
        let docker = try DockerEngine(storageDriver: "vfs")
        defer { docker.stop() }
        let scratch = try TemporaryDirectory("api-objects")
        let base = try Fixtures.expected("base").imageID
        for run in [{ try root.succeed($0) }, { _ = try docker.docker($0) }] as [([String]) throws -> Void] {
            try run(["load", "-i", Fixtures.path("whiteout+links.tar")])
            try run(["load", "-i", Fixtures.path("base.tar")])
            // The base image by ID only: loaded again untagged, it is dangling (<none>:<none>).
            try run(["save", "-o", scratch.join("untagged.tar"), base])
            try run(["rmi", "fixture/base"])
            try run(["load", "-i", scratch.join("untagged.tar")])
            try run(["volume", "create", "--label", "team=a", "vv"])
            try run(["create", "--name", "web", "--label", "tier=a&b", "-v", "vv:/data", "-v", "/tmp:/host:ro", "fixture/links"])
            try run(["create", "--name", "two", "fixture/whiteout", "sh", "-c", "echo 'a b'"])
        }
        let engine = try Engine(EngineConfiguration(dataRoot: root.path, storageDriver: "vfs"))
        defer { engine.close() }
        let links = try engine.images.resolve("fixture/links")
        let mine: [(String, JSONValue)] = [
            ("/images/json", try engine.images.summaries().dockerJSON),
            ("/images/json?all=1", try engine.images.summaries(all: true).dockerJSON),
            ("/images/fixture/links/history", try engine.images.historyItems(of: links).dockerJSON),
            ("/images/fixture/links/json", try engine.images.inspect(links).dockerJSON),
            ("/images/\(base)/json", try engine.images.inspect(try engine.images.resolve(base)).dockerJSON),
            ("/containers/json?all=1", try engine.containers.summaries().dockerJSON),
            ("/containers/json?all=1&size=1", try engine.containers.summaries(sizes: true).dockerJSON),
            ("/containers/web/json", try engine.containers.inspect("web").dockerJSON),
            ("/containers/two/json?size=1", try engine.containers.inspect("two", sizes: true).dockerJSON),
            ("/volumes", try engine.volumes.listResponse().dockerJSON),
            ("/volumes/vv", try engine.volumes.inspect("vv").dockerJSON),
            ("/system/df", try engine.diskUsageReport().dockerJSON),
        ]
        let tokens = { (dataRoot: String, ids: (String) throws -> String) throws -> [(String, String)] in
            let (web, two) = (try ids("web"), try ids("two"))  // and the hostnames, their first 12 digits
            return [(web, "<web>"), (two, "<two>"), (String(web.prefix(12)), "<web>"), (String(two.prefix(12)), "<two>"), (dataRoot, "<root>")]
        }
        let myTokens = try tokens(root.path) { try engine.containers.inspect($0).id }
        let theirTokens = try tokens(docker.dataRoot) { try docker.docker(["inspect", "-f", "{{.Id}}", $0]).trimmingCharacters(in: .whitespacesAndNewlines) }
        for (path, object) in mine {
            let body = try runProcess(["curl", "-s", "--unix-socket", docker.socket, "http://docker/v1.41" + path]).standardOutput
            let theirs = try JSONValue(parsing: Array(body), what: path)
            let (left, right) = (Self.normalized(object, myTokens).serialized(indent: " "), Self.normalized(theirs, theirTokens).serialized(indent: " "))
            #expect(left == right, "\(path): \(Self.firstDifference(left, right))\n\(left)\n-- dockerd:\n\(right)")
        }
        // The error body.
        let missing = try runProcess(["curl", "-s", "--unix-socket", docker.socket, "http://docker/v1.41/containers/nosuch/json"]).output
        #expect(try ErrorResponse(message: "No such container: nosuch").dockerJSON.serialized() + "\n" == missing)
    }

    /// The first line that differs, with the two before it.
    private static func firstDifference(_ left: String, _ right: String) -> String {
        let (mine, theirs) = (left.split(separator: "\n"), right.split(separator: "\n"))
        guard let index = Array(zip(mine, theirs)).firstIndex(where: { $0.0 != $0.1 }) ?? (mine.count != theirs.count ? min(mine.count, theirs.count) : nil) else { return "" }
        let window = { (lines: [Substring]) in lines[max(0, index - 2)..<min(lines.count, index + 1)].joined(separator: "\n") }
        return "line \(index + 1):\n\(window(mine))\n-- dockerd:\n\(window(theirs))"
    }

    /// `value` with the side's IDs and paths as tokens, times of what each side made now as
    /// `<time>`, the storage driver's (random) directories left out, mounts and binds sorted.
    private static func normalized(_ value: JSONValue, _ tokens: [(String, String)], key: String = "") -> JSONValue {
        switch value {
        case .string(var text):
            for (from, to) in tokens { text = text.replacingOccurrences(of: from, with: to) }
            return .string(text)
        case .array(let values):
            var values = values.map { normalized($0, tokens) }
            // Mounts come in Go's map order; the docker 28 CLI sends binds in its own random order.
            if key == "Mounts" || key == "Binds" { values.sort { $0.serialized() < $1.serialized() } }
            return .array(values)
        case .object(let members):
            let isContainer = members.contains { $0.0 == "Names" || $0.0 == "HostnamePath" }
            return .object(members.map { name, member in
                if name == "CreatedAt" || name == "LastTagTime" || (isContainer && name == "Created") || name == "StartedAt" { return (name, .string("<time>")) }
                if name == "Data", case .object(let data) = member { return (name, .array(data.map { .string($0.0) })) }
                return (name, normalized(member, tokens, key: name))
            })
        default:
            return value
        }
    }
}

@Suite("JSONValueEncoder")
struct JSONValueEncoderTests {
    private struct Sample: Encodable {
        struct Inner: Encodable {
            let Z: Int
            let A: [String]?
        }

        let Name: String
        let Missing: String?
        let Map: [String: Int]
        let Nested: [Inner]
        let Raw: JSONValue
        let Flag: Bool
    }

    @Test("fields in declaration order, nil as null, maps with sorted keys, raw JSON as it is")
    func goOrder() throws {
        let sample = Sample(Name: "a<b", Missing: nil, Map: ["b": 2, "a": 1, "B": 3], Nested: [.init(Z: 1, A: nil), .init(Z: 2, A: ["x"])],
                            Raw: .object([("z", .null), ("a", .integer(1))]), Flag: true)
        #expect(try sample.dockerJSON.serialized()
            == #"{"Name":"a\u003cb","Missing":null,"Map":{"B":3,"a":1,"b":2},"Nested":[{"Z":1,"A":null},{"Z":2,"A":["x"]}],"Raw":{"z":null,"a":1},"Flag":true}"#)
    }

    @Test("the version report has dockerd's keys in dockerd's order")
    func versionKeys() throws {
        guard case .object(let members) = try Engine.versionReport.dockerJSON else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["Platform", "Components", "Version", "ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch",
                                     "KernelVersion"])
    }
}
