//! Writes sample bundles for the in-browser verifier's test (`tests/browser/verify.test.mjs`):
//! one clean zip and one zip per tamper class, built with the real producer API through
//! `tests/vectors/hearing.rs`. Ignored by default; run with
//! `JSVERIFY_OUT=<dir> cargo test --features evidence --test jsverify_fixture -- --ignored`.
//! With `JSVERIFY_BIG_MB=<n>` it also writes `big.zip`, a hearing with one n-MB media file.
//! It also writes `tsa-tokens.json` (a token, its message and chain from an `openssl ts`
//! TSA of each kind of tests/tsa_support, issue #15) and `rsa-pss-tsa.zip`, a bundle
//! whose checkpoints carry RSA-PSS tokens. `archive-clean.zip` carries an evidence record
//! (RFC 4998: first archive time-stamp, a time-stamp renewal, a SHA-512 hash-tree renewal
//! by an `openssl ts` ECDSA TSA) and `archive-*.zip` one tampered part of it each.
//!
//! Test support only: it must never write outside `JSVERIFY_OUT`.
#![cfg(feature = "evidence")]

mod archive_support;
#[path = "vectors/hearing.rs"]
mod hearing;
mod tsa_support;

use std::io::Write as _;
use std::path::Path;

use hearing::reindex;
use sworn::evidence::write_bundle;
use sworn::verify::MemorySource;
use sworn::verify::entry::EntryBody;

fn write_zip(src: &MemorySource, path: &Path) {
    let mut zw = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in &src.files {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        zw.start_file(name.as_str(), opts).unwrap();
        zw.write_all(bytes).unwrap();
    }
    zw.finish().unwrap();
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

/// name -> tampered copy of the clean bundle.
fn variants(clean: &MemorySource) -> Vec<(&'static str, MemorySource)> {
    let mut out = Vec::new();
    let mut s = clean.clone();
    flip(&mut s, "media/p-judge/video.webm", 300);
    reindex(&mut s);
    out.push(("media-byte-flipped", s));

    let mut s = clean.clone();
    replace(
        &mut s,
        "log/entries.jsonl",
        "exhibit 3 shown",
        "exhibit 4 shown",
    );
    reindex(&mut s);
    out.push(("entry-edited", s));

    let mut s = clean.clone();
    let note = s
        .files
        .keys()
        .filter(|p| p.ends_with(".note"))
        .max()
        .unwrap()
        .clone();
    let text = String::from_utf8(s.files[&note].clone()).unwrap();
    let root_line = text.lines().nth(2).unwrap().to_string();
    let bad = match root_line.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &root_line[1..]),
    };
    replace(&mut s, &note, &root_line, &bad);
    reindex(&mut s);
    out.push(("checkpoint-root-changed", s));

    let mut s = clean.clone();
    let oath = s
        .files
        .keys()
        .find(|p| p.ends_with("-oath.json"))
        .unwrap()
        .clone();
    replace(&mut s, &oath, "I swear", "I did not swear");
    reindex(&mut s);
    out.push(("oath-statement-edited", s));

    let mut s = clean.clone();
    replace(&mut s, "minutes/minutes.html", "exhibit 3", "exhibit 9");
    reindex(&mut s);
    out.push(("minutes-edited", s));

    let mut s = clean.clone();
    let tsrs: Vec<String> = s
        .files
        .keys()
        .filter(|p| p.ends_with(".tsr"))
        .cloned()
        .collect();
    let (a, b) = (tsrs[0].clone(), tsrs[1].clone());
    let ta = s.files[&a].clone();
    let tb = s.files[&b].clone();
    s.files.insert(a, tb);
    s.files.insert(b, ta);
    reindex(&mut s);
    out.push(("timestamps-swapped", s));

    let mut s = clean.clone();
    s.files
        .insert("media/p-judge/extra.webm".into(), b"smuggled".to_vec());
    reindex(&mut s);
    out.push(("uncommitted-media", s));

    let mut s = clean.clone();
    flip(&mut s, "VERIFY.txt", 10);
    out.push(("verify-txt-flipped-not-reindexed", s));

    let mut s = clean.clone();
    s.files.get_mut("log/entries.jsonl").unwrap().pop();
    reindex(&mut s);
    out.push(("log-torn", s));

    let mut s = clean.clone();
    s.files.get_mut("media/p-witness/audio.webm").unwrap().pop();
    reindex(&mut s);
    out.push(("media-truncated", s));

    // The last byte of a token is in its ECDSA signature (no unsigned attributes).
    let mut s = clean.clone();
    let tsr = s
        .files
        .keys()
        .filter(|p| p.ends_with(".tsr"))
        .max()
        .unwrap()
        .clone();
    let n = s.files[&tsr].len();
    flip(&mut s, &tsr, n - 1);
    reindex(&mut s);
    out.push(("timestamp-signature-flipped", s));

    // A TSA chain that does not anchor the tokens.
    let mut s = clean.clone();
    let tmp = tempfile::tempdir().unwrap();
    let other = sworn::evidence::tsa::TsaIdentity::create(tmp.path(), std::time::SystemTime::now())
        .unwrap();
    s.files
        .insert("tsa/chain.pem".into(), other.chain_pem().into_bytes());
    reindex(&mut s);
    out.push(("tsa-chain-replaced", s));

    // The final checkpoint re-signed by another key under the server's name.
    let mut s = clean.clone();
    let body: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let forged = sworn::verify::note::sign_note(
        &body,
        hearing::SERVER,
        &ed25519_dalek::SigningKey::from_bytes(&[43u8; 32]),
    );
    s.files.insert(note.clone(), forged);
    reindex(&mut s);
    out.push(("checkpoint-other-key", s));

    // An entry dropped from the middle of the log.
    let mut s = clean.clone();
    let log = s.files["log/entries.jsonl"].clone();
    let mut lines: Vec<&[u8]> = log[..log.len() - 1].split(|b| *b == b'\n').collect();
    lines.remove(5);
    let mut joined = lines.join(&b'\n');
    joined.push(b'\n');
    s.files.insert("log/entries.jsonl".into(), joined);
    reindex(&mut s);
    out.push(("entry-dropped", s));

    // A committed media file left out of the bundle.
    let mut s = clean.clone();
    s.files.remove("media/p-witness/audio.webm");
    reindex(&mut s);
    out.push(("media-file-missing", s));
    out
}

