//! Evidence records (RFC 4998, issue #15 point 2): a sealed bundle's first archive
//! time-stamp covers every file and both `sworn-verify` and an independent check
//! (hashes recomputed here, the token checked by `openssl ts -verify -digest`) accept
//! it; time-stamp renewals (same algorithm) and hash-tree renewals (SHA-512) against
//! `openssl ts` TSAs (RSA and ECDSA) verify the same way; every tampered part gives
//! its named failure; a bundle without a record verifies unchanged.
#![cfg(feature = "evidence")]

mod archive_support;
#[path = "vectors/hearing.rs"]
mod hearing;
mod tsa_support;

use std::cell::Cell;
use std::path::Path;

use archive_support::*;
use sha2::{Digest, Sha256, Sha512};
use sworn::evidence::archive::{self, ArchiveError};
use sworn::verify::archive::RenewalKind;
use sworn::verify::hash_alg::HashAlg;
use tsa_support::{KINDS, OpensslTsa};

const YEAR: u64 = 365 * 86_400;
/// 2001-01-01: a time when a TSA made in 2000 is valid, long expired today.
const Y2001: u64 = 978_307_200;

fn kind(name: &str) -> &'static tsa_support::TsaKind {
    KINDS.iter().find(|k| k.name == name).unwrap()
}

fn openssl_tsa(dir: &Path, name: &str) -> Openssl {
    std::fs::create_dir_all(dir).unwrap();
    Openssl(OpensslTsa::of_kind(dir, kind(name), &[]), Cell::new(0))
}

#[test]
fn a_sealed_bundle_gets_a_record_both_verifiers_accept() {
    let b = hearing::build("h-archive-first");
    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(code, Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED));
    assert_eq!(archive_checks(&report)[0]["detail"], "not present");
    assert!(report["archive"].is_null());

    let tsa = BuiltinAt::new(
        &b.tmp.path().join("archive-tsa"),
        std::time::SystemTime::now(),
    );
    let out = archive::create(&b.bundle, &tsa, HashAlg::Sha256).unwrap();
    assert_eq!(out.renewal, None);

    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(
        code,
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{report}"
    );
    let check = &archive_checks(&report)[0];
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .starts_with("continuously protected since ")
    );
    assert_eq!(report["archive"]["algorithm"], "sha256");
    assert_eq!(report["archive"]["renewals"], serde_json::json!([]));

    // Independently: the first list is SHA-256 of every file, sorted; the root is
    // SHA-256 of their concatenation; OpenSSL accepts the token over that root.
    let record = std::fs::read(b.bundle.join("archive/evidence-record.ers")).unwrap();
    let chains = chains(&record);
    assert_eq!(chains.len(), 1);
    let ats = &chains[0].1[0];
    let mut hashes: Vec<Vec<u8>> = data_files(&b.bundle)
        .iter()
        .map(|(_, bytes)| Sha256::digest(bytes).to_vec())
        .collect();
    assert!(
        hashes.len() >= 10,
        "every file of the bundle is a data object"
    );
    hashes.sort();
    let listed: Vec<Vec<u8>> = first_list(ats).iter().map(|h| h.to_vec()).collect();
    assert_eq!(listed, hashes);
    let root = Sha256::digest(hashes.concat());
    // The shell line of docs/bundle-format.md §14 and VERIFY.txt gives the same root.
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "find . -type f ! -path './archive/*' ! -path './custody/*' -exec sha256sum {} + \
             | cut -c1-64 | LC_ALL=C sort | xxd -r -p | sha256sum",
        )
        .current_dir(&b.bundle)
        .output()
        .unwrap();
    let hex: String = root.iter().map(|b| format!("{b:02x}")).collect();
    assert!(String::from_utf8_lossy(&shell.stdout).starts_with(&hex));
    assert!(openssl_verifies(
        b.tmp.path(),
        token(ats),
        &root,
        &b.bundle.join("archive/tsa-01.pem")
    ));
    // A second record over the same bundle is refused.
    assert!(matches!(
        archive::create(&b.bundle, &tsa, HashAlg::Sha256),
        Err(ArchiveError::Exists)
    ));
}

