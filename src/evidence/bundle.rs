//! Writes the certified evidence bundle: a directory (and a zip of it with stored
//! entries, same paths) holding the log, checkpoints, proofs, tokens, attestations,
//! minutes, media, derived copies, keys, `manifest.json`, `VERIFY.txt` and `SHA256SUMS`.
//!
//! It must never write a bundle whose log is not closed and fully checkpointed, never
//! overwrite an existing bundle, and never follow symlinks into other files.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::keys::ServerKey;
use crate::verify::bundle::{BUNDLE_FORMAT, Manifest, ManifestFile, ManifestKey, note_path};
use crate::verify::canonical;
use crate::verify::entry::{self, EntryBody, is_safe_relative_path};
use crate::verify::keys::{NoteVerifier, key_id};
use crate::verify::note;

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// File system error.
    #[error("bundle I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The output directory or zip already exists.
    #[error("bundle output already exists")]
    OutputExists,
    /// The log is empty, torn or has an invalid entry.
    #[error("log cannot be bundled: {0}")]
    BadLog(String),
    /// The log's last entry is not hearing_closed.
    #[error("log is not closed")]
    LogNotClosed,
    /// No checkpoint covers the whole log.
    #[error("no checkpoint covers the whole log")]
    NotCheckpointed,
    /// An extra file path is outside tsa/, minutes/, derived/, custody/.
    #[error("extra file path not allowed: {0}")]
    BadExtraPath(String),
    /// A symlink or other non-regular file in an input directory.
    #[error("not a regular file: {0}")]
    NotRegular(String),
    /// A media file named by a media_chunk entry is not in the media directory.
    #[error("committed media file missing: {0}")]
    MissingMedia(String),
    /// Zip writing failed.
    #[error("zip: {0}")]
    Zip(String),
}

/// Where an extra file's bytes come from.
#[derive(Debug, Clone)]
pub enum ExtraSource {
    /// In memory.
    Bytes(Vec<u8>),
    /// Copied from a file.
    File(PathBuf),
}

/// A file added to the bundle besides the log and media (`tsa/chain.pem`,
/// `minutes/minutes.html`, `minutes/minutes.sig`, `derived/**`, `custody/**`).
#[derive(Debug, Clone)]
pub struct ExtraFile {
    /// Path inside the bundle.
    pub path: String,
    /// Content.
    pub source: ExtraSource,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The zip (`<dir>.zip`).
    pub zip: PathBuf,
    /// Hearing id.
    pub hearing: String,
    /// Entries in the log.
    pub log_size: u64,
    /// Hex SHA-256 of manifest.json.
    pub manifest_sha256: String,
    /// Number of files (including manifest.json and SHA256SUMS).
    pub files: usize,
}

fn extra_allowed(path: &str) -> bool {
    is_safe_relative_path(path)
        && (path == "tsa/chain.pem"
            || path == "minutes/minutes.html"
            || path == "minutes/minutes.sig"
            || ["derived/", "custody/"].iter().any(|p| path.starts_with(p)))
}

