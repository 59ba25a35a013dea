//! `cargo run -p uniffi-bindgen -- generate --library target/debug/libgridsafe_ffi.so --language kotlin --out-dir OUT`
//! A crate of its own so that building the FFI library never compiles the generator.

fn main() {
    uniffi::uniffi_bindgen_main()
}
