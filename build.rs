//! Rebuild when the embedded web pages change (`include_dir!` does not tell cargo).
fn main() {
    println!("cargo:rerun-if-changed=web");
}
