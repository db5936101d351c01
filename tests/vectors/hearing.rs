//! Test support: builds a realistic synthetic hearing (two real media files made with
//! ffmpeg, checkpoints every few entries, attestations signed with ed25519-dalek, signed
//! minutes) and writes its bundle. Included by the evidence/verify integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest, Sha256};
use sworn::evidence::{ExtraFile, ExtraSource, HearingLog, ServerKey, write_bundle};
use sworn::verify::MemorySource;
use sworn::verify::canonical::to_canonical;
use sworn::verify::entry::EntryBody;
use time::OffsetDateTime;

pub const SERVER: &str = "court.example";
pub const T0: i64 = 1_795_973_400; // 2026-11-29T17:30:00Z

pub struct Built {
    pub tmp: tempfile::TempDir,
    pub log_dir: PathBuf,
    pub media_dir: PathBuf,
    pub bundle: PathBuf,
    pub zip: PathBuf,
    pub hearing: String,
    pub judge: SigningKey,
    pub witness: SigningKey,
}

pub fn server_key() -> ServerKey {
    ServerKey::from_seed([42u8; 32], SERVER)
}

pub fn other_server_key() -> ServerKey {
    ServerKey::from_seed([43u8; 32], SERVER)
}

pub struct Clock(pub i64);
impl Clock {
    pub fn tick(&mut self) -> OffsetDateTime {
        self.0 += 250;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).unwrap()
    }
}

/// Makes a small real media file with ffmpeg's lavfi sources.
pub fn make_media(path: &Path, video: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]);
    if video {
        cmd.args([
            "-i",
            "testsrc=size=160x120:rate=10:duration=2",
            "-c:v",
            "libvpx",
            "-b:v",
            "200k",
        ]);
    } else {
        cmd.args(["-i", "sine=frequency=440:duration=2", "-c:a", "libopus"]);
    }
    cmd.arg(path);
    let st = cmd.status().expect("ffmpeg must be installed");
    assert!(st.success(), "ffmpeg failed");
}

pub fn b64url(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())
}