/// The clean hearing's bundle as an export carries it: the sealed files plus the custody
/// extract (`custody/`) that `custody_extract::extract_from_dir` builds from a real
/// custody log (retrievals of this hearing and of another, a signed checkpoint after each,
/// the newest time-stamped by the hearing's TSA). Returns it, the export zip exactly as
/// the server serves it (the sealed zip up to its central directory, then
/// `zip_tail::build_tail`), and the extract the same log gives for the other hearing (to
/// smuggle in).
/// Files as (path, bytes).
type Files = Vec<(String, Vec<u8>)>;

fn exported(b: &hearing::Built) -> (MemorySource, Vec<u8>, Files) {
    use sworn::evidence::HearingLog;
    use sworn::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
    let key = hearing::server_key();
    let mut clock = hearing::Clock((hearing::T0 + 7200) * 1000);
    let cdir = b.tmp.path().join("custody-log");
    let (mut custody, _) = HearingLog::open(
        &cdir,
        CUSTODY_LOG_ID,
        &custody_origin(hearing::SERVER),
        &key,
        clock.tick(),
    )
    .unwrap();
    let fp = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let facts = [
        (
            "judge (judge)",
            b.hearing.as_str(),
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
            b.hearing.as_str(),
            "view summary".to_string(),
            "served",
        ),
        (
            "def (defence)",
            b.hearing.as_str(),
            format!("download bundle.zip {fp}"),
            "served",
        ),
        (
            "pros (prosecutor)",
            b.hearing.as_str(),
            format!("download bundle.zip {fp} bytes 0-99"),
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
        size = custody.checkpoint(&key).unwrap().size;
    }
    let tsa = sworn::evidence::tsa::TsaIdentity::load(&b.tmp.path().join("tsa")).unwrap();
    let note = std::fs::read(cdir.join(format!("checkpoints/{size:06}.note"))).unwrap();
    let token = tsa.stamp(&note, std::time::SystemTime::now()).unwrap();
    custody.attach_timestamp(size, &token).unwrap();
    let mut s = hearing::load(&b.bundle);
    let files = sworn::custody_extract::extract_from_dir(&cdir, size, &b.hearing).unwrap();
    for f in &files {
        s.files.insert(f.path.clone(), f.bytes.clone());
    }
    let sealed = std::fs::read(&b.zip).unwrap();
    let tail = sworn::custody_extract::zip_tail::build_tail(
        &mut std::io::Cursor::new(&sealed),
        sealed.len() as u64,
        &files,
        hearing::T0 + 7200,
    )
    .unwrap();
    let mut zip = sealed[..usize::try_from(tail.base_len).unwrap()].to_vec();
    zip.extend_from_slice(&tail.bytes);
    let other = sworn::custody_extract::extract_from_dir(&cdir, size, "h-elsewhere")
        .unwrap()
        .into_iter()
        .filter(|f| f.path.starts_with("custody/entries/") || f.path.starts_with("custody/proofs/"))
        .map(|f| (f.path, f.bytes))
        .collect();
    (s, zip, other)
}

/// name -> tampered copy of the exported bundle; custody files are outside the manifest,
/// so none needs reindexing.
fn custody_variants(
    clean: &MemorySource,
    other: &[(String, Vec<u8>)],
) -> Vec<(&'static str, MemorySource)> {
    let mut out = Vec::new();
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

    // Who had it, rewritten: the entry no longer hashes to its proven leaf.
    let mut s = clean.clone();
    let p = entry(&s, "def (defence)");
    replace(&mut s, &p, "def (defence)", "dex (defence)");
    out.push(("custody-entry-edited", s));

    // Another hearing's (validly proven) entry smuggled in.
    let mut s = clean.clone();
    for (p, b) in other {
        s.files.insert(p.clone(), b.clone());
    }
    out.push(("custody-other-hearing-entry", s));

    // An entry dropped but its proof kept.
    let mut s = clean.clone();
    let p = entry(&s, "view summary");
    s.files.remove(&p);
    out.push(("custody-entry-removed", s));

    // A sibling hash of a proof changed (a valid base64 SHA-256, just not the right one).
    let mut s = clean.clone();
    let proof = s
        .files
        .keys()
        .find(|p| p.starts_with("custody/proofs/"))
        .unwrap()
        .clone();
    let text = String::from_utf8(s.files[&proof].clone()).unwrap();
    let at = text.find("\"proof\":[\"").unwrap() + "\"proof\":[\"".len();
    let c = text.as_bytes()[at];
    let to = if c == b'A' { "B" } else { "A" };
    let mut t = text.clone();
    t.replace_range(at..at + 1, to);
    s.files.insert(proof, t.into_bytes());
    out.push(("custody-proof-hash-changed", s));

    // The custody checkpoint re-signed by another key under the server's name.
    let mut s = clean.clone();
    let note = String::from_utf8(s.files["custody/checkpoint.note"].clone()).unwrap();
    let body: String = note.lines().take(3).map(|l| format!("{l}\n")).collect();
    s.files.insert(
        "custody/checkpoint.note".into(),
        sworn::verify::note::sign_note(
            &body,
            hearing::SERVER,
            &ed25519_dalek::SigningKey::from_bytes(&[43u8; 32]),
        ),
    );
    out.push(("custody-checkpoint-other-key", s));

    // Signed by the server key, but as a hearing log's checkpoint (wrong origin).
    let mut s = clean.clone();
    let forged = body.replacen("/custody\n", "/hearing/h-elsewhere\n", 1);
    s.files.insert(
        "custody/checkpoint.note".into(),
        sworn::verify::note::sign_note(
            &forged,
            hearing::SERVER,
            &ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]),
        ),
    );
    out.push(("custody-checkpoint-wrong-origin", s));

    // The hearing log's first token in place of the custody checkpoint's.
    let mut s = clean.clone();
    let tsr = s
        .files
        .keys()
        .find(|p| p.starts_with("log/checkpoints/") && p.ends_with(".tsr"))
        .unwrap()
        .clone();
    let token = s.files[&tsr].clone();
    s.files.insert("custody/checkpoint.tsr".into(), token);
    out.push(("custody-token-swapped", s));

    // An entry and its proof moved to another number: the entry's seq and the proof's
    // leaf_index no longer match their file names.
    let mut s = clean.clone();
    let p = entry(&s, "view summary");
    let q = p
        .replace("entries/", "proofs/")
        .replace(".json", ".inclusion.json");
    let (e, pr) = (s.files.remove(&p).unwrap(), s.files.remove(&q).unwrap());
    s.files.insert("custody/entries/000007.json".into(), e);
    s.files
        .insert("custody/proofs/000007.inclusion.json".into(), pr);
    out.push(("custody-entry-renumbered", s));

    // A file of the old layout.
    let mut s = clean.clone();
    s.files
        .insert("custody/entries.jsonl".into(), b"{}\n".to_vec());
    out.push(("custody-unexpected-file", s));
    out
}

