//! Bundles whose checkpoints carry tokens of `openssl ts` TSAs of every kind (RSA
//! PKCS#1 v1.5 SHA-256/384/512, RSA-PSS, ECDSA P-256/P-384; tsa_support::KINDS) verify
//! with `sworn-verify --trust`, and a bundle with one tampered token fails the
//! timestamps check (issue #15).
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;
mod tsa_support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tsa_support::{KINDS, OpensslTsa};

/// `sworn-verify --json --trust <the bundle's vkey>` on `target`: (exit code, report).
fn sworn_verify(target: &Path, vkey: &Path) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(target)
        .arg("--json")
        .arg("--trust")
        .arg(vkey)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

#[test]
fn bundles_stamped_by_every_kind_of_tsa_verify() {
    for kind in KINDS {
        let tmp = tempfile::tempdir().unwrap();
        let tsa = OpensslTsa::of_kind(tmp.path(), kind, &[]);
        let n = std::cell::Cell::new(0);
        let stamp = |note: &[u8]| {
            n.set(n.get() + 1);
            tsa.token(note, &format!("c{}", n.get()), kind.pss)
        };
        let b = hearing::build_stamped("h-tsa-kinds", Some((&stamp, tsa.ca_pem())));
        assert!(n.get() >= 2, "{}: several checkpoints stamped", kind.name);
        let vkey = b.bundle.join("keys/server.vkey");
        let (code, report) = sworn_verify(&b.zip, &vkey);
        assert_eq!(
            code,
            Some(sworn::verify_cli::EXIT_VALID),
            "{}: {report}",
            kind.name
        );
        let ts = check(&report, "timestamps");
        assert_eq!(ts["status"], "pass", "{}: {ts}", kind.name);

        // One token with a flipped signature byte: the bundle is invalid, by its token.
        let token = b
            .bundle
            .join("log/checkpoints")
            .read_dir()
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "tsr"))
            .unwrap();
        let mut bytes = std::fs::read(&token).unwrap();
        *bytes.last_mut().unwrap() ^= 0x01;
        std::fs::write(&token, bytes).unwrap();
        let (code, report) = sworn_verify(&b.bundle, &vkey);
        assert_ne!(code, Some(sworn::verify_cli::EXIT_VALID), "{}", kind.name);
        let ts = check(&report, "timestamps");
        assert_eq!(ts["status"], "fail", "{}: {ts}", kind.name);
    }
}
