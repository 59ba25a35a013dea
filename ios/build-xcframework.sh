#!/usr/bin/env bash
# Builds GridSafeFFI.xcframework (device + simulator) and copies the generated Swift bindings into
# Sources/GridSafeKit. macOS with Xcode only; run from anywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }

targets="aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios"
rustup target add $targets
for t in $targets; do
  cargo build --release -p gridsafe-ffi --target "$t"
done

# Swift bindings, header and modulemap from the host build's metadata.
scripts/bindings generate
gen=target/bindings/swift
cp "$gen/GridSafeFFI.swift" "$here/Sources/GridSafeKit/GridSafeFFI.swift"

headers="$here/build/headers"
rm -rf "$here/build" && mkdir -p "$headers"
cp "$gen/GridSafeFFIFFI.h" "$headers/"
# An XCFramework's headers need the modulemap named module.modulemap.
cp "$gen/GridSafeFFIFFI.modulemap" "$headers/module.modulemap"

# One fat simulator library (arm64 + x86_64).
mkdir -p "$here/build/sim"
lipo -create target/aarch64-apple-ios-sim/release/libgridsafe_ffi.a target/x86_64-apple-ios/release/libgridsafe_ffi.a \
  -output "$here/build/sim/libgridsafe_ffi.a"

xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libgridsafe_ffi.a -headers "$headers" \
  -library "$here/build/sim/libgridsafe_ffi.a" -headers "$headers" \
  -output "$here/build/GridSafeFFI.xcframework"
echo "built $here/build/GridSafeFFI.xcframework"
