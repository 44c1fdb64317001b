#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StowageCore
import StowageDrivers

/// Where the data root is and which storage driver to use: Docker's `daemon.json` keys
/// (`data-root`, `storage-driver`, `storage-opts`), overridden by command-line flags.
public struct EngineConfiguration: Sendable {
    public static let defaultDataRoot = "/var/lib/stowage"
    public static let defaultConfigPath = "/etc/stowage/daemon.json"

    public var dataRoot: String
    /// nil: choose (or keep the one the data root already uses).
    public var storageDriver: String?
    public var storageOptions: [String]
    /// Refuse a data root that does not exist, instead of making an empty one (for reads).
    public var requiresExistingRoot = false

    /// `stowage.max-layer-size` from the storage options: the most bytes one layer of a loaded
    /// image may decompress to; nil (the default) for no limit. Throws for an invalid size.
    public var maximumLayerSize: Int64? {
        get throws { try StorageOptions.maximumLayerSize(in: storageOptions) }
    }

    public init(dataRoot: String = EngineConfiguration.defaultDataRoot, storageDriver: String? = nil, storageOptions: [String] = []) {
        self.dataRoot = dataRoot
        self.storageDriver = storageDriver
        self.storageOptions = storageOptions
    }

    private struct File: Decodable {
        let dataRoot: String?
        let storageDriver: String?
        let storageOpts: [String]?

        enum CodingKeys: String, CodingKey {
            case dataRoot = "data-root"
            case storageDriver = "storage-driver"
            case storageOpts = "storage-opts"
        }
    }

    /// Reads `path` (a missing file at the default path is fine), then applies the flags.
    public static func load(path: String?, dataRoot: String?, storageDriver: String?, storageOptions: [String] = []) throws -> EngineConfiguration {
        var configuration = EngineConfiguration()
        let configPath = path ?? defaultConfigPath
        if let bytes = try readConfigFile(configPath, required: path != nil) {
            let file: File
            do {
                file = try JSONDecoder().decode(File.self, from: Data(bytes))
            } catch {
                throw StowageError(.invalidArgument, "\(configPath) is not valid JSON with data-root, storage-driver and storage-opts: \(error)")
            }
            if let root = file.dataRoot { configuration.dataRoot = root }
            configuration.storageDriver = file.storageDriver
            configuration.storageOptions = file.storageOpts ?? []
        }
        if let dataRoot { configuration.dataRoot = dataRoot }
        if let storageDriver { configuration.storageDriver = storageDriver }
        if !storageOptions.isEmpty { configuration.storageOptions = storageOptions }
        while configuration.dataRoot.count > 1, configuration.dataRoot.hasSuffix("/") { configuration.dataRoot.removeLast() }
        guard configuration.dataRoot.hasPrefix("/") else {
            throw StowageError(.invalidArgument, "data root \(configuration.dataRoot) must be an absolute path")
        }
        return configuration
    }

    private static func readConfigFile(_ path: String, required: Bool) throws -> [UInt8]? {
        guard let handle = fopen(path, "r") else {
            if !required, errno == ENOENT { return nil }
            throw StowageError(.notFound, "cannot read configuration file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = fread(&chunk, 1, chunk.count, handle)
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#endif
