import Foundation
import StowageCore
import StowageEngine
import StowageTestSupport
import Testing

/// The repository's `Scripts/` directory.
private let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Scripts").path

/// Starts `stowage` with `arguments` on `root` without waiting.
private func start(_ root: DataRoot, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try stowageBinary())
    process.arguments = ["--data-root", root.path, "--storage-driver", root.driver] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

@Suite("Many callers on one root: processes, tasks, faults at every system call")
struct ManyCallersTests {
    @Test("a load racing rmi of an image sharing its base keeps both images whole", arguments: ["vfs", "overlay2"])
    func loadRacingRemoval(_ driver: String) throws {
        for _ in 0..<4 {
            let root = try DataRoot(driver: driver)
            try root.succeed(["load", "-q", "-i", Fixtures.path("links.tar")])
            let load = try start(root, ["load", "-q", "-i", Fixtures.path("whiteout.tar")])
            let remove = try start(root, ["rmi", "fixture/links"])
            load.waitUntilExit()
            remove.waitUntilExit()
            #expect(load.terminationStatus == 0 && remove.terminationStatus == 0)
            #expect(try root.succeed(["images", "--format", "{{.Repository}}"]) == "fixture/whiteout\n")
            #expect(try root.succeed(["check"]) == "")
            try root.succeed(["history", "fixture/whiteout"])
            try root.succeed(["create", "--name", "c1", "fixture/whiteout", "/bin/true"])
            try root.succeed(["rm", "c1"])
        }
    }

    @Test("an image prune racing a load never leaves a tag naming a missing image")
    func pruneRacingLoad() throws {
        for _ in 0..<6 {
            let root = try DataRoot(driver: "overlay2")
            try root.succeed(["load", "-q", "-i", Fixtures.path("whiteout.tar")])
            let load = try start(root, ["load", "-q", "-i", Fixtures.path("links.tar")])
            let prune = try start(root, ["image", "prune", "-a", "-f"])
            load.waitUntilExit()
            prune.waitUntilExit()
            #expect(load.terminationStatus == 0 && prune.terminationStatus == 0)
            #expect(try root.succeed(["check"]) == "")
            for name in try root.succeed(["images", "--format", "{{.Repository}}:{{.Tag}}"]).split(separator: "\n") {
                try root.succeed(["inspect", String(name)])
            }
        }
    }

    @Test("listings never fail while other processes load and remove")
    func readersDuringChanges() throws {
        let root = try DataRoot(driver: "overlay2")
        try root.succeed(["load", "-q", "-i", Fixtures.path("whiteout.tar")])
        let deadline = Date().addingTimeInterval(8)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/bash")
        let stowage = "'\(try stowageBinary())' --data-root '\(root.path)' --storage-driver overlay2"
        writer.arguments = ["-c", "end=$((SECONDS + 8)); while ((SECONDS < end)); do \(stowage) load -q -i '\(Fixtures.path("links.tar"))'; \(stowage) rmi fixture/links; done"]
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        var reads = 0
        while Date() < deadline {
            for verb in [["images", "-a"], ["system", "df"], ["ps", "-a", "-s"], ["images"]] {
                let result = try root.run(verb)
                #expect(result.status == 0, "\(verb) failed during changes: \(result.standardError)")
                reads += 1
            }
        }
        writer.waitUntilExit()
        #expect(reads > 20)
        #expect(try root.succeed(["check"]) == "")
    }

    @Test("tasks of one process share one engine: loads, removals, creates and listings at once", arguments: ["vfs", "overlay2"])
    func tasksOfOneProcess(_ driver: String) async throws {
        let root = try DataRoot(driver: driver)
        let engine = try Engine(EngineConfiguration(dataRoot: root.path, storageDriver: driver))
        defer { engine.close() }
        let rounds = 12  // rounds, not a deadline: the test may start late on a busy pool
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for _ in 0..<rounds {
                    try engine.images.load(path: Fixtures.path("whiteout.tar"), with: engine.images.makeLoader())
                    try engine.images.load(path: Fixtures.path("links.tar"), with: engine.images.makeLoader())
                }
                return rounds
            }
            group.addTask {
                for _ in 0..<rounds {
                    do {
                        _ = try engine.images.remove("fixture/links", force: false)
                    } catch let error as StowageError where error.code == .notFound || error.message.contains("in use by a change in progress") {
                        // Not loaded yet, or the load is naming it this moment.
                    }
                }
                return rounds
            }
            group.addTask {
                for round in 0..<rounds {
                    do {
                        let id = try engine.containers.create(ContainerCreation(image: "fixture/whiteout", name: "task-\(round)"))
                        try engine.containers.remove(id, force: true, removeVolumes: true)
                    } catch let error as StowageError where error.code == .notFound {}
                }
                return rounds
            }
            group.addTask {
                for _ in 0..<rounds {
                    _ = try engine.images.list()
                    _ = try engine.diskUsage()
                    _ = try engine.containers.list(sizes: true)
                }
                return rounds
            }
            var total = 0
            for try await done in group { total += done }
            #expect(total == 4 * rounds)
        }
        #expect(try engine.check().map(\.description) == [])
    }

    @Test("four processes for 30 seconds: every command succeeds and the root checks clean")
    func stress() throws {
        let result = try runProcess(["bash", scripts + "/stress.sh"], environment: ["DURATION": "30", "STOWAGE": try stowageBinary()])
        #expect(result.status == 0, "\(result.output)\(result.standardError.suffix(3000))")
        #expect(result.output.contains(" 0 failed"))
    }

    @Test("a fault at a sample of system calls of every change leaves a root that checks clean and redoes like a clean run")
    func faultInjectionSample() throws {
        guard programExists("strace") else { Issue.record("strace is missing"); return }
        let result = try runProcess(["bash", scripts + "/fault-injection.sh"], environment: ["SAMPLE": "1", "STOWAGE": try stowageBinary()])
        #expect(result.status == 0, "\(result.output.suffix(4000))\(result.standardError.suffix(2000))")
        #expect(result.output.contains(", 0 failed"))
    }

    @Test("a root a live dockerd uses is read, never changed; a root dockerd made checks clean")
    func liveDocker() throws {
        let root = try DataRoot(driver: "vfs")
        let docker = try DockerEngine(storageDriver: "vfs", dataRoot: root.path)
        defer { docker.stop() }
        try docker.docker(["load", "-i", Fixtures.path("links.tar")])
        #expect(try root.succeed(["images", "--format", "{{.Repository}}"]) == "fixture/links\n")
        let refused = try root.run(["rmi", "fixture/links"])
        #expect(refused.status == 1 && refused.standardError.contains("a Docker daemon is using the data root"), "\(refused.standardError)")
        let load = try root.run(["load", "-i", Fixtures.path("base.tar")])
        #expect(load.status == 1 && load.standardError.contains("Docker daemon"))
        docker.stop()
        #expect(try root.succeed(["check", "--deep"]) == "")
        try root.succeed(["rmi", "fixture/links"])
    }
}
