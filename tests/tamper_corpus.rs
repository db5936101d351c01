//! Generator of the committed tamper corpus `tests/vectors/tamper/` (docs/bundle-format.md
//! §13): `clean.zip`, `clean-export.zip` (with a custody extract), one zip per failure
//! class a bundle can trigger, the zips a verifier must refuse to open, `court.pub.pem`
//! (the pinned server key) and `expected.json` (what each zip must give). Everything is
//! made with the real producer API from fixed seeds and fixed times (server key seed 42,
//! participant keys 1/2 and an ES256 key, a seeded built-in TSA, pseudo-random media), so
//! the same code writes the same bytes.
//!
//! The zips are the contract: old bundles must keep verifying as the format grows, so a
//! normal test run never writes them (`tests/verify_corpus.rs` only reads them). This
//! test is ignored and does nothing unless blessed. To add a case, write it here and run
//!
//! ```text
//! SWORN_BLESS=1 nice -n 10 cargo test --no-default-features --features evidence \
//!     --test tamper_corpus -- --ignored
//! ```
//!
//! which writes the zips not yet committed, keeps every committed one byte for byte, and
//! recomputes `expected.json`; `SWORN_BLESS=all` rewrites every zip (only for a deliberate
//! format break; the same code writes the same bytes). Then re-bless the golden
//! transcripts (`tests/verify_corpus.rs`) and review `git diff tests/vectors/tamper`.
//! Each case names the failure code(s) it is made for (`made_for`); blessing fails if the
//! verifier does not report them.
//!
//! Test support only: it writes nowhere but `tests/vectors/tamper/`.
#![cfg(feature = "evidence")]

#[path = "vectors/corpus.rs"]
mod corpus;
#[path = "vectors/hearing.rs"]
mod hearing;

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use corpus::{Meta, committed_meta, corpus_dir, write_expected};
use ed25519_dalek::{Signer as _, SigningKey};
use hearing::{Clock, T0, reindex, sha_hex};
use serde_json::{Value, json};
use sworn::evidence::tsa::TsaIdentity;
use sworn::evidence::{ExtraFile, ExtraSource, HearingLog, ServerKey, write_bundle};
use sworn::verify::MemorySource;
use sworn::verify::canonical::to_canonical;
use sworn::verify::entry::EntryBody;

const HEARING: &str = "h-corpus";
const TSA_SEED: [u8; 32] = [7u8; 32];
const OTHER_TSA_SEED: [u8; 32] = [8u8; 32];
const VIDEO: &str = "p-judge/video.webm";
const AUDIO: &str = "p-witness/audio.webm";
const DERIVED: &str = "p-judge/video.mp4";

fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap())
}

/// Deterministic pseudo-random bytes (xorshift64): tiny stand-ins for recorded media,
/// which the verifier only hashes.
fn noise(len: usize, mut x: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// How the producer is led astray (for failures a post-hoc edit cannot isolate).
#[derive(Default, Clone)]
struct Twist {
    /// `(offset, length)` of the video's media_chunk entries instead of an even split.
    video_ranges: Option<Vec<(u64, u64)>>,
    /// No file_sealed entry for the audio.
    no_audio_seal: bool,
    /// The final checkpoint's token is dated an hour before its entries.
    early_final_stamp: bool,
}

struct Built {
    tmp: tempfile::TempDir,
    src: MemorySource,
    zip: Vec<u8>,
}

fn es256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap()
}

fn commit_ranges(
    log: &mut HearingLog,
    key: &ServerKey,
    clock: &mut Clock,
    bytes: &[u8],
    file: &str,
    participant: &str,
    ranges: &[(u64, u64)],
) {
    for (i, &(off, len)) in ranges.iter().enumerate() {
        let start = usize::try_from(off).unwrap().min(bytes.len());
        let end = usize::try_from(off + len).unwrap().min(bytes.len());
        let wall = clock.0;
        log.append(
            EntryBody::MediaChunk {
                file: file.into(),
                offset: off,
                length: len,
                sha256: sha_hex(&bytes[start..end]),
                media_start_ms: (i * 1000) as i64,
                media_end_ms: ((i + 1) * 1000) as i64,
                wall_start: sworn::verify::clock::format_ms(wall),
                wall_end: sworn::verify::clock::format_ms(wall + 1000),
                participant: Some(participant.into()),
                track: Some(
                    if file.contains("video") {
                        "video"
                    } else {
                        "audio"
                    }
                    .into(),
                ),
            },
            clock.tick(),
        )
        .unwrap();
        if i % 2 == 1 {
            log.checkpoint(key).unwrap();
        }
    }
}

fn even(len: usize, parts: u64) -> Vec<(u64, u64)> {
    let len = len as u64;
    let step = len.div_ceil(parts);
    (0..parts)
        .map(|i| (i * step, step.min(len - i * step)))
        .collect()
}