/// Writes the bundle directory `out_dir` and `<out_dir>.zip` from a closed, fully
/// checkpointed log in `log_dir`, the media files under `media_dir` (paths as the
/// `media_chunk` entries name them; files no entry names are left out) and `extra` files.
pub fn write_bundle(
    log_dir: &Path,
    media_dir: &Path,
    key: &ServerKey,
    extra: &[ExtraFile],
    out_dir: &Path,
) -> Result<BundleInfo, BundleError> {
    let zip_path = zip_path_for(out_dir);
    if out_dir.exists() || zip_path.exists() {
        return Err(BundleError::OutputExists);
    }
    for f in extra {
        if !extra_allowed(&f.path) {
            return Err(BundleError::BadExtraPath(f.path.clone()));
        }
    }
    let entries = fs::read(log_dir.join("entries.jsonl"))?;
    let (hearing, size, media_files) = inspect_log(&entries)?;
    let final_note = fs::read(log_dir.join("checkpoints").join(format!("{size:06}.note")))
        .map_err(|_| BundleError::NotCheckpointed)?;
    let verifier = NoteVerifier {
        name: key.name().to_string(),
        key_id: key_id(key.name(), &key.verifying_key()),
        key: key.verifying_key(),
    };
    let origin = note::verify_note(&final_note, &verifier)
        .ok()
        .and_then(|b| note::parse_checkpoint(b).ok())
        .filter(|cp| cp.size == size)
        .map(|cp| cp.origin)
        .ok_or(BundleError::NotCheckpointed)?;

    fs::create_dir_all(out_dir)?;
    let put = |rel: &str, bytes: &[u8]| -> Result<(), BundleError> {
        let p = out_dir.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(p, bytes)?;
        Ok(())
    };
    put("log/entries.jsonl", &entries)?;
    copy_tree(
        &log_dir.join("checkpoints"),
        &out_dir.join("log/checkpoints"),
    )?;
    copy_tree(&log_dir.join("proofs"), &out_dir.join("log/proofs"))?;
    copy_tree(&log_dir.join("attestations"), &out_dir.join("attestations"))?;
    // Only committed media: a file no entry names could not be verified.
    for file in &media_files {
        let src = media_dir.join(file);
        if !fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            return Err(BundleError::MissingMedia(file.clone()));
        }
        let dst = out_dir.join("media").join(file);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&src, dst)?;
    }
    for f in extra {
        match &f.source {
            ExtraSource::Bytes(b) => put(&f.path, b)?,
            ExtraSource::File(src) => put(&f.path, &fs::read(src)?)?,
        }
    }
    put("keys/server.pub.pem", key.public_pem().as_bytes())?;
    put("keys/server.vkey", format!("{}\n", key.vkey()).as_bytes())?;
    if let Some(h) = key.history() {
        put(crate::verify::bundle::HISTORY_PATH, &h.bytes)?;
    }
    let final_path = note_path(size);
    put(
        "VERIFY.txt",
        verify_txt(&hearing, &final_path, &key.fingerprint()).as_bytes(),
    )?;

    let mut files = Vec::new();
    for rel in list_files(out_dir)? {
        let (sha256, length) = hash_file(&out_dir.join(&rel))?;
        files.push(ManifestFile {
            path: rel,
            sha256,
            length,
        });
    }
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        hearing: hearing.clone(),
        origin,
        server_key: ManifestKey {
            vkey: key.vkey(),
            fingerprint: key.fingerprint(),
        },
        log_size: size,
        final_checkpoint: final_path,
        files,
    };
    let value = serde_json::to_value(&manifest).map_err(|e| BundleError::BadLog(e.to_string()))?;
    let manifest_bytes =
        canonical::to_canonical(&value).map_err(|e| BundleError::BadLog(e.to_string()))?;
    put("manifest.json", &manifest_bytes)?;
    put("manifest.sig", &key.sign_bytes(&manifest_bytes))?;

    let mut sums = String::new();
    for rel in list_files(out_dir)? {
        let (sha, _) = hash_file(&out_dir.join(&rel))?;
        sums.push_str(&format!("{sha}  {rel}\n"));
    }
    put("SHA256SUMS", sums.as_bytes())?;

    let all = list_files(out_dir)?;
    write_zip(out_dir, &all, &zip_path)?;
    Ok(BundleInfo {
        dir: out_dir.to_path_buf(),
        zip: zip_path,
        hearing,
        log_size: size,
        manifest_sha256: hex::encode(Sha256::digest(&manifest_bytes)),
        files: all.len(),
    })
}

/// `<dir>.zip` next to the bundle directory.
pub fn zip_path_for(out_dir: &Path) -> PathBuf {
    let mut name = out_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".zip");
    out_dir.with_file_name(name)
}

