//! `sworn-verify BUNDLE [--trust KEYFILE] [--json]`: the slim offline verifier.
fn main() {
    std::process::exit(sworn::verify_cli::main_with_args(std::env::args_os()));
}
