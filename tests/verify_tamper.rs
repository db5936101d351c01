//! Tamper corpus: one clean synthetic bundle, then one mutation per failure class, each
//! asserting the exact named failure. Most mutations are followed by `reindex` (manifest
//! and SHA256SUMS recomputed, as a careful forger would) so that the deep check, not the
//! index, must catch them.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use hearing::reindex;
use sworn::verify::bundle::Rfc3161Checker;
use sworn::verify::canonical::to_canonical;
use sworn::verify::{MemorySource, Report, VerifyError, VerifyOptions, verify_bundle};

struct Fixture {
    clean: MemorySource,
    other_hearing: MemorySource,
    _b: hearing::Built,
    _o: hearing::Built,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let b = hearing::build("h-tamper");
        let o = hearing::build("h-other");
        Fixture {
            clean: hearing::load(&b.bundle),
            other_hearing: hearing::load(&o.bundle),
            _b: b,
            _o: o,
        }
    })
}

fn clean() -> MemorySource {
    fixture().clean.clone()
}

fn verify(src: &MemorySource) -> Report {
    let checker = Rfc3161Checker;
    verify_bundle(
        src,
        &VerifyOptions {
            trusted_key: Some(hearing::server_key().verifying_key()),
            trusted_history: None,
            timestamps: Some(&checker),
            ..Default::default()
        },
    )
}

macro_rules! assert_fails {
    ($src:expr, $pat:pat) => {{
        let r = verify(&$src);
        assert!(!r.valid, "tampered bundle accepted:\n{}", r.to_text());
        assert!(
            r.failures().any(|e| matches!(e, $pat)),
            "expected {} among failures:\n{}",
            stringify!($pat),
            r.to_text()
        );
        r
    }};
}

fn lines(src: &MemorySource) -> Vec<Vec<u8>> {
    let log = &src.files["log/entries.jsonl"];
    log[..log.len() - 1]
        .split(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn set_lines(src: &mut MemorySource, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    src.files.insert("log/entries.jsonl".into(), out);
}

fn replace(src: &mut MemorySource, path: &str, from: &str, to: &str) {
    let text = String::from_utf8(src.files[path].clone()).unwrap();
    assert!(text.contains(from), "{path} lacks {from:?}");
    src.files
        .insert(path.into(), text.replacen(from, to, 1).into_bytes());
}

fn flip(src: &mut MemorySource, path: &str, at: usize) {
    let f = src.files.get_mut(path).unwrap();
    let i = at.min(f.len() - 1);
    f[i] ^= 0x01;
}

fn last_note(src: &MemorySource) -> String {
    src.files
        .keys()
        .filter(|p| p.ends_with(".note"))
        .max()
        .unwrap()
        .clone()
}

#[test]
fn clean_bundle_has_no_false_rejects() {
    let r = verify(&clean());
    assert!(r.valid, "{}", r.to_text());
    let mut again = clean();
    reindex(&mut again);
    assert_eq!(
        again.files,
        clean().files,
        "reindex must be idempotent on a clean bundle"
    );
    // Unpinned: still valid, the key's fingerprint is reported for comparison.
    let r = verify_bundle(&clean(), &VerifyOptions::default());
    assert!(r.valid, "{}", r.to_text());
    assert_eq!(
        r.key_fingerprint.as_deref(),
        Some(hearing::server_key().fingerprint().as_str())
    );
}

#[test]
fn index_files_catch_any_changed_byte() {
    let mut s = clean();
    flip(&mut s, "media/p-judge/video.webm", 100);
    assert_fails!(s, VerifyError::ManifestHashMismatch { .. });
    assert_fails!(s, VerifyError::Sha256SumsMismatch { .. });
    let mut s = clean();
    flip(&mut s, "VERIFY.txt", 10);
    assert_fails!(s, VerifyError::ManifestHashMismatch { .. });
    let mut s = clean();
    flip(&mut s, "SHA256SUMS", 3);
    assert_fails!(s, VerifyError::Sha256SumsMismatch { .. });
    let mut s = clean();
    replace(&mut s, "manifest.json", "sworn-bundle/1", "sworn-bundle/9");
    assert_fails!(s, VerifyError::ManifestWrongFormat { .. });
    let mut s = clean();
    s.files
        .insert("manifest.json".into(), b"{not json".to_vec());
    assert_fails!(s, VerifyError::ManifestMalformed { .. });
    let mut s = clean();
    s.files.remove("manifest.json");
    assert_fails!(s, VerifyError::MissingFile { .. });
}

#[test]
fn entry_byte_flip_breaks_the_signed_root() {
    let mut s = clean();
    replace(
        &mut s,
        "log/entries.jsonl",
        "exhibit 3 shown",
        "exhibit 4 shown",
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::RootMismatch { .. });
}

#[test]
fn entry_dropped_duplicated_reordered() {
    let base = lines(&clean());
    let mut s = clean();
    let mut l = base.clone();
    l.remove(5);
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::SeqOutOfOrder { .. });

    let mut s = clean();
    let mut l = base.clone();
    l.insert(6, base[5].clone());
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::SeqOutOfOrder { .. });

    let mut s = clean();
    let mut l = base.clone();
    l.swap(5, 6);
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::SeqOutOfOrder { .. });
}

