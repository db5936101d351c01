//! Issue #5: an exported bundle carries the custody entries about its hearing with
//! inclusion proofs to a signed (and time-stamped) custody checkpoint. Here: the
//! verifier's rules over an extract built by `custody_extract::build_extract` from a real
//! custody log, each tamper case asserting its exact named failure, and the zip tail
//! (`unzip -t`, the project's zip reader, `sworn-verify`).
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::sync::OnceLock;

use sworn::custody_extract::{ExtractFile, build_extract, zip_tail};
use sworn::evidence::HearingLog;
use sworn::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
use sworn::verify::bundle::Rfc3161Checker;
use sworn::verify::entry::EntryBody;
use sworn::verify::{MemorySource, Report, Status, VerifyError, VerifyOptions, verify_bundle};

const HEARING: &str = "h-export";

struct Fixture {
    b: hearing::Built,
    /// The sealed bundle, in memory.
    sealed: MemorySource,
    /// The extract after three retrievals of HEARING and two of another hearing.
    extract: Vec<ExtractFile>,
    /// An extract made the same way by another server key.
    foreign_note: Vec<u8>,
}

/// A custody log in `dir` signed by `key`: retrievals of HEARING and of "h-elsewhere"
/// interleaved, a checkpoint (time-stamped by the hearing's TSA) after each.
fn custody_log(
    b: &hearing::Built,
    dir: &std::path::Path,
    key: &sworn::evidence::ServerKey,
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut clock = hearing::Clock((hearing::T0 + 7200) * 1000);
    let (mut log, _) = HearingLog::open(
        dir,
        CUSTODY_LOG_ID,
        &custody_origin(hearing::SERVER),
        key,
        clock.tick(),
    )
    .unwrap();
    let tsa = sworn::evidence::tsa::TsaIdentity::load(&b.tmp.path().join("tsa")).unwrap();
    let facts = [
        ("u-judge", HEARING, "grant to pros (prosecutor)", "granted"),
        (
            "u-judge",
            "h-elsewhere",
            "grant to def (defence)",
            "granted",
        ),
        ("pros (prosecutor)", HEARING, "view summary", "served"),
        ("def (defence)", "h-elsewhere", "view summary", "served"),
        (
            "pros (prosecutor)",
            HEARING,
            "export e1 of bundle ab",
            "created",
        ),
    ];
    let mut last = None;
    for (user, h, what, result) in facts {
        log.append(
            EntryBody::Retrieval {
                user: user.into(),
                retrieved_hearing: h.into(),
                what: what.into(),
                result: result.into(),
            },
            clock.tick(),
        )
        .unwrap();
        let cp = log.checkpoint(key).unwrap();
        let token = tsa.stamp(&cp.note, std::time::SystemTime::now()).unwrap();
        last = Some((cp.note, token));
    }
    let (note, tsr) = last.unwrap();
    (std::fs::read(dir.join("entries.jsonl")).unwrap(), note, tsr)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let b = hearing::build(HEARING);
        let sealed = hearing::load(&b.bundle);
        let (entries, note, tsr) =
            custody_log(&b, &b.tmp.path().join("custody"), &hearing::server_key());
        let extract = build_extract(&entries, &note, Some(&tsr), HEARING).unwrap();
        let (_, foreign_note, _) = custody_log(
            &b,
            &b.tmp.path().join("custody-other"),
            &hearing::other_server_key(),
        );
        Fixture {
            sealed,
            extract,
            foreign_note,
            b,
        }
    })
}

fn exported() -> MemorySource {
    let f = fixture();
    let mut s = f.sealed.clone();
    for x in &f.extract {
        s.files.insert(x.path.clone(), x.bytes.clone());
    }
    s
}

fn verify(src: &MemorySource) -> Report {
    verify_bundle(
        src,
        &VerifyOptions {
            trusted_key: Some(hearing::server_key().verifying_key()),
            timestamps: Some(&Rfc3161Checker),
            ..Default::default()
        },
    )
}

macro_rules! assert_fails {
    ($src:expr, $pat:pat) => {{
        let r = verify(&$src);
        assert!(!r.valid, "tampered export accepted:\n{}", r.to_text());
        assert!(
            r.failures().any(|e| matches!(e, $pat)),
            "expected {} among failures:\n{}",
            stringify!($pat),
            r.to_text()
        );
        r
    }};
}

fn flip(s: &mut MemorySource, path: &str, at: usize) {
    let f = s.files.get_mut(path).unwrap();
    f[at] ^= 0x01;
}

