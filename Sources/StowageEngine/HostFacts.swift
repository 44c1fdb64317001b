#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageFileSystem

/// Facts about the machine, as `docker info` and `docker version` report them.
public enum HostFacts {
    /// The hardware name as `uname -m` prints it: `x86_64`, `aarch64` (Docker's `Architecture`).
    public static var machine: String { string(names.machine) }

    /// Go's name for the architecture (`amd64`, `arm64`), as images and `OS/Arch` name it.
    public static var goArchitecture: String {
        switch machine {
        case "x86_64": "amd64"
        case "aarch64": "arm64"
        case "armv7l", "armv6l": "arm"
        case "i686", "i386": "386"
        case let other: other
        }
    }

    /// The kernel release (`uname -r`).
    public static var kernelVersion: String { string(names.release) }

    /// The host name (`uname -n`).
    public static var hostName: String { string(names.nodename) }

    /// `PRETTY_NAME` and `VERSION_ID` of `/etc/os-release` (Docker's `OperatingSystem`, `OSVersion`).
    public static var operatingSystem: (name: String, version: String) {
        let fields = osRelease()
        return (fields["PRETTY_NAME"] ?? "Linux", fields["VERSION_ID"] ?? "")
    }

    /// Processors online.
    public static var cpuCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Physical memory in bytes.
    public static var totalMemory: Int64 { Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))) }

    /// `2` when `/sys/fs/cgroup` is the unified hierarchy, `1` otherwise (hybrid included).
    public static var cgroupVersion: String {
        let type = try? FileDescriptor.openDirectory("/sys/fs/cgroup").filesystemType()
        return type == 0x6367_7270 ? "2" : "1"  // CGROUP2_SUPER_MAGIC
    }

    private static var names: utsname {
        var names = utsname()
        _ = Glibc.uname(&names)
        return names
    }

    /// A NUL-terminated `utsname` field (a tuple of `CChar`s) as a string.
    private static func string<Field>(_ field: Field) -> String {
        withUnsafeBytes(of: field) { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func osRelease() -> [String: String] {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return [:] }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = line[line.index(after: equals)...]
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = value.dropFirst().dropLast()
            }
            fields[String(line[..<equals])] = String(value)
        }
        return fields
    }
}
