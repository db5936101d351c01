//! `sworn-verify BUNDLE [--trust KEYFILE] [--tsa-trust PEMFILE] [--json]` (or
//! `sworn-verify --list-codes [--json]`): the slim offline verifier.
fn main() {
    std::process::exit(sworn::verify_cli::main_with_args(std::env::args_os()));
}