#[test]
fn entry_dropped_and_renumbered_breaks_the_root() {
    let mut s = clean();
    let mut entries: Vec<serde_json::Value> = lines(&s)
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    entries.remove(9);
    for (i, e) in entries.iter_mut().enumerate() {
        e["seq"] = serde_json::json!(i);
    }
    let l: Vec<Vec<u8>> = entries.iter().map(|e| to_canonical(e).unwrap()).collect();
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::RootMismatch { .. });
}

#[test]
fn entry_not_canonical_or_torn() {
    let mut s = clean();
    let mut l = lines(&s);
    l[3].insert(1, b' ');
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::EntryNotCanonical { line: 3 });

    let mut s = clean();
    let log = s.files.get_mut("log/entries.jsonl").unwrap();
    log.pop();
    reindex(&mut s);
    assert_fails!(s, VerifyError::LogMalformed { .. });

    let mut s = clean();
    let mut l = lines(&s);
    l.pop();
    set_lines(&mut s, &l);
    reindex(&mut s);
    assert_fails!(s, VerifyError::LogNotClosed { .. });
}

#[test]
fn checkpoint_tampering() {
    // Byte flipped in the signed root line.
    let mut s = clean();
    let note = last_note(&s);
    let text = String::from_utf8(s.files[&note].clone()).unwrap();
    let root_line = text.lines().nth(2).unwrap().to_string();
    let mut bad_root = root_line.clone().into_bytes();
    bad_root[0] = if bad_root[0] == b'A' { b'B' } else { b'A' };
    replace(
        &mut s,
        &note,
        &root_line,
        std::str::from_utf8(&bad_root).unwrap(),
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::CheckpointBadSignature { .. });

    // Checkpoint signed by another key (same name).
    let mut s = clean();
    let body: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let other = hearing::other_server_key();
    let forged =
        sworn::verify::note::sign_note(&body, other.name(), &SigningKey::from_bytes(&[43u8; 32]));
    s.files.insert(note.clone(), forged);
    reindex(&mut s);
    assert_fails!(s, VerifyError::CheckpointBadSignature { .. });

    // Checkpoint of another hearing (same server, same key) in place of ours.
    let mut s = clean();
    let other_note = fixture().other_hearing.files[&note].clone();
    s.files.insert(note.clone(), other_note);
    reindex(&mut s);
    assert_fails!(s, VerifyError::CheckpointWrongOrigin { .. });
}

