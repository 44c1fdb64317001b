import ArgumentParser
import StowageEngine

/// Options every verb that touches a data root takes, as `dockerd` names them.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("data-root"), help: "Root of persistent Stowage state (default: /var/lib/stowage).")
    var dataRoot: String?

    /// `-s` works before the verb only (`stowage -s vfs images`): after it, `ps -s` is sizes.
    @Option(name: .customLong("storage-driver"), help: "Storage driver to use (-s before the verb).")
    var storageDriver: String?

    @Option(name: .customLong("config"), help: "Daemon configuration file (default: /etc/stowage/daemon.json).")
    var configPath: String?

    @Option(name: .customLong("storage-opt"), help: "Storage option, such as btrfs.min_space=10G or stowage.max-layer-size=10GB (repeatable).")
    var storageOptions: [String] = []

    /// Opens the engine on the configured data root.
    func openEngine() throws -> Engine {
        let engine = try Engine(EngineConfiguration.load(path: configPath, dataRoot: dataRoot, storageDriver: storageDriver,
                                                         storageOptions: storageOptions))
        var standardError = StandardErrorStream()
        for warning in engine.warnings { print(warning, to: &standardError) }
        return engine
    }
}