#[test]
fn time_stamp_and_hash_tree_renewals_by_openssl_tsas_verify() {
    let b = hearing::build("h-archive-renew");
    let rsa = openssl_tsa(&b.tmp.path().join("rsa"), "rsa-pkcs1-sha256");
    let ec = openssl_tsa(&b.tmp.path().join("ec"), "ecdsa-p384-sha384");
    let now = now_unix();
    archive::create(&b.bundle, &rsa, HashAlg::Sha256).unwrap();
    let ts = archive::renew(&b.bundle, &rsa, HashAlg::Sha256, now).unwrap();
    assert_eq!(ts.renewal, Some(RenewalKind::Timestamp));
    let ht = archive::renew(&b.bundle, &ec, HashAlg::Sha512, now).unwrap();
    assert_eq!(ht.renewal, Some(RenewalKind::HashTree));
    let again = archive::renew(&b.bundle, &ec, HashAlg::Sha512, now).unwrap();
    assert_eq!(again.renewal, Some(RenewalKind::Timestamp));

    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(
        code,
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{report}"
    );
    let renewals = report["archive"]["renewals"].as_array().unwrap().clone();
    let kinds: Vec<(&str, &str)> = renewals
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["algorithm"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("timestamp", "sha256"),
            ("hash_tree", "sha512"),
            ("timestamp", "sha512")
        ]
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(&b.bundle)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ARCHIVE   continuously protected since "),
        "{text}"
    );
    assert!(
        text.contains("ARCHIVE   hash-tree renewal sha512 at "),
        "{text}"
    );

    // Independently, each renewal's imprint.
    let record = std::fs::read(b.bundle.join("archive/evidence-record.ers")).unwrap();
    let chains = chains(&record);
    assert_eq!(chains.len(), 2);
    let (first, second) = (&chains[0].1, &chains[1].1);
    assert_eq!((first.len(), second.len()), (2, 1 + 1));
    // §5.2: SHA-256 of the previous token's DER, no hash tree.
    assert!(!first[1].iter().any(|f| f.tag == 0xa2));
    let dir = b.tmp.path();
    assert!(openssl_verifies(
        dir,
        token(&first[1]),
        &Sha256::digest(token(&first[0])),
        &b.bundle.join("archive/tsa-02.pem")
    ));
    // §5.3: SHA-512(SHA-512(d) ‖ SHA-512(DER ArchiveTimeStampSequence of chain 1)).
    let mut seq = vec![0x30];
    let chain1 = chains[0].0.raw;
    if chain1.len() < 0x80 {
        seq.push(chain1.len() as u8);
    } else {
        let len = chain1.len().to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        seq.push(0x80 | (len.len() - skip) as u8);
        seq.extend(&len[skip..]);
    }
    seq.extend(chain1);
    let ha = Sha512::digest(&seq);
    let mut leaves: Vec<Vec<u8>> = data_files(&b.bundle)
        .iter()
        .map(|(_, d)| {
            Sha512::digest([Sha512::digest(d).as_slice(), ha.as_slice()].concat()).to_vec()
        })
        .collect();
    leaves.sort();
    let listed: Vec<Vec<u8>> = first_list(&second[0]).iter().map(|h| h.to_vec()).collect();
    assert_eq!(listed, leaves);
    assert!(openssl_verifies(
        dir,
        token(&second[0]),
        &Sha512::digest(leaves.concat()),
        &b.bundle.join("archive/tsa-03.pem")
    ));
    assert!(openssl_verifies(
        dir,
        token(&second[1]),
        &Sha512::digest(token(&second[0])),
        &b.bundle.join("archive/tsa-04.pem")
    ));
}

/// A bundle whose record has a first archive time-stamp, a time-stamp renewal and a
/// hash-tree renewal, all by the built-in TSA.
fn renewed_bundle(name: &str) -> hearing::Built {
    let b = hearing::build(name);
    let tsa = BuiltinAt::new(&b.tmp.path().join("tsa-a"), std::time::SystemTime::now());
    let now = now_unix();
    archive::create(&b.bundle, &tsa, HashAlg::Sha256).unwrap();
    archive::renew(&b.bundle, &tsa, HashAlg::Sha256, now).unwrap();
    archive::renew(&b.bundle, &tsa, HashAlg::Sha512, now).unwrap();
    b
}

/// Copies the bundle, applies `tamper` to the copy, and returns the archive failures.
fn tampered(b: &hearing::Built, name: &str, tamper: impl FnOnce(&Path)) -> Vec<String> {
    let copy = b.tmp.path().join(name);
    copy_dir(&b.bundle, &copy);
    tamper(&copy);
    let (code, report) = sworn_verify(&copy);
    assert_eq!(
        code,
        Some(sworn::verify_cli::EXIT_INVALID),
        "{name}: {report}"
    );
    assert!(report["archive"].is_null(), "{name}");
    archive_failures(&report)
}

fn edit_record(dir: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let p = dir.join("archive/evidence-record.ers");
    let mut bytes = std::fs::read(&p).unwrap();
    edit(&mut bytes);
    std::fs::write(p, bytes).unwrap();
}

/// Offset of `part` inside `whole` (both from the same record bytes).
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

