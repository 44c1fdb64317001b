import ArgumentParser
import StowageEngine

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
            print(try engine.probeWritableLayer(on: image).joined(separator: "\n"))
        }
    }
}
