import ArgumentParser
import StowageCore
import StowageEngine

/// `stowage check [--repair] [--deep]`: verifies the data root (as `podman system check`).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the data root for corrupt, missing, leftover and orphaned objects.",
        discussion: "Prints each problem on one line and exits 1 if there is any. With --repair, removes what cannot be used and exits 1 only for what it cannot repair (images that lost layers, corrupt objects).")

    @Flag(name: .long, help: "Remove leftovers, orphans, layers no image or container uses, and tags of missing images.")
    var repair = false

    @Flag(name: .long, help: "Also rebuild every layer from its tar-split record and compare its diff_id.")
    var deep = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            var remaining: [CheckProblem]
            if repair {
                let result = try engine.repair(deep: deep)
                for problem in result.repaired { print("repaired \(problem)") }
                remaining = result.remaining
            } else {
                remaining = try engine.check(deep: deep)
            }
            for problem in remaining { print(problem) }
            if !remaining.isEmpty { throw ExitCode.failure }
        }
    }
}
