// swift-tools-version:5.9
// GridSafeKit: the generated Swift bindings (GridSafeFFI.swift) over the XCFramework built by
// build-xcframework.sh (macOS), plus a small Swift layer. Build on a Mac; see README.md.
import PackageDescription

let package = Package(
    name: "GridSafeKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "GridSafeKit", targets: ["GridSafeKit"]),
    ],
    targets: [
        // The Rust library for device and simulator, with the C header and modulemap the Swift
        // bindings import (module GridSafeFFIFFI).
        .binaryTarget(name: "GridSafeFFIFFI", path: "build/GridSafeFFI.xcframework"),
        .target(
            name: "GridSafeKit",
            dependencies: ["GridSafeFFIFFI"],
            path: "Sources/GridSafeKit"
        ),
    ]
)