#[test]
fn extract_lists_only_this_hearings_entries() {
    let paths: Vec<&str> = fixture().extract.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "custody/entries/000000.json",
            "custody/proofs/000000.inclusion.json",
            "custody/entries/000002.json",
            "custody/proofs/000002.inclusion.json",
            "custody/entries/000004.json",
            "custody/proofs/000004.inclusion.json",
            "custody/checkpoint.note",
            "custody/checkpoint.tsr",
        ]
    );
    let proof = String::from_utf8(fixture().extract[3].bytes.clone()).unwrap();
    assert!(
        proof.starts_with("{\"leaf_index\":2,\"proof\":[") && proof.ends_with(",\"tree_size\":5}"),
        "{proof}"
    );
}

#[test]
fn export_verifies_and_lists_its_custody() {
    let r = verify(&exported());
    assert!(r.valid, "{}", r.to_text());
    let seqs: Vec<u64> = r.custody.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [0, 2, 4]);
    assert_eq!(r.custody[2].what, "export e1 of bundle ab");
    assert_eq!(r.custody[2].user, "pros (prosecutor)");
    let text = r.to_text();
    assert!(
        text.contains("CUSTODY   #4 ") && text.contains("export e1 of bundle ab"),
        "{text}"
    );
    let ts = r
        .checks
        .iter()
        .find(|c| c.name == "custody.timestamp")
        .unwrap();
    assert_eq!(ts.status, Status::Pass, "{}", ts.detail);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["custody"][2]["seq"], 4);
    assert_eq!(json["custody"][2]["result"], "created");
}

#[test]
fn sealed_bundle_without_custody_reports_not_present() {
    let r = verify(&fixture().sealed);
    assert!(r.valid, "{}", r.to_text());
    assert!(r.custody.is_empty());
    let c = r.checks.iter().find(|c| c.name == "custody").unwrap();
    assert_eq!(c.status, Status::Pass);
    assert!(c.detail.starts_with("not present"), "{}", c.detail);
}

#[test]
fn entry_byte_flipped() {
    let mut s = exported();
    // Inside the user name: still canonical JSON, so only the proof can catch it.
    let at = s.files["custody/entries/000002.json"]
        .windows(4)
        .position(|w| w == b"pros")
        .unwrap();
    flip(&mut s, "custody/entries/000002.json", at);
    assert_fails!(s, VerifyError::CustodyInclusionInvalid { .. });
    let mut s = exported();
    flip(&mut s, "custody/entries/000002.json", 0);
    assert_fails!(s, VerifyError::CustodyEntryMalformed { .. });
}

#[test]
fn proof_hash_flipped() {
    let mut s = exported();
    let p = "custody/proofs/000002.inclusion.json";
    let text = String::from_utf8(s.files[p].clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let h = v["proof"][0].as_str().unwrap().to_owned();
    let mut raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &h).unwrap();
    raw[0] ^= 1;
    let h2 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
    s.files.insert(p.into(), text.replace(&h, &h2).into_bytes());
    assert_fails!(s, VerifyError::CustodyInclusionInvalid { .. });
    // Root or size other than the checkpoint's.
    let mut s = exported();
    let t = text.replace("\"tree_size\":5", "\"tree_size\":4");
    s.files.insert(p.into(), t.into_bytes());
    assert_fails!(s, VerifyError::CustodyInclusionInvalid { .. });
}

#[test]
fn entry_for_another_hearing() {
    // A genuine entry of the same log, about another hearing, with its genuine proof.
    let f = fixture();
    let (entries, note, _) = (
        std::fs::read(f.b.tmp.path().join("custody/entries.jsonl")).unwrap(),
        f.extract
            .iter()
            .find(|x| x.path == "custody/checkpoint.note")
            .unwrap()
            .bytes
            .clone(),
        (),
    );
    let other = build_extract(&entries, &note, None, "h-elsewhere").unwrap();
    let mut s = exported();
    for x in other.iter().filter(|x| x.path.contains("000001")) {
        s.files.insert(x.path.clone(), x.bytes.clone());
    }
    let r = assert_fails!(s, VerifyError::CustodyEntryWrongHearing { .. });
    assert_eq!(r.failures().count(), 1, "{}", r.to_text());
}

#[test]
fn checkpoint_signed_by_another_key() {
    let mut s = exported();
    s.files.insert(
        "custody/checkpoint.note".into(),
        fixture().foreign_note.clone(),
    );
    assert_fails!(s, VerifyError::CustodyCheckpointBadSignature { .. });
}

