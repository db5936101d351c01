//! Independent checkers over a real bundle: Python `cryptography` (signatures, key ids,
//! recomputed Merkle roots, zip), `sha256sum -c`, `openssl pkeyutl -verify -rawin` and
//! `openssl ts -verify`, run exactly as VERIFY.txt tells a reader to.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tool must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn python_cryptography_sha256sum_and_openssl_agree() {
    let b = hearing::build("h-independent");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/independent_check.py"
    );
    let out = run(Command::new("python3")
        .arg(script)
        .arg(&b.bundle)
        .arg(&b.zip));
    assert!(out.contains("PASS 7 checkpoint notes"), "{out}");
    assert!(out.contains("PASS 3 attestations"), "{out}");
    assert!(out.contains("PASS minutes signature"), "{out}");

    let out = run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&b.bundle));
    assert!(!out.contains("FAILED"), "{out}");

    // VERIFY.txt step 3: the final checkpoint with openssl.
    let verify_txt = std::fs::read_to_string(b.bundle.join("VERIFY.txt")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let steps: Vec<String> = verify_txt
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("head -n 3")
                || l.starts_with("tail -n 1")
                || l.starts_with("openssl pkeyutl -verify -pubin -inkey keys/server.pub.pem")
        })
        .map(|l| l.replace("/tmp/", &format!("{}/", tmp.path().display())))
        .collect();
    // manifest signature + checkpoint body, signature, openssl.
    assert_eq!(steps.len(), 4, "{verify_txt}");
    let out = run(Command::new("sh")
        .arg("-ec")
        .arg(steps.join("\n"))
        .current_dir(&b.bundle));
    assert_eq!(
        out.matches("Signature Verified Successfully").count(),
        2,
        "{out}"
    );

    for stem in ["0001-oath", "0002-closing", "0003-minutes"] {
        let out = run(Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-rawin"])
            .args(["-inkey", &format!("attestations/{stem}.pub.pem")])
            .args(["-in", &format!("attestations/{stem}.json")])
            .args(["-sigfile", &format!("attestations/{stem}.sig")])
            .current_dir(&b.bundle));
        assert!(out.contains("Signature Verified Successfully"), "{out}");
    }
    let out = run(Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-rawin"])
        .args(["-inkey", "attestations/0003-minutes.pub.pem"])
        .args([
            "-in",
            "minutes/minutes.html",
            "-sigfile",
            "minutes/minutes.sig",
        ])
        .current_dir(&b.bundle));
    assert!(out.contains("Signature Verified Successfully"), "{out}");

    // Every time-stamp token, with openssl ts as VERIFY.txt step 6 says.
    let mut n = 0;
    for e in std::fs::read_dir(b.bundle.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("tsr") {
            continue;
        }
        let out = run(Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&p)
            .arg("-data")
            .arg(p.with_extension("note"))
            .args(["-CAfile", "tsa/chain.pem"])
            .current_dir(&b.bundle));
        assert!(out.contains("Verification: OK"), "{out}");
        n += 1;
    }
    assert_eq!(n, 7);

    // And the negative: openssl rejects an attestation over other bytes.
    let bad = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-rawin"])
        .args(["-inkey", "attestations/0001-oath.pub.pem"])
        .args(["-in", "attestations/0002-closing.json"])
        .args(["-sigfile", "attestations/0001-oath.sig"])
        .current_dir(&b.bundle)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
