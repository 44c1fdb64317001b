// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Stowage",
    products: [
        .library(name: "Stowage", targets: ["StowageCore", "StowageTar", "StowageFileSystem", "StowageArchive", "StowageDrivers",
                                           "StowageLayers", "StowageImages", "StowageDistribution", "StowageDockerTypes", "StowageEngine"]),
        .executable(name: "stowage", targets: ["stowage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C: syscalls Glibc does not expose, and fast CRC-64; zlib, zstd and libcrypto (SHA-256) from Debian.
        .target(name: "CStowageShim"),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),

        // Identities (digests), the shared error type.
        .target(name: "StowageCore", dependencies: ["CCrypto"]),
        // The streaming tar codec: pure Swift, no dependencies (so it can be fuzzed alone).
        .target(name: "StowageTar"),
        // Descriptor-relative file system operations that never follow symlinks out.
        .target(name: "StowageFileSystem", dependencies: ["CStowageShim", "StowageCore"]),
        // Compression, hashing pipeline, tar-split, safe apply, whiteouts, directory archiving.
        .target(name: "StowageArchive", dependencies: ["StowageCore", "StowageTar", "StowageFileSystem", "CStowageShim", "CZlib", "CZstd"]),
        // Storage drivers: the GraphDriver protocol and its implementations.
        .target(name: "StowageDrivers", dependencies: ["StowageCore", "StowageFileSystem", "StowageArchive", "StowageTar"]),
        // The layer store (layerdb): chain IDs, tar-split records, sharing, sweeping.
        .target(name: "StowageLayers", dependencies: ["StowageCore", "StowageFileSystem", "StowageArchive", "StowageTar", "StowageDrivers"]),
        // The image store (imagedb) and the tag store (repositories.json).
        .target(name: "StowageImages", dependencies: ["StowageCore", "StowageFileSystem", "StowageArchive"]),
        // Images in and out: docker-archive and OCI layouts.
        .target(name: "StowageDistribution", dependencies: ["StowageCore", "StowageFileSystem", "StowageArchive", "StowageTar", "StowageLayers", "StowageImages"]),
        // Docker's objects (the Engine API's JSON) as Swift types: what the CLI prints and the server sends.
        .target(name: "StowageDockerTypes", dependencies: ["StowageCore", "CStowageShim"]),
        // The engine: a data root opened with its driver and stores; what the verbs do.
        .target(name: "StowageEngine", dependencies: ["StowageCore", "StowageDockerTypes", "StowageFileSystem", "StowageArchive", "StowageTar", "StowageDrivers", "StowageLayers", "StowageImages", "StowageDistribution"]),
        // The command-line verbs, one file per verb.
        .target(name: "StowageCLI", dependencies: ["CStowageShim", "StowageArchive", "StowageEngine", "StowageDockerTypes", "StowageDistribution", "StowageImages", "StowageLayers", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "stowage", dependencies: ["StowageCLI"]),

        // Shared test helpers: temporary directories, processes, fixtures.
        .target(name: "StowageTestSupport", dependencies: ["StowageArchive"], path: "Tests/StowageTestSupport"),
        .testTarget(name: "StowageCoreTests", dependencies: ["StowageCore", "StowageTestSupport"]),
        .testTarget(name: "StowageTarTests", dependencies: ["StowageTar", "StowageArchive", "StowageFileSystem", "StowageTestSupport"]),
        .testTarget(name: "StowageArchiveTests", dependencies: ["StowageArchive", "StowageTestSupport"]),
        .testTarget(name: "StowageFileSystemTests", dependencies: ["StowageFileSystem", "StowageTestSupport"]),
        .testTarget(name: "StowageDriversTests", dependencies: ["StowageDrivers", "StowageEngine", "StowageArchive", "StowageTar", "StowageFileSystem", "StowageCore", "StowageTestSupport"]),
        .testTarget(name: "StowageEngineTests", dependencies: ["stowage", "StowageEngine", "StowageDockerTypes", "StowageCore", "StowageTestSupport"]),
        // Runs the built `stowage` executable and compares its exact output.
        .testTarget(name: "StowageCLITests", dependencies: ["stowage", "StowageCore", "StowageTestSupport"]),
    ]
)