pub fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Appends media_chunk entries for `file` split into `parts` ranges, checkpointing after
/// each second chunk.
pub fn commit_file(
    log: &mut HearingLog,
    key: &ServerKey,
    clock: &mut Clock,
    media_dir: &Path,
    file: &str,
    participant: &str,
    parts: usize,
) {
    let bytes = std::fs::read(media_dir.join(file)).unwrap();
    let step = bytes.len().div_ceil(parts);
    let mut off = 0usize;
    let mut i = 0;
    while off < bytes.len() {
        let end = (off + step).min(bytes.len());
        let start = clock.0;
        let wall_start = sworn::verify::clock::format_ms(start);
        log.append(
            EntryBody::MediaChunk {
                file: file.into(),
                offset: off as u64,
                length: (end - off) as u64,
                sha256: sha_hex(&bytes[off..end]),
                media_start_ms: (i * 1000) as i64,
                media_end_ms: ((i + 1) * 1000) as i64,
                wall_start,
                wall_end: sworn::verify::clock::format_ms(start + 1000),
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
        off = end;
        i += 1;
    }
}

pub fn seal(log: &mut HearingLog, clock: &mut Clock, media_dir: &Path, file: &str) {
    let bytes = std::fs::read(media_dir.join(file)).unwrap();
    log.append(
        EntryBody::FileSealed {
            file: file.into(),
            length: bytes.len() as u64,
            sha256: sha_hex(&bytes),
        },
        clock.tick(),
    )
    .unwrap();
}

/// Canonical statement bytes over the log's latest checkpoint.
pub fn statement(
    log: &HearingLog,
    hearing: &str,
    kind: &str,
    participant: &str,
    text: &str,
    extra: Option<(&str, &str)>,
) -> Vec<u8> {
    let (size, root) = log.latest_checkpoint().unwrap();
    let mut v = serde_json::json!({
        "v": 1, "kind": kind, "hearing": hearing, "participant": participant,
        "checkpoint": {"size": size, "root": STANDARD.encode(root)},
        "text": text,
    });
    if let Some((k, val)) = extra {
        v[k] = serde_json::Value::String(val.into());
    }
    to_canonical(&v).unwrap()
}

/// Opening part of a hearing: metadata, two participants, bound keys, first checkpoint.
pub fn open_hearing(
    dir: &Path,
    hearing: &str,
    key: &ServerKey,
    clock: &mut Clock,
    judge: &SigningKey,
    witness: &SigningKey,
) -> HearingLog {
    let origin = format!("{SERVER}/hearing/{hearing}");
    let (mut log, rec) = HearingLog::open(dir, hearing, &origin, key, clock.tick()).unwrap();
    assert!(!rec.interrupted());
    log.append(
        EntryBody::HearingOpened {
            case_ref: "2026/CR/0042".into(),
            mla_ref: Some("MLA-2026-17".into()),
            requesting_state: Some("A".into()),
            requested_state: Some("B".into()),
            language: Some("en".into()),
            time_stamping: None,
            requesting_authority: None,
            requesting_reference: None,
            requested_authority: None,
            requested_reference: None,
            request_date: None,
        },
        clock.tick(),
    )
    .unwrap();
    for (p, role) in [("p-judge", "judge"), ("p-witness", "witness")] {
        log.append(
            EntryBody::ParticipantInvited {
                participant: p.into(),
                role: role.into(),
                display_name: None,
            },
            clock.tick(),
        )
        .unwrap();
    }
    for (p, k) in [("p-judge", judge), ("p-witness", witness)] {
        log.append(
            EntryBody::ParticipantJoined {
                participant: p.into(),
            },
            clock.tick(),
        )
        .unwrap();
        log.append(
            EntryBody::KeyBound {
                participant: p.into(),
                public_key: b64url(k),
                alg: None,
            },
            clock.tick(),
        )
        .unwrap();
    }
    log.append(
        EntryBody::ParticipantAdmitted {
            participant: "p-witness".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(key).unwrap();
    log
}

/// Builds the whole hearing and its bundle in a fresh temp dir.
pub fn build(hearing: &str) -> Built {
    build_stamped(hearing, None)
}

/// Stamps a checkpoint note: returns the TimeStampToken DER.
pub type Stamp<'a> = &'a dyn Fn(&[u8]) -> Vec<u8>;

/// Like [`build`]; with `tsa` = (stamp, chain PEM), the checkpoints carry tokens from
/// that TSA instead of the built-in one, and `tsa/chain.pem` is its chain.
pub fn build_stamped(hearing: &str, tsa: Option<(Stamp<'_>, Vec<u8>)>) -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = tmp.path().join("log");
    let media_dir = tmp.path().join("media");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let judge = SigningKey::from_bytes(&[1u8; 32]);
    let witness = SigningKey::from_bytes(&[2u8; 32]);
    make_media(&media_dir.join("p-judge/video.webm"), true);
    make_media(&media_dir.join("p-witness/audio.webm"), false);
    let mut log = open_hearing(&log_dir, hearing, &key, &mut clock, &judge, &witness);

    commit_file(
        &mut log,
        &key,
        &mut clock,
        &media_dir,
        "p-judge/video.webm",
        "p-judge",
        4,
    );
    let st = statement(
        &log,
        hearing,
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
    commit_file(
        &mut log,
        &key,
        &mut clock,
        &media_dir,
        "p-witness/audio.webm",
        "p-witness",
        3,
    );
    log.append(
        EntryBody::Marker {
            label: "exhibit 3 shown".into(),
            by: None,
        },
        clock.tick(),
    )
    .unwrap();
    seal(&mut log, &mut clock, &media_dir, "p-judge/video.webm");
    seal(&mut log, &mut clock, &media_dir, "p-witness/audio.webm");
    log.checkpoint(&key).unwrap();
    let st = statement(
        &log,
        hearing,
        "closing",
        "p-witness",
        "I confirm my testimony.",
        None,
    );
    log.record_attestation(&st, &witness.sign(&st).to_bytes(), clock.tick())
        .unwrap();
    log.checkpoint(&key).unwrap();
    let html = sworn::evidence::minutes::render_minutes(
        &std::fs::read(log_dir.join("entries.jsonl")).unwrap(),
    )
    .unwrap()
    .into_bytes();
    let st = statement(
        &log,
        hearing,
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
    log.checkpoint(&key).unwrap();
    // RFC 3161 tokens from the built-in TSA (or the given one) over every checkpoint note.
    let builtin = sworn::evidence::tsa::TsaIdentity::create(
        &tmp.path().join("tsa"),
        std::time::SystemTime::now(),
    )
    .unwrap();
    let builtin_stamp = |note: &[u8]| builtin.stamp(note, std::time::SystemTime::now()).unwrap();
    let (stamp, chain_pem): (Stamp<'_>, Vec<u8>) =
        tsa.unwrap_or_else(|| (&builtin_stamp, builtin.chain_pem().into_bytes()));
    for e in std::fs::read_dir(log_dir.join("checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("note") {
            continue;
        }
        let size: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        let token = stamp(&std::fs::read(&p).unwrap());
        log.attach_timestamp(size, &token).unwrap();
    }
    let extras = vec![
        ExtraFile {
            path: "tsa/chain.pem".into(),
            source: ExtraSource::Bytes(chain_pem),
        },
        ExtraFile {
            path: "minutes/minutes.html".into(),
            source: ExtraSource::Bytes(html.clone()),
        },
        ExtraFile {
            path: "minutes/minutes.sig".into(),
            source: ExtraSource::Bytes(judge.sign(&html).to_bytes().to_vec()),
        },
    ];
    let out = tmp.path().join("bundle");
    let info = write_bundle(&log_dir, &media_dir, &key, &extras, &out).unwrap();
    Built {
        log_dir,
        media_dir,
        bundle: info.dir,
        zip: info.zip,
        hearing: hearing.into(),
        judge,
        witness,
        tmp,
    }
}

/// Loads a bundle directory into memory.
pub fn load(dir: &Path) -> MemorySource {
    let mut files = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, files);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, dir, &mut files);
    MemorySource { files }
}

/// Recomputes manifest.json's file list and SHA256SUMS after a tamper, so that only the
/// deep checks can catch it (what a careful forger would do).
pub fn reindex(src: &mut MemorySource) {
    let mut man: sworn::verify::bundle::Manifest =
        serde_json::from_slice(&src.files["manifest.json"]).unwrap();
    man.files = src
        .files
        .iter()
        .filter(|(p, _)| !["manifest.json", "manifest.sig", "SHA256SUMS"].contains(&p.as_str()))
        .map(|(p, b)| sworn::verify::bundle::ManifestFile {
            path: p.clone(),
            sha256: sha_hex(b),
            length: b.len() as u64,
        })
        .collect();
    let v = serde_json::to_value(&man).unwrap();
    src.files
        .insert("manifest.json".into(), to_canonical(&v).unwrap());
    let mut sums = String::new();
    for (p, b) in &src.files {
        if p != "SHA256SUMS" {
            sums.push_str(&format!("{}  {p}\n", sha_hex(b)));
        }
    }
    src.files.insert("SHA256SUMS".into(), sums.into_bytes());
}
