#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import StowageArchive
import StowageCore
import StowageFileSystem
import StowageTar

/// Runs a command body, printing any error as one line `stowage: <message>` and exiting 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        var standardError = StandardErrorStream()
        print("stowage: \(error)", to: &standardError)
        throw ExitCode.failure
    }
}

/// Runs `body` for each item, as the docker CLI runs a verb over several objects: an item
/// that fails does not stop the others. Each failure is reported on its own `stowage: …`
/// line, the same shape as any other error, and the command exits 1 once every item was
/// tried. A failure `ignored` accepts is no failure (`rm -f` of a missing container).
func forEachReportingFailures(_ items: [String], ignoring ignored: (StowageError) -> Bool = { _ in false },
                              _ body: (String) throws -> Void) throws {
    var failed = false
    for item in items {
        do {
            try body(item)
        } catch let error as StowageError {
            guard !ignored(error) else { continue }
            failed = true
            var standardError = StandardErrorStream()
            print("stowage: \(error)", to: &standardError)
        }
    }
    if failed { throw ExitCode.failure }
}

struct StandardErrorStream: TextOutputStream {
    mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// Standard output as a byte sink.
final class StandardOutput: ByteSink {
    private let descriptor = FileDescriptor(adopting: dup(1), path: "standard output")
    func write(_ bytes: UnsafeRawBufferPointer) throws { try descriptor.writeAll(bytes) }
}

/// A file path or `-` for standard input, as a byte source.
func openInput(_ path: String) throws -> ByteSource {
    if path == "-" { return FileSource(FileDescriptor(adopting: dup(0), path: "standard input")) }
    do {
        return try FileSource(path: path)
    } catch let error as SystemError {
        throw StowageError(.notFound, "cannot read \(path)", underlying: error)
    }
}

/// Refuses, as docker's `save` and `export` do, to write an archive to standard output when
/// that is a terminal and no `-o` file was named.
func refuseTerminalOutput(_ output: String?) throws {
    if output == nil, isatty(1) == 1 {
        throw StowageError(.invalidArgument, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    }
}

/// Sends a tar stream that `produce` writes to a file (atomically: all or nothing), to
/// standard output, or only prints its sha256 when `printingDigest`.
func writeStream(to output: String?, printingDigest: Bool, _ produce: (ByteSink) throws -> Void) throws {
    if printingDigest {
        let hasher = HashingSink(nil)
        try produce(hasher)
        print(hasher.digest)
    } else if let output {
        let file = try StagedFile(finalPath: output, replacing: true)
        do {
            try produce(FileSink(file.descriptor))
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    } else {
        try produce(StandardOutput())
    }
}