#[test]
fn older_checkpoint_presented_as_final() {
    let mut s = clean();
    let mut notes: Vec<String> = s
        .files
        .keys()
        .filter(|p| p.ends_with(".note"))
        .cloned()
        .collect();
    notes.sort();
    let last = notes.pop().unwrap();
    let prev = notes.pop().unwrap();
    s.files.remove(&last);
    s.files.remove(&last.replace(".note", ".tsr"));
    s.files.remove(
        &last
            .replace("log/checkpoints/", "log/proofs/")
            .replace(".note", ".consistency.json"),
    );
    replace(&mut s, "manifest.json", &last, &prev);
    reindex(&mut s);
    assert_fails!(s, VerifyError::CheckpointNotFinal { .. });
}

#[test]
fn untrusted_server_key() {
    // The bundle's key files swapped for another key: pinned key says no.
    let mut s = clean();
    let other = hearing::other_server_key();
    s.files.insert(
        "keys/server.pub.pem".into(),
        other.public_pem().into_bytes(),
    );
    s.files.insert(
        "keys/server.vkey".into(),
        format!("{}\n", other.vkey()).into_bytes(),
    );
    let mut man: serde_json::Value = serde_json::from_slice(&s.files["manifest.json"]).unwrap();
    man["server_key"]["vkey"] = other.vkey().into();
    man["server_key"]["fingerprint"] = other.fingerprint().into();
    s.files
        .insert("manifest.json".into(), to_canonical(&man).unwrap());
    reindex(&mut s);
    assert_fails!(s, VerifyError::UnknownKey { .. });

    // The two key files disagree.
    let mut s = clean();
    s.files.insert(
        "keys/server.pub.pem".into(),
        other.public_pem().into_bytes(),
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::KeyMismatch { .. });

    let mut s = clean();
    flip(&mut s, "keys/server.vkey", 30);
    reindex(&mut s);
    assert_fails!(s, VerifyError::KeyMalformed { .. });
}

#[test]
fn consistency_proof_tampering() {
    let mut s = clean();
    let proof_path = s
        .files
        .keys()
        .find(|p| p.starts_with("log/proofs/"))
        .unwrap()
        .clone();
    let mut v: serde_json::Value = serde_json::from_slice(&s.files[&proof_path]).unwrap();
    let first = v["proof"][0].as_str().unwrap().to_string();
    let mut raw = STANDARD.decode(&first).unwrap();
    raw[0] ^= 1;
    v["proof"][0] = STANDARD.encode(raw).into();
    s.files
        .insert(proof_path.clone(), to_canonical(&v).unwrap());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ConsistencyProofInvalid { .. });

    let mut s = clean();
    let mut v: serde_json::Value = serde_json::from_slice(&s.files[&proof_path]).unwrap();
    v["old_root"] = STANDARD.encode([7u8; 32]).into();
    s.files
        .insert(proof_path.clone(), to_canonical(&v).unwrap());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ProofRootNotCheckpointed { .. });
}

#[test]
fn media_flipped_truncated_extended() {
    let f = "media/p-judge/video.webm";
    let mut s = clean();
    flip(&mut s, f, 5000);
    reindex(&mut s);
    assert_fails!(s, VerifyError::ChunkHashMismatch { .. });

    let mut s = clean();
    let len = s.files[f].len();
    s.files.get_mut(f).unwrap().truncate(len - 10);
    reindex(&mut s);
    assert_fails!(s, VerifyError::ChunkPastEnd { .. });

    let mut s = clean();
    s.files
        .get_mut(f)
        .unwrap()
        .extend_from_slice(b"uncommitted tail");
    reindex(&mut s);
    assert_fails!(s, VerifyError::MediaTrailingBytes { .. });

    let mut s = clean();
    s.files.remove(f);
    reindex(&mut s);
    assert_fails!(s, VerifyError::MissingFile { .. });
}

