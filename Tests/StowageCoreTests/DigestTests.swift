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

    @Test("the sha256 of bytes matches a known vector")
    func hashesKnownVector() {
        #expect(Digest.of(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.of([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
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