#[test]
fn checkpoint_of_another_origin() {
    // The hearing log's own final checkpoint: signed by the right key, wrong origin.
    let mut s = exported();
    let man: serde_json::Value = serde_json::from_slice(&s.files["manifest.json"]).unwrap();
    let note = s.files[man["final_checkpoint"].as_str().unwrap()].clone();
    s.files.insert("custody/checkpoint.note".into(), note);
    assert_fails!(s, VerifyError::CustodyCheckpointWrongOrigin { .. });
}

#[test]
fn extra_or_unpaired_custody_files() {
    for extra in [
        "custody/notes.txt",
        "custody/entries/000007.json.bak",
        "custody/entries.jsonl",
        "custody/entries/0000002.json",
    ] {
        let mut s = exported();
        s.files.insert(extra.into(), b"{}".to_vec());
        assert_fails!(s, VerifyError::CustodyFileUnexpected { .. });
    }
    // Entry file without proof.
    let mut s = exported();
    s.files.remove("custody/proofs/000002.inclusion.json");
    assert_fails!(s, VerifyError::CustodyFileUnexpected { .. });
    // Proof without entry.
    let mut s = exported();
    s.files.remove("custody/entries/000002.json");
    assert_fails!(s, VerifyError::CustodyFileUnexpected { .. });
    // No checkpoint.
    let mut s = exported();
    s.files.remove("custody/checkpoint.note");
    s.files.remove("custody/checkpoint.tsr");
    assert_fails!(s, VerifyError::CustodyFileUnexpected { .. });
    // A custody file listed in the manifest is not allowed either.
    let mut s = exported();
    hearing::reindex(&mut s);
    assert_fails!(s, VerifyError::ManifestMalformed { .. });
}

#[test]
fn entry_renumbered() {
    let mut s = exported();
    for (from, to) in [
        ("custody/entries/000002.json", "custody/entries/000003.json"),
        (
            "custody/proofs/000002.inclusion.json",
            "custody/proofs/000003.inclusion.json",
        ),
    ] {
        let b = s.files.remove(from).unwrap();
        s.files.insert(to.into(), b);
    }
    assert_fails!(s, VerifyError::CustodyEntryMalformed { .. });
}

#[test]
fn tsr_for_other_bytes() {
    let f = fixture();
    let tsa = sworn::evidence::tsa::TsaIdentity::load(&f.b.tmp.path().join("tsa")).unwrap();
    let mut s = exported();
    let other = tsa
        .stamp(b"some other note\n", std::time::SystemTime::now())
        .unwrap();
    s.files.insert("custody/checkpoint.tsr".into(), other);
    assert_fails!(s, VerifyError::CustodyTimestampInvalid { .. });
    // Without any token the export is still valid (the token is optional).
    let mut s = exported();
    s.files.remove("custody/checkpoint.tsr");
    let r = verify(&s);
    assert!(r.valid, "{}", r.to_text());
}

/// The export as a zip: sealed bytes up to the central directory + a tail.
fn export_zip(dir: &std::path::Path) -> std::path::PathBuf {
    let f = fixture();
    let mut sealed = std::fs::File::open(&f.b.zip).unwrap();
    let len = sealed.metadata().unwrap().len();
    let tail = zip_tail::build_tail(&mut sealed, len, &f.extract, hearing::T0 + 9000).unwrap();
    let mut bytes = std::fs::read(&f.b.zip).unwrap();
    bytes.truncate(tail.base_len as usize);
    bytes.extend_from_slice(&tail.bytes);
    let out = dir.join("export.zip");
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn zip_tail_makes_a_valid_zip_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = export_zip(tmp.path());
    let t = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&zip)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(t.status.success(), "{out}");
    assert!(
        out.contains("custody/checkpoint.note") && out.contains("No errors"),
        "{out}"
    );
    let src = sworn::verify_cli::ZipSource::open(&zip).unwrap();
    let r = verify_bundle(
        &src,
        &VerifyOptions {
            trusted_key: Some(hearing::server_key().verifying_key()),
            timestamps: Some(&Rfc3161Checker),
            ..Default::default()
        },
    );
    assert!(r.valid, "{}", r.to_text());
    assert_eq!(r.custody.len(), 3);
    // The file lists of sealed and export differ by the extract only.
    let sealed = sworn::verify_cli::ZipSource::open(&fixture().b.zip).unwrap();
    use sworn::verify::BundleSource as _;
    let mut expect = sealed.paths();
    expect.extend(fixture().extract.iter().map(|x| x.path.clone()));
    expect.sort();
    assert_eq!(src.paths(), expect);
    // The command-line verifier agrees (exit 0, custody listed).
    let code = sworn::verify_cli::main_with_args(["sworn-verify", zip.to_str().unwrap()]);
    assert_eq!(code, 0);
}
