#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StowageCore
import StowageEngine
import StowageTestSupport
import Testing

// Inputs found by a review of `load` (issue 12, item 7). The RepoTags, 2,000-tag and FIFO
// cases of a docker-archive are in ArchiveTagTests.swift; these are the rest.

/// Runs a Python program (`python3 -c`) with arguments, failing on a non-zero exit.
private func python(_ program: String, _ arguments: [String]) throws {
    let result = try runProcess(["python3", "-c", program] + arguments)
    guard result.status == 0 else { throw FixtureError(description: "python3 exited \(result.status): \(result.standardError)") }
}

/// Helpers the Python edits share: JSON files, blobs renamed to their digest.
private let pythonPrelude = """
    import hashlib, io, json, os, sys, tarfile
    def read(tree, path): return open(os.path.join(tree, path), "rb").read()
    def write(tree, path, data):
        with open(os.path.join(tree, path), "wb") as f: f.write(data)
    def blob(tree, data):
        digest = hashlib.sha256(data).hexdigest()
        write(tree, "blobs/sha256/" + digest, data)
        return "sha256:" + digest
    dumps = lambda value: json.dumps(value, separators=(",", ":"))

    """

/// A fixture unpacked into a directory of the root's scratch space.
private func unpacked(_ fixture: String, in root: DataRoot, as name: String) throws -> String {
    let tree = root.scratch.join(name)
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    try shell("tar -xf '\(Fixtures.path(fixture))' -C '\(tree)'")
    return tree
}

/// The directory packed back into a tar beside it.
private func packed(_ tree: String) throws -> String {
    try shell("tar -cf '\(tree).tar' -C '\(tree)' .")
    return tree + ".tar"
}

/// `stowage load` under `timeout`, so that a load that blocks fails the test (status 124).
private func loadWithTimeout(_ root: DataRoot, _ input: String) throws -> ProcessResult {
    try runProcess(["timeout", "30", try stowageBinary(), "--data-root", root.path, "--storage-driver", root.driver, "load", "-i", input])
}

/// Requires one `stowage: …` line naming `message`, exit status 1, and the root as `before`.
private func expectRefused(_ result: ProcessResult, _ message: String, root: DataRoot, before: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(result.status == 1, "exit \(result.status): \(result.standardError)", sourceLocation: sourceLocation)
    let lines = result.standardError.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("stowage: ") && lines[0].contains(message),
            "\(result.standardError)", sourceLocation: sourceLocation)
    #expect(try root.listing() == before, "a refused load left something behind", sourceLocation: sourceLocation)
}

/// A root with the whiteout fixture loaded, and its listing.
private func populatedRoot(driver: String = "vfs") throws -> (DataRoot, [String]) {
    let root = try DataRoot(driver: driver)
    try root.succeed(["load", "-q", "-i", Fixtures.path("whiteout.tar")])
    return (root, try root.listing())
}

@Suite("Inputs found by a review of load")
struct LoadInputTests {
    // MARK: 1. Names that carry a digest

