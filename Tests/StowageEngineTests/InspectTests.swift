import Foundation
import StowageTestSupport
import Testing

@Suite("inspect and listing templates, side by side with the real docker")
struct InspectTests {
    @Test("the same inspect commands print the same objects, template output and errors as docker's")
    func sameAsDocker() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        let setup: [[String]] = [
            ["load", "-i", Fixtures.path("base.tar")],
            ["volume", "create", "vv"],
            ["create", "--name", "web", "--label", "tier=a&b<c>", "-v", "vv:/data", "fixture/base"],
            ["create", "--name", "two", "-v", "/tmp:/host:ro", "fixture/base", "sh", "-c", "true"],
        ]
        for arguments in setup {
            for side in [stowage, docker] {
                let result = try side.run(arguments)
                #expect(result.status == 0, "\(arguments): \(result.error)")
            }
        }
        for (side, run) in [(stowage, { try root.run($0) }), (docker, { try runProcess(["docker", "--host", "unix://\(engine.socket)"] + $0) })] {
            for container in ["web", "two"] {
                let created = try run(["inspect", "-f", "{{.Created}}", container]).output.trimmingCharacters(in: .whitespacesAndNewlines)
                side.name(created, as: "<created \(container)>")
            }
            let volumeCreated = try run(["volume", "inspect", "-f", "{{.CreatedAt}}", "vv"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            side.name(volumeCreated, as: "<volume created>")
        }
        let script: [[String]] = [
            ["inspect", "web"],
            ["container", "inspect", "two", "web"],
            ["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "web"],
            ["inspect", "-f", "{{.SizeRw}} {{.State.Status}} {{.Config.Labels}} {{index .Config.Labels \"tier\"}} {{.HostConfig.Binds}} {{len .Mounts}}", "web", "two"],
            ["container", "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Source}} {{.Mode}} {{.RW}} {{.Propagation}}{{end}}", "two"],
            ["inspect", "fixture/base"],
            ["image", "inspect", "-f", "{{.Id}} {{.Config.Cmd}} {{.Config.Healthcheck}} {{json .RootFS}}", "fixture/base"],
            ["inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}} {{.Options}} {{.Status}}", "vv"],
            ["volume", "inspect", "vv"],
            ["inspect", "nosuch"],
            ["inspect", "-f", "{{.Id}}", "nosuch", "web"],
            ["inspect", "--type", "image", "web"],
            ["container", "inspect", "fixture/base"],
            ["image", "inspect", "-f", "{{.Id}}", "fixture/base", "nosuch1", "nosuch2"],
            ["volume", "inspect", "-f", "{{.Name}}", "vv", "nosuch"],
            ["image", "inspect", "-f", "{{.Nope}}", "fixture/base"],
            ["inspect", "-f", "{{.Config.Nope}}", "web"],
            ["image", "inspect", "-f", "{{.Config.Nope", "fixture/base"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            ImageVerbTests.SideOfComparison.expectSameStatusAndOutput(arguments, mine, theirs)
            // The docker 28 CLI passes on dockerd's doubled message for a missing image.
            let theirError = theirs.error.replacingOccurrences(of: "Error: ", with: "")
                .replacing(/no such image: ([^:\n]+): No such image: [^\n]+/) { "No such image: \($0.1)" }
            #expect(mine.error == theirError, "\(arguments.joined(separator: " ")):\n\(mine.error)-- docker:\n\(theirs.error)")
        }
    }

    @Test("listings with --format templates, tables, json and filters print what docker's print")
    func listingsSameAsDocker() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("whiteout+links.tar")],
            ["volume", "create", "--label", "team=a", "averylongvolumename-0123"],
            ["volume", "create", "spare"],
            // One mount each: docker lists a container's mounts in Go's random map order.
            ["create", "--name", "web", "--label", "tier=a&b", "-v", "averylongvolumename-0123:/data", "fixture/links"],
            ["create", "--name", "bound", "-v", "/tmp:/host:ro", "fixture/whiteout"],
            ["images", "--format", "{{json .}}"],
            ["images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}"],
            ["images", "--format", "{{.Repository}}{{if eq .Tag \"latest\"}} (latest){{end}} {{upper .Tag}}"],
            ["images", "--format", "{{.Nope}}"],
            ["images", "--format", "{{.Nope"],
            ["history", "--format", "{{json .}}", "fixture/links"],
            ["history", "--format", "table {{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}", "fixture/whiteout"],
            ["history", "--format", "{{.Nope}}", "fixture/links"],
            ["ps", "-a", "--format", "{{.Names}} {{.Mounts}} {{.Size}} {{.Labels}} {{.Image}} {{.Command}} {{.State}} {{.LocalVolumes}}"],
            ["ps", "-a", "--no-trunc", "--format", "{{.Mounts}}"],
            ["ps", "-a", "--format", "table {{.Names}}\\t{{.Image}}"],
            ["ps", "-a", "--format", "{{.Nope}}"],
            ["ps", "-a", "--format", "{{.Nope"],
            ["volume", "ls", "--format", "{{json .}}"],
            ["volume", "ls", "--format", "table {{.Name}}\\t{{.Driver}}\\t{{.Labels}}\\t{{.Mountpoint}}"],
            ["volume", "ls", "-f", "dangling=true"],
            ["volume", "ls", "-q", "-f", "label=team"],
            ["volume", "ls", "-f", "name=spa", "-f", "driver=local"],
            ["volume", "ls", "--format", "{{.Nope}}"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            ImageVerbTests.SideOfComparison.expectSameStatusAndOutput(arguments, mine, theirs)
            #expect(mine.error == theirs.error.replacingOccurrences(of: "Error: ", with: ""),
                    "\(arguments.joined(separator: " ")):\n\(mine.error)-- docker:\n\(theirs.error)")
        }
    }