/// The corpus hearing: a judge (Ed25519), a witness (Ed25519) and an interpreter
/// (ES256) with bound keys, two media files, a derived file, oath (Ed25519 and ES256)
/// and minutes attestations, signed minutes, the first and the final checkpoint
/// time-stamped by the seeded TSA; then its sealed bundle.
fn build(key: &ServerKey, tw: &Twist) -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = tmp.path().join("log");
    let media_dir = tmp.path().join("media");
    let mut clock = Clock(T0 * 1000);
    let judge = SigningKey::from_bytes(&[1u8; 32]);
    let witness = SigningKey::from_bytes(&[2u8; 32]);
    let interpreter = es256_key();
    let video = noise(400, 0x9e37_79b9_7f4a_7c15);
    let audio = noise(300, 0x2545_f491_4f6c_dd1d);
    for (f, b) in [(VIDEO, &video), (AUDIO, &audio)] {
        let p = media_dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
    let mut log = hearing::open_hearing(&log_dir, HEARING, key, &mut clock, &judge, &witness);
    let pi = "p-interpreter";
    for body in [
        EntryBody::ParticipantInvited {
            participant: pi.into(),
            role: "interpreter".into(),
            display_name: None,
        },
        EntryBody::ParticipantJoined {
            participant: pi.into(),
        },
        EntryBody::KeyBound {
            participant: pi.into(),
            public_key: base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                interpreter
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes(),
            ),
            alg: Some("ES256".into()),
        },
        EntryBody::ParticipantAdmitted {
            participant: pi.into(),
        },
    ] {
        log.append(body, clock.tick()).unwrap();
    }
    let ranges = tw
        .video_ranges
        .clone()
        .unwrap_or_else(|| even(video.len(), 2));
    commit_ranges(&mut log, key, &mut clock, &video, VIDEO, "p-judge", &ranges);
    let st = hearing::statement(
        &log,
        HEARING,
        "oath",
        "p-witness",
        "I swear to tell the truth.",
        None,
    );
    log.record_attestation(&st, &witness.sign(&st).to_bytes(), clock.tick())
        .unwrap();
    log.append(
        EntryBody::OathTaken {
            participant: "p-witness".into(),
            form: "oath".into(),
            language: None,
        },
        clock.tick(),
    )
    .unwrap();
    let st = hearing::statement(
        &log,
        HEARING,
        "oath",
        pi,
        "I will interpret faithfully.",
        None,
    );
    let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&interpreter, &st);
    log.record_attestation(&st, &sig.to_bytes(), clock.tick())
        .unwrap();
    commit_ranges(
        &mut log,
        key,
        &mut clock,
        &audio,
        AUDIO,
        "p-witness",
        &even(audio.len(), 2),
    );
    log.append(
        EntryBody::Marker {
            label: "exhibit 3 shown".into(),
            by: None,
        },
        clock.tick(),
    )
    .unwrap();
    hearing::seal(&mut log, &mut clock, &media_dir, VIDEO);
    if !tw.no_audio_seal {
        hearing::seal(&mut log, &mut clock, &media_dir, AUDIO);
    }
    let derived = noise(120, 0x1234_5678_9abc_def1);
    log.append(
        EntryBody::DerivedFile {
            file: DERIVED.into(),
            length: derived.len() as u64,
            sha256: sha_hex(&derived),
            derived_from: vec![VIDEO.into()],
            method: "remux".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(key).unwrap();
    let html = sworn::evidence::minutes::render_minutes(
        &std::fs::read(log_dir.join("entries.jsonl")).unwrap(),
    )
    .unwrap()
    .into_bytes();
    let st = hearing::statement(
        &log,
        HEARING,
        "minutes",
        "p-judge",
        "I certify these minutes.",
        Some(("minutes_sha256", &sha_hex(&html))),
    );
    log.record_attestation(&st, &judge.sign(&st).to_bytes(), clock.tick())
        .unwrap();
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    let last = log.checkpoint(key).unwrap().size;
    let tsa = TsaIdentity::from_seed(&TSA_SEED, at(T0 - 86_400)).unwrap();
    let mut notes: Vec<u64> = std::fs::read_dir(log_dir.join("checkpoints"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "note").then(|| p.file_stem()?.to_str()?.parse().ok())?
        })
        .collect();
    notes.sort_unstable();
    // Only the first and the final checkpoint are stamped (tokens are optional per
    // checkpoint, §4), which keeps the corpus small.
    let first = notes[0];
    notes.retain(|n| *n == first || *n == last);
    for size in notes {
        let note = std::fs::read(log_dir.join(format!("checkpoints/{size:06}.note"))).unwrap();
        let when = if tw.early_final_stamp && size == last {
            T0 - 3600
        } else {
            T0 + 600 + i64::try_from(size).unwrap()
        };
        let mut serial = [0u8; 16];
        serial[8..].copy_from_slice(&size.to_be_bytes());
        let token = tsa.stamp_with_serial(&note, at(when), serial).unwrap();
        log.attach_timestamp(size, &token).unwrap();
    }
    let extras = vec![
        ExtraFile {
            path: "tsa/chain.pem".into(),
            source: ExtraSource::Bytes(tsa.chain_pem().into_bytes()),
        },
        ExtraFile {
            path: "minutes/minutes.html".into(),
            source: ExtraSource::Bytes(html.clone()),
        },
        ExtraFile {
            path: "minutes/minutes.sig".into(),
            source: ExtraSource::Bytes(judge.sign(&html).to_bytes().to_vec()),
        },
        ExtraFile {
            path: format!("derived/{DERIVED}"),
            source: ExtraSource::Bytes(derived),
        },
    ];
    let info = write_bundle(
        &log_dir,
        &media_dir,
        key,
        &extras,
        &tmp.path().join("bundle"),
    )
    .unwrap();
    let src = hearing::load(&info.dir);
    let zip = std::fs::read(&info.zip).unwrap();
    Built { tmp, src, zip }
}

/// The clean bundle as an export carries it (the sealed zip up to its central
/// directory, then the custody extract as the server appends it), its files, and the
/// extract the same custody log gives for another hearing (to smuggle in).
/// Files as (path, bytes).
type Files = Vec<(String, Vec<u8>)>;

fn exported(b: &Built, key: &ServerKey) -> (MemorySource, Vec<u8>, Files) {
    use sworn::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
    let mut clock = Clock((T0 + 7200) * 1000);
    let cdir = b.tmp.path().join("custody-log");
    let (mut custody, _) = HearingLog::open(
        &cdir,
        CUSTODY_LOG_ID,
        &custody_origin(hearing::SERVER),
        key,
        clock.tick(),
    )
    .unwrap();
    let fp = format!("sha256:{}", sha_hex(&b.src.files["manifest.json"]));
    let facts = [
        (
            "judge (judge)",
            HEARING,
            "grant to pros (prosecutor)".to_string(),
            "granted",
        ),
        (
            "pros (prosecutor)",
            "h-elsewhere",
            "view summary".to_string(),
            "served",
        ),
        (
            "pros (prosecutor)",
            HEARING,
            "view summary".to_string(),
            "served",
        ),
        (
            "def (defence)",
            HEARING,
            format!("download bundle.zip {fp}"),
            "served",
        ),
    ];
    let mut size = 0;
    for (user, h, what, result) in facts {
        custody
            .append(
                EntryBody::Retrieval {
                    user: user.into(),
                    retrieved_hearing: h.into(),
                    what,
                    result: result.into(),
                },
                clock.tick(),
            )
            .unwrap();
        size = custody.checkpoint(key).unwrap().size;
    }
    let tsa = TsaIdentity::from_seed(&TSA_SEED, at(T0 - 86_400)).unwrap();
    let note = std::fs::read(cdir.join(format!("checkpoints/{size:06}.note"))).unwrap();
    let token = tsa
        .stamp_with_serial(&note, at(T0 + 7300), [0x5a; 16])
        .unwrap();
    custody.attach_timestamp(size, &token).unwrap();
    let mut s = b.src.clone();
    let files = sworn::custody_extract::extract_from_dir(&cdir, size, HEARING).unwrap();
    for f in &files {
        s.files.insert(f.path.clone(), f.bytes.clone());
    }
    let tail = sworn::custody_extract::zip_tail::build_tail(
        &mut std::io::Cursor::new(&b.zip),
        b.zip.len() as u64,
        &files,
        T0 + 7200,
    )
    .unwrap();
    let mut zip = b.zip[..usize::try_from(tail.base_len).unwrap()].to_vec();
    zip.extend_from_slice(&tail.bytes);
    let other = sworn::custody_extract::extract_from_dir(&cdir, size, "h-elsewhere")
        .unwrap()
        .into_iter()
        .filter(|f| f.path.starts_with("custody/entries/") || f.path.starts_with("custody/proofs/"))
        .map(|f| (f.path, f.bytes))
        .collect();
    (s, zip, other)
}

