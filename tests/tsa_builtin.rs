//! The built-in TSA: its tokens pass the real `openssl ts -verify`, and sworn's pure
//! verifier accepts them and rejects each kind of tampering with a named error.
#![cfg(feature = "evidence")]

mod tsa_support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sworn::evidence::tsa::{BUILTIN_POLICY_OID, TsaIdentity};
use sworn::verify::timestamp::{TimestampError, verify_token};
use tsa_support::{openssl, openssl_ok};

const MESSAGE: &[u8] = b"sworn/hearing/7\n1024\nq0x3W9Yb0a1q3H1o6r1Fv8c4sV8fJmQ7i7uK6mQy3lI=\n";

fn identity() -> (tempfile::TempDir, TsaIdentity) {
    let tmp = tempfile::tempdir().unwrap();
    let id = TsaIdentity::load_or_create(&tmp.path().join("tsa")).unwrap();
    (tmp, id)
}

#[test]
fn builtin_token_passes_openssl_ts_verify_and_shows_gen_time() {
    let (tmp, id) = identity();
    let d = tmp.path();
    let now = UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    let token = id.stamp(MESSAGE, now).unwrap();
    std::fs::write(d.join("msg.bin"), MESSAGE).unwrap();
    std::fs::write(d.join("token.der"), &token).unwrap();
    std::fs::write(d.join("root.pem"), id.root_pem()).unwrap();
    std::fs::write(d.join("chain.pem"), id.chain_pem()).unwrap();

    let out = openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-data",
            "msg.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // The token carries its certificates: the root alone suffices for openssl too.
    let out = openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-data",
            "msg.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "root.pem",
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");

    // The same check fails for other data: the openssl run above is a real check.
    std::fs::write(d.join("other.bin"), b"other").unwrap();
    let bad = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-data",
            "other.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
        ],
    );
    assert!(!bad.status.success());

    let info = verify_token(&token, MESSAGE, id.chain_pem().as_bytes()).unwrap();
    let text = openssl_ok(
        d,
        &["ts", "-reply", "-in", "token.der", "-token_in", "-text"],
    );
    let printed = text
        .lines()
        .find_map(|l| l.strip_prefix("Time stamp: "))
        .expect("openssl prints the genTime");
    // "Nov 29 17:45:01 2026 GMT" holds the same hh:mm:ss as "2026-11-29T17:45:01Z".
    let hms = info.gen_time.get(11..19).unwrap();
    assert!(printed.contains(hms) && printed.contains(info.gen_time.get(..4).unwrap()));
    assert!(
        text.contains("Policy OID: 2.25.322901607972850765080484020159847340703"),
        "{text}"
    );
    assert!(text.contains(&info.serial_hex.to_uppercase()), "{text}");
    assert_eq!(
        info.gen_time_unix,
        now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
    );
}

#[test]
fn pure_verifier_accepts_builtin_token_and_reports_its_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let now = UNIX_EPOCH + Duration::from_millis(1_795_973_589_750);
    let id = TsaIdentity::create(tmp.path(), now - Duration::from_secs(86_400)).unwrap();
    let token = id.stamp(MESSAGE, now).unwrap();
    let info = verify_token(&token, MESSAGE, id.chain_pem().as_bytes()).unwrap();
    assert_eq!(info.gen_time, "2026-11-29T17:33:09Z", "whole seconds only");
    assert_eq!(info.policy_oid, BUILTIN_POLICY_OID);
    assert_eq!(info.serial_hex.len(), 32);
    assert!(
        info.tsa_name.contains("CN=sworn time-stamping authority"),
        "{}",
        info.tsa_name
    );
    // The root alone is enough as a trust anchor; serials are unique per token.
    let again = verify_token(
        &id.stamp(MESSAGE, now).unwrap(),
        MESSAGE,
        id.root_pem().as_bytes(),
    )
    .unwrap();
    assert_ne!(again.serial_hex, info.serial_hex);
}

#[test]
fn pure_verifier_rejects_each_tampering_by_name() {
    let (_tmp, id) = identity();
    let now = SystemTime::now();
    let token = id.stamp(MESSAGE, now).unwrap();
    let chain = id.chain_pem();
    let chain = chain.as_bytes();

    assert_eq!(
        verify_token(&token, b"other bytes", chain),
        Err(TimestampError::ImprintMismatch)
    );

    // The token ends with the SignerInfo's signature: flip its last byte.
    let mut flipped = token.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    assert_eq!(
        verify_token(&flipped, MESSAGE, chain),
        Err(TimestampError::BadSignature)
    );

    let (_tmp2, other) = identity();
    let foreign = other.stamp(MESSAGE, now).unwrap();
    assert_eq!(
        verify_token(&foreign, MESSAGE, chain),
        Err(TimestampError::UntrustedSigner)
    );

    for cut in [1, 10, token.len() / 2, token.len() - 1] {
        assert!(
            matches!(
                verify_token(&token[..cut], MESSAGE, chain),
                Err(TimestampError::Malformed { .. })
            ),
            "truncated at {cut}"
        );
    }
    let mut trailing = token.clone();
    trailing.push(0);
    assert!(matches!(
        verify_token(&trailing, MESSAGE, chain),
        Err(TimestampError::Malformed { .. })
    ));
    assert_eq!(
        verify_token(&token, MESSAGE, b"not pem"),
        Err(TimestampError::BadTrustedChain)
    );
}