/// A hearing with one `mb`-MB media file (pseudo-random bytes, 1 MB per chunk entry).
fn big(dir: &Path, mb: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = tmp.path().join("log");
    let media_dir = tmp.path().join("media");
    let key = hearing::server_key();
    let mut clock = hearing::Clock(hearing::T0 * 1000);
    let judge = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
    let witness = ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]);
    let file = "p-witness/video.webm";
    std::fs::create_dir_all(media_dir.join("p-witness")).unwrap();
    let mut bytes = Vec::with_capacity(mb << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while bytes.len() < mb << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(media_dir.join(file), &bytes).unwrap();
    let mut log = hearing::open_hearing(&log_dir, "h-big", &key, &mut clock, &judge, &witness);
    hearing::commit_file(
        &mut log,
        &key,
        &mut clock,
        &media_dir,
        file,
        "p-witness",
        mb,
    );
    hearing::seal(&mut log, &mut clock, &media_dir, file);
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(&key).unwrap();
    let out = tmp.path().join("bundle");
    let info = write_bundle(&log_dir, &media_dir, &key, &[], &out).unwrap();
    std::fs::copy(info.zip, dir.join("big.zip")).unwrap();
}

/// `tsa-tokens.json`: per TSA kind {name, token, message (base64), chain (PEM)}; and
/// `rsa-pss-tsa.zip`, a hearing stamped by the RSA-PSS TSA, with its vkey.
fn tsa_kinds(dir: &Path) {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (i, kind) in tsa_support::KINDS.iter().enumerate() {
        let d = tmp.path().join(i.to_string());
        std::fs::create_dir(&d).unwrap();
        let tsa = tsa_support::OpensslTsa::of_kind(&d, kind, &[]);
        let message = format!("checkpoint stamped by {}\n", kind.name);
        let token = tsa.token(message.as_bytes(), "m", kind.pss);
        out.push(serde_json::json!({
            "name": kind.name,
            "token": b64(&token),
            "message": b64(message.as_bytes()),
            "chain": String::from_utf8(tsa.ca_pem()).unwrap(),
        }));
        if kind.pss {
            let n = std::cell::Cell::new(0);
            let stamp = |note: &[u8]| {
                n.set(n.get() + 1);
                tsa.token(note, &format!("c{}", n.get()), true)
            };
            let b = hearing::build_stamped("h-browser-pss", Some((&stamp, tsa.ca_pem())));
            std::fs::copy(&b.zip, dir.join("rsa-pss-tsa.zip")).unwrap();
        }
    }
    std::fs::write(
        dir.join("tsa-tokens.json"),
        serde_json::to_vec_pretty(&out).unwrap(),
    )
    .unwrap();
}