/// A stored zip of `src`, entries in path order, fixed (1980) times.
fn zip_of(src: &MemorySource) -> Vec<u8> {
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in &src.files {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        zw.start_file(name.as_str(), opts).unwrap();
        zw.write_all(bytes).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

fn text(s: &MemorySource, path: &str) -> String {
    String::from_utf8(s.files[path].clone()).unwrap()
}

fn replace(s: &mut MemorySource, path: &str, from: &str, to: &str) {
    let t = text(s, path);
    assert!(t.contains(from), "{path} lacks {from:?}");
    s.files
        .insert(path.into(), t.replacen(from, to, 1).into_bytes());
}

fn flip(s: &mut MemorySource, path: &str, at: usize) {
    let f = s.files.get_mut(path).unwrap();
    let i = at.min(f.len() - 1);
    f[i] ^= 0x01;
}

/// Rewrites SHA256SUMS for the files as they are now (the manifest is left alone).
fn resum(s: &mut MemorySource) {
    let mut sums = String::new();
    for (p, b) in &s.files {
        if p != "SHA256SUMS" && !p.starts_with("custody/") {
            sums.push_str(&format!("{}  {p}\n", sha_hex(b)));
        }
    }
    s.files.insert("SHA256SUMS".into(), sums.into_bytes());
}

/// Re-signs manifest.json with the server key, then rewrites SHA256SUMS.
fn resign(s: &mut MemorySource, key: &ServerKey) {
    // hearing::server_key() is ServerKey::from_seed([42; 32]).
    assert_eq!(key.vkey(), hearing::server_key().vkey());
    let sig = SigningKey::from_bytes(&[42u8; 32]).sign(&s.files["manifest.json"]);
    s.files
        .insert("manifest.sig".into(), sig.to_bytes().to_vec());
    resum(s);
}

/// What a forger holding the server key does after an edit: the manifest lists the
/// files as they are and is signed again, so only the deep checks can tell.
fn reseal(s: &mut MemorySource, key: &ServerKey) {
    reindex(s);
    resign(s, key);
}

/// Edits manifest.json as JSON (canonical again), then re-signs it.
fn edit_manifest(s: &mut MemorySource, key: &ServerKey, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&s.files["manifest.json"]).unwrap();
    f(&mut v);
    s.files
        .insert("manifest.json".into(), to_canonical(&v).unwrap());
    resign(s, key);
}

fn log_lines(s: &MemorySource) -> Vec<Vec<u8>> {
    let log = &s.files["log/entries.jsonl"];
    log[..log.len() - 1]
        .split(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn set_log(s: &mut MemorySource, lines: &[Vec<u8>]) {
    let mut joined = lines.join(&b'\n');
    joined.push(b'\n');
    s.files.insert("log/entries.jsonl".into(), joined);
}

fn entry_json(line: &[u8]) -> Value {
    serde_json::from_slice(line).unwrap()
}

/// Index of the first log line whose JSON satisfies `f`.
fn find_line(s: &MemorySource, f: impl Fn(&Value) -> bool) -> usize {
    log_lines(s).iter().position(|l| f(&entry_json(l))).unwrap()
}

fn checkpoint_paths(s: &MemorySource) -> Vec<String> {
    s.files
        .keys()
        .filter(|p| p.starts_with("log/checkpoints/") && p.ends_with(".note"))
        .cloned()
        .collect()
}

/// Signs `body` as a checkpoint note with `key` under the server's name.
fn signed_note(body: &str, seed: u8) -> Vec<u8> {
    sworn::verify::note::sign_note(body, hearing::SERVER, &SigningKey::from_bytes(&[seed; 32]))
}

fn note_body(s: &MemorySource, path: &str) -> String {
    text(s, path)
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect()
}

fn attestation(s: &MemorySource, suffix: &str) -> String {
    s.files
        .keys()
        .find(|p| p.ends_with(suffix))
        .unwrap()
        .clone()
}

/// One corpus file: its bytes, what it is, and the codes it is made to trigger.
struct Case {
    name: String,
    about: String,
    bytes: Vec<u8>,
    /// Codes the verifier must report (blessing fails otherwise); empty for a valid one.
    aims: Vec<&'static str>,
    /// Also record the verdict without a pinned key.
    unpinned: bool,
}

fn case(name: &str, about: &str, aims: &[&'static str], bytes: Vec<u8>) -> Case {
    Case {
        name: format!("{name}.zip"),
        about: about.into(),
        bytes,
        aims: aims.to_vec(),
        unpinned: false,
    }
}

/// Post-hoc tampers of the sealed bundle: (name, what was done, aimed codes, bundle).
type Tamper = (
    &'static str,
    &'static str,
    &'static [&'static str],
    MemorySource,
);

fn tampers(clean: &MemorySource, key: &ServerKey) -> Vec<Tamper> {
    let mut out: Vec<Tamper> = Vec::new();
    let c = || clean.clone();

    // 1. Layout and index.
    let mut s = c();
    s.files.remove("VERIFY.txt");
    out.push((
        "missing-file",
        "VERIFY.txt deleted; manifest and SHA256SUMS untouched",
        &["MissingFile"],
        s,
    ));
    let mut s = c();
    s.files
        .insert("notes.txt".into(), b"added later\n".to_vec());
    reseal(&mut s, key);
    out.push((
        "extra-file",
        "notes.txt added and listed in a re-signed manifest",
        &["ExtraFile"],
        s,
    ));
    let mut s = c();
    s.files.insert("VERIFY.txt".into(), Vec::new());
    reseal(&mut s, key);
    out.push((
        "empty-file",
        "VERIFY.txt emptied, manifest re-signed",
        &["EmptyFile"],
        s,
    ));
    let mut s = c();
    s.files.insert(
        "manifest.json".into(),
        br#"{"format":"sworn-bundle/1"}"#.to_vec(),
    );
    resign(&mut s, key);
    out.push((
        "manifest-malformed",
        "manifest.json cut down to its format, re-signed",
        &["ManifestMalformed"],
        s,
    ));
    let mut s = c();
    edit_manifest(&mut s, key, |v| v["format"] = json!("sworn-bundle/9"));
    out.push((
        "manifest-wrong-format",
        "manifest format sworn-bundle/9, re-signed",
        &["ManifestWrongFormat"],
        s,
    ));
    let mut s = c();
    flip(&mut s, "manifest.sig", 5);
    out.push((
        "manifest-signature-flipped",
        "one bit of manifest.sig flipped",
        &["ManifestBadSignature"],
        s,
    ));
    let mut s = c();
    flip(&mut s, "VERIFY.txt", 10);
    resum(&mut s);
    out.push((
        "manifest-hash-mismatch",
        "a bit of VERIFY.txt flipped, SHA256SUMS updated, manifest not",
        &["ManifestHashMismatch"],
        s,
    ));
    let mut s = c();
    edit_manifest(&mut s, key, |v| {
        for f in v["files"].as_array_mut().unwrap() {
            if f["path"] == "VERIFY.txt" {
                f["length"] = json!(f["length"].as_u64().unwrap() + 1);
            }
        }
    });
    out.push((
        "manifest-length-mismatch",
        "manifest states VERIFY.txt one byte longer (digest right), re-signed",
        &["ManifestLengthMismatch"],
        s,
    ));
    let mut s = c();
    let sums = text(&s, "SHA256SUMS");
    let pos = sums.find("  VERIFY.txt").unwrap() - 1;
    let mut b = sums.into_bytes();
    b[pos] = if b[pos] == b'0' { b'1' } else { b'0' };
    s.files.insert("SHA256SUMS".into(), b);
    out.push((
        "sha256sums-edited",
        "the VERIFY.txt digest in SHA256SUMS changed",
        &["Sha256SumsMismatch"],
        s,
    ));

    // 2. Keys.
    let mut s = c();
    s.files
        .insert("keys/server.vkey".into(), b"not a verifier key\n".to_vec());
    reseal(&mut s, key);
    out.push((
        "key-malformed",
        "keys/server.vkey replaced by text, manifest re-signed",
        &["KeyMalformed"],
        s,
    ));
    let mut s = c();
    s.files.insert(
        "keys/server.pub.pem".into(),
        hearing::other_server_key().public_pem().into_bytes(),
    );
    reseal(&mut s, key);
    out.push((
        "key-mismatch",
        "keys/server.pub.pem replaced by another key's, manifest re-signed",
        &["KeyMismatch"],
        s,
    ));
    // A key history in which the corpus key (seed 42) succeeded seed 44 at T0.
    let history = |forge: bool| {
        use sworn::evidence::key_rotation::{extend, genesis};
        let k44 = SigningKey::from_bytes(&[44u8; 32]);
        let k42 = SigningKey::from_bytes(&[42u8; 32]);
        let h0 = genesis(hearing::SERVER, &k44, at(T0 - 86_400)).unwrap();
        let h = extend(&h0, &k44, &k42, at(T0)).unwrap();
        let mut doc: Value = serde_json::from_slice(&h.bytes).unwrap();
        if forge {
            // The predecessor's consent replaced by the new key's own signature.
            doc["keys"][1]["signature_previous"] = doc["keys"][1]["signature"].clone();
        }
        to_canonical(&doc).unwrap()
    };
    let mut s = c();
    s.files.insert("keys/history.json".into(), history(true));
    reseal(&mut s, key);
    out.push((
        "key-history-forged",
        "keys/history.json whose second key carries its own signature in place of its predecessor's, manifest re-signed",
        &["KeyHistoryInvalid"],
        s,
    ));
    let mut s = c();
    s.files.insert("keys/history.json".into(), history(false));
    let first = checkpoint_paths(&s)[0].clone();
    let body = note_body(&s, &first);
    s.files.insert(first, signed_note(&body, 44));
    reseal(&mut s, key);
    out.push((
        "key-retired",
        "a key history says seed-44's key was retired at the hearing's start; the first checkpoint re-signed with it",
        &["KeyRetired"],
        s,
    ));

    // 3. Log.
    let mut s = c();
    s.files.get_mut("log/entries.jsonl").unwrap().pop();
    reseal(&mut s, key);
    out.push((
        "log-torn",
        "the log's final newline removed",
        &["LogMalformed"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    let i = find_line(&s, |e| e["type"] == "marker");
    lines[i] = String::from_utf8(lines[i].clone())
        .unwrap()
        .replacen(",\"type\":", ", \"type\":", 1)
        .into_bytes();
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "entry-not-canonical",
        "a space added inside the marker entry",
        &["EntryNotCanonical"],
        s,
    ));
    let mut s = c();
    replace(
        &mut s,
        "log/entries.jsonl",
        "\"type\":\"marker\"",
        "\"type\":\"remark\"",
    );
    reseal(&mut s, key);
    out.push((
        "entry-malformed",
        "the marker entry's type changed to an unknown one",
        &["EntryMalformed"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    lines.remove(5);
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "entry-dropped",
        "entry 5 deleted from the log",
        &["SeqOutOfOrder"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    let i = find_line(&s, |e| e["type"] == "marker");
    lines[i] = String::from_utf8(lines[i].clone())
        .unwrap()
        .replacen("\"hearing\":\"h-corpus\"", "\"hearing\":\"h-elsewhere\"", 1)
        .into_bytes();
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "entry-wrong-hearing",
        "the marker entry moved to another hearing",
        &["EntryWrongHearing"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    let i = find_line(&s, |e| e["type"] == "marker");
    let mut e = entry_json(&lines[i]);
    e["time"] = json!("2026-11-29T17:00:00.000Z");
    lines[i] = to_canonical(&e).unwrap();
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "time-out-of-order",
        "the marker entry dated half an hour before the hearing opened",
        &["TimeOutOfOrder"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    let first = entry_json(&lines[0]);
    lines[0] = to_canonical(&json!({
        "v": 1, "hearing": HEARING, "seq": 0, "time": first["time"], "type": "marker", "label": "opened",
    }))
    .unwrap();
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "log-not-opened",
        "hearing_opened replaced by a marker",
        &["LogNotOpened"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    lines.pop();
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "log-not-closed",
        "hearing_closed removed from the end of the log",
        &["LogNotClosed"],
        s,
    ));
    let mut s = c();
    let mut lines = log_lines(&s);
    let last = entry_json(lines.last().unwrap());
    lines.push(
        to_canonical(&json!({
            "v": 1, "hearing": HEARING, "seq": lines.len(), "time": last["time"], "type": "marker", "label": "after",
        }))
        .unwrap(),
    );
    set_log(&mut s, &lines);
    reseal(&mut s, key);
    out.push((
        "entry-after-close",
        "a marker appended after hearing_closed",
        &["EntryAfterClose"],
        s,
    ));
    let mut s = c();
    edit_manifest(&mut s, key, |v| {
        v["log_size"] = json!(v["log_size"].as_u64().unwrap() + 1);
    });
    out.push((
        "log-size-mismatch",
        "manifest log_size one more than the log, re-signed",
        &["LogSizeMismatch"],
        s,
    ));

    // 4. Checkpoints.
    let notes = checkpoint_paths(clean);
    let final_note = notes.last().unwrap().clone();
    let body = note_body(clean, &final_note);
    let mut s = c();
    let root = body.lines().nth(2).unwrap();
    let bad_root = other_b64(root);
    s.files.insert(
        final_note.clone(),
        signed_note(&body.replacen(root, &bad_root, 1), 42),
    );
    reseal(&mut s, key);
    out.push((
        "checkpoint-root-changed",
        "final checkpoint's root changed, signed again with the server key",
        &["RootMismatch"],
        s,
    ));
    let mut s = c();
    s.files.insert(final_note.clone(), signed_note(&body, 43));
    reseal(&mut s, key);
    out.push((
        "checkpoint-other-key",
        "final checkpoint signed by another key under the server's name",
        &["CheckpointBadSignature"],
        s,
    ));
    let mut s = c();
    let size = body.lines().nth(1).unwrap();
    s.files.insert(
        final_note.clone(),
        signed_note(&body.replacen(&format!("\n{size}\n"), "\nforty\n", 1), 42),
    );
    reseal(&mut s, key);
    out.push((
        "checkpoint-malformed",
        "final checkpoint's size line not a number, signed by the server key",
        &["CheckpointMalformed"],
        s,
    ));
    let mut s = c();
    let first_note = notes[0].clone();
    let fbody = note_body(clean, &first_note);
    s.files.insert(
        first_note.clone(),
        signed_note(
            &fbody.replacen("/hearing/h-corpus\n", "/hearing/h-elsewhere\n", 1),
            42,
        ),
    );
    reseal(&mut s, key);
    out.push((
        "checkpoint-wrong-origin",
        "first checkpoint's origin another hearing's, signed by the server key",
        &["CheckpointWrongOrigin"],
        s,
    ));
    let mut s = c();
    let mid = notes[1].clone();
    let renamed = {
        let n: u64 = mid
            .trim_start_matches("log/checkpoints/")
            .trim_end_matches(".note")
            .parse()
            .unwrap();
        format!("log/checkpoints/{:06}.note", n + 1)
    };
    let b = s.files.remove(&mid).unwrap();
    s.files.insert(renamed.clone(), b);
    if let Some(t) = s.files.remove(&mid.replace(".note", ".tsr")) {
        s.files.insert(renamed.replace(".note", ".tsr"), t);
    }
    reseal(&mut s, key);
    out.push((
        "checkpoint-renamed",
        "the second checkpoint (and its token) renamed to the next size",
        &["CheckpointSizeInvalid"],
        s,
    ));
    let mut s = c();
    let earlier = notes[notes.len() - 2]
        .trim_start_matches("log/")
        .to_string();
    edit_manifest(&mut s, key, |v| {
        let path = v["final_checkpoint"].as_str().unwrap().to_string();
        let prefix = if path.starts_with("log/") { "log/" } else { "" };
        v["final_checkpoint"] = json!(format!("{prefix}{earlier}"));
    });
    out.push((
        "checkpoint-not-final",
        "manifest's final_checkpoint names an earlier checkpoint, re-signed",
        &["CheckpointNotFinal"],
        s,
    ));

    // 5. Consistency proofs.
    let proof = s_proof(clean);
    let mut s = c();
    let mut v: Value = serde_json::from_slice(&s.files[&proof]).unwrap();
    let h = v["proof"][0].as_str().unwrap().to_string();
    let bad = other_b64(&h);
    v["proof"][0] = json!(bad);
    s.files.insert(proof.clone(), to_canonical(&v).unwrap());
    reseal(&mut s, key);
    out.push((
        "consistency-proof-edited",
        "a hash of a consistency proof changed",
        &["ConsistencyProofInvalid"],
        s,
    ));
    let mut s = c();
    let mut v: Value = serde_json::from_slice(&s.files[&proof]).unwrap();
    let h = v["old_root"].as_str().unwrap().to_string();
    let bad = other_b64(&h);
    v["old_root"] = json!(bad);
    s.files.insert(proof.clone(), to_canonical(&v).unwrap());
    reseal(&mut s, key);
    out.push((
        "proof-root-not-checkpointed",
        "a consistency proof's old_root changed",
        &["ProofRootNotCheckpointed"],
        s,
    ));

    // 6. Time-stamps.
    let tsrs: Vec<String> = s_keys(clean, |p| {
        p.starts_with("log/checkpoints/") && p.ends_with(".tsr")
    });
    let mut s = c();
    let (a, b) = (tsrs[0].clone(), tsrs[1].clone());
    let (ta, tb) = (s.files[&a].clone(), s.files[&b].clone());
    s.files.insert(a, tb);
    s.files.insert(b, ta);
    reseal(&mut s, key);
    out.push((
        "timestamps-swapped",
        "the first two checkpoints' tokens swapped",
        &["TimestampMismatch"],
        s,
    ));
    let mut s = c();
    let last_tsr = tsrs.last().unwrap().clone();
    let n = s.files[&last_tsr].len();
    flip(&mut s, &last_tsr, n - 1);
    reseal(&mut s, key);
    out.push((
        "timestamp-signature-flipped",
        "last bit of the final token's ECDSA signature flipped",
        &["TimestampInvalid"],
        s,
    ));
    let mut s = c();
    let other = TsaIdentity::from_seed(&OTHER_TSA_SEED, at(T0 - 86_400)).unwrap();
    s.files
        .insert("tsa/chain.pem".into(), other.chain_pem().into_bytes());
    reseal(&mut s, key);
    out.push((
        "tsa-chain-replaced",
        "tsa/chain.pem replaced by another TSA's chain",
        &["TimestampInvalid"],
        s,
    ));

    // 7. Media.
    let mut s = c();
    flip(&mut s, &format!("media/{VIDEO}"), 150);
    reseal(&mut s, key);
    out.push((
        "media-byte-flipped",
        "one bit of the video flipped",
        &["ChunkHashMismatch"],
        s,
    ));
    let mut s = c();
    s.files.get_mut(&format!("media/{AUDIO}")).unwrap().pop();
    reseal(&mut s, key);
    out.push((
        "media-truncated",
        "the audio's last byte removed",
        &["ChunkPastEnd"],
        s,
    ));
    let mut s = c();
    s.files
        .get_mut(&format!("media/{AUDIO}"))
        .unwrap()
        .extend_from_slice(b"more");
    reseal(&mut s, key);
    out.push((
        "media-trailing-bytes",
        "four bytes appended to the audio",
        &["MediaTrailingBytes"],
        s,
    ));
    let mut s = c();
    s.files
        .insert("media/p-judge/extra.webm".into(), b"smuggled".to_vec());
    reseal(&mut s, key);
    out.push((
        "uncommitted-media",
        "a media file no entry commits added",
        &["UncommittedFile"],
        s,
    ));
    let mut s = c();
    s.files.remove(&format!("media/{AUDIO}"));
    reseal(&mut s, key);
    out.push((
        "media-file-missing",
        "a committed media file left out",
        &["MissingFile"],
        s,
    ));
    let mut s = c();
    flip(&mut s, &format!("derived/{DERIVED}"), 7);
    reseal(&mut s, key);
    out.push((
        "derived-file-edited",
        "one bit of the derived file flipped",
        &["DerivedFileMismatch"],
        s,
    ));

    // 8. Attestations and minutes.
    let oath = attestation(clean, "-oath.json");
    let mut s = c();
    replace(&mut s, &oath, "I swear", "I do not swear");
    reseal(&mut s, key);
    out.push((
        "oath-statement-edited",
        "the witness's oath statement edited",
        &["AttestationHashMismatch"],
        s,
    ));
    let mut s = c();
    let sig = oath.replace(".json", ".sig");
    flip(&mut s, &sig, 3);
    reseal(&mut s, key);
    out.push((
        "attestation-signature-flipped",
        "one bit of the witness's Ed25519 oath signature flipped",
        &["AttestationBadSignature"],
        s,
    ));
    let es_oath = s_keys(clean, |p| p.ends_with("-oath.json"))[1].clone();
    let mut s = c();
    flip(&mut s, &es_oath.replace(".json", ".sig"), 40);
    reseal(&mut s, key);
    out.push((
        "es256-attestation-signature-flipped",
        "one bit of the interpreter's ES256 oath signature flipped",
        &["AttestationBadSignature"],
        s,
    ));
    // The ES256 signature itself must fail: the interpreter's oath signed by another
    // P-256 key, written to .sig and to the log entry alike.
    let mut s = c();
    let sig_path = es_oath.replace(".json", ".sig");
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let old_sig = b64(&s.files[&sig_path]);
    let forged: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(
        &p256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap(),
        &s.files[&es_oath],
    );
    let forged = forged.to_bytes().to_vec();
    replace(&mut s, "log/entries.jsonl", &old_sig, &b64(&forged));
    s.files.insert(sig_path, forged);
    reseal(&mut s, key);
    out.push((
        "es256-attestation-other-key",
        "the interpreter's ES256 oath signed by another P-256 key, in .sig and in the log",
        &["AttestationBadSignature"],
        s,
    ));
    // Statement edits that keep the logged hash right (the forger rewrites the entry).
    let restate = |s: &mut MemorySource, path: &str, f: &dyn Fn(&mut Value)| {
        let old = s.files[path].clone();
        let mut v: Value = serde_json::from_slice(&old).unwrap();
        f(&mut v);
        let new = to_canonical(&v).unwrap();
        replace(s, "log/entries.jsonl", &sha_hex(&old), &sha_hex(&new));
        s.files.insert(path.into(), new);
        reseal(s, key);
    };
    let mut s = c();
    restate(&mut s, &oath, &|v| v["hearing"] = json!("h-elsewhere"));
    out.push((
        "attestation-malformed",
        "the oath statement names another hearing; its logged hash updated",
        &["AttestationMalformed"],
        s,
    ));
    let mut s = c();
    restate(&mut s, &oath, &|v| v["checkpoint"]["size"] = json!(999));
    out.push((
        "attestation-checkpoint-unknown",
        "the oath statement names checkpoint 999; its logged hash updated",
        &["AttestationCheckpointUnknown"],
        s,
    ));
    let mut s = c();
    replace(
        &mut s,
        "log/entries.jsonl",
        "\"participant\":\"p-interpreter\",\"public_key\"",
        "\"participant\":\"p-interpretor\",\"public_key\"",
    );
    reseal(&mut s, key);
    out.push((
        "key-not-bound",
        "the interpreter's key_bound entry names someone else",
        &["KeyNotBound"],
        s,
    ));
    let mut s = c();
    replace(&mut s, "minutes/minutes.html", "exhibit 3", "exhibit 9");
    reseal(&mut s, key);
    out.push((
        "minutes-edited",
        "minutes.html edited",
        &["MinutesHashMismatch"],
        s,
    ));
    let mut s = c();
    flip(&mut s, "minutes/minutes.sig", 9);
    reseal(&mut s, key);
    out.push((
        "minutes-signature-flipped",
        "one bit of minutes.sig flipped",
        &["MinutesBadSignature"],
        s,
    ));
    out
}

/// A base64 hash with its first character changed (still valid base64, wrong value).
fn other_b64(h: &str) -> String {
    match h.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", h.get(1..).unwrap_or_default()),
    }
}

fn s_keys(s: &MemorySource, f: impl Fn(&str) -> bool) -> Vec<String> {
    s.files.keys().filter(|p| f(p)).cloned().collect()
}

/// The consistency proof into the final checkpoint.
fn s_proof(s: &MemorySource) -> String {
    s_keys(s, |p| p.ends_with(".consistency.json"))
        .last()
        .unwrap()
        .clone()
}

/// Tampers of the export's custody extract (outside the manifest: nothing to reseal).
/// The seeded built-in TSA as an evidence-record stamper at a fixed time.
struct SeededStamper(TsaIdentity);

impl sworn::evidence::archive::DigestStamper for SeededStamper {
    fn stamp_digest(
        &self,
        alg: sworn::verify::hash_alg::HashAlg,
        digest: &[u8],
    ) -> Result<Vec<u8>, sworn::evidence::tsa::TsaError> {
        self.0
            .stamp_digest_with_serial(alg, digest, at(T0 + 7400), [0x6b; 16])
    }
    fn chain_pem(&self) -> String {
        self.0.chain_pem()
    }
}

/// `s` with an RFC 4998 evidence record (`archive/`) made over its files by the seeded
/// TSA, as the server makes it at sealing.
fn with_archive(s: &MemorySource) -> MemorySource {
    let dir = tempfile::tempdir().unwrap();
    for (p, b) in &s.files {
        let f = dir.path().join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b).unwrap();
    }
    let tsa = TsaIdentity::from_seed(&TSA_SEED, at(T0 - 86_400)).unwrap();
    sworn::evidence::archive::create(
        dir.path(),
        &SeededStamper(tsa),
        sworn::verify::hash_alg::HashAlg::Sha256,
    )
    .unwrap();
    let mut out = s.clone();
    for e in std::fs::read_dir(dir.path().join("archive")).unwrap() {
        let e = e.unwrap();
        let name = format!("archive/{}", e.file_name().to_string_lossy());
        out.files.insert(name, std::fs::read(e.path()).unwrap());
    }
    out
}

/// Evidence-record cases: a bundle with a valid record, and records a forger broke.
fn archive_cases(
    clean: &MemorySource,
    key: &ServerKey,
) -> Vec<(&'static str, &'static str, &'static [&'static str], Vec<u8>)> {
    let good = with_archive(clean);
    let mut out: Vec<(&'static str, &'static str, &'static [&'static str], Vec<u8>)> = vec![(
        "archive-clean",
        "the sealed bundle with its first archive time-stamp (RFC 4998 evidence record)",
        &[],
        zip_of(&good),
    )];
    let mut s = clean.clone();
    s.files.insert(
        "notes.txt".into(),
        b"added after the archive time-stamp\n".to_vec(),
    );
    reseal(&mut s, key);
    for (p, b) in good.files.iter().filter(|(p, _)| p.starts_with("archive/")) {
        s.files.insert(p.clone(), b.clone());
    }
    out.push((
        "archive-data-not-covered",
        "notes.txt added and listed in a re-signed manifest after the archive time-stamp",
        &["ArchiveDataNotCovered"],
        zip_of(&s),
    ));
    let mut s = good.clone();
    s.files.insert(
        "archive/evidence-record.ers".into(),
        b"not a DER evidence record".to_vec(),
    );
    out.push((
        "archive-record-malformed",
        "archive/evidence-record.ers replaced by text",
        &["ArchiveRecordMalformed"],
        zip_of(&s),
    ));
    let mut s = good.clone();
    let ers = s.files["archive/evidence-record.ers"].clone();
    // The token's signature is the record's last bytes: flip one of them.
    let at_sig = ers.len() - 10;
    flip(&mut s, "archive/evidence-record.ers", at_sig);
    out.push((
        "archive-token-signature-flipped",
        "one bit of the archive time-stamp token's signature flipped",
        &["ArchiveTimestampInvalid"],
        zip_of(&s),
    ));
    out
}

fn custody_tampers(clean: &MemorySource, other: &[(String, Vec<u8>)]) -> Vec<Tamper> {
    let mut out: Vec<Tamper> = Vec::new();
    let entry = |s: &MemorySource, needle: &str| -> String {
        s.files
            .iter()
            .find(|(p, b)| {
                p.starts_with("custody/entries/") && String::from_utf8_lossy(b).contains(needle)
            })
            .unwrap()
            .0
            .clone()
    };
    let mut s = clean.clone();
    let p = entry(&s, "def (defence)");
    replace(&mut s, &p, "def (defence)", "dex (defence)");
    out.push((
        "custody-entry-edited",
        "who downloaded the bundle rewritten",
        &["CustodyInclusionInvalid"],
        s,
    ));
    let mut s = clean.clone();
    for (p, b) in other {
        s.files.insert(p.clone(), b.clone());
    }
    out.push((
        "custody-other-hearing-entry",
        "another hearing's proven entry added",
        &["CustodyEntryWrongHearing"],
        s,
    ));
    let mut s = clean.clone();
    let p = entry(&s, "view summary");
    s.files.remove(&p);
    out.push((
        "custody-entry-removed",
        "an entry removed, its proof kept",
        &["CustodyFileUnexpected"],
        s,
    ));
    let mut s = clean.clone();
    let proof = s_keys(&s, |p| p.starts_with("custody/proofs/"))[0].clone();
    let mut v: Value = serde_json::from_slice(&s.files[&proof]).unwrap();
    let h = v["proof"][0].as_str().unwrap().to_string();
    let bad = other_b64(&h);
    v["proof"][0] = json!(bad);
    s.files.insert(proof, to_canonical(&v).unwrap());
    out.push((
        "custody-proof-hash-changed",
        "a sibling hash of an inclusion proof changed",
        &["CustodyInclusionInvalid"],
        s,
    ));
    let body = note_body(clean, "custody/checkpoint.note");
    let mut s = clean.clone();
    s.files
        .insert("custody/checkpoint.note".into(), signed_note(&body, 43));
    out.push((
        "custody-checkpoint-other-key",
        "custody checkpoint signed by another key",
        &["CustodyCheckpointBadSignature"],
        s,
    ));
    let mut s = clean.clone();
    s.files.insert(
        "custody/checkpoint.note".into(),
        signed_note(
            &body.replacen("/custody\n", "/hearing/h-elsewhere\n", 1),
            42,
        ),
    );
    out.push((
        "custody-checkpoint-wrong-origin",
        "custody checkpoint with a hearing's origin, signed by the server key",
        &["CustodyCheckpointWrongOrigin"],
        s,
    ));
    let mut s = clean.clone();
    let tsr = s_keys(&s, |p| {
        p.starts_with("log/checkpoints/") && p.ends_with(".tsr")
    })[0]
        .clone();
    let token = s.files[&tsr].clone();
    s.files.insert("custody/checkpoint.tsr".into(), token);
    out.push((
        "custody-token-swapped",
        "a hearing checkpoint's token in place of the custody one",
        &["CustodyTimestampInvalid"],
        s,
    ));
    let mut s = clean.clone();
    let p = entry(&s, "view summary");
    let q = p
        .replace("entries/", "proofs/")
        .replace(".json", ".inclusion.json");
    let (e, pr) = (s.files.remove(&p).unwrap(), s.files.remove(&q).unwrap());
    s.files.insert("custody/entries/000007.json".into(), e);
    s.files
        .insert("custody/proofs/000007.inclusion.json".into(), pr);
    out.push((
        "custody-entry-renumbered",
        "an entry and its proof moved to number 7",
        &["CustodyEntryMalformed"],
        s,
    ));
    let mut s = clean.clone();
    s.files
        .insert("custody/entries.jsonl".into(), b"{}\n".to_vec());
    out.push((
        "custody-unexpected-file",
        "a file of no custody shape added",
        &["CustodyFileUnexpected"],
        s,
    ));
    out
}

/// Positions of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Zips a verifier must refuse to open (§10), made from a small stored zip by patching
/// its headers.
fn unopenable() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut two = MemorySource::default();
    two.files
        .insert("aa/one.txt".into(), b"first file\n".to_vec());
    two.files
        .insert("aa/two.txt".into(), b"second file\n".to_vec());
    let base = zip_of(&two);
    let local = find_all(&base, b"PK\x03\x04");
    let central = find_all(&base, b"PK\x01\x02");
    assert_eq!((local.len(), central.len()), (2, 2));
    let mut out = Vec::new();

    let mut z = base.clone();
    for i in find_all(&base, b"aa/two.txt") {
        z[i..i + 10].copy_from_slice(b"aa/one.txt");
    }
    out.push(("zip-duplicate-name", "two entries named aa/one.txt", z));
    let mut z = base.clone();
    for i in find_all(&base, b"aa/one.txt") {
        z[i..i + 10].copy_from_slice(b"../one.txt");
    }
    out.push(("zip-unsafe-name", "an entry named ../one.txt", z));
    let mut z = base.clone();
    // compression method: local header +8, central header +10; 8 = deflate.
    z[local[0] + 8] = 8;
    z[central[0] + 10] = 8;
    out.push((
        "zip-compressed-entry",
        "an entry marked deflated (only stored entries are allowed)",
        z,
    ));
    let mut z = base.clone();
    // The second central record's local header offset (+42) pointed at the first's.
    let first = u32::try_from(local[0]).unwrap().to_le_bytes();
    z[central[1] + 42..central[1] + 46].copy_from_slice(&first);
    out.push((
        "zip-overlapping-entries",
        "two names for the same bytes (overlapping entries)",
        z,
    ));
    let mut z = base.clone();
    z[local[1]..local[1] + 4].copy_from_slice(b"PK\x05\x06");
    out.push((
        "zip-bad-local-header",
        "an entry whose local header signature is wrong",
        z,
    ));
    out.push((
        "zip-not-a-zip",
        "not a zip at all",
        b"this is not a zip file\n".to_vec(),
    ));
    out
}

fn all_cases() -> (Vec<Case>, ServerKey) {
    let key = hearing::server_key();
    let b = build(&key, &Twist::default());
    let clean = b.src.clone();
    let mut cases = vec![Case {
        unpinned: true,
        ..case(
            "clean",
            "the sealed bundle as the server writes it",
            &[],
            b.zip.clone(),
        )
    }];
    let (export_src, export_zip, other) = exported(&b, &key);
    cases.push(case(
        "clean-export",
        "an export: the sealed zip plus its custody extract, as the server serves it",
        &[],
        export_zip,
    ));
    let forged = build(&hearing::other_server_key(), &Twist::default());
    cases.push(Case {
        unpinned: true,
        ..case(
            "forged-other-key",
            "the same hearing made and sealed with another server key (and valid against it)",
            &["UnknownKey"],
            forged.zip.clone(),
        )
    });
    for (name, about, aims, s) in tampers(&clean, &key) {
        cases.push(case(name, about, aims, zip_of(&s)));
    }
    let video = 400u64;
    let produced: [(&str, &str, &[&'static str], Twist); 5] = [
        (
            "chunk-gap",
            "the producer skipped bytes 100..110 of the video",
            &["ChunkGap"],
            Twist {
                video_ranges: Some(vec![(0, 100), (110, 90), (200, 200)]),
                ..Twist::default()
            },
        ),
        (
            "chunk-overlap",
            "the producer committed bytes 90..100 of the video twice",
            &["ChunkOverlap"],
            Twist {
                video_ranges: Some(vec![(0, 100), (90, 110), (200, 200)]),
                ..Twist::default()
            },
        ),
        (
            "chunk-past-end",
            "the producer's last video chunk runs 100 bytes past the file",
            &["ChunkPastEnd"],
            Twist {
                video_ranges: Some(vec![(0, 200), (200, video - 100)]),
                ..Twist::default()
            },
        ),
        (
            "media-not-sealed",
            "the producer never sealed the audio",
            &["FileNotSealed"],
            Twist {
                no_audio_seal: true,
                ..Twist::default()
            },
        ),
        (
            "timestamp-before-entries",
            "the final checkpoint's token dated an hour before its entries",
            &["TimestampBeforeEntries"],
            Twist {
                early_final_stamp: true,
                ..Twist::default()
            },
        ),
    ];
    for (name, about, aims, tw) in produced {
        cases.push(case(name, about, aims, build(&key, &tw).zip));
    }
    for (name, about, aims, bytes) in archive_cases(&clean, &key) {
        cases.push(case(name, about, aims, bytes));
    }
    for (name, about, aims, s) in custody_tampers(&export_src, &other) {
        cases.push(case(name, about, aims, zip_of(&s)));
    }
    for (name, about, z) in unopenable() {
        cases.push(case(name, about, &[], z));
    }
    (cases, key)
}

#[test]
#[ignore = "writes the committed corpus: SWORN_BLESS=1 ... -- --ignored"]
fn bless_tamper_corpus() {
    let Some(mode) = std::env::var_os("SWORN_BLESS") else {
        eprintln!("not blessed: set SWORN_BLESS=1 (new zips only) or =all (rewrite every zip)");
        return;
    };
    let rewrite_all = mode == "all";
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let (cases, key) = all_cases();
    let pem = key.public_pem();
    let pem_path = dir.join("court.pub.pem");
    if let Ok(old) = std::fs::read_to_string(&pem_path) {
        assert_eq!(
            old, pem,
            "the corpus server key changed: old zips would all fail"
        );
    }
    std::fs::write(&pem_path, pem).unwrap();
    if rewrite_all {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "zip") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    // A committed zip is the contract and is kept as it is (unless rewriting all);
    // only what it is about is updated from the generator.
    let mut meta = committed_meta();
    let (mut written, mut kept) = (0, 0);
    for c in &cases {
        let path = dir.join(&c.name);
        if path.exists() {
            kept += 1;
        } else {
            std::fs::write(&path, &c.bytes).unwrap();
            written += 1;
        }
        meta.insert(
            c.name.clone(),
            Meta {
                about: c.about.clone(),
                made_for: c.aims.iter().map(|a| a.to_string()).collect(),
                unpinned: c.unpinned,
            },
        );
    }
    write_expected(&meta);
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let covered: std::collections::BTreeSet<&str> = expected["bundles"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|b| b["failures"].as_array().unwrap())
        .filter_map(|f| f["code"].as_str())
        .collect();
    let missing: Vec<&str> = sworn::verify::CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !covered.contains(*c))
        .collect();
    eprintln!(
        "{written} zips written, {kept} kept; codes in no zip: {missing:?}; \
         now re-bless the golden transcripts (tests/verify_corpus.rs)"
    );
}
