import Foundation
import StowageTestSupport
import Testing

@Suite("stowage check flags every kind of damage, and --repair removes what cannot be used")
struct CheckTests {
    /// A corruption made by hand (`sh` in the root, `$M` the metadata directory, `$D` the
    /// driver home, `$L` the links image's top layer directory in layerdb, `$C` the container),
    /// the line `check` must print for it, and whether `--repair` makes the root clean.
    static let corruptions: [(String, String, String, Bool)] = [
        ("config edited", #"f=$M/imagedb/content/sha256/$(ls $M/imagedb/content/sha256 | head -1); printf ' ' >> $f"#, "corrupt: image", false),
        ("tag of a missing image", #"sed -i 's/"fixture\/links:latest":"sha256:[0-9a-f]*"/"fixture\/links:latest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"/' $M/repositories.json"#, "names image sha256:1111", true),
        ("layer gone from layerdb", #"rm -rf $L"#, "is not in layerdb", false),
        ("driver directory gone", #"rm -rf $D/$(cat $L/cache-id)"#, "is missing", false),
        ("l/ link gone", #"rm $D/l/$(cat $D/$(cat $L/cache-id)/link)"#, "does not link to", false),
        ("container without config", #"rm containers/$C/config.v2.json"#, "has no config.v2.json", true),
        ("orphan driver directory", #"mkdir $D/2222222222222222222222222222222222222222222222222222222222222222"#, "belongs to no layer or container", true),
        ("half-removed layer", #"h=4444444444444444444444444444444444444444444444444444444444444444; mkdir $D/$h $M/layerdb/sha256/$h-removing && printf $h > $M/layerdb/sha256/$h-removing/cache-id"#, "is half removed", true),
        ("staging file of a dead process", #"echo x > $M/repositories.json.partial-999999-abcd"#, "staging file of a dead process", true),
        ("abandoned lease", #"echo 'image sha256:3333333333333333333333333333333333333333333333333333333333333333' > $M/leases/0123456789abcdef0123"#, "lease 0123456789abcdef0123", true),
        ("layer no image uses", #"rm -r $M/imagedb/content/sha256/* containers/$C $M/layerdb/mounts/$C"#, "used by no image, container or change", true),
        ("write set of no change", #"mkdir $M/layerdb/tmp/write-set-deadbeef"#, "staging of no change", true),
    ]

    @Test("each corruption is one line and exit status 1; repair leaves a clean root where it can", arguments: corruptions.map(\.0))
    func corruption(_ name: String) throws {
        let (_, script, expected, repairable) = Self.corruptions.first { $0.0 == name }!
        let root = try DataRoot(driver: "overlay2")
        try root.succeed(["load", "-q", "-i", Fixtures.path("links.tar")])
        let container = try root.succeed(["create", "fixture/links", "/bin/true"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try root.succeed(["check", "--deep"]) == "")
        let chain = try shell("ls '\(root.path)/image/overlay2/layerdb/sha256' | while read c; do [ -f '\(root.path)/image/overlay2/layerdb/sha256/'$c/parent ] && echo $c; done").trimmingCharacters(in: .whitespacesAndNewlines)
        let environment = "M=image/overlay2; D=overlay2; L=image/overlay2/layerdb/sha256/\(chain); C=\(container);"
        try shell(environment + script, directory: root.path)
        // A shared hold on the root keeps the opening command from sweeping first.
        let binary = try stowageBinary()
        let checked = try runProcess(["flock", "-s", root.path + "/.stowage.lock", binary, "--data-root", root.path, "check"])
        #expect(checked.status == 1, "\(name): \(checked.output)")
        #expect(checked.output.contains(expected), "\(name): \(checked.output)")
        let repaired = try runProcess(["flock", "-s", root.path + "/.stowage.lock", binary, "--data-root", root.path, "check", "--repair"])
        #expect((repaired.status == 0) == repairable, "\(name): \(repaired.output)")
        if repairable {
            #expect(try root.succeed(["check"]) == "", "\(name) after repair")
        }
    }

    @Test("--deep rebuilds every layer from tar-split: a file changed in place is a wrong diff_id")
    func deep() throws {
        let root = try DataRoot(driver: "overlay2")
        try root.succeed(["load", "-q", "-i", Fixtures.path("base.tar")])
        try shell("f=$(find overlay2/*/diff -type f -size +0 | head -1); printf '\\001' | dd of=\"$f\" conv=notrunc status=none", directory: root.path)
        #expect(try root.succeed(["check"]) == "")
        let deep = try root.run(["check", "--deep"])
        #expect(deep.status == 1 && deep.output.contains("rebuilt from tar-split"), "\(deep.output)\(deep.standardError)")
    }
}
