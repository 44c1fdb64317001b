import Foundation
import StowageFileSystem

/// The result of running a program to completion.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let standardOutput: Data
    public let standardError: String

    public var output: String { String(decoding: standardOutput, as: UTF8.self) }
}

/// Runs `arguments` (the first is looked up in PATH) and waits for it.
@discardableResult
public func runProcess(_ arguments: [String], input: Data? = nil, directory: String? = nil,
                       environment: [String: String]? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    // Files rather than pipes: no reader threads, no deadlock on large outputs.
    let scratch = try TemporaryDirectory("process")
    let outputPath = scratch.join("stdout"), errorPath = scratch.join("stderr"), inputPath = scratch.join("stdin")
    try writeFile(outputPath, [])
    try writeFile(errorPath, [])
    let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    process.standardOutput = stdout
    process.standardError = stderr
    if let input {
        try writeFile(inputPath, Array(input))
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    try stdout.close()
    try stderr.close()
    let outputData = try Data(contentsOf: URL(fileURLWithPath: outputPath))
    let errorData = try Data(contentsOf: URL(fileURLWithPath: errorPath))
    return ProcessResult(status: process.terminationStatus, standardOutput: outputData,
                         standardError: String(decoding: errorData, as: UTF8.self))
}

/// Runs a shell command line with `sh -c`, failing the caller if it exits non-zero.
@discardableResult
public func shell(_ command: String, directory: String? = nil) throws -> String {
    let result = try runProcess(["sh", "-c", command], directory: directory)
    guard result.status == 0 else {
        throw ShellError(command: command, status: result.status, standardError: result.standardError)
    }
    return result.output
}

public struct ShellError: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let standardError: String
    public var description: String { "`\(command)` exited \(status): \(standardError)" }
}

/// Whether a program is on PATH.
public func programExists(_ name: String) -> Bool {
    (try? runProcess(["sh", "-c", "command -v \(name)"]).status) == 0
}

/// Creates or truncates a file with `contents`. (Foundation's `createFile` writes atomically
/// through a `/tmp/TemporaryDirectory.*` it never removes.)
public func writeFile(_ path: String, _ contents: [UInt8]) throws {
    let file = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
    try file.writeAll(contents)
}