#[test]
fn extra_missing_and_empty_files() {
    let mut s = clean();
    s.files.insert("notes.txt".into(), b"hello".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ExtraFile { .. });

    let mut s = clean();
    s.files
        .insert("custody/unlisted.json".into(), b"{}".to_vec());
    assert_fails!(s, VerifyError::CustodyFileUnexpected { .. });

    let mut s = clean();
    s.files
        .insert("media/p-x/smuggled.webm".into(), b"frames".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::UncommittedFile { .. });

    let mut s = clean();
    s.files
        .insert("derived/copy.mp4".into(), b"frames".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::UncommittedFile { .. });

    let mut s = clean();
    s.files
        .insert("attestations/0009-oath.json".into(), b"{}".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ExtraFile { .. });

    let mut s = clean();
    s.files.remove("attestations/0001-oath.sig");
    reindex(&mut s);
    assert_fails!(s, VerifyError::MissingFile { .. });

    let mut s = clean();
    s.files.insert("derived/empty.mp4".into(), Vec::new());
    reindex(&mut s);
    assert_fails!(s, VerifyError::EmptyFile { .. });

    let mut s = clean();
    s.files.insert("../escape".into(), b"x".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ExtraFile { .. });
}

#[test]
fn attestation_tampering() {
    let j = "attestations/0001-oath.json";
    // Statement bytes changed (a different text than the witness signed).
    let mut s = clean();
    replace(
        &mut s,
        j,
        "I swear to tell the truth.",
        "I swear to tell some truth.",
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::AttestationBadSignature { .. });
    assert_fails!(s, VerifyError::AttestationHashMismatch { .. });

    // Signature file over other bytes.
    let mut s = clean();
    let witness = SigningKey::from_bytes(&[2u8; 32]);
    s.files.insert(
        "attestations/0001-oath.sig".into(),
        witness.sign(b"other bytes").to_bytes().to_vec(),
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::AttestationBadSignature { .. });

    // Key file of someone else.
    let mut s = clean();
    let stranger = SigningKey::from_bytes(&[9u8; 32]).verifying_key();
    s.files.insert(
        "attestations/0001-oath.pub.pem".into(),
        sworn::verify::keys::public_key_pem(&stranger).into_bytes(),
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::AttestationBadSignature { .. });

    // The key binding rewritten to another participant: the signer has no bound key.
    let mut s = clean();
    replace(
        &mut s,
        "log/entries.jsonl",
        "\"participant\":\"p-witness\",\"public_key\"",
        "\"participant\":\"p-nobody\",\"public_key\"",
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::KeyNotBound { .. });
}

#[test]
fn minutes_tampering() {
    let mut s = clean();
    flip(&mut s, "minutes/minutes.sig", 5);
    reindex(&mut s);
    assert_fails!(s, VerifyError::MinutesBadSignature { .. });

    let mut s = clean();
    replace(
        &mut s,
        "minutes/minutes.html",
        "took the oath",
        "refused the oath",
    );
    reindex(&mut s);
    assert_fails!(s, VerifyError::MinutesHashMismatch);
    assert_fails!(s, VerifyError::MinutesBadSignature { .. });
}

#[test]
fn timestamp_tokens_swapped() {
    let mut s = clean();
    let mut tsrs: Vec<String> = s
        .files
        .keys()
        .filter(|p| p.ends_with(".tsr"))
        .cloned()
        .collect();
    tsrs.sort();
    let a = s.files[&tsrs[0]].clone();
    let b = s.files[&tsrs[1]].clone();
    s.files.insert(tsrs[0].clone(), b);
    s.files.insert(tsrs[1].clone(), a);
    reindex(&mut s);
    assert_fails!(s, VerifyError::TimestampMismatch { .. });

    let mut s = clean();
    s.files
        .insert("tsa/chain.pem".into(), b"not a chain".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::TimestampInvalid { .. });
}