#[test]
fn every_tampered_part_has_its_named_failure() {
    let b = renewed_bundle("h-archive-tamper");
    assert_eq!(sworn_verify(&b.bundle).0, Some(3));

    // A byte of a sealed file.
    let f = tampered(&b, "file", |d| {
        let p = d.join("minutes/minutes.html");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[10] ^= 1;
        std::fs::write(p, bytes).unwrap();
    });
    assert!(f.contains(&"ArchiveDataNotCovered".to_owned()), "{f:?}");

    // A hash in the first list.
    let f = tampered(&b, "tree", |d| {
        edit_record(d, |r| {
            let at = {
                let chains = chains(r);
                offset_in(r, first_list(&chains[0].1[0])[3])
            };
            r[at] ^= 0x80;
        })
    });
    assert!(f.contains(&"ArchiveDataNotCovered".to_owned()), "{f:?}");
    assert!(f.contains(&"ArchiveHashTreeMismatch".to_owned()), "{f:?}");

    // The first token's signature.
    let f = tampered(&b, "token", |d| {
        edit_record(d, |r| {
            let at = {
                let chains = chains(r);
                let t = token(&chains[0].1[0]);
                offset_in(r, t) + t.len() - 1
            };
            r[at] ^= 1;
        })
    });
    assert!(f.contains(&"ArchiveTimestampInvalid".to_owned()), "{f:?}");

    // A token under another TSA's chain.
    let f = tampered(&b, "chain", |d| {
        let other = BuiltinAt::new(&d.join("../other-tsa"), std::time::SystemTime::now());
        std::fs::write(d.join("archive/tsa-02.pem"), other.id.chain_pem()).unwrap();
    });
    assert_eq!(f, ["ArchiveTimestampInvalid"]);

    // The chains swapped: renewals out of place.
    let f = tampered(&b, "swapped", |d| {
        edit_record(d, |r| {
            let (c1, c2) = {
                let chains = chains(r);
                (chains[0].0.raw.to_vec(), chains[1].0.raw.to_vec())
            };
            let at = offset_in(r, {
                let chains = chains(r);
                chains[0].0.raw
            });
            let swapped = [c2.clone(), c1.clone()].concat();
            r.splice(at..at + c1.len() + c2.len(), swapped);
        })
    });
    assert!(!f.is_empty(), "{f:?}");

    // Files under archive/ that the format does not know; a missing chain.
    let f = tampered(&b, "extra", |d| {
        std::fs::write(d.join("archive/notes.txt"), b"x").unwrap();
    });
    assert_eq!(f, ["ArchiveRecordMalformed"]);
    let f = tampered(&b, "missing-chain", |d| {
        std::fs::remove_file(d.join("archive/tsa-03.pem")).unwrap();
    });
    assert!(f.contains(&"ArchiveRecordMalformed".to_owned()), "{f:?}");
    // Garbage after the record.
    let f = tampered(&b, "trailing", |d| edit_record(d, |r| r.push(0)));
    assert_eq!(f, ["ArchiveRecordMalformed"]);
}

#[test]
fn a_renewal_older_than_what_it_renews_is_out_of_order() {
    let b = hearing::build("h-archive-order");
    let start = std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86_400);
    let tsa = BuiltinAt::new(&b.tmp.path().join("tsa"), start);
    tsa.at
        .set(start + std::time::Duration::from_secs(2 * 86_400));
    archive::create(&b.bundle, &tsa, HashAlg::Sha256).unwrap();
    tsa.at.set(start + std::time::Duration::from_secs(86_400));
    // `renew` checks the new record before writing it: refused, nothing written.
    let e = archive::renew(&b.bundle, &tsa, HashAlg::Sha256, now_unix()).unwrap_err();
    assert!(matches!(e, ArchiveError::BundleInvalid(_)), "{e}");
    assert!(!b.bundle.join("archive/tsa-02.pem").exists());
    assert_eq!(sworn_verify(&b.bundle).0, Some(3));
    // Written anyway (the unchecked steps), the verifier names it.
    let p = archive::prepare_renewal(&b.bundle, &tsa, HashAlg::Sha256).unwrap();
    archive::commit(&b.bundle, &p).unwrap();
    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(code, Some(1));
    assert_eq!(archive_failures(&report), ["ArchiveRenewalOutOfOrder"]);
}

