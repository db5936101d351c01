//! `sworn archive renew` end to end (the `sworn` binary): the first archive time-stamp
//! from a built-in TSA directory, a time-stamp renewal and a hash-tree renewal from an
//! `openssl ts` TSA over HTTP, the `--hearing` form with the data directory's TSA, and
//! the refusals (no TSA given, an expired last certificate, a bundle that does not
//! verify) with their exit codes.
#![cfg(feature = "server")]

mod archive_support;
#[path = "vectors/hearing.rs"]
mod hearing;
mod tsa_support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use archive_support::*;
use sworn::evidence::archive;
use sworn::verify::hash_alg::HashAlg;
use tsa_support::{KINDS, OpensslTsa, serve_http};

fn sworn(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sworn"))
        .args(args)
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn renew_makes_the_first_record_then_both_kinds_of_renewal() {
    let b = hearing::build("h-archive-cli");
    let builtin = b.tmp.path().join("builtin-tsa");
    sworn::evidence::tsa::TsaIdentity::create(&builtin, std::time::SystemTime::now()).unwrap();

    // No TSA: a usage error, nothing written.
    let o = sworn(&["archive", "renew"], &[&b.bundle]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--tsa-url"), "{}", text(&o));
    assert!(!b.bundle.join("archive").exists());

    let o = sworn(
        &["archive", "renew", "--builtin-tsa"],
        &[&builtin, &b.bundle],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("first archive time-stamp made"),
        "{}",
        text(&o)
    );

    let dir = b.tmp.path().join("rsa");
    std::fs::create_dir(&dir).unwrap();
    let tsa = Arc::new(OpensslTsa::of_kind(&dir, &KINDS[0], &[]));
    let chain = dir.join("chain.pem");
    std::fs::write(&chain, tsa.chain_pem()).unwrap();
    let url = serve_http(tsa);
    let args = ["archive", "renew", "--tsa-url", &url, "--tsa-chain"];
    let o = sworn(&args, &[&chain, &b.bundle]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("time-stamp renewal made"), "{}", text(&o));
    assert!(!text(&o).contains(&url), "the TSA URL is never printed");
    let sha512 = [
        "archive",
        "renew",
        "--hash",
        "sha512",
        "--tsa-url",
        &url,
        "--tsa-chain",
    ];
    let o = sworn(&sha512, &[&chain, &b.bundle]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("hash-tree renewal made"), "{}", text(&o));

    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(report["archive"]["renewals"].as_array().unwrap().len(), 2);
    for n in 1..=3 {
        assert!(b.bundle.join(format!("archive/tsa-{n:02}.pem")).exists());
    }

    // A bundle that no longer verifies is not renewed.
    let p = b.bundle.join("log/entries.jsonl");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    let o = sworn(
        &["archive", "renew", "--builtin-tsa"],
        &[&builtin, &b.bundle],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("refused"), "{}", text(&o));
    assert!(!b.bundle.join("archive/tsa-04.pem").exists());
}

#[test]
fn renew_refuses_once_the_last_certificate_expired() {
    let b = hearing::build("h-archive-cli-expired");
    let old = BuiltinAt::new(&b.tmp.path().join("old"), at(978_307_200 - 365 * 86_400));
    old.at.set(at(978_307_200));
    archive::create(&b.bundle, &old, HashAlg::Sha256).unwrap();
    let builtin = b.tmp.path().join("builtin-tsa");
    sworn::evidence::tsa::TsaIdentity::create(&builtin, std::time::SystemTime::now()).unwrap();
    for hash in ["sha256", "sha512"] {
        let o = sworn(
            &["archive", "renew", "--hash", hash, "--builtin-tsa"],
            &[&builtin, &b.bundle],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("expired"), "{}", text(&o));
    }
}

#[test]
fn renew_by_hearing_uses_the_data_directory_and_its_tsa() {
    let b = hearing::build("h-archive-cli-hearing");
    let data = b.tmp.path().join("data");
    let id = "0123456789abcdef0123456789abcdef";
    copy_dir(&b.bundle, &data.join("hearings").join(id).join("bundle"));
    let data_arg = data.to_str().unwrap();
    let o = sworn(
        &["--data-dir", data_arg, "archive", "renew", "--hearing", id],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let bundle = data.join("hearings").join(id).join("bundle");
    let (code, report) = sworn_verify(&bundle);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(report["archive"]["algorithm"], "sha256");
    let o = sworn(
        &[
            "--data-dir",
            data_arg,
            "archive",
            "renew",
            "--hearing",
            "nope",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
