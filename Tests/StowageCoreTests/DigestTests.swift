import StowageCore
import StowageTestSupport
import Testing

@Suite("Digests and layer identities")
struct DigestTests {
    @Test("a sha256 digest parses and prints as sha256:<hex>")
    func parses() throws {
        let text = "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10"
        let digest = try Digest(parsing: text)
        #expect(digest.description == text)
        #expect(digest.shortHex == "8664d0a45737")
    }

    @Test("malformed digests cannot be constructed", arguments: [
        "", "sha256:", "sha256:abc", "md5:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10",
        "sha256:8664D0A4573702B21424549185BE4386FD3FEAB927DCD3E8E195EA2F7404BA10",
        "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba1g",
        "8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: StowageError.self) { try Digest(parsing: text) }
    }

    @Test("digests held as bytes print, compare, order and hash as their hex does")
    func heldAsBytes() throws {
        let digests = (0..<500).map { Digest.of(Array("\($0)".utf8)) }
            + [try Digest(hex: String(repeating: "0", count: 64)), try Digest(hex: String(repeating: "f", count: 64)),
               try Digest(hex: String(repeating: "0", count: 63) + "1"), try Digest(hex: "1" + String(repeating: "0", count: 63))]
        for digest in digests {
            let parsed = try Digest(hex: digest.hex)
            #expect(parsed == digest && parsed.hashValue == digest.hashValue && parsed.hex == digest.hex)
            #expect(digest.hex.utf8.count == 64 && digest.description == "sha256:" + digest.hex)
        }
        #expect(digests.sorted().map(\.hex) == digests.map(\.hex).sorted())
        #expect(Set(digests).count == digests.count)
        #expect(Set(digests.map { try! Digest(hex: $0.hex) }) == Set(digests))
    }

    @Test("the sha256 of bytes matches a known vector")
    func hashesKnownVector() {
        #expect(Digest.of(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.of([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("incremental hashing in uneven pieces, copies and repeated finalize agree with one-shot hashing")
    func incremental() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA256Hasher()
        var offset = 0
        for size in [1, 63, 64, 65, 4096, 100_000] + Array(repeating: 200_000, count: 5) where offset < million.count {
            let end = min(offset + size, million.count)
            hasher.update(Array(million[offset..<end]))
            offset = end
        }
        hasher.update(Array(million[offset...]))
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"  // FIPS 180-2 vector
        #expect(hasher.finalize().hex == expected)
        #expect(hasher.finalize().hex == expected)

        var copy = hasher
        copy.update(Array("more".utf8))
        #expect(hasher.finalize().hex == expected, "updating a copy must not change the original")
        #expect(copy.finalize() == Digest.of(million + Array("more".utf8)))
    }

    @Test("the pipelined hasher agrees with one-shot hashing across buffer boundaries, mid-stream and after")
    func pipelined() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<(5 << 20) + 12345).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hasher = PipelinedHasher()
        var offset = 0
        var sizes = [0, 1, 511, 1 << 20, (1 << 20) - 1, 3 << 20]
        while offset < data.count {
            let size = min(sizes.isEmpty ? 77_777 : sizes.removeFirst(), data.count - offset)
            data.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + size)])) }
            offset += size
            if offset == 1 + 511 + (1 << 20) {
                #expect(hasher.finalize() == Digest.of(data[..<offset]), "finalize in the middle")
            }
        }
        #expect(hasher.finalize() == Digest.of(data))
        #expect(hasher.finalize() == Digest.of(data))

        // Dropped with a partly filled buffer, never finalized: no trap.
        let abandoned = PipelinedHasher()
        data.withUnsafeBytes { abandoned.update(UnsafeRawBufferPointer(rebasing: $0[0..<1000])) }

        // Dropped while full buffers are still being hashed (a failed apply): the hasher is
        // released on this thread, after its jobs, never by a job on its own queue (which
        // made libdispatch trap now and then when a load failed).
        for _ in 0..<200 {
            let dropped = PipelinedHasher()
            data.withUnsafeBytes { dropped.update(UnsafeRawBufferPointer(rebasing: $0[0..<(2 << 20)])) }
        }
    }

    @Test("chain IDs of every fixture match the layerdb directories Docker made",
          arguments: ["base", "whiteout", "links", "many-layers"])
    func chainIDsMatchDocker(_ image: String) throws {
        let expected = try Fixtures.expected(image)
        let diffIDs = try expected.diffIDs.map { try DiffID(parsing: $0) }
        let chain = ChainID.chain(of: diffIDs).map(\.description)
        #expect(chain == expected.chainIDs)
    }

    @Test("a base layer's chain ID is its diff_id")
    func baseChainID() throws {
        let diffID = try DiffID(parsing: "sha256:8664d0a4573702b21424549185be4386fd3feab927dcd3e8e195ea2f7404ba10")
        #expect(ChainID(parent: nil, diffID: diffID).digest == diffID.digest)
    }
}
