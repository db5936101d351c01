//! Issue #5: an exported bundle carries the custody entries about its hearing with
//! inclusion proofs to a signed (and time-stamped) custody checkpoint. Here: the
//! verifier's rules over an extract built by `custody_extract::build_extract` from a real
//! custody log, each tamper case asserting its exact named failure, and the zip tail
//! (`unzip -t`, the project's zip reader, `sworn-verify`).
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

#[cfg(feature = "server")]
mod common;

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
            trusted_history: None,
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
    let r = assert_fails!(s, VerifyError::CustodyInclusionInvalid { .. });
    // Still listed for the court, but flagged: nothing proves them now.
    assert!(
        r.to_text()
            .contains("export e1 of bundle ab: created (NOT proven)"),
        "{}",
        r.to_text()
    );
    assert!(!verify(&exported()).to_text().contains("NOT proven"));
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

/// Scale: an extract from a 20 000-entry custody log (every 100th entry about this
/// hearing) is built and verified; prints how long each takes.
#[test]
fn extract_from_a_large_custody_log() {
    use sworn::verify::entry::{Entry, encode};
    use sworn::verify::{clock, merkle, note};
    const N: u64 = 20_000;
    let mut jsonl = Vec::new();
    let mut leaves = Vec::new();
    for seq in 0..N {
        let h = if seq % 100 == 7 { HEARING } else { "h-busy" };
        let e = Entry {
            v: 1,
            hearing: CUSTODY_LOG_ID.into(),
            seq,
            time: clock::format_ms((hearing::T0 + 7200) * 1000 + seq as i64),
            body: EntryBody::Retrieval {
                user: "pros (prosecutor)".into(),
                retrieved_hearing: h.into(),
                what: format!("view summary {seq}"),
                result: "served".into(),
            },
        };
        let line = encode(&e).unwrap();
        leaves.push(merkle::leaf_hash(&line));
        jsonl.extend_from_slice(&line);
        jsonl.push(b'\n');
    }
    let body = note::checkpoint_body(&custody_origin(hearing::SERVER), N, &merkle::root(&leaves));
    let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    assert_eq!(key.verifying_key(), hearing::server_key().verifying_key());
    let note_bytes = note::sign_note(&body, hearing::SERVER, &key);
    let t = std::time::Instant::now();
    let extract = build_extract(&jsonl, &note_bytes, None, HEARING).unwrap();
    let built = t.elapsed();
    assert_eq!(extract.len(), 2 * 200 + 1);
    let mut s = fixture().sealed.clone();
    for x in &extract {
        s.files.insert(x.path.clone(), x.bytes.clone());
    }
    let t = std::time::Instant::now();
    let r = verify(&s);
    let verified = t.elapsed();
    assert!(r.valid, "{}", r.to_text());
    assert_eq!(r.custody.len(), 200);
    println!(
        "custody log of {N} entries, 200 about the hearing: extract built in {} ms, bundle verified in {} ms",
        built.as_millis(),
        verified.as_millis()
    );
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

/// A sealed zip that needed zip64 end records (more than 65 535 entries, made by
/// Python's zipfile): the tail keeps zip64, and unzip and Python read the new entries.
#[test]
fn zip_tail_over_a_zip64_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let sealed = tmp.path().join("big.zip");
    let py = format!(
        "import zipfile\n\
         with zipfile.ZipFile('{}', 'w', zipfile.ZIP_STORED) as z:\n\
         \x20   for i in range(70000): z.writestr('media/f%05d' % i, b'x')\n",
        sealed.display()
    );
    let st = std::process::Command::new("python3")
        .args(["-c", &py])
        .status()
        .unwrap();
    assert!(st.success());
    let mut f = std::fs::File::open(&sealed).unwrap();
    let len = f.metadata().unwrap().len();
    let end = zip_tail::read_end(&mut f, len).unwrap();
    assert!(end.zip64 && end.entries == 70_000, "{end:?}");
    let files = vec![
        ExtractFile {
            path: "custody/entries/000001.json".into(),
            bytes: b"{\"a\":1}".to_vec(),
        },
        ExtractFile {
            path: "custody/checkpoint.note".into(),
            bytes: b"note\n".to_vec(),
        },
    ];
    let tail = zip_tail::build_tail(&mut f, len, &files, hearing::T0).unwrap();
    let mut bytes = std::fs::read(&sealed).unwrap();
    bytes.truncate(tail.base_len as usize);
    bytes.extend_from_slice(&tail.bytes);
    let out = tmp.path().join("export.zip");
    std::fs::write(&out, &bytes).unwrap();
    let again =
        zip_tail::read_end(&mut std::fs::File::open(&out).unwrap(), bytes.len() as u64).unwrap();
    assert!(again.zip64 && again.entries == 70_002, "{again:?}");
    let t = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&out)
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    let check = format!(
        "import zipfile\n\
         z = zipfile.ZipFile('{}')\n\
         assert z.testzip() is None\n\
         assert len(z.namelist()) == 70002\n\
         assert z.read('custody/entries/000001.json') == b'{{\"a\":1}}'\n\
         assert z.read('custody/checkpoint.note') == b'note\\n'\n\
         assert z.read('media/f69999') == b'x'\n",
        out.display()
    );
    let st = std::process::Command::new("python3")
        .args(["-c", &check])
        .status()
        .unwrap();
    assert!(st.success());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(archive.len(), 70_002);
    let mut e = archive.by_name("custody/checkpoint.note").unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut e, &mut got).unwrap();
    assert_eq!(got, b"note\n");
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
            trusted_history: None,
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
    // The command-line verifier agrees (valid; no key pinned: exit 3).
    let code = sworn::verify_cli::main_with_args(["sworn-verify", zip.to_str().unwrap()]);
    assert_eq!(code, sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED);
}