/// Offset of `part` inside `whole` (a slice of it).
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// `archive-clean.zip` and one `archive-<tamper>.zip` per kind of failure of the
/// `archive` check (issue #15 point 2).
fn archive_fixtures(dir: &Path) {
    use archive_support::{BuiltinAt, Openssl, at};
    use sworn::evidence::archive;
    use sworn::verify::hash_alg::HashAlg;
    const RECORD: &str = "archive/evidence-record.ers";
    let b = hearing::build("h-browser-archive");
    let now = std::time::SystemTime::now();
    let builtin = BuiltinAt::new(&b.tmp.path().join("tsa-a"), now);
    let ecd = b.tmp.path().join("tsa-ec");
    std::fs::create_dir(&ecd).unwrap();
    let kind = tsa_support::KINDS
        .iter()
        .find(|k| k.name == "ecdsa-p384-sha384")
        .unwrap();
    let ec = Openssl(
        tsa_support::OpensslTsa::of_kind(&ecd, kind, &[]),
        std::cell::Cell::new(0),
    );
    let unix = archive_support::now_unix();
    archive::create(&b.bundle, &builtin, HashAlg::Sha256).unwrap();
    archive::renew(&b.bundle, &builtin, HashAlg::Sha256, unix).unwrap();
    archive::renew(&b.bundle, &ec, HashAlg::Sha512, unix).unwrap();
    let clean = hearing::load(&b.bundle);
    write_zip(&clean, &dir.join("archive-clean.zip"));

    let record = clean.files[RECORD].clone();
    let rec = sworn::verify::archive::parse(&record).unwrap();
    let first = &rec.chains[0].stamps[0];
    let hash_at = offset_in(&record, first.tree.as_ref().unwrap()[0][2]);
    let token_end = offset_in(&record, first.time_stamp) + first.time_stamp.len() - 1;
    let oid_at = record
        .windows(9)
        .position(|w| w == HashAlg::Sha256.oid_der())
        .unwrap();
    let with_record = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut s = clean.clone();
        let mut r = record.clone();
        edit(&mut r);
        s.files.insert(RECORD.into(), r);
        s
    };
    let mut out = vec![
        ("archive-hash-flipped", with_record(&|r| r[hash_at] ^= 0x40)),
        (
            "archive-token-flipped",
            with_record(&|r| r[token_end] ^= 0x01),
        ),
        (
            "archive-unknown-algorithm",
            with_record(&|r| r[oid_at + 8] = 0x09),
        ),
        ("archive-trailing-byte", with_record(&|r| r.push(0))),
    ];
    let mut s = clean.clone();
    flip(&mut s, "minutes/minutes.html", 40);
    out.push(("archive-file-flipped", s));
    let mut s = clean.clone();
    s.files.insert("archive/notes.txt".into(), b"x".to_vec());
    out.push(("archive-unexpected-file", s));
    let mut s = clean.clone();
    s.files.remove("archive/tsa-02.pem");
    out.push(("archive-chain-missing", s));

    // Renewals out of order, and late (after the previous certificate expired).
    const Y2001: u64 = 978_307_200;
    const YEAR: u64 = 365 * 86_400;
    let o = hearing::build("h-browser-archive-order");
    let tsa = BuiltinAt::new(&o.tmp.path().join("tsa"), at(Y2001 - YEAR));
    tsa.at.set(at(Y2001 + 2 * 86_400));
    archive::create(&o.bundle, &tsa, HashAlg::Sha256).unwrap();
    tsa.at.set(at(Y2001 + 86_400));
    let p = archive::prepare_renewal(&o.bundle, &tsa, HashAlg::Sha256).unwrap();
    archive::commit(&o.bundle, &p).unwrap();
    out.push(("archive-renewal-out-of-order", hearing::load(&o.bundle)));
    let l = hearing::build("h-browser-archive-late");
    let old = BuiltinAt::new(&l.tmp.path().join("old"), at(Y2001 - YEAR));
    old.at.set(at(Y2001));
    archive::create(&l.bundle, &old, HashAlg::Sha256).unwrap();
    let late = BuiltinAt::new(&l.tmp.path().join("late"), at(Y2001 + 20 * YEAR));
    let p = archive::prepare_renewal(&l.bundle, &late, HashAlg::Sha384).unwrap();
    archive::commit(&l.bundle, &p).unwrap();
    out.push(("archive-renewal-late", hearing::load(&l.bundle)));
    for (name, s) in out {
        write_zip(&s, &dir.join(format!("{name}.zip")));
    }
}

