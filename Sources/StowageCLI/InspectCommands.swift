import ArgumentParser
import StowageCore
import StowageDockerTypes
import StowageEngine

/// `stowage inspect NAME…`: Docker's JSON for each container, image or volume, found in
/// that order as the docker CLI looks, or only of `--type`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Return low-level information on containers, images and volumes.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Format the output using the given Go template.")
    var format: String?

    @Flag(name: .shortAndLong, help: "Display total file sizes if the type is container.")
    var size = false

    @Option(help: "Return JSON for the specified type: container, image or volume.")
    var type: String?

    @Argument(help: "Containers, images or volumes, by name or ID.")
    var names: [String]

    func run() throws {
        try reportingErrors {
            guard type == nil || ["container", "image", "volume"].contains(type!) else {
                throw StowageError(.invalidArgument, "\"\(type!)\" is not a valid value for --type")
            }
            let engine = try global.openEngine(toRead: true)
            try printInspected(names, format: format) { name in
                if type == nil || type == "container", let object = try found({ try engine.containers.inspect(name, sizes: size) }) { return object }
                if type == nil || type == "image", let object = try found({ try engine.images.inspect(try engine.images.resolve(name)) }) { return object }
                if type == nil || type == "volume", let object = try found({ try engine.volumes.inspect(name) }) { return object }
                throw StowageError(.notFound, "No such \(type ?? "object"): \(name)")
            }
        }
    }

    /// The object, or nil when there is none of that kind.
    private func found(_ lookup: () throws -> any Encodable) throws -> (any Encodable)? {
        do {
            return try lookup()
        } catch let error as StowageError where error.code == .notFound {
            return nil
        }
    }
}

/// `stowage image inspect IMAGE…`.
struct ImageInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more images.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Format the output using the given Go template.")
    var format: String?

    @Argument(help: "Images, by name or ID.")
    var images: [String]

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            try printInspected(images, format: format) { try engine.images.inspect(try engine.images.resolve($0)) }
        }
    }
}

/// `stowage container inspect CONTAINER…`.
struct ContainerInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more containers.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .shortAndLong, help: "Format the output using the given Go template.")
    var format: String?

    @Flag(name: .shortAndLong, help: "Display total file sizes.")
    var size = false

    @Argument(help: "Containers, by name or ID.")
    var containers: [String]

    func run() throws {
        try reportingErrors {
            let engine = try global.openEngine(toRead: true)
            try printInspected(containers, format: format) { try engine.containers.inspect($0, sizes: size) }
        }
    }
}

/// Prints inspected objects as the docker CLI's inspect does: an indented JSON array (`<`,
/// `>`, `&` as they are), or with a template each object's rendering on a line of its own
/// (an empty line when none rendered). An object not found or that the template fails on
/// is one `stowage: …` line after the output, and the command exits 1; a template that does
/// not parse exits 64, as docker's.
func printInspected(_ names: [String], format: String?, _ lookup: (String) throws -> any Encodable) throws {
    var template: GoTemplate?
    if let format {
        do {
            template = try GoTemplate(format)
        } catch let failure as GoTemplate.Failure {
            var standardError = StandardErrorStream()
            print("stowage: template parsing error: \(failure)", to: &standardError)
            throw ExitCode(64)
        }
    }
    var objects: [JSONValue] = []
    var rendered = ""
    var failures: [String] = []
    for name in names {
        do {
            let object = try lookup(name).dockerJSON
            if let template { rendered += try template.execute(object) + "\n" } else { objects.append(object) }
        } catch let error as StowageError where error.code == .notFound {
            failures.append(error.message)
        } catch let failure as GoTemplate.Failure {
            failures.append("template parsing error: \(failure)")
        }
    }
    if template == nil {
        print(JSONValue.array(objects).serialized(indent: "    ", escapingHTML: false))
    } else {
        print(rendered.isEmpty ? "\n" : rendered, terminator: "")
    }
    var standardError = StandardErrorStream()
    for failure in failures { print("stowage: \(failure)", to: &standardError) }
    if !failures.isEmpty { throw ExitCode.failure }
}
