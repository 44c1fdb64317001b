import ArgumentParser
import StowageCore
import StowageEngine
import StowageFileSystem

/// `stowage layer probe IMAGE`: makes a writable layer on an image, mounts it, lists its
/// root, and removes it again: what creating and starting a container costs the driver.
struct LayerProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Create a writable layer on an image, mount it, list its root, and remove it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The image, by name or ID.")
    var image: String

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine()
            guard let top = try engine.layerStack(of: try engine.resolveImage(image)).last else {
                throw StowageError(.invalidArgument, "image \(image) has no layers")
            }
            let layer = LayerCacheID.random()
            try engine.driver.createWritable(layer, parent: top.cacheID)
            defer { try? engine.driver.remove(layer) }
            let root = try engine.driver.get(layer)
            defer { try? engine.driver.put(layer) }
            print(try FileDescriptor.openDirectory(root).childNames().sorted().joined(separator: "\n"))
        }
    }
}
