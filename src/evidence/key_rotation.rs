//! The server key history on disk (`keys/history.json` beside `keys/server.key`,
//! format `sworn-key-history/1`, docs/bundle-format.md §12): created with the key (its
//! genesis statement, self-signed), extended by [`rotate`] (a new key whose statement is
//! signed by the new key and by the old one), and repaired at load if a rotation was
//! interrupted.
//!
//! Rotation order, so a crash at any point leaves one consistent key: (1) the new key is
//! written to `server.key.next` (0600, fsynced); (2) the history naming it replaces
//! `history.json` durably; (3) `server.key.next` is renamed over `server.key`, which
//! destroys the old private key. At load, a `server.key.next` whose key the history
//! already names finishes step 3; any other is a rotation that never happened and is
//! removed. It must never leave a history whose newest key is not `server.key`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer as _, SigningKey};

use super::fsutil::{sync_dir, write_durable};
use super::keys::{KeyFileError, ServerKey};
use crate::verify::key_history::{self, KeyHistory};
use crate::verify::{canonical, clock, keys as pubkeys};

/// A loaded history: parsed, and its exact bytes (what bundles carry).
#[derive(Debug, Clone)]
pub struct History {
    /// The verified history.
    pub parsed: KeyHistory,
    /// Its exact canonical bytes.
    pub bytes: Vec<u8>,
}

/// The history file beside a key file.
pub fn history_path(key_path: &Path) -> PathBuf {
    key_path.with_file_name("history.json")
}

fn next_path(key_path: &Path) -> PathBuf {
    let mut name = key_path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    key_path.with_file_name(name)
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn bad(reason: impl Into<String>) -> KeyFileError {
    KeyFileError::History(reason.into())
}

fn read_history(path: &Path) -> Result<Option<History>, KeyFileError> {
    match fs::read(path) {
        Ok(bytes) => {
            let parsed = key_history::parse(&bytes).map_err(|e| bad(e.to_string()))?;
            Ok(Some(History { parsed, bytes }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Finishes or discards a rotation a crash interrupted (see the module doc).
pub(crate) fn finish_interrupted(key_path: &Path) -> Result<(), KeyFileError> {
    let next = next_path(key_path);
    let Ok(text) = fs::read_to_string(&next) else {
        return Ok(());
    };
    let next_key = super::keys::parse_private_pem(&text)?;
    let named = read_history(&history_path(key_path))?
        .is_some_and(|h| h.parsed.current() == Some(&next_key.verifying_key()));
    if named {
        fs::rename(&next, key_path)?;
    } else {
        fs::remove_file(&next)?;
    }
    if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The history for a loaded key: read and checked against it, or (first start) created
/// with the key's genesis statement dated `now`.
pub(crate) fn load_or_genesis(
    key_path: &Path,
    name: &str,
    key: &SigningKey,
    now: SystemTime,
) -> Result<History, KeyFileError> {
    let path = history_path(key_path);
    if let Some(h) = read_history(&path)? {
        if h.parsed.server != name {
            return Err(bad(format!(
                "it is the history of server {:?}, but server_name is {name:?} (a server's name is part of its key's identity)",
                h.parsed.server
            )));
        }
        if h.parsed.current() != Some(&key.verifying_key()) {
            return Err(bad("its newest key is not keys/server.key"));
        }
        return Ok(h);
    }
    let h = genesis(name, key, now)?;
    write_durable(&path, &h.bytes)?;
    Ok(h)
}

/// A one-key history (genesis statement, self-signed).
pub fn genesis(name: &str, key: &SigningKey, now: SystemTime) -> Result<History, KeyFileError> {
    let since = clock::format_ms(unix_ms(now));
    let st = key_history::statement(name, 0, &key.verifying_key(), &since, None);
    let entry = key_history::document_key(&st, &key.sign(&st).to_bytes(), None);
    let bytes = key_history::document(name, vec![entry]);
    let parsed = key_history::parse(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok(History { parsed, bytes })
}

/// The history extended by `next` as of `now`, signed by `prev` (its current key) and by
/// `next`.
pub fn extend(
    h: &History,
    prev: &SigningKey,
    next: &SigningKey,
    now: SystemTime,
) -> Result<History, KeyFileError> {
    let name = &h.parsed.server;
    let index = h.parsed.keys.len();
    let last_since = h.parsed.keys.last().map_or(0, |k| k.since_ms);
    let since = clock::format_ms(unix_ms(now).max(last_since));
    let st = key_history::statement(
        name,
        index,
        &next.verifying_key(),
        &since,
        Some(&prev.verifying_key()),
    );
    let entry = key_history::document_key(
        &st,
        &next.sign(&st).to_bytes(),
        Some(&prev.sign(&st).to_bytes()),
    );
    let mut doc: serde_json::Value =
        serde_json::from_slice(&h.bytes).map_err(|e| bad(e.to_string()))?;
    doc.get_mut("keys")
        .and_then(|k| k.as_array_mut())
        .ok_or_else(|| bad("no keys array"))?
        .push(entry);
    let bytes = canonical::to_canonical(&doc).map_err(|e| bad(e.to_string()))?;
    let parsed = key_history::parse(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok(History { parsed, bytes })
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// Fingerprint of the retired key.
    pub old: String,
    /// Fingerprint of the new key.
    pub new: String,
    /// Keys in the history now.
    pub keys: usize,
}

/// Replaces the server key at `key_path` by a new one and extends the history (see the
/// module doc for the crash-safe order). The server must be stopped.
pub fn rotate(key_path: &Path, name: &str, now: SystemTime) -> Result<Rotated, KeyFileError> {
    let old = ServerKey::load_or_create(key_path, name)?;
    let history = old
        .history()
        .cloned()
        .ok_or_else(|| bad("the server key has no history"))?;
    let next_file = next_path(key_path);
    let next = super::keys::create(&next_file)?;
    let extended = extend(&history, old.signing_key(), &next, now)?;
    write_durable(&history_path(key_path), &extended.bytes)?;
    fs::rename(&next_file, key_path)?;
    if let Some(dir) = key_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(Rotated {
        old: old.fingerprint(),
        new: pubkeys::fingerprint(&next.verifying_key()),
        keys: extended.parsed.keys.len(),
    })
}