#[test]
fn a_renewal_after_the_previous_certificate_expired_is_late() {
    let b = hearing::build("h-archive-late");
    // A TSA made in 2000 (certificate until 2020) stamps in 2001 ...
    let old = BuiltinAt::new(&b.tmp.path().join("old"), at(Y2001 - YEAR));
    old.at.set(at(Y2001));
    archive::create(&b.bundle, &old, HashAlg::Sha256).unwrap();
    // ... the renewal comes in 2021, from another TSA: a year with no protection.
    let late = BuiltinAt::new(&b.tmp.path().join("late"), at(Y2001 + 20 * YEAR));
    let pretend_now = (Y2001 + YEAR) as i64;
    let e = archive::renew(&b.bundle, &late, HashAlg::Sha512, pretend_now).unwrap_err();
    assert!(matches!(e, ArchiveError::BundleInvalid(_)), "{e}");
    assert!(!b.bundle.join("archive/tsa-02.pem").exists());
    let p = archive::prepare_renewal(&b.bundle, &late, HashAlg::Sha512).unwrap();
    archive::commit(&b.bundle, &p).unwrap();
    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(code, Some(1));
    assert_eq!(archive_failures(&report), ["ArchiveRenewalLate"]);

    // Renewing today is refused outright: the certificate expired in 2020.
    let c = hearing::build("h-archive-expired");
    let old = BuiltinAt::new(&c.tmp.path().join("old"), at(Y2001 - YEAR));
    old.at.set(at(Y2001));
    archive::create(&c.bundle, &old, HashAlg::Sha256).unwrap();
    let today = BuiltinAt::new(&c.tmp.path().join("today"), std::time::SystemTime::now());
    for alg in [HashAlg::Sha256, HashAlg::Sha512] {
        let e = archive::renew(&c.bundle, &today, alg, now_unix()).unwrap_err();
        assert!(matches!(e, ArchiveError::Expired { .. }), "{e}");
    }
    assert!(!c.bundle.join("archive/tsa-02.pem").exists());
}

#[test]
fn a_tsa_down_at_sealing_leaves_no_record_and_renew_makes_the_first() {
    let b = hearing::build("h-archive-down");
    assert!(matches!(
        archive::create(&b.bundle, &Down, HashAlg::Sha256),
        Err(ArchiveError::Tsa(_))
    ));
    assert!(!b.bundle.join("archive/evidence-record.ers").exists());
    let tsa = BuiltinAt::new(&b.tmp.path().join("tsa"), std::time::SystemTime::now());
    let out = archive::renew(&b.bundle, &tsa, HashAlg::Sha384, now_unix()).unwrap();
    assert_eq!(out.renewal, None);
    assert_eq!(out.summary.algorithm, "sha384");
    let (code, report) = sworn_verify(&b.bundle);
    assert_eq!(code, Some(3), "{report}");
}

#[test]
fn a_renewal_close_to_the_previous_expiry_is_made_with_a_warning() {
    let b = hearing::build("h-archive-near");
    let now = std::time::SystemTime::now();
    // A certificate of 20 years that has 30 days left.
    let made = now - std::time::Duration::from_secs(20 * YEAR - 30 * 86_400);
    let old = BuiltinAt::new(&b.tmp.path().join("old"), made);
    old.at.set(now);
    archive::create(&b.bundle, &old, HashAlg::Sha256).unwrap();
    let fresh = BuiltinAt::new(&b.tmp.path().join("fresh"), now);
    let out = archive::renew(&b.bundle, &fresh, HashAlg::Sha256, now_unix()).unwrap();
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("renewed just in time"));
    // Far from it: no warning.
    let out = archive::renew(&b.bundle, &fresh, HashAlg::Sha256, now_unix()).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn a_pinned_tsa_chain_replaces_the_record_chains() {
    let b = hearing::build("h-archive-pinned");
    let tsa = BuiltinAt::new(&b.tmp.path().join("tsa"), std::time::SystemTime::now());
    archive::create(&b.bundle, &tsa, HashAlg::Sha256).unwrap();
    archive::renew(&b.bundle, &tsa, HashAlg::Sha384, now_unix()).unwrap();
    let run = |pem: &[u8]| {
        let file = b.tmp.path().join("pinned.pem");
        let mut all = std::fs::read(b.bundle.join("tsa/chain.pem")).unwrap();
        all.extend_from_slice(pem);
        std::fs::write(&file, all).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
            .arg(&b.bundle)
            .arg("--json")
            .arg("--tsa-trust")
            .arg(&file)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let report = run(tsa.id.chain_pem().as_bytes());
    let check = &archive_checks(&report)[0];
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .ends_with("pinned TSA chain)")
    );
    // Pinned without the archive TSA: its tokens are not trusted, whatever the bundle says.
    let report = run(b"");
    assert_eq!(
        archive_failures(&report),
        ["ArchiveTimestampInvalid", "ArchiveTimestampInvalid"]
    );
}
