//! The external TSA client against a real OpenSSL TSA: requests that `openssl ts`
//! reads, replies checked for status, nonce and imprint.
#![cfg(feature = "evidence")]

mod tsa_support;

use sworn::evidence::tsa::{Nonce, TsaError, build_request, parse_response, request_token};
use sworn::verify::timestamp::verify_token;
use tsa_support::{OpensslTsa, openssl_ok};

const MESSAGE: &[u8] = b"sworn/hearing/7\n2048\nchecked root\n";

#[test]
fn request_is_read_by_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let (req, nonce) = build_request(MESSAGE).unwrap();
    std::fs::write(tmp.path().join("req.tsq"), &req).unwrap();
    let text = openssl_ok(tmp.path(), &["ts", "-query", "-in", "req.tsq", "-text"]);
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    let digest: String = sha256_hex(MESSAGE)
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    // openssl prints the imprint as "2d 71 16 ..." over several lines: compare the first octets.
    assert!(text.contains(&digest[..23]), "{text}");
    // openssl prints the nonce's bytes in hex ("0x0DD2..." keeps a leading zero nibble):
    // compare values, not text.
    let printed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Nonce: 0x"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok());
    assert_eq!(printed, Some(nonce.0), "{text}");
    let (_, other) = build_request(MESSAGE).unwrap();
    assert_ne!(nonce, other, "nonces are random");
}

#[test]
fn reply_from_openssl_is_accepted_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    let (req, nonce) = build_request(MESSAGE).unwrap();
    std::fs::write(tsa.dir.join("req.tsq"), &req).unwrap();
    tsa.reply("req.tsq", "resp.tsr");
    let resp = std::fs::read(tsa.dir.join("resp.tsr")).unwrap();

    let token = parse_response(&resp, nonce, MESSAGE).unwrap();
    let info = verify_token(&token, MESSAGE, &tsa.ca_pem()).unwrap();
    let be = nonce.0.to_be_bytes();
    let first = be.iter().position(|&b| b != 0).unwrap();
    assert_eq!(info.nonce_hex, Some(hex::encode(&be[first..])));

    assert!(matches!(
        parse_response(&resp, Nonce(nonce.0 ^ 1), MESSAGE),
        Err(TsaError::NonceMismatch)
    ));
    assert!(matches!(
        parse_response(&resp, nonce, b"another message"),
        Err(TsaError::ImprintMismatch)
    ));
    assert!(matches!(
        parse_response(&resp[..resp.len() - 3], nonce, MESSAGE),
        Err(TsaError::BadReply(_))
    ));
}

#[test]
fn rejection_status_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    // The TSA accepts only SHA-256: a SHA-1 query is answered with status rejection.
    std::fs::write(tsa.dir.join("m.bin"), MESSAGE).unwrap();
    openssl_ok(
        &tsa.dir,
        &[
            "ts", "-query", "-data", "m.bin", "-sha1", "-out", "sha1.tsq",
        ],
    );
    tsa.reply("sha1.tsq", "sha1.tsr");
    let resp = std::fs::read(tsa.dir.join("sha1.tsr")).unwrap();
    match parse_response(&resp, Nonce(1), MESSAGE) {
        Err(TsaError::Rejected {
            status: 2,
            fail_info,
        }) => assert!(fail_info.is_some()),
        other => panic!("expected rejection, got {other:?}"),
    }
}

#[test]
fn request_token_runs_one_round_trip_through_the_closure() {
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(tmp.path());
    let token = request_token(MESSAGE, |req| {
        std::fs::write(tsa.dir.join("rt.tsq"), req)?;
        tsa.reply("rt.tsq", "rt.tsr");
        std::fs::read(tsa.dir.join("rt.tsr"))
    })
    .unwrap();
    verify_token(&token, MESSAGE, &tsa.ca_pem()).unwrap();

    let failed = request_token(MESSAGE, |_| Err::<Vec<u8>, _>("connection refused"));
    assert!(matches!(failed, Err(TsaError::Transport(m)) if m == "connection refused"));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
