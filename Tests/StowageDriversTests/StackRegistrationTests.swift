import Foundation
import StowageArchive
import StowageCore
import StowageDrivers
@testable import StowageEngine
import StowageFileSystem
import StowageLayers
import StowageTar
import StowageTestSupport
import Testing

/// Layer `level` of a test stack: a file of its own, a shared file it replaces, the previous
/// level's file whited out, and a directory made opaque every third level.
private func stackLayer(_ level: Int) throws -> [UInt8] {
    var entries = [file("level-\(level)", "\(level)\n"), file("shared", String(repeating: "\(level)", count: level + 1))]
    entries.append(entry("dir", TarHeader.directoryFlag))
    entries.append(file("dir/from-\(level)", "x"))
    if level > 0 { entries.append(file(".wh.level-\(level - 1)", "")) }
    if level % 3 == 2 { entries.append(file("dir/.wh..wh..opq", "")) }
    return try layerTar(entries)
}

private func inputs(_ tars: [[UInt8]], open: @escaping (Int) -> Void = { _ in }) -> [LayerInput] {
    tars.enumerated().map { index, tar in
        LayerInput(name: "layer \(index + 1) of \(tars.count)", expectedDiffID: DiffID(Digest.of(tar)), expectedBlobDigest: nil) {
            open(index)
            return MemorySource(tar)
        }
    }
}

@Suite("A stack of layers registered at once", .serialized)
struct StackRegistrationTests {
    @Test("registers the same layers, sizes and files as one layer after another", arguments: conformingDrivers)
    func sameAsOneByOne(_ driverName: String) throws {
        let tars = try (0..<7).map(stackLayer)
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        let lease = try engine.storage.leases.open()
        defer { lease.release() }
        var reported: [Int] = []
        let stack = try engine.storage.layers.registerStack(inputs(tars), on: nil, maximumUncompressedSize: nil, concurrency: 3,
                                                            lease: lease) { reported.append($0) }
        #expect(reported == Array(1...7))

        let other = try DriverEnvironment(driverName)
        let reference = try other.engine(driverName)
        defer { withExtendedLifetime(other) {} }
        var oneByOne: [LayerRecord] = []
        for tar in tars {
            oneByOne.append(try reference.registerLayer(MemorySource(tar), parent: oneByOne.last?.chainID).layer)
        }
        for (ours, theirs) in zip(stack, oneByOne) {
            #expect(ours.chainID == theirs.chainID && ours.size == theirs.size && ours.parent == theirs.parent)
            let ourFiles = try TreeSnapshot(try engine.storage.driver.get(ours.cacheID))
            defer { try? engine.storage.driver.put(ours.cacheID) }
            let theirFiles = try TreeSnapshot(try reference.storage.driver.get(theirs.cacheID))
            defer { try? reference.storage.driver.put(theirs.cacheID) }
            // The layer roots were made at different times; everything in them must be equal.
            let isRoot = { (path: String) in path == "" || path == "." }
            #expect(ourFiles.entries.filter { !isRoot($0.key) } == theirFiles.entries.filter { !isRoot($0.key) },
                    "\(ours.chainID): \(ourFiles.difference(from: theirFiles))")
        }
        #expect(try engine.storage.layers.hasWriteSets() == false)

        // Again on a root that has them: only checked, nothing applied.
        let again = try engine.storage.layers.registerStack(inputs(tars), on: nil, maximumUncompressedSize: nil, concurrency: 3, lease: lease)
        #expect(again == stack)
        #expect(try engine.storage.driver.layerIDs().count == 7)
    }

    @Test("a failing layer is named, the lowest first, and a stack applied at once leaves nothing behind", arguments: ["overlay2", "vfs"])
    func failureLeavesNothing(_ driverName: String) throws {
        var tars = try (0..<6).map(stackLayer)
        let environment = try DriverEnvironment(driverName)
        let engine = try environment.engine(driverName)
        defer { withExtendedLifetime(environment) {} }
        var layers = inputs(tars)
        tars[3][600] ^= 1  // inside layer 4's first file: its diff_id no longer matches
        tars[5].removeLast(700)  // layer 6 is cut short
        for index in [3, 5] {
            let tar = tars[index]
            layers[index] = LayerInput(name: layers[index].name, expectedDiffID: layers[index].expectedDiffID, expectedBlobDigest: nil) {
                MemorySource(tar)
            }
        }
        let lease = try engine.storage.leases.open()
        defer { lease.release() }
        #expect {
            _ = try engine.storage.layers.registerStack(layers, on: nil, maximumUncompressedSize: nil, concurrency: 2, lease: lease)
        } throws: { error in
            "\(error)".hasPrefix("layer 4 of 6: layer diff_id mismatch")
        }
        // At once, nothing was renamed into place; one after another, the layers below the
        // failure were, and stay in the lease for its owner to remove (as after `register`).
        let kept = driverName == "overlay2" ? 0 : 3
        #expect(try engine.storage.layers.chainIDs().count == kept)
        #expect(try engine.storage.driver.layerIDs().count == kept)
        #expect(try engine.storage.layers.hasWriteSets() == false)
        #expect(lease.entries.filter { $0.hasPrefix("layer ") }.count == kept)
    }

    @Test("a layer another process stores meanwhile is used, and the layers above are applied again on it",
          arguments: [1, 4])
    func lostRace(storedByOther: Int) throws {
        let tars = try (0..<4).map(stackLayer)
        let environment = try DriverEnvironment("overlay2")
        let engine = try environment.engine("overlay2")
        let rival = try environment.engine("overlay2")  // another caller of the same root
        defer { withExtendedLifetime(environment) {} }
        var rivalLayers: [LayerRecord] = []
        // The bottom layer's stream is opened after this load found no stored layers, and
        // before it renames any into place: the rival stores its layers just then.
        let layers = inputs(tars) { index in
            guard index == 0 else { return }
            var parent: ChainID?
            for tar in tars.prefix(storedByOther) {
                let layer = try! rival.registerLayer(MemorySource(tar), parent: parent).layer
                rivalLayers.append(layer)
                parent = layer.chainID
            }
        }
        let lease = try engine.storage.leases.open()
        defer { lease.release() }
        let stack = try engine.storage.layers.registerStack(layers, on: nil, maximumUncompressedSize: nil, concurrency: 4, lease: lease)

        #expect(Array(stack.prefix(storedByOther)) == rivalLayers, "the rival's layers are the ones used")
        #expect(try engine.storage.layers.chainIDs().count == 4)
        #expect(try Set(engine.storage.driver.layerIDs()) == Set(stack.map(\.cacheID)), "no copy of ours is left")
        #expect(try engine.storage.layers.hasWriteSets() == false)
        let top = try engine.storage.driver.get(stack[3].cacheID)
        defer { try? engine.storage.driver.put(stack[3].cacheID) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: top).sorted() == ["dir", "level-3", "shared"])
        #expect(try String(contentsOfFile: top + "/shared", encoding: .utf8) == "3333")
        #expect(try FileManager.default.contentsOfDirectory(atPath: top + "/dir").sorted() == ["from-2", "from-3"])
    }
}