/// Hearing id, size and the media files the log commits.
fn inspect_log(entries: &[u8]) -> Result<(String, u64, BTreeSet<String>), BundleError> {
    let bad = |m: &str| BundleError::BadLog(m.to_string());
    let body = entries
        .strip_suffix(b"\n")
        .ok_or_else(|| bad("empty or torn log"))?;
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let first = lines.first().ok_or_else(|| bad("empty log"))?;
    let last = lines.last().ok_or_else(|| bad("empty log"))?;
    let first = entry::decode(first).map_err(|e| BundleError::BadLog(e.to_string()))?;
    let last = entry::decode(last).map_err(|e| BundleError::BadLog(e.to_string()))?;
    if !matches!(last.body, EntryBody::HearingClosed { .. }) {
        return Err(BundleError::LogNotClosed);
    }
    let mut media = BTreeSet::new();
    for line in &lines {
        let e = entry::decode(line).map_err(|e| BundleError::BadLog(e.to_string()))?;
        if let EntryBody::MediaChunk { file, .. } = e.body {
            if !is_safe_relative_path(&file) {
                return Err(BundleError::BadLog(format!("unsafe media path {file:?}")));
            }
            media.insert(file);
        }
    }
    Ok((first.hearing, lines.len() as u64, media))
}

/// Regular files under `root`, as sorted `/`-separated relative paths (dot-files, which
/// are temporaries, are skipped).
fn list_files(root: &Path) -> Result<Vec<String>, BundleError> {
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), BundleError> {
    for ent in fs::read_dir(dir)? {
        let ent = ent?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ty = ent.file_type()?;
        if ty.is_dir() {
            walk(&ent.path(), &rel, out)?;
        } else if ty.is_file() {
            out.push(rel);
        } else {
            return Err(BundleError::NotRegular(rel));
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BundleError> {
    if !from.exists() {
        return Ok(());
    }
    for rel in list_files(from)? {
        let dst = to.join(&rel);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(from.join(&rel), dst)?;
    }
    Ok(())
}

fn hash_file(path: &Path) -> Result<(String, u64), BundleError> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
        len += n as u64;
    }
    Ok((hex::encode(h.finalize()), len))
}

fn write_zip(root: &Path, files: &[String], zip_path: &Path) -> Result<(), BundleError> {
    let zerr = |e: zip::result::ZipError| BundleError::Zip(e.to_string());
    let mut zw = zip::ZipWriter::new(File::create(zip_path)?);
    for rel in files {
        let src = root.join(rel);
        let len = fs::metadata(&src)?.len();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(len >= u64::from(u32::MAX));
        zw.start_file(rel.as_str(), opts).map_err(zerr)?;
        let mut f = File::open(&src)?;
        std::io::copy(&mut f, &mut zw)?;
    }
    let mut file = zw.finish().map_err(zerr)?;
    file.flush()?;
    file.sync_all()?;
    Ok(())
}

fn verify_txt(hearing: &str, final_path: &str, fingerprint: &str) -> String {
    format!(
        "HOW TO VERIFY THIS EVIDENCE BUNDLE (sworn-bundle/1)\n\
         ===================================================\n\
         Hearing: {hearing}\n\
         Server key fingerprint: {fingerprint}\n\
         Compare that fingerprint with the one the court publishes before trusting anything.\n\
         The format is described in docs/bundle-format.md of the sworn sources.\n\n\
         1. Everything at once (offline, from the bundle directory or the .zip):\n\
         \x20  sworn-verify <bundle> --trust server.pub.pem      (exit 0 valid, 1 invalid, 2 error)\n\
         \x20  sworn verify <bundle> --trust server.pub.pem --json (same, machine-readable)\n\
         \x20  Without --trust the bundle's own key is used: exit 3, \"valid, key not pinned\".\n\n\
         2. File integrity, and the server's signature over the manifest (which lists\n\
         \x20  every file's SHA-256 except manifest.sig and SHA256SUMS):\n\
         \x20  sha256sum -c SHA256SUMS\n\
         \x20  openssl pkeyutl -verify -pubin -inkey keys/server.pub.pem -rawin -in manifest.json -sigfile manifest.sig\n\n\
         3. A checkpoint signature (C2SP signed note, Ed25519; the signed bytes are the three\n\
         \x20  body lines, the signature is the base64 after the name minus its 4-byte key id):\n\
         \x20  head -n 3 {final_path} > /tmp/cp.body\n\
         \x20  tail -n 1 {final_path} | cut -d' ' -f3 | base64 -d | tail -c 64 > /tmp/cp.sig\n\
         \x20  openssl pkeyutl -verify -pubin -inkey keys/server.pub.pem -rawin -in /tmp/cp.body -sigfile /tmp/cp.sig\n\n\
         4. A participant attestation (exact statement bytes, raw 64-byte signature):\n\
         \x20  openssl pkeyutl -verify -pubin -inkey attestations/0001-oath.pub.pem -rawin \\\n\
         \x20      -in attestations/0001-oath.json -sigfile attestations/0001-oath.sig\n\
         \x20  (the key must be the one the log's key_bound entry binds to that participant;\n\
         \x20  a key_bound with \"alg\":\"ES256\" is ECDSA P-256: the .sig is raw r||s, to be\n\
         \x20  DER-encoded before `openssl dgst -sha256 -verify <pub.pem> -signature sig.der`;\n\
         \x20  docs/bundle-format.md section 6)\n\n\
         5. The minutes (signed by the key of the participant who made the minutes attestation):\n\
         \x20  openssl pkeyutl -verify -pubin -inkey attestations/NNNN-minutes.pub.pem -rawin \\\n\
         \x20      -in minutes/minutes.html -sigfile minutes/minutes.sig\n\n\
         6. An RFC 3161 time-stamp token over a checkpoint note (when .tsr files are present):\n\
         \x20  openssl ts -verify -data {final_path} -in {tsr} -token_in -CAfile tsa/chain.pem\n\n\
         7. The custody extract (only in a downloaded export, under custody/; it is not in\n\
         \x20  the manifest or SHA256SUMS, the server key signs it through its checkpoint):\n\
         \x20  custody/entries/NNNNNN.json are the custody-log entries about this hearing (who\n\
         \x20  had it, when), custody/proofs/NNNNNN.inclusion.json their RFC 9162 inclusion\n\
         \x20  proofs to the root in custody/checkpoint.note. An entry's leaf hash is\n\
         \x20  SHA-256(0x00 || the file's exact bytes):\n\
         \x20  printf '\\0' | cat - custody/entries/NNNNNN.json | sha256sum\n\
         \x20  The note's signature checks as in step 3 (origin line <server>/custody), its\n\
         \x20  token as in step 6 (custody/checkpoint.tsr). `sworn verify` checks every proof\n\
         \x20  and lists the entries.\n\n\
         8. The evidence record (RFC 4998; archive/, not in the manifest or SHA256SUMS:\n\
         \x20  added after sealing and renewed with `sworn archive renew`): every file but\n\
         \x20  archive/ and custody/ is a data object; the first archive time-stamp's token is\n\
         \x20  over SHA-256 of the sorted SHA-256 hashes of all of them, concatenated:\n\
         \x20  find . -type f ! -path './archive/*' ! -path './custody/*' -exec sha256sum {{}} + \\\n\
         \x20      | cut -c1-64 | LC_ALL=C sort | xxd -r -p | sha256sum\n\
         \x20  openssl ts -verify -digest <that hex> -in token1.der -token_in -CAfile archive/tsa-01.pem\n\
         \x20  (docs/bundle-format.md section 12: cutting the tokens out, renewals).\n\n\
         Only step 1 also recomputes the Merkle tree from log/entries.jsonl, checks every\n\
         root against a signed checkpoint, the consistency proofs, and that the media_chunk\n\
         entries tile each media file exactly.\n",
        tsr = final_path.replace(".note", ".tsr"),
    )
}
