//! Any mainstream TSA (issue #15): tokens of `openssl ts` TSAs with RSA PKCS#1 v1.5
//! (SHA-256/384/512), RSA-PSS, ECDSA P-256 and P-384 keys and chains verify with
//! `verify_token`, and fail when tampered; short RSA keys, SHA-1 signatures and other
//! curves are refused by name; a recorded response of IdenTrust's public RSA TSA
//! (tests/vectors/tsa/README.md) verifies at its genTime. Needs no feature.

mod tsa_support;

use sworn::verify::timestamp::{TimestampError, parse_response, verify_token};
use tsa_support::{KINDS, OpensslTsa, TsaKind, openssl_ok};

fn tsa_of(kind: &TsaKind) -> (tempfile::TempDir, OpensslTsa) {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::of_kind(tmp.path(), kind, &[]);
    (tmp, tsa)
}

#[test]
fn every_kind_of_tsa_token_verifies_and_tampering_fails() {
    for kind in KINDS {
        let (_tmp, tsa) = tsa_of(kind);
        let message = b"checkpoint note\n";
        let token = tsa.token(message, "m", kind.pss);
        let info = verify_token(&token, message, &tsa.ca_pem())
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name));
        assert_eq!(info.policy_oid, "1.2.3.4.1", "{}", kind.name);
        // openssl agrees that the token is good (`ts -verify` has no PSS: PKCS#7).
        std::fs::write(tsa.dir.join("m.check.tok"), &token).unwrap();
        let check: &[&str] = if kind.pss {
            &[
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                "m.check.tok",
                "-CAfile",
                "ca.pem",
                "-purpose",
                "any",
                "-out",
                "m.check.tst",
            ]
        } else {
            &[
                "ts",
                "-verify",
                "-token_in",
                "-in",
                "m.check.tok",
                "-data",
                "m.bin",
                "-CAfile",
                "ca.pem",
            ]
        };
        openssl_ok(&tsa.dir, check);

        assert_eq!(
            verify_token(&token, b"other note\n", &tsa.ca_pem()),
            Err(TimestampError::ImprintMismatch),
            "{}",
            kind.name
        );
        // The signature is the last element of the token: flip its last byte.
        let mut flipped = token.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        assert_eq!(
            verify_token(&flipped, message, &tsa.ca_pem()),
            Err(TimestampError::BadSignature),
            "{}",
            kind.name
        );
        // Another TSA of the same kind: its root has the same name but another key, so
        // only the check of the TSA certificate's signature tells them apart.
        let (_tmp2, other) = tsa_of(kind);
        assert_eq!(
            verify_token(&token, message, &other.ca_pem()),
            Err(TimestampError::UntrustedSigner),
            "{}",
            kind.name
        );
    }
}

/// `token` is refused as an unsupported algorithm naming `oid`.
fn assert_unsupported(token: &[u8], tsa: &OpensslTsa, want: &str) {
    let err = verify_token(token, b"m", &tsa.ca_pem()).unwrap_err();
    assert!(
        matches!(&err, TimestampError::UnsupportedAlgorithm { oid, .. } if oid == want),
        "{err:?}"
    );
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::of_kind(tmp.path(), &KINDS[0], tsa_support::RSA1024);
    let token = tsa.token(b"m", "weak", false);
    assert_eq!(
        verify_token(&token, b"m", &tsa.ca_pem()),
        Err(TimestampError::WeakKey { bits: 1024 })
    );
}

#[test]
fn sha1_signatures_are_refused() {
    let (_tmp, tsa) = tsa_of(&KINDS[0]);
    let cnf = std::fs::read_to_string(tsa.dir.join("tsa.cnf")).unwrap();
    std::fs::write(
        tsa.dir.join("tsa.cnf"),
        cnf.replace("signer_digest = sha256", "signer_digest = sha1"),
    )
    .unwrap();
    let token = tsa.token(b"m", "sha1", false);
    assert_unsupported(&token, &tsa, "1.3.14.3.2.26");
}

#[test]
fn other_curves_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::with_tsa_key(
        tmp.path(),
        &["ecparam", "-name", "secp521r1", "-genkey", "-noout"],
    );
    let token = tsa.token(b"m", "p521", false);
    assert_unsupported(&token, &tsa, "1.3.132.0.35");
}

const IDENTRUST_TSR: &[u8] = include_bytes!("vectors/tsa/identrust/issue-104.tsr");
const IDENTRUST_ROOT: &[u8] = include_bytes!("vectors/tsa/identrust/root.pem");

#[test]
fn recorded_identrust_rsa_token_verifies_at_its_gen_time() {
    let resp = parse_response(IDENTRUST_TSR).unwrap();
    assert!(resp.granted());
    let token = resp.token.unwrap();
    let info = verify_token(token, b"hello", IDENTRUST_ROOT).unwrap();
    assert_eq!(info.gen_time, "2025-03-11T08:52:08Z");
    assert_eq!(info.policy_oid, "2.16.840.1.113839.0.6.13.3");
    assert_eq!(info.serial_hex, "400195846778d8ebd3e0d31354082a24");
    assert!(
        info.tsa_name.contains("TrustID Timestamp Authority"),
        "{}",
        info.tsa_name
    );

    assert_eq!(
        verify_token(token, b"hello!", IDENTRUST_ROOT),
        Err(TimestampError::ImprintMismatch)
    );
    let mut flipped = token.to_vec();
    *flipped.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        verify_token(&flipped, b"hello", IDENTRUST_ROOT),
        Err(TimestampError::BadSignature)
    );
    // Anchored elsewhere (an openssl root), the IdenTrust chain is not trusted.
    let (_tmp, tsa) = tsa_of(&KINDS[0]);
    assert_eq!(
        verify_token(token, b"hello", &tsa.ca_pem()),
        Err(TimestampError::UntrustedSigner)
    );
}
