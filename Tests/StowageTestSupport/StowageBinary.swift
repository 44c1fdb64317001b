#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `stowage` executable built beside the test bundle, or the one `STOWAGE_BINARY` names
/// (to run the tests against a release build).
public func stowageBinary() throws -> String {
    if let chosen = ProcessInfo.processInfo.environment["STOWAGE_BINARY"], !chosen.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: chosen) else { throw FixtureError(description: "STOWAGE_BINARY \(chosen) is not executable") }
        return chosen
    }
    let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let binary = (bundle as NSString).deletingLastPathComponent + "/stowage"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw FixtureError(description: "\(binary) is missing: run `swift build` first")
    }
    return binary
}

/// Runs the built `stowage` with `arguments`.
@discardableResult
public func stowage(_ arguments: [String], input: Data? = nil) throws -> ProcessResult {
    try runProcess([try stowageBinary()] + arguments, input: input)
}
