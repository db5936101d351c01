//! Tokens issued by an OpenSSL-operated TSA (P-256, ESS cert id v2, genTime with
//! microseconds) are accepted by sworn's pure verifier, and rejected when they do not
//! match. Needs no feature: this is what `--no-default-features` builds.

mod tsa_support;

use sworn::verify::timestamp::{TimestampError, verify_token};
use tsa_support::{OpensslTsa, openssl_ok};

/// Stamps `message` with the OpenSSL TSA and returns the token DER.
fn openssl_token(tsa: &OpensslTsa, message: &[u8], name: &str) -> Vec<u8> {
    let d = &tsa.dir;
    std::fs::write(d.join(format!("{name}.bin")), message).unwrap();
    openssl_ok(
        d,
        &[
            "ts",
            "-query",
            "-data",
            &format!("{name}.bin"),
            "-sha256",
            "-cert",
            "-out",
            &format!("{name}.tsq"),
        ],
    );
    tsa.reply(&format!("{name}.tsq"), &format!("{name}.tsr"));
    openssl_ok(
        d,
        &[
            "ts",
            "-reply",
            "-in",
            &format!("{name}.tsr"),
            "-token_out",
            "-out",
            &format!("{name}.tok"),
        ],
    );
    std::fs::read(d.join(format!("{name}.tok"))).unwrap()
}

#[test]
fn openssl_token_with_fractional_gen_time_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    let message = b"checkpoint\n42\nroot\n";
    // A microsecond genTime ends in zeros (trimmed by DER) 1 time in 10; 1 in 10^6 it
    // has no fraction at all. Retry a few times to get one with a fraction.
    let mut seen_fraction = false;
    for i in 0..5 {
        let token = openssl_token(&tsa, message, &format!("m{i}"));
        let info = verify_token(&token, message, &tsa.ca_pem()).unwrap();
        assert_eq!(info.policy_oid, "1.2.3.4.1");
        assert!(
            info.tsa_name.contains("Interop Test TSA"),
            "{}",
            info.tsa_name
        );
        assert!(info.nonce_hex.is_some(), "openssl ts -query sends a nonce");
        let text = openssl_ok(
            &tsa.dir,
            &[
                "ts",
                "-reply",
                "-in",
                &format!("m{i}.tok"),
                "-token_in",
                "-text",
            ],
        );
        let openssl_time = text
            .lines()
            .find_map(|l| l.strip_prefix("Time stamp: "))
            .expect("openssl prints the genTime");
        // openssl prints e.g. "Nov 29 17:45:01.123456 2026 GMT"; our RFC 3339 carries
        // the same seconds and fraction.
        let (_, hms_frac) = info.gen_time.split_once('T').unwrap();
        let hms_frac = hms_frac.trim_end_matches('Z');
        assert!(
            openssl_time.contains(hms_frac),
            "{openssl_time} vs {}",
            info.gen_time
        );
        if hms_frac.contains('.') {
            seen_fraction = true;
            break;
        }
    }
    assert!(
        seen_fraction,
        "no genTime with fractional seconds in 5 tokens"
    );
}

#[test]
fn openssl_token_is_rejected_for_other_message_and_other_root() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    let token = openssl_token(&tsa, b"the real bytes", "a");
    assert_eq!(
        verify_token(&token, b"other bytes", &tsa.ca_pem()),
        Err(TimestampError::ImprintMismatch)
    );

    let mut flipped = token.clone();
    *flipped.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        verify_token(&flipped, b"the real bytes", &tsa.ca_pem()),
        Err(TimestampError::BadSignature)
    );

    let tmp2 = tempfile::tempdir().unwrap();
    let other = OpensslTsa::new(tmp2.path());
    assert_eq!(
        verify_token(&token, b"the real bytes", &other.ca_pem()),
        Err(TimestampError::UntrustedSigner)
    );
}

/// OpenSSL's default TSA binds its certificate with ESS v1 (SHA-1): accepted too.
#[test]
fn openssl_token_with_ess_v1_only_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    let cnf = std::fs::read_to_string(tsa.dir.join("tsa.cnf")).unwrap();
    std::fs::write(
        tsa.dir.join("tsa.cnf"),
        cnf.replace("ess_cert_id_alg = sha256", "ess_cert_id_alg = sha1"),
    )
    .unwrap();
    let token = openssl_token(&tsa, b"m", "v1");
    // The v1 attribute OID (1.2.840.113549.1.9.16.2.12) is there, the v2 one is not.
    let v1 = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0c,
    ];
    let v2 = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
    ];
    assert!(token.windows(v1.len()).any(|w| w == v1));
    assert!(!token.windows(v2.len()).any(|w| w == v2));
    verify_token(&token, b"m", &tsa.ca_pem()).unwrap();
}