/// Through the HTTP API: a sealed hearing, a grant, the prosecutor downloads (303 to the
/// export), resumes with Range, `unzip -t`, `sworn verify`, a second export carries the
/// first one's entries; the export is only the maker's.
#[cfg(feature = "server")]
mod http_flow {
    use super::common::{Client, TestServer};
    use axum::http::{StatusCode, header};
    use serde_json::json;
    use sworn::domain::StaffRole;
    use sworn::verify::{BundleSource as _, MemorySource, VerifyError, VerifyOptions};

    async fn sealed_hearing(server: &TestServer, judge: &Client) -> String {
        server.sealed_hearing(judge).await
    }

    /// GET bundle.zip, follow the 303; returns (export url, bytes).
    async fn download(c: &Client, h: &str) -> (String, Vec<u8>) {
        let (s, hd, _) = c
            .get_bytes(&format!("/api/portal/hearings/{h}/bundle.zip"), None)
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let url = hd
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let (s, hd, body) = c.get_bytes(&url, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            hd.get(header::CONTENT_LENGTH).unwrap().to_str().unwrap(),
            body.len().to_string()
        );
        (url, body)
    }

    fn verify_zip(path: &std::path::Path, server: &TestServer) -> sworn::verify::Report {
        let src = sworn::verify_cli::ZipSource::open(path).unwrap();
        sworn::verify::verify_bundle(
            &src,
            &VerifyOptions {
                trusted_key: Some(server.state.key.verifying_key()),
                trusted_history: None,
                timestamps: Some(&sworn::verify::bundle::Rfc3161Checker),
                ..Default::default()
            },
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prosecutor_downloads_an_export_that_verifies_with_its_custody() {
        let server = TestServer::start().await;
        let judge = server.staff("judge", StaffRole::Judge).await;
        let pros = server.staff("pros", StaffRole::Prosecutor).await;
        let def = server.staff("def", StaffRole::Defence).await;
        let h = sealed_hearing(&server, &judge).await;
        for who in ["pros", "def"] {
            judge
                .post(
                    &format!("/api/hearings/{h}/grants"),
                    json!({"username": who}),
                )
                .await;
        }
        let tmp = tempfile::tempdir().unwrap();

        // First download, then resumed from the middle (across the sealed/tail border).
        let t = std::time::Instant::now();
        let (s, _, _) = pros
            .get_bytes(&format!("/api/portal/hearings/{h}/bundle.zip"), None)
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let made = t.elapsed();
        let (url, full) = download(&pros, &h).await;
        let eid = url
            .rsplit('/')
            .next()
            .unwrap()
            .strip_suffix(".zip")
            .unwrap()
            .to_owned();
        let sealed_zip = server
            .dir
            .path()
            .join(format!("data/hearings/{h}/bundle.zip"));
        let sealed_len = std::fs::metadata(&sealed_zip).unwrap().len();
        let end = sworn::custody_extract::zip_tail::read_end(
            &mut std::fs::File::open(&sealed_zip).unwrap(),
            sealed_len,
        )
        .unwrap();
        println!(
            "export made (custody entry, extract, tail) in {} ms; sealed zip {sealed_len} bytes, export {} bytes, tail {} bytes",
            made.as_millis(),
            full.len(),
            full.len() as u64 - end.cd_offset
        );
        let half = end.cd_offset - 100;
        let (s, hd, rest) = pros.get_bytes(&url, Some(&format!("bytes={half}-"))).await;
        assert_eq!(s, StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            hd.get(header::CONTENT_RANGE).unwrap().to_str().unwrap(),
            format!("bytes {half}-{}/{}", full.len() - 1, full.len())
        );
        let mut resumed = full[..half as usize].to_vec();
        resumed.extend_from_slice(&rest);
        assert_eq!(resumed, full);
        let (s, _, _) = pros
            .get_bytes(&url, Some(&format!("bytes={}-", full.len())))
            .await;
        assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);

        let first = tmp.path().join("first.zip");
        std::fs::write(&first, &resumed).unwrap();
        let t = std::process::Command::new("unzip")
            .arg("-t")
            .arg(&first)
            .output()
            .unwrap();
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
        let r = verify_zip(&first, &server);
        assert!(r.valid, "{}", r.to_text());
        let ts = r
            .checks
            .iter()
            .find(|c| c.name == "custody.timestamp")
            .expect("the custody checkpoint is time-stamped");
        assert_eq!(ts.status, sworn::verify::Status::Pass, "{}", ts.detail);
        let exp = r.custody.last().unwrap();
        assert_eq!(
            exp.what,
            format!("export {eid} of bundle {}", {
                use sha2::Digest;
                let m = std::fs::read(
                    server
                        .dir
                        .path()
                        .join(format!("data/hearings/{h}/bundle/manifest.json")),
                )
                .unwrap();
                hex::encode(sha2::Sha256::digest(&m))
            })
        );
        assert_eq!(exp.user, "pros (prosecutor)");
        assert_eq!(exp.result, "created");
        // The grants came before.
        assert!(
            r.custody
                .iter()
                .any(|c| c.what.starts_with("grant to pros"))
        );

        // `sworn verify` (the shipped binary): valid, custody listed.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn"))
            .arg("verify")
            .arg(&first)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
            "{text}"
        );
        assert!(text.contains(&format!("export {eid} of bundle")), "{text}");
        assert!(text.contains("CUSTODY"), "{text}");

        // A second export carries the first one's download entries too.
        let (url2, second) = download(&pros, &h).await;
        assert_ne!(url2, url);
        let second_path = tmp.path().join("second.zip");
        std::fs::write(&second_path, &second).unwrap();
        let r2 = verify_zip(&second_path, &server);
        assert!(r2.valid, "{}", r2.to_text());
        let whats: Vec<&str> = r2.custody.iter().map(|c| c.what.as_str()).collect();
        assert!(whats.contains(&exp.what.as_str()), "{whats:?}");
        assert!(
            whats.contains(&format!("download export {eid}").as_str()),
            "{whats:?}"
        );
        // A range opens a download session (docs/bundle-format.md §2, `retrieval`).
        let ranged = format!(
            "download export {eid} bytes {half}-{} session ",
            full.len() - 1
        );
        assert!(whats.iter().any(|w| w.starts_with(&ranged)), "{whats:?}");
        assert!(r2.custody.len() > r.custody.len());

        // Only the maker gets it, only while the grant is active.
        let (s, _, _) = def.get_bytes(&url, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _, body) = def
            .get_bytes(
                &format!("/api/portal/hearings/{h}/exports/..%2f..%2fkeys.zip"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "bad_request");
        // A symlink planted in place of an export's tail is never followed.
        let (def_url, _) = download(&def, &h).await;
        let def_eid = def_url
            .rsplit('/')
            .next()
            .unwrap()
            .strip_suffix(".zip")
            .unwrap();
        let exports = server.dir.path().join("data/exports");
        let tail_file = exports.join(format!("{def_eid}.tail"));
        let key_file = server.dir.path().join("data/keys/server.key");
        let key = std::fs::read(&key_file).unwrap();
        std::fs::remove_file(&tail_file).unwrap();
        std::os::unix::fs::symlink(&key_file, &tail_file).unwrap();
        let (s, _, body) = def.get_bytes(&def_url, None).await;
        assert!(!s.is_success(), "{s}");
        assert!(!body.windows(16).any(|w| w == &key[..16]), "the key leaked");

        let grants = judge.get(&format!("/api/hearings/{h}/grants")).await;
        let gid = grants["grants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["username"] == "pros")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        judge
            .post(&format!("/api/hearings/{h}/grants/{gid}/revoke"), json!({}))
            .await;
        let before = server.state.custody.size();
        let (s, _, _) = pros.get_bytes(&url, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(server.state.custody.size(), before);

        // One byte of a custody entry inside the downloaded export is caught.
        let src = sworn::verify_cli::ZipSource::open(&first).unwrap();
        let mut mem = MemorySource::default();
        for p in src.paths() {
            mem.files.insert(p.clone(), src.read(&p).unwrap());
        }
        let entry = format!("custody/entries/{:06}.json", exp.seq);
        let bytes = mem.files.get_mut(&entry).unwrap();
        let at = bytes.windows(4).position(|w| w == b"pros").unwrap();
        bytes[at] ^= 1;
        let r = sworn::verify::verify_bundle(
            &mem,
            &VerifyOptions {
                trusted_key: Some(server.state.key.verifying_key()),
                trusted_history: None,
                ..Default::default()
            },
        );
        assert!(!r.valid);
        assert!(
            r.failures()
                .any(|e| matches!(e, VerifyError::CustodyInclusionInvalid { .. })),
            "{}",
            r.to_text()
        );
        server.stop().await;
    }
}