#[test]
fn hearing_id_swapped_in_manifest() {
    let mut s = clean();
    let mut man: serde_json::Value = serde_json::from_slice(&s.files["manifest.json"]).unwrap();
    man["hearing"] = "h-other".into();
    man["origin"] = "court.example/hearing/h-other".into();
    s.files
        .insert("manifest.json".into(), to_canonical(&man).unwrap());
    reindex(&mut s);
    assert_fails!(s, VerifyError::EntryWrongHearing { .. });
    assert_fails!(s, VerifyError::CheckpointWrongOrigin { .. });
}

#[test]
fn pinned_tsa_chain_decides_timestamp_trust() {
    let checker = Rfc3161Checker;
    let with_chain = |chain: Vec<u8>| {
        verify_bundle(
            &clean(),
            &VerifyOptions {
                trusted_key: Some(hearing::server_key().verifying_key()),
                trusted_history: None,
                timestamps: Some(&checker),
                trusted_tsa_chain: Some(chain),
            },
        )
    };
    let good = with_chain(clean().files["tsa/chain.pem"].clone());
    assert!(good.valid, "{}", good.to_text());
    assert!(good.to_text().contains("under pinned TSA chain"));
    // A self-made TSA in the bundle is not trusted when the court's TSA is pinned.
    let tmp = tempfile::tempdir().unwrap();
    let other = sworn::evidence::tsa::TsaIdentity::create(tmp.path(), std::time::SystemTime::now())
        .unwrap();
    let bad = with_chain(other.chain_pem().into_bytes());
    assert!(!bad.valid);
    assert!(
        bad.failures()
            .any(|e| matches!(e, VerifyError::TimestampInvalid { .. })),
        "{}",
        bad.to_text()
    );
}

#[test]
fn unsigned_files_are_bound_by_the_manifest_signature() {
    for path in ["VERIFY.txt", "tsa/chain.pem", "keys/server.vkey"] {
        let mut s = clean();
        s.files.get_mut(path).unwrap().insert(0, b'#');
        reindex(&mut s);
        assert_fails!(s, VerifyError::ManifestBadSignature { .. });
    }
    let mut s = clean();
    s.files
        .insert("custody/retrievals.jsonl".into(), b"{}\n".to_vec());
    reindex(&mut s);
    assert_fails!(s, VerifyError::ManifestBadSignature { .. });
    let mut s = clean();
    flip(&mut s, "manifest.sig", 7);
    assert_fails!(s, VerifyError::ManifestBadSignature { .. });
    let mut s = clean();
    s.files.remove("manifest.sig");
    reindex(&mut s);
    assert_fails!(s, VerifyError::MissingFile { .. });
}

#[test]
fn token_older_than_the_entries_it_covers() {
    // A genuine TSA, but its tokens say the checkpoints existed a day before the log
    // dates their entries: the log's times are not credible.
    use std::time::{Duration, UNIX_EPOCH};
    let day_before = UNIX_EPOCH + Duration::from_secs((hearing::T0 - 86_400) as u64);
    let tmp = tempfile::tempdir().unwrap();
    let tsa = sworn::evidence::tsa::TsaIdentity::create(
        tmp.path(),
        day_before - Duration::from_secs(86_400),
    )
    .unwrap();
    let mut s = clean();
    let notes: Vec<String> = s
        .files
        .keys()
        .filter(|p| p.ends_with(".note"))
        .cloned()
        .collect();
    for n in notes {
        let token = tsa.stamp(&s.files[&n], day_before).unwrap();
        s.files.insert(n.replace(".note", ".tsr"), token);
    }
    s.files
        .insert("tsa/chain.pem".into(), tsa.chain_pem().into_bytes());
    reindex(&mut s);
    let r = assert_fails!(s, VerifyError::TimestampBeforeEntries { .. });
    assert!(
        !r.failures()
            .any(|e| matches!(e, VerifyError::TimestampInvalid { .. })),
        "tokens themselves are valid:\n{}",
        r.to_text()
    );
}