    @Test("a pipe given as a path (load -i <(…)) loads as standard input does; a truncated archive says it is truncated, leaving nothing",
          arguments: [50_000, 1_000_000, 2_011_000])
    func pipesAndTruncation(_ length: Int) throws {
        let (root, before) = try populatedRoot()
        let piped = try runProcess(["bash", "-c", "\"$0\" --data-root \"$1\" -s vfs load -i <(cat \"$2\")",
                                    try stowageBinary(), root.path, Fixtures.path("links.tar")])
        #expect(piped.status == 0 && piped.output == "Loaded image: fixture/links:latest\n", "\(piped.standardError)")
        try root.succeed(["rmi", "fixture/links"])
        let truncated = root.scratch.join("truncated.tar")
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("links.tar")))
        try whole.prefix(length).write(to: URL(fileURLWithPath: truncated))
        try expectRefused(try root.run(["load", "-i", truncated]), "\(truncated) is truncated (unexpected EOF)",
                          root: root, before: try root.listing())
        try expectRefused(try root.run(["load"], input: whole.prefix(length)), "standard input is truncated (unexpected EOF)",
                          root: root, before: try root.listing())
        let fromPipe = try runProcess(["bash", "-c", "\"$0\" --data-root \"$1\" -s vfs load -i <(head -c \(length) \"$2\")",
                                       try stowageBinary(), root.path, Fixtures.path("links.tar")])
        #expect(fromPipe.status == 1 && fromPipe.standardError.hasPrefix("stowage: /dev/fd/") && fromPipe.standardError.contains("is truncated"),
                "\(fromPipe.standardError)")
        #expect(try root.listing() == before)
    }

    @Test("load and save draw jsonmessage's bar on a terminal (script(1) gives one) and print nothing more when not on one")
    func progressOnATerminal() throws {
        let root = try DataRoot()
        let onTerminal = { (arguments: String) throws -> String in
            try runProcess(["script", "-qec", "\"$STOWAGE\" --data-root \"$ROOT\" -s vfs " + arguments, "/dev/null"],
                           environment: ["STOWAGE": try stowageBinary(), "ROOT": root.path, "ARCHIVE": Fixtures.path("many-layers.tar"),
                                         "SAVED": root.scratch.join("saved.tar")]).output
        }
        let loaded = try onTerminal("load -i \"$ARCHIVE\"")
        #expect(loaded.contains("\rLoading layer [>" + String(repeating: " ", count: 50) + "]        0/25"), "\(loaded)")
        #expect(loaded.contains("\rLoading layer [" + String(repeating: "=", count: 50) + ">]       25/25"), "\(loaded)")
        #expect(loaded.hasSuffix("Loaded image: fixture/many-layers:latest\r\n"), "\(loaded)")
        let saved = try onTerminal("save -o \"$SAVED\" fixture/many-layers")
        #expect(saved.hasSuffix("\rSaving layer [" + String(repeating: "=", count: 50) + ">]       25/25\r\n"), "\(saved)")
        // Not on a terminal: as docker's, only the loaded names; save says nothing.
        #expect(try root.run(["save", "-o", root.scratch.join("quiet.tar"), "fixture/many-layers"]).standardError.isEmpty)
        #expect(try root.run(["load", "-i", root.scratch.join("quiet.tar")]).output == "Loaded image: fixture/many-layers:latest\n")
    }

    @Test("an OCI ref.name annotation with a digest is refused before anything is stored", arguments: [
        "fixture/links@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        "fixture/links:v1@sha256:0123456789012345678901234567890123456789012345678901234567890123",
    ])
    func ociNameWithDigest(_ name: String) throws {
        let (root, before) = try populatedRoot()
        let tree = try unpacked("links-oci.tar", in: root, as: "layout")
        try python(pythonPrelude + """
            tree, name = sys.argv[1], sys.argv[2]
            index = json.loads(read(tree, "index.json"))
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = name
            write(tree, "index.json", dumps(index).encode())
            """, [tree, name])
        try expectRefused(try root.run(["load", "-i", try packed(tree)]), "refusing to create a tag with a digest reference", root: root, before: before)
    }

    // MARK: 3. Layout directories: only regular files where files are expected

    @Test("a device, a socket, a FIFO blob or a symlink to a FIFO in a layout directory is refused at once", arguments: [
        ("docker layer as a character device", "is a character device, not a regular file"),
        ("docker layer as a symlink to a FIFO", "is a FIFO, not a regular file"),
        ("OCI layer blob as a FIFO", "is a FIFO, not a regular file"),
        ("OCI config blob as a socket", "is a socket, not a regular file"),
        ("OCI index.json as a FIFO", "is a FIFO, not a regular file"),
    ])
    func specialFileInLayout(_ kind: String, _ message: String) throws {
        let (root, before) = try populatedRoot()
        let oci = kind.hasPrefix("OCI")
        let tree = try unpacked(oci ? "links-oci.tar" : "links.tar", in: root, as: "layout")
        let layer = try shell(oci ? "cd '\(tree)' && ls -S blobs/sha256 | head -1 | sed 's,^,blobs/sha256/,'" : "cd '\(tree)' && ls */layer.tar | head -1")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        switch kind {
        case "docker layer as a character device":
            try shell("rm '\(tree)/\(layer)' && mknod '\(tree)/\(layer)' c 1 3")
        case "docker layer as a symlink to a FIFO":
            // The layer's VERSION beside it made a FIFO (a name a docker-archive may hold), the layer a link to it.
            let directory = tree + "/" + layer.dropLast("/layer.tar".count)
            try shell("rm '\(directory)/VERSION' '\(tree)/\(layer)' && mkfifo '\(directory)/VERSION' && ln -s ../\(layer.dropLast("/layer.tar".count))/VERSION '\(tree)/\(layer)'")
        case "OCI layer blob as a FIFO":
            try shell("rm '\(tree)/\(layer)' && mkfifo '\(tree)/\(layer)'")
        case "OCI config blob as a socket":
            let config = "blobs/sha256/c3425bb05061be1bbd368110d11dc36309a3f29d02d4111080656e5177dab60d"
            try shell("rm '\(tree)/\(config)'")
            try python("import os, socket, sys; os.chdir(os.path.dirname(sys.argv[1])); socket.socket(socket.AF_UNIX).bind(os.path.basename(sys.argv[1]))",
                       [tree + "/" + config])
        default:
            try shell("rm '\(tree)/index.json' && mkfifo '\(tree)/index.json'")
        }
        let result = try loadWithTimeout(root, tree)
        #expect(result.status != 124, "\(kind): the load waited on it")
        try expectRefused(result, message, root: root, before: before)
    }

    // MARK: 4. JSON read as Go reads it

    @Test("manifest.json and OCI manifests are read as Docker reads them: the last duplicate wins, keys fold case", arguments: [
        "Layers twice, the first wrong", "keys in lower case", "Layerſ and RepoTagſ (long s)", "trailing data after the array",
        "OCI manifest: layers wrong, then LAYERS right",
    ])
    func goCompatibleManifest(_ kind: String) throws {
        let expected = try Fixtures.expected("links")
        let root = try DataRoot(driver: "vfs")
        let oci = kind.hasPrefix("OCI")
        let tree = try unpacked(oci ? "links-oci.tar" : "links.tar", in: root, as: "edited")
        try python(pythonPrelude + """
            tree, kind = sys.argv[1], sys.argv[2]
            if kind.startswith("OCI"):
                index = json.loads(read(tree, "index.json"))
                path = "blobs/sha256/" + index["manifests"][0]["digest"][7:]
                manifest = json.loads(read(tree, path))
                layers = manifest.pop("layers")
                text = dumps(manifest)[:-1] + ',"layers":' + dumps(layers[::-1]) + ',"LAYERS":' + dumps(layers) + "}"
                index["manifests"][0]["digest"] = blob(tree, text.encode())
                index["manifests"][0]["size"] = len(text)
                index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "fixture/links:latest"}
                write(tree, "index.json", dumps(index).encode())
                sys.exit(0)
            entry = json.loads(read(tree, "manifest.json"))[0]
            config, tags, layers = dumps(entry["Config"]), dumps(entry["RepoTags"]), dumps(entry["Layers"])
            text = {
                "Layers twice, the first wrong": '[{"Config":%s,"RepoTags":%s,"Layers":%s,"Layers":%s}]' % (config, tags, dumps(entry["Layers"][::-1]), layers),
                "keys in lower case": '[{"config":%s,"repotags":%s,"layers":%s}]' % (config, tags, layers),
                "Layerſ and RepoTagſ (long s)": '[{"Config":%s,"RepoTag\\\\u017f":%s,"Layer\\\\u017f":%s}]' % (config, tags, layers),
                "trailing data after the array": '[{"Config":%s,"RepoTags":%s,"Layers":%s}] and then some' % (config, tags, layers),
            }[kind]
            write(tree, "manifest.json", text.encode())
            """, [tree, kind])
        let loaded = try root.run(["load", "-i", try packed(tree)])
        #expect(loaded.status == 0, "\(kind): \(loaded.standardError)")
        #expect(loaded.output.contains("Loaded image: fixture/links:latest"), "\(kind): \(loaded.output)")
        let inspect = try root.succeed(["inspect", "fixture/links:latest"])
        let object = try #require((try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]])?.first)
        #expect((object["RootFS"] as? [String: Any])?["Layers"] as? [String] == expected.diffIDs)
        if !oci { #expect(object["Id"] as? String == expected.imageID) }
    }

    @Test("an image config is read as Docker reads it, and its ID is the digest of its bytes as given", arguments: [
        "rootfs twice: the second merges into the first", "RootFS and DIFF_IDS in other cases", "diff_ids twice, the last right",
    ])
    func goCompatibleConfig(_ kind: String) throws {
        let expected = try Fixtures.expected("links")
        let root = try DataRoot(driver: "vfs")
        let tree = try unpacked("links.tar", in: root, as: "edited")
        try python(pythonPrelude + """
            tree, kind = sys.argv[1], sys.argv[2]
            manifest = json.loads(read(tree, "manifest.json"))
            config = json.loads(read(tree, manifest[0]["Config"]))
            os.remove(os.path.join(tree, manifest[0]["Config"]))
            rootfs = config.pop("rootfs")
            right, wrong = dumps(rootfs["diff_ids"]), dumps(rootfs["diff_ids"][::-1])
            tail = {
                "rootfs twice: the second merges into the first": '"rootfs":{"type":"layers","diff_ids":%s},"rootfs":{"diff_ids":%s}' % (wrong, right),
                "RootFS and DIFF_IDS in other cases": '"RootFS":{"Type":"layers","DIFF_IDS":%s}' % right,
                "diff_ids twice, the last right": '"rootfs":{"type":"layers","diff_ids":%s,"diff_ids":%s}' % (wrong, right),
            }[kind]
            data = (dumps(config)[:-1] + "," + tail + "}").encode()
            name = hashlib.sha256(data).hexdigest() + ".json"
            write(tree, name, data)
            manifest[0]["Config"] = name
            write(tree, "manifest.json", dumps(manifest).encode())
            write(tree, "config-id", ("sha256:" + name[:-5]).encode())
            """, [tree, kind])
        let configID = try String(contentsOfFile: tree + "/config-id", encoding: .utf8)
        try FileManager.default.removeItem(atPath: tree + "/config-id")
        let loaded = try root.run(["load", "-i", try packed(tree)])
        #expect(loaded.status == 0, "\(kind): \(loaded.standardError)")
        let inspect = try root.succeed(["inspect", "fixture/links:latest"])
        let object = try #require((try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]])?.first)
        #expect(object["Id"] as? String == configID, "the image ID is the sha256 of the config as given")
        #expect((object["RootFS"] as? [String: Any])?["Layers"] as? [String] == expected.diffIDs)
        let stored = try Data(contentsOf: URL(fileURLWithPath: root.metadata + "/imagedb/content/sha256/" + configID.dropFirst(7)))
        #expect(sha256(Array(stored)) == configID, "the config is stored byte for byte")
    }

    @Test("nesting as deep as Go allows (10000 levels) loads; one level more is refused", arguments: [9998, 9999])
    func nestingDepth(_ depth: Int) throws {
        let (root, before) = try populatedRoot()
        let tree = try unpacked("links.tar", in: root, as: "edited")
        // The manifest's array and object are two levels; an unknown member holds the rest.
        try python(pythonPrelude + """
            tree, n = sys.argv[1], int(sys.argv[2])
            text = read(tree, "manifest.json").decode().rstrip()
            write(tree, "manifest.json", (text[:-2] + ',"Deep":' + "[" * n + "]" * n + "}]").encode())
            """, [tree, String(depth)])
        let result = try root.run(["load", "-i", try packed(tree)])
        if depth == 9998 {
            #expect(result.status == 0 && result.output == "Loaded image: fixture/links:latest\n", "\(result.standardError)")
        } else {
            try expectRefused(result, "nested deeper than 10000 levels", root: root, before: before)
        }
    }

    @Test("a config with trailing data is refused, as json.Unmarshal refuses it; manifest.json's is ignored, as json.Decoder does")
    func trailingDataInConfig() throws {
        let (root, before) = try populatedRoot()
        let tree = try unpacked("links.tar", in: root, as: "edited")
        try python(pythonPrelude + """
            tree = sys.argv[1]
            manifest = json.loads(read(tree, "manifest.json"))
            data = read(tree, manifest[0]["Config"]) + b" {}"
            os.remove(os.path.join(tree, manifest[0]["Config"]))
            manifest[0]["Config"] = hashlib.sha256(data).hexdigest() + ".json"
            write(tree, manifest[0]["Config"], data)
            write(tree, "manifest.json", dumps(manifest).encode())
            """, [tree])
        try expectRefused(try root.run(["load", "-i", try packed(tree)]), "after the top-level value", root: root, before: before)
    }

    @Test("GoJSON: the last occurrence wins, decoded into what earlier ones left, as Go's encoding/json does", arguments: [
        // A slice takes the last array's length; a null element keeps what a longer, earlier array left there.
        (#"{"L":["a","b"],"L":["c"],"L":["d",null]}"#, #"{"L":["d","b"]}"#),
        // An empty array makes a new slice: nothing earlier is left to show through.
        (#"{"L":["a","b"],"L":[],"L":[null,null]}"#, #"{"L":["",""]}"#),
        // Struct elements merge field by field; null leaves a string as it was and resets a pointer.
        (#"{"D":[{"digest":"a","size":1}],"D":[{"digest":"b"}],"S":"x","S":null,"P":{"digest":"p"},"P":null}"#,
         #"{"D":[{"digest":"b","size":1}],"S":"x"}"#),
        // A map gains keys, the last value of a key winning, keys matched exactly.
        (#"{"M":{"k":"1","K":"2"},"M":{"k":"3"}}"#, #"{"M":{"k":"3","K":"2"}}"#),
        // An exact match first, then the first field in Go's order that matches with case folded.
        (#"{"FOO":"1","foo":"2","fOO":"3"}"#, #"{"Foo":"3","foo":"2"}"#),
        // The Kelvin sign folds to k; Docker's StrSlice takes a string as one element.
        (#"{"\u212a":"kelvin","Cmd":"echo hi"}"#, #"{"K":"kelvin","Cmd":["echo hi"]}"#),
        // Invalid UTF-8 and a lone surrogate are U+FFFD, as Go unquotes them.
        ("{\"S\":\"a\u{FF}\\ud800b\"}", "{\"S\":\"a\u{FFFD}\u{FFFD}b\"}"),
    ])
    func goJSONSemantics(_ input: String, _ expected: String) throws {
        let descriptor = GoJSON.Shape.structure([("digest", .string), ("size", .integer)])
        let shape = GoJSON.Shape.structure([
            ("L", .slice(.string)), ("D", .slice(descriptor)), ("S", .string), ("P", .pointer(descriptor)),
            ("M", .map(.string)), ("Foo", .string), ("foo", .string), ("K", .string), ("Cmd", .stringOrStrings),
        ])
        let bytes = input == "{\"S\":\"a\u{FF}\\ud800b\"}" ? Array("{\"S\":\"a".utf8) + [0xff] + Array("\\ud800b\"}".utf8) : Array(input.utf8)
        let output = try GoJSON.normalize(bytes, as: shape, what: "test")
        #expect(String(decoding: output, as: UTF8.self) == expected)
    }

    @Test("GoJSON refuses what Go refuses", arguments: [
        (#"{"S":1}"#, "cannot read a number as S"),
        (#"{"N":1.5}"#, "cannot read a number as N"),
        (#"{"N":"1"}"#, "cannot read a string as N"),
        (#"{"S":"a"} x"#, "after the top-level value"),
        (#"{"S":"a\x"}"#, "string escape"),
        ("{\"S\":\"\u{1}\"}", "in a string literal"),
        (#"{"S":"a",}"#, "object key"),
        (#"[01]"#, "after an array element"),
    ])
    func goJSONRefusals(_ input: String, _ message: String) {
        let shape = GoJSON.Shape.structure([("S", .string), ("N", .integer)])
        #expect {
            _ = try GoJSON.normalize(Array(input.utf8), as: shape, what: "test")
        } throws: { error in
            (error as? StowageError)?.code == .invalidArchive && "\(error)".contains(message)
        }
    }

    // MARK: 5. Symlinks whose target climbs above the root

    @Test("a layer with ok -> ../lib and a/b -> ../../../x loads, saves back the same diff_id, and a container on it commits",
          arguments: ["vfs", "overlay2"])
    func symlinkClimbingAboveRoot(_ driver: String) throws {
        let root = try DataRoot(driver: driver)
        let archive = root.scratch.join("links-up.tar")
        try python(pythonPrelude + """
            out = sys.argv[1]
            def member(tar, name, kind=tarfile.REGTYPE, data=b"", link=""):
                info = tarfile.TarInfo(name)
                info.type, info.linkname, info.mtime = kind, link, 1700000000
                info.mode = 0o777 if kind == tarfile.SYMTYPE else 0o755 if kind == tarfile.DIRTYPE else 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data) if data else None)
            layer = io.BytesIO()
            with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tar:
                member(tar, "a", tarfile.DIRTYPE)
                member(tar, "a/b", tarfile.SYMTYPE, link="../../../x")
                member(tar, "lib", tarfile.DIRTYPE)
                member(tar, "lib/f", data=b"in lib\\n")
                member(tar, "ok", tarfile.SYMTYPE, link="../lib")
            layer = layer.getvalue()
            diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
            config = dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z", "config": {"Cmd": ["/bin/true"]},
                            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "links above the root"}]}).encode()
            config_name = hashlib.sha256(config).hexdigest() + ".json"
            layer_name = diff_id[7:] + "/layer.tar"
            manifest = dumps([{"Config": config_name, "RepoTags": ["test/up:latest"], "Layers": [layer_name]}]).encode()
            with tarfile.open(out, "w") as tar:
                for name, data in [(config_name, config), (layer_name, layer), ("manifest.json", manifest)]:
                    info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
            """, [archive])

        #expect(try root.succeed(["load", "-i", archive]) == "Loaded image: test/up:latest\n")
        let saved = root.scratch.join("saved.tar")
        try root.succeed(["save", "-o", saved, "test/up:latest"])
        let original = try ArchiveMembers(path: archive).imageLayers()
        let again = try ArchiveMembers(path: saved).imageLayers()
        #expect(again.map { sha256($0.bytes) } == original.map { sha256($0.bytes) }, "save gives back the same diff_id")

        try root.succeed(["create", "--name", "up", "test/up:latest", "/bin/true"])
        let mounted = try root.succeed(["mount", "up"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: mounted + "/ok") == "../lib")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: mounted + "/a/b") == "../../../x")
        try root.succeed(["unmount", "up"])
        let committed = try root.run(["commit", "up", "test/up:committed"])
        #expect(committed.status == 0, "\(committed.standardError)")
        #expect(try root.succeed(["history", "-q", "test/up:committed"]).split(separator: "\n").count == 2)
        try root.succeed(["rm", "up"])
    }

    // MARK: 6. The decompression limit, a storage option

    @Test("stowage.max-layer-size smaller than a layer refuses the load, naming the limit; from --storage-opt or daemon.json",
          arguments: ["--storage-opt", "daemon.json"])
    func layerSizeLimit(_ source: String) throws {
        let root = try DataRoot(driver: "vfs")
        var options = ["--storage-opt", "stowage.max-layer-size=64k"]
        if source == "daemon.json" {
            let config = try root.scratch.write("daemon.json", #"{"storage-opts": ["stowage.max-layer-size=64k"]}"#)
            options = ["--config", config]
        }
        let message = "exceeds the limit of 65536 uncompressed bytes (stowage.max-layer-size)"
        try root.makeEmpty()
        var before = try root.listing()
        // Applied: a plain layer, and a gzip one, which is what the limit guards against.
        try expectRefused(try root.run(options + ["load", "-i", Fixtures.path("base.tar")]), message, root: root, before: before)
        try expectRefused(try root.run(options + ["load", "-i", Fixtures.path("links-oci.tar")]), message, root: root, before: before)
        // Already stored (shared with another image): only hashed, within the same limit.
        try root.succeed(["load", "-q", "-i", Fixtures.path("whiteout.tar")])
        before = try root.listing()
        try expectRefused(try root.run(options + ["load", "-i", Fixtures.path("base.tar")]), message, root: root, before: before)
        #expect(try root.succeed(["--storage-opt", "stowage.max-layer-size=1GB", "load", "-i", Fixtures.path("links-oci.tar")])
            .hasPrefix("Loaded image"))
    }

    @Test("an invalid stowage.max-layer-size is refused", arguments: ["ten", "10XB", "-1", "1.5.3", ".5g", "99999999999p", "10 k b"])
    func invalidLayerSizeLimit(_ value: String) throws {
        let (root, before) = try populatedRoot()
        try expectRefused(try root.run(["--storage-opt", "stowage.max-layer-size=\(value)", "load", "-i", Fixtures.path("base.tar")]),
                          "invalid size \"\(value)\" for stowage.max-layer-size", root: root, before: before)
    }

    @Test("sizes are read as Docker's units.RAMInBytes reads them", arguments: [
        ("1024", Int64(1024)), ("64k", 64 << 10), ("10GB", 10 << 30), ("1.5GiB", 3 << 29), ("512 m", 512 << 20), ("2T", 2 << 40), ("0", nil),
    ] as [(String, Int64?)])
    func layerSizeUnits(_ text: String, _ bytes: Int64?) throws {
        #expect(try EngineConfiguration(storageOptions: ["stowage.max-layer-size=\(text)"]).maximumLayerSize == bytes)
    }
}