/// CMS leaves some bytes unsigned (the certificate set, the SignerInfo's sid). No
/// single-byte change may panic, and none may pass while changing what is reported.
#[test]
fn no_single_byte_change_passes_with_altered_content() {
    let (_tmp, id) = identity();
    let token = id.stamp(MESSAGE, SystemTime::now()).unwrap();
    let chain = id.chain_pem();
    let good = verify_token(&token, MESSAGE, chain.as_bytes()).unwrap();
    let mut accepted = Vec::new();
    for i in 0..token.len() {
        let mut t = token.clone();
        t[i] ^= 0x81;
        if let Ok(info) = verify_token(&t, MESSAGE, chain.as_bytes()) {
            assert_eq!(info, good, "byte {i} changed the report");
            accepted.push(i);
        }
    }
    // The embedded certificate copies are not needed when the pinned chain holds the
    // same certificates, and the certificate set's tag may turn into the (ignored)
    // crls tag. Every other byte is signed or checked.
    let copies: Vec<(usize, usize)> = [id.leaf_pem(), id.root_pem()]
        .iter()
        .map(|pem| {
            let der = pem_body(pem);
            let at = token.windows(der.len()).position(|w| w == der).unwrap();
            (at, at + der.len())
        })
        .collect();
    let set_tag = copies.iter().map(|c| c.0).min().unwrap() - 4;
    assert_eq!(token[set_tag], 0xa0);
    let outside: Vec<_> = accepted
        .iter()
        .filter(|&&i| i != set_tag && !copies.iter().any(|&(s, e)| (s..e).contains(&i)))
        .collect();
    assert!(
        outside.is_empty(),
        "accepted flips outside the cert copies: {outside:?}"
    );
}

fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn token_dated_before_the_tsa_certificate_is_rejected() {
    let (_tmp, id) = identity();
    let before = SystemTime::now() - Duration::from_secs(3 * 3600);
    let token = id.stamp(MESSAGE, before).unwrap();
    assert_eq!(
        verify_token(&token, MESSAGE, id.chain_pem().as_bytes()),
        Err(TimestampError::CertificateNotValidAtGenTime)
    );
}

#[test]
fn identity_is_persisted_with_private_keys_mode_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tsa");
    let first = TsaIdentity::load_or_create(&dir).unwrap();
    let second = TsaIdentity::load_or_create(&dir).unwrap();
    assert_eq!(first.chain_pem(), second.chain_pem());
    for key in ["tsa-key.pem", "tsa-root-key.pem"] {
        let mode = std::fs::metadata(dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    // A token of the reloaded identity verifies against the first one's chain.
    let token = second.stamp(MESSAGE, SystemTime::now()).unwrap();
    verify_token(&token, MESSAGE, first.chain_pem().as_bytes()).unwrap();
    assert!(!format!("{second:?}").contains("PRIVATE"));
}

#[test]
fn broken_identity_directories_are_named_errors() {
    use sworn::evidence::tsa::TsaError;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tsa");
    TsaIdentity::load_or_create(&dir).unwrap();
    let other = tmp.path().join("other");
    TsaIdentity::load_or_create(&other).unwrap();

    // A key that belongs to another certificate.
    std::fs::copy(other.join("tsa-key.pem"), dir.join("tsa-key.pem")).unwrap();
    assert!(matches!(
        TsaIdentity::load(&dir),
        Err(TsaError::KeyDoesNotMatchCertificate)
    ));
    // A missing key is reported, never silently replaced while the certificate exists.
    std::fs::remove_file(dir.join("tsa-key.pem")).unwrap();
    assert!(matches!(
        TsaIdentity::load_or_create(&dir),
        Err(TsaError::IncompleteIdentity {
            missing: "tsa-key.pem"
        })
    ));
    std::fs::write(dir.join("tsa-key.pem"), "garbage").unwrap();
    assert!(matches!(
        TsaIdentity::load(&dir),
        Err(TsaError::BadIdentityFile { .. })
    ));
}

#[test]
fn identity_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TsaIdentity>();
}