    @Test("an image's VOLUMEs get anonymous volumes at create, filled from the image, unless a -v mounts there, as docker's")
    func imageVolumes() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        // Mount by mount (docker lists them in Go's random map order).
        let mount = { (path: String) in
            "{{range .Mounts}}{{if eq .Destination \"\(path)\"}}\(path): {{.Type}} {{.Driver}} {{.Mode}} {{.RW}} {{.Propagation}} {{len .Name}}{{end}}{{end}}"
        }
        let mounts = "{{len .Mounts}} " + mount("/etc") + " " + mount("/srv/data") + " {{json .Config.Volumes}}"
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("base.tar")],
            ["create", "--name", "c0", "fixture/base"],
            ["commit", "-c", "VOLUME /etc /srv/data/", "c0", "vol:1"],
            ["create", "--name", "v1", "vol:1"],
            ["inspect", "-f", mounts, "v1"],
            ["create", "--name", "v2", "-v", "named:/etc", "vol:1"],
            ["inspect", "-f", mounts, "v2"],
            ["volume", "ls", "-q", "-f", "name=named"],
            ["rm", "-v", "v1"],
            ["rm", "v2"],
        ]
        var volumeCounts: [Int] = []
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            ImageVerbTests.SideOfComparison.expectSameStatusAndOutput(arguments, mine, theirs)
            if arguments == ["create", "--name", "v1", "vol:1"] {
                // The volume at /etc holds the image's /etc, as docker fills it.
                let source = "{{range .Mounts}}{{if eq .Destination \"/etc\"}}{{.Source}}{{end}}{{end}}"
                let files = { (run: ([String]) throws -> ProcessResult) in
                    try FileManager.default.contentsOfDirectory(atPath: try run(["inspect", "-f", source, "v1"]).output
                        .trimmingCharacters(in: .whitespacesAndNewlines)).sorted()
                }
                let ours = try files { try root.run($0) }
                let theirs = try files { try runProcess(["docker", "--host", "unix://\(engine.socket)"] + $0) }
                #expect(!ours.isEmpty && ours == theirs, "\(ours) -- docker: \(theirs)")
            }
            if arguments.first == "create" || arguments.first == "rm" {
                let count = { (run: ([String]) throws -> ProcessResult) in try run(["volume", "ls", "-q"]).output.split(separator: "\n").count }
                let (ours, theirs) = (try count { try root.run($0) }, try count { try runProcess(["docker", "--host", "unix://\(engine.socket)"] + $0) })
                #expect(ours == theirs, "volumes after \(arguments): \(ours) -- docker: \(theirs)")
                volumeCounts.append(ours)
            }
        }
        #expect(volumeCounts == [0, 2, 4, 2, 2], "\(volumeCounts)")
    }

    @Test("create's -e, --env-file, -w, --entrypoint, -u, -h, -t, -i, --network, --label-file write what docker's create writes")
    func createFlags() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let environment = ["PASSED": "from-the-caller"]
        let stowage = ImageVerbTests.SideOfComparison.stowage(root, environment: environment)
        let docker = ImageVerbTests.SideOfComparison.docker(engine, environment: environment)
        let envFile = try root.scratch.write("env", "# a comment\nFROMFILE=yes\n\n  SPACED=a b \nPASSED\nUNSET_HERE\nB=from-file\n")
        let labelFile = try root.scratch.write("labels", "lf1=a\n# no\nlf2\n")
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("base.tar")],
            ["create", "--name", "flags", "-e", "A=1", "--env-file", envFile, "-w", "/srv", "-u", "1000:1000",
             "--entrypoint", "/bin/echo", "-h", "myhost", "-t", "-i", "--network", "none", "--label-file", labelFile, "--label", "x=y",
             "fixture/base", "hello", "world"],
            ["inspect", "flags"],
            // Alone: the docker 28 CLI orders variables it passes through, set or unset, at random among others.
            ["create", "--name", "passed", "-e", "PASSED", "fixture/base"],
            ["inspect", "-f", "{{json .Config.Env}}", "passed"],
            ["create", "--name", "unset", "-e", "B", "fixture/base"],
            ["inspect", "-f", "{{json .Config.Env}}", "unset"],
            ["create", "--name", "hostnet", "--network", "host", "-it", "fixture/base"],
            ["inspect", "hostnet"],
            ["create", "--name", "noentry", "--entrypoint", "", "fixture/base", "ls", "-l"],
            ["inspect", "-f", "{{json .Path}} {{json .Args}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.Env}}", "noentry"],
            ["create", "--name", "elsewhere", "--network", "somenet", "fixture/base"],
            ["inspect", "-f", "{{.HostConfig.NetworkMode}} {{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}", "elsewhere"],
            ["create", "--entrypoint", "", "fixture/base"],
            ["create", "-w", "relative", "fixture/base"],
            ["create", "-e", "=x", "fixture/base"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            #expect(mine.status == theirs.status, "\(arguments): \(mine.error) -- docker: \(theirs.error)")
            let name = arguments.first == "create" ? (arguments.firstIndex(of: "--name").map { arguments[$0 + 1] }) : nil
            if let name, mine.status == 0 {
                for side in [stowage, docker] {
                    let created = try side.run(["inspect", "-f", "{{.Created}}", name]).output.trimmingCharacters(in: .whitespacesAndNewlines)
                    side.name(created, as: "<created \(name)>")
                }
            }
            #expect(mine.output == theirs.output, "\(arguments.joined(separator: " ")):\n\(mine.output)-- docker:\n\(theirs.output)")
            let theirError = theirs.error.replacingOccurrences(of: "Error response from daemon: ", with: "")
                .components(separatedBy: "\n\nUsage:").first!.replacingOccurrences(of: "Error: ", with: "")
            let myError = mine.error.replacingOccurrences(of: "See 'stowage create --help'.\n", with: "")
            #expect(myError.trimmingCharacters(in: .newlines) == theirError.trimmingCharacters(in: .newlines),
                    "\(arguments.joined(separator: " ")):\n\(mine.error)-- docker:\n\(theirs.error)")
        }
    }

    @Test("rename, ps -n and -l, images --filter before, since and label do what docker's do")
    func renameAndFilters() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("whiteout+links.tar")],
            ["load", "-i", Fixtures.path("base.tar")],
            ["load", "-i", Fixtures.path("many-layers.tar")],
            ["create", "--name", "first", "fixture/base"],
            ["create", "--name", "second", "fixture/links"],
            ["create", "--name", "third", "fixture/whiteout"],
            ["rename", "first", "renamed"],
            ["rename", "second", "renamed"],
            ["rename", "renamed", "renamed"],
            ["rename", "renamed", "bad!"],
            ["rename", "nosuch", "x"],
            ["ps", "-a", "--format", "{{.Names}} {{.Image}}"],
            ["ps", "-n", "2", "--format", "{{.Names}}"],
            ["ps", "-l", "--format", "{{.Names}}"],
            ["ps", "-n", "0", "--format", "{{.Names}}"],
            ["ps", "--format", "{{.Names}}"],
            ["ps", "--filter", "status=created", "--format", "{{.Names}}"],
            ["inspect", "-f", "{{.Name}}", "renamed"],
            ["images", "--filter", "before=fixture/many-layers", "--format", "{{.Repository}}"],
            ["images", "--filter", "since=fixture/base", "--format", "{{.Repository}}"],
            ["images", "--filter", "label=nosuch", "--format", "{{.Repository}}"],
            ["images", "--filter", "before=nosuch:latest"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            ImageVerbTests.SideOfComparison.expectSameStatusAndOutput(arguments, mine, theirs)
            // docker's rename adds a second line ("Error: failed to rename container named …").
            let theirError = theirs.error.replacingOccurrences(of: "Error response from daemon: ", with: "")
                .split(separator: "\n").filter { !$0.hasPrefix("Error: failed to rename") }.joined(separator: "\n")
                .replacing(/no such image: ([^:\n]+): No such image: [^\n]+/) { "No such image: \($0.1)" }
            #expect(mine.error.trimmingCharacters(in: .newlines) == theirError.replacingOccurrences(of: "Error: ", with: ""),
                    "\(arguments.joined(separator: " ")):\n\(mine.error)-- docker:\n\(theirs.error)")
        }
    }

    @Test("commit -c takes ONBUILD and HEALTHCHECK, refuses STOPSIGNAL, and writes the config in dockerd's key order")
    func commitChanges() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        let changes = ["-c", "EXPOSE 80 443/udp", "-c", "ENV A=1", "-c", "onbuild run echo hi", "-c", "LABEL x=y",
                       "-c", #"HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD ["curl","-f","http://localhost/"]"#,
                       "-c", "WORKDIR /srv", "-c", "VOLUME /data", "-c", "USER nobody", "-c", #"ENTRYPOINT ["/bin/echo"]"#]
        let script: [[String]] = [
            ["load", "-i", Fixtures.path("base.tar")],
            ["create", "--name", "c1", "fixture/base"],
            ["commit"] + changes + ["c1", "changed:1"],
            ["commit", "-c", "HEALTHCHECK NONE", "c1", "none:1"],
            ["image", "inspect", "-f", "{{json .Config.Healthcheck}}", "none:1"],
            ["commit", "-c", "STOPSIGNAL SIGKILL", "c1", "refused:1"],
            ["commit", "-c", "FROM scratch", "c1", "refused:1"],
            ["commit", "-c", "ONBUILD ONBUILD RUN x", "c1", "refused:1"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            #expect(mine.status == theirs.status, "\(arguments): \(mine.error) -- docker: \(theirs.error)")
            #expect(mine.error == theirs.error.replacingOccurrences(of: "Error response from daemon: ", with: ""), "\(arguments)")
        }
        // The stored config's `config`, key by key, as dockerd wrote it (the hostname is the container's).
        let storedConfig = { (dataRoot: String, id: String, container: String) throws -> String in
            let bytes = try String(contentsOfFile: dataRoot + "/image/vfs/imagedb/content/sha256/" + id.dropFirst(7), encoding: .utf8)
            let start = try #require(bytes.range(of: #""config":"#)?.upperBound)
            let end = try #require(bytes.range(of: #","container":"#)?.lowerBound)
            return String(bytes[start..<end]).replacingOccurrences(of: String(container.prefix(12)), with: "<hostname>")
        }
        let image = ["image", "inspect", "-f", "{{.Id}}", "changed:1"]
        let container = ["inspect", "-f", "{{.Id}}", "c1"]
        let mine = try storedConfig(root.path, try root.succeed(image).trimmingCharacters(in: .newlines),
                                    try root.succeed(container).trimmingCharacters(in: .newlines))
        let theirs = try storedConfig(engine.dataRoot, try engine.docker(image).trimmingCharacters(in: .newlines),
                                      try engine.docker(container).trimmingCharacters(in: .newlines))
        #expect(mine == theirs, "\(mine)\n-- docker:\n\(theirs)")
    }

    @Test("volume create -d local -o keeps the local driver's options (opts.json as dockerd's) and refuses what it refuses")
    func volumeOptions() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        let script: [[String]] = [
            ["volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m", "--label", "a=b", "tv"],
            ["volume", "inspect", "-f", "{{json .Options}} {{.Driver}} {{json .Labels}} {{.Mountpoint}}", "tv"],
            ["volume", "create", "plain"],
            ["volume", "inspect", "-f", "{{json .Options}}", "plain"],
            ["volume", "create", "-d", "nosuch", "x1"],
            ["volume", "create", "-o", "bogus=1", "x2"],
            ["volume", "create", "-o", "type=tmpfs", "x3"],
            ["volume", "create", "-o", "device=/x", "x4"],
            ["volume", "create", "-o", "size=10m", "x5"],
            ["volume", "ls", "-q"],
        ]
        for arguments in script {
            let (mine, theirs) = (try stowage.run(arguments), try docker.run(arguments))
            ImageVerbTests.SideOfComparison.expectSameStatusAndOutput(arguments, mine, theirs)
            #expect(mine.error == theirs.error.replacingOccurrences(of: "Error response from daemon: ", with: ""), "\(arguments)")
        }
        let options = { (dataRoot: String) in try String(contentsOfFile: dataRoot + "/volumes/tv/opts.json", encoding: .utf8) }
        #expect(try options(root.path) == options(engine.dataRoot))
    }

    @Test("system df -v lists each image with its shared and unique sizes, each container and volume, as docker's")
    func diskUsageVerbose() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        let stowage = ImageVerbTests.SideOfComparison.stowage(root)
        let docker = ImageVerbTests.SideOfComparison.docker(engine)
        for arguments in [["load", "-i", Fixtures.path("whiteout+links.tar")], ["load", "-i", Fixtures.path("base.tar")],
                          ["load", "-i", Fixtures.path("many-layers.tar")], ["tag", "fixture/base", "second:tag"],
                          ["volume", "create", "kept"], ["create", "--name", "c1", "-v", "kept:/data", "fixture/links"],
                          ["create", "--name", "c2", "fixture/base"]] {
            #expect(try stowage.run(arguments).status == 0 && docker.run(arguments).status == 0, "\(arguments)")
        }
        // Cells of each line; the containers' CREATED column (seconds apart) and the order of
        // volumes (docker's is its store's) left out of the comparison.
        let cells = { (output: String) -> [[String]] in
            var section = ""
            var rows: [[String]] = []
            for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasSuffix("usage:") || line.hasPrefix("Build cache") { section = String(line) }
                var row = line.split(separator: /\ \ +/).map(String.init)
                if section.hasPrefix("Containers"), row.count == 8 { row[5] = "*" }
                rows.append(row)
            }
            return rows
        }
        let (mine, theirs) = (try stowage.run(["system", "df", "-v"]), try docker.run(["system", "df", "-v"]))
        #expect(mine.status == 0 && theirs.status == 0)
        let sortedVolumes = { (rows: [[String]]) -> [[String]] in
            guard let start = rows.firstIndex(where: { $0.first == "VOLUME NAME" }), let end = rows[start...].firstIndex(where: { $0.isEmpty }) else { return rows }
            return Array(rows[..<(start + 1)]) + rows[(start + 1)..<end].sorted { $0.joined() < $1.joined() } + Array(rows[end...])
        }
        #expect(sortedVolumes(cells(mine.output)) == sortedVolumes(cells(theirs.output)), "\(mine.output)-- docker:\n\(theirs.output)")
    }

    @Test("import makes the one-layer image docker's import makes: the same diff_id, config and history but for time and version")
    func importTarball() throws {
        let root = try DataRoot()
        let engine = try DockerEngine(storageDriver: "vfs")
        defer { engine.stop() }
        // The base fixture's layer, gzip-compressed, as a root filesystem tarball.
        let members = try ArchiveMembers(path: Fixtures.path("base.tar"))
        let layer = try #require(members.files.first { $0.key.hasSuffix("/layer.tar") }?.value)
        let tarball = try root.scratch.write("rootfs.tar", layer)
        _ = try shell("gzip -k '\(tarball)'")
        let configOf = { (dataRoot: String, id: String) throws -> String in
            let text = try String(contentsOfFile: dataRoot + "/image/vfs/imagedb/content/sha256/" + id.dropFirst(7), encoding: .utf8)
            return text.replacing(/"created":"[^"]*"/, with: "\"created\":\"<time>\"").replacing(/"docker_version":"[^"]*"/, with: "\"docker_version\":\"<version>\"")
        }
        for (arguments, input) in [(["import", "-c", #"CMD ["/bin/sh"]"#, "-c", "ENV A=1", "-m", "a message", tarball + ".gz", "imported:1"], nil),
                                   (["import", "-", "imported:2"], Data(layer))] as [([String], Data?)] {
            let mine = try root.run(arguments, input: input)
            let theirs = try runProcess(["docker", "--host", "unix://\(engine.socket)"] + arguments, input: input)
            #expect(mine.status == 0 && theirs.status == 0, "\(mine.standardError) -- docker: \(theirs.standardError)")
            let (myID, theirID) = (mine.output.trimmingCharacters(in: .newlines), theirs.output.trimmingCharacters(in: .newlines))
            #expect(try configOf(root.path, myID) == configOf(engine.dataRoot, theirID))
            let history = ["history", "--format", "{{.CreatedBy}}|{{.Size}}|{{.Comment}}", arguments.last!]
            #expect(try root.succeed(history) == engine.docker(history))
        }
        // The layer is the tarball as given: the base fixture's diff_id.
        let baseLayer = try Fixtures.expected("base").diffIDs[0]
        #expect(try root.succeed(["image", "inspect", "-f", "{{json .RootFS}}", "imported:2"]) == "{\"Type\":\"layers\",\"Layers\":[\"\(baseLayer)\"]}\n")
    }
}
