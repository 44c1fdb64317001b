import Foundation
import StowageArchive
import StowageCore
import StowageTar

/// The images made by the real Docker 20.10 that the repository carries (Tests/Fixtures/docker),
/// with what Docker reported for each.
public enum Fixtures {
    public static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()  // StowageTestSupport
        url.deleteLastPathComponent()  // Tests
        return url.appendingPathComponent("Fixtures/docker").path
    }()

    /// Every image archive.
    public static let archives = ["base.tar", "whiteout.tar", "links.tar", "many-layers.tar",
                                  "whiteout+links.tar", "whiteout-oci.tar", "links-oci.tar"]

    public static func path(_ name: String) -> String { directory + "/" + name }

    /// What Docker reported for an image (`NAME.expected.txt`).
    public struct Expected: Sendable {
        public let imageID: String
        public let repoTags: [String]
        public let diffIDs: [String]
        public let chainIDs: [String]
        public let size: Int64
        /// `history --no-trunc --human=false` as `ID\tCREATED BY\tSIZE\tCOMMENT` lines.
        public let history: [String]
    }

    public static func expected(_ name: String) throws -> Expected {
        let text = try String(contentsOfFile: path("\(name).expected.txt"), encoding: .utf8)
        let sections = text.components(separatedBy: "\n## ")
        let jsonText = sections[1].drop { $0 != "{" }
        let json = try JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as! [String: Any]
        let rootFS = json["RootFS"] as! [String: Any]
        let chainSection = sections.first { $0.hasPrefix("chain IDs") }!
        let chainIDs = chainSection.split(separator: "\n").dropFirst().map(String.init).filter { $0.hasPrefix("sha256:") }
        let historySection = sections.first { $0.hasPrefix("history") }!
        let history = historySection.components(separatedBy: "\n").dropFirst().filter { !$0.isEmpty }
        return Expected(imageID: json["Id"] as! String, repoTags: json["RepoTags"] as? [String] ?? [],
                        diffIDs: rootFS["Layers"] as! [String], chainIDs: chainIDs,
                        size: (json["Size"] as! NSNumber).int64Value, history: Array(history))
    }

    /// The diff_ids an archive's images are expected to have, by image name (from the
    /// `.expected.txt` files of the images it holds).
    public static func expectedDiffIDs(archive: String) throws -> Set<String> {
        let names: [String]
        switch archive {
        case "whiteout+links.tar": names = ["whiteout", "links"]
        case "whiteout-oci.tar": names = ["whiteout"]
        case "links-oci.tar": names = ["links"]
        default: names = [String(archive.dropLast(4))]
        }
        return Set(try names.flatMap { try expected($0).diffIDs })
    }
}

/// An image archive's members, read into memory with Stowage's own tar reader
/// (the fixtures are a few MB).
public struct ArchiveMembers {
    public var files: [String: [UInt8]] = [:]

    public init(path: String) throws {
        let reader = TarReader(source: try FileSource(path: path))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while let header = try reader.next() {
            guard header.kind == .regular else { continue }
            var data: [UInt8] = []
            while true {
                let got = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
                if got == 0 { break }
                data.append(contentsOf: chunk[0..<got])
            }
            var name = header.name
            if name.hasPrefix("./") { name.removeFirst(2) }
            files[name] = data
        }
    }

    /// The layer blobs: `*/layer.tar` of a docker-archive and the non-JSON blobs of an OCI layout.
    public var layerBlobs: [(name: String, bytes: [UInt8])] {
        files.filter { name, bytes in
            name.hasSuffix("/layer.tar")
                || (name.contains("blobs/sha256/") && Compression.detect(bytes) != .none)
                || (name.contains("blobs/sha256/") && bytes.count >= 512 && bytes.first != UInt8(ascii: "{"))
        }
        .map { ($0.key, $0.value) }
        .sorted { $0.name < $1.name }
    }

    /// The layer blobs of a docker-archive's `index`th image, bottom first, as `manifest.json` lists them.
    public func imageLayers(_ index: Int = 0) throws -> [(name: String, bytes: [UInt8])] {
        struct Entry: Decodable { let Layers: [String] }
        let manifest = try JSONDecoder().decode([Entry].self, from: Data(files["manifest.json"] ?? []))
        return try manifest[index].Layers.map { name in
            guard let bytes = files[name] else { throw FixtureError(description: "\(name) is missing from the archive") }
            return (name, bytes)
        }
    }
}

/// The sha256 of bytes, as `sha256:<hex>`.
public func sha256(_ bytes: [UInt8]) -> String { Digest.of(bytes).description }

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