#[test]
#[ignore = "writes browser-test fixtures; set JSVERIFY_OUT"]
fn write_browser_fixtures() {
    let out = std::env::var("JSVERIFY_OUT").expect("JSVERIFY_OUT");
    let dir = Path::new(&out);
    std::fs::create_dir_all(dir).unwrap();
    let b = hearing::build("h-browser");
    std::fs::copy(&b.zip, dir.join("clean.zip")).unwrap();
    let clean = hearing::load(&b.bundle);
    for (name, s) in variants(&clean) {
        write_zip(&s, &dir.join(format!("{name}.zip")));
    }
    std::fs::write(
        dir.join("server.vkey"),
        hearing::server_key().vkey().as_bytes(),
    )
    .unwrap();
    let (exported, export_zip, other) = exported(&b);
    std::fs::write(dir.join("custody-clean.zip"), export_zip).unwrap();
    for (name, s) in custody_variants(&exported, &other) {
        write_zip(&s, &dir.join(format!("{name}.zip")));
    }
    std::fs::write(
        dir.join("other.vkey"),
        hearing::other_server_key().vkey().as_bytes(),
    )
    .unwrap();
    std::fs::write(dir.join("tsa-chain.pem"), &clean.files["tsa/chain.pem"]).unwrap();
    tsa_kinds(dir);
    archive_fixtures(dir);
    if let Some(mb) = std::env::var("JSVERIFY_BIG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        big(dir, mb);
    }
}
