//! `sworn-verify BUNDLE`: the slim offline verifier.
fn main() {}
