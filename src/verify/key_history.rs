//! Server key history (`sworn-key-history/1`): the list of every server signing key in
//! order, each key's statement signed by the key itself and by its predecessor, so that a
//! verifier who trusts any one key (or a whole history) can follow rotations forward to
//! the key that signed a bundle, and knows when each older key was retired.
//!
//! Pure: parsing, statement building and the trust decision. Format and rules:
//! `docs/bundle-format.md` §12. It refuses anything it does not understand (fail closed).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use serde_json::json;

use super::canonical::{self, is_canonical};
use super::{clock, keys};

/// `format` of a key history document.
pub const HISTORY_FORMAT: &str = "sworn-key-history/1";
/// `type` of a key statement.
pub const STATEMENT_TYPE: &str = "sworn-key";
/// Most keys a history may hold.
pub const MAX_KEYS: usize = 1000;

/// Why a key history was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyHistoryError {
    /// Not canonical JSON of the right shape.
    #[error("key history malformed: {0}")]
    Malformed(String),
    /// Key number `index` is wrong (statement, key, order or signature).
    #[error("key {index} of the history: {reason}")]
    BadKey {
        /// Position in the history.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// One key of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryKey {
    /// The public key.
    pub key: VerifyingKey,
    /// From when it signs, RFC 3339 as written.
    pub since: String,
    /// `since` in Unix milliseconds.
    pub since_ms: i64,
}

/// A verified key history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    /// Signed-note name of every key (the server name).
    pub server: String,
    /// Keys, oldest first; each one's statement verified.
    pub keys: Vec<HistoryKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    format: String,
    server: String,
    keys: Vec<DocKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocKey {
    statement: String,
    signature: String,
    #[serde(default)]
    signature_previous: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    v: u32,
    #[serde(rename = "type")]
    kind: String,
    server: String,
    index: u64,
    public_key: String,
    fingerprint: String,
    since: String,
    #[serde(default)]
    previous: Option<String>,
}

/// The exact statement bytes key `index` signs (and its predecessor signs too).
pub fn statement(
    server: &str,
    index: usize,
    key: &VerifyingKey,
    since: &str,
    previous: Option<&VerifyingKey>,
) -> Vec<u8> {
    let mut v = json!({
        "v": 1,
        "type": STATEMENT_TYPE,
        "server": server,
        "index": index,
        "public_key": URL_SAFE_NO_PAD.encode(key.as_bytes()),
        "fingerprint": keys::fingerprint(key),
        "since": since,
    });
    if let (Some(p), Some(obj)) = (previous, v.as_object_mut()) {
        obj.insert("previous".into(), json!(keys::fingerprint(p)));
    }
    // invariant: the value holds only strings and small integers.
    canonical::to_canonical(&v).unwrap_or_default()
}

/// One key's entry of the history document: its statement and signatures.
pub fn document_key(
    statement: &[u8],
    signature: &[u8; 64],
    previous: Option<&[u8; 64]>,
) -> serde_json::Value {
    let mut v = json!({
        "statement": String::from_utf8_lossy(statement),
        "signature": URL_SAFE_NO_PAD.encode(signature),
    });
    if let (Some(p), Some(obj)) = (previous, v.as_object_mut()) {
        obj.insert(
            "signature_previous".into(),
            json!(URL_SAFE_NO_PAD.encode(p)),
        );
    }
    v
}

/// The canonical history document from its keys' entries ([`document_key`]).
pub fn document(server: &str, keys: Vec<serde_json::Value>) -> Vec<u8> {
    let v = json!({ "format": HISTORY_FORMAT, "server": server, "keys": keys });
    canonical::to_canonical(&v).unwrap_or_default()
}

fn sig(text: &str) -> Option<Signature> {
    let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
    let arr: [u8; 64] = raw.try_into().ok()?;
    Some(Signature::from_bytes(&arr))
}

/// Parses and verifies a history document: canonical, every statement in order, every
/// signature by the key and by its predecessor.
pub fn parse(bytes: &[u8]) -> Result<KeyHistory, KeyHistoryError> {
    let bad = |m: &str| KeyHistoryError::Malformed(m.to_string());
    if !is_canonical(bytes) {
        return Err(bad("not canonical JSON"));
    }
    let doc: Doc =
        serde_json::from_slice(bytes).map_err(|_| bad("fields are not format, server and keys"))?;
    if doc.format != HISTORY_FORMAT {
        return Err(KeyHistoryError::Malformed(format!(
            "unknown format {:?}",
            doc.format
        )));
    }
    if doc.server.is_empty() || doc.server.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(bad("bad server name"));
    }
    if doc.keys.is_empty() || doc.keys.len() > MAX_KEYS {
        return Err(bad("a history holds 1 to 1000 keys"));
    }
    let mut out: Vec<HistoryKey> = Vec::with_capacity(doc.keys.len());
    for (index, k) in doc.keys.iter().enumerate() {
        let fail = |reason: &str| KeyHistoryError::BadKey {
            index,
            reason: reason.to_string(),
        };
        let raw = k.statement.as_bytes();
        if !is_canonical(raw) {
            return Err(fail("statement is not canonical JSON"));
        }
        let st: Statement =
            serde_json::from_slice(raw).map_err(|_| fail("statement fields are wrong"))?;
        if st.v != 1 || st.kind != STATEMENT_TYPE || st.server != doc.server {
            return Err(fail("statement has the wrong version, type or server"));
        }
        if st.index != index as u64 {
            return Err(fail("statement index is not its position"));
        }
        let key = keys::parse_raw_b64url(&st.public_key)
            .map_err(|_| fail("public_key is not an Ed25519 key"))?;
        if st.fingerprint != keys::fingerprint(&key) {
            return Err(fail("fingerprint is not the key's"));
        }
        if out.iter().any(|h| h.key == key) {
            return Err(fail("key appears twice"));
        }
        let since_ms =
            clock::parse_ms(&st.since).ok_or_else(|| fail("since is not an RFC 3339 UTC time"))?;
        let prev = out.last();
        if prev.is_some_and(|p| since_ms < p.since_ms) {
            return Err(fail("since is before the previous key's"));
        }
        if st.previous.as_deref() != prev.map(|p| keys::fingerprint(&p.key)).as_deref() {
            return Err(fail("previous does not name the key before it"));
        }
        let own =
            sig(&k.signature).ok_or_else(|| fail("signature is not 64 bytes of base64url"))?;
        if key.verify_strict(raw, &own).is_err() {
            return Err(fail("the key's own signature does not verify"));
        }
        match (prev, k.signature_previous.as_deref()) {
            (None, None) => {}
            (Some(p), Some(text)) => {
                let s = sig(text)
                    .ok_or_else(|| fail("signature_previous is not 64 bytes of base64url"))?;
                if p.key.verify_strict(raw, &s).is_err() {
                    return Err(fail("the previous key's signature does not verify"));
                }
            }
            (None, Some(_)) => return Err(fail("the first key has no predecessor to sign it")),
            (Some(_), None) => return Err(fail("signature_previous is missing")),
        }
        out.push(HistoryKey {
            key,
            since: st.since,
            since_ms,
        });
    }
    Ok(KeyHistory {
        server: doc.server,
        keys: out,
    })
}

impl KeyHistory {
    /// Position of `key`.
    pub fn position(&self, key: &VerifyingKey) -> Option<usize> {
        self.keys.iter().position(|k| k.key == *key)
    }

    /// The newest key.
    pub fn current(&self) -> Option<&VerifyingKey> {
        self.keys.last().map(|k| &k.key)
    }

    /// When key `index` was replaced (its successor's `since`), if it was.
    pub fn retired_ms(&self, index: usize) -> Option<i64> {
        self.keys.get(index + 1).map(|k| k.since_ms)
    }

    /// First index where the two histories hold different keys (a fork), if any.
    pub fn conflict_with(&self, other: &KeyHistory) -> Option<usize> {
        if self.server != other.server {
            return Some(0);
        }
        self.keys
            .iter()
            .zip(&other.keys)
            .position(|(a, b)| a.key != b.key)
    }

    /// Note verifiers of every key, with each one's retirement time.
    pub fn ring(&self) -> Vec<(keys::NoteVerifier, Option<i64>)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let v = keys::NoteVerifier {
                    name: self.server.clone(),
                    key_id: keys::key_id(&self.server, &k.key),
                    key: k.key,
                };
                (v, self.retired_ms(i))
            })
            .collect()
    }
}

/// What a verifier pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// One key.
    Key(VerifyingKey),
    /// A whole history: every key in it is trusted for the time it was current.
    History(KeyHistory),
}

/// How the bundle's key was found trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    /// The pinned key the trust comes from, if not the bundle key itself.
    pub via: Option<VerifyingKey>,
    /// When the pinned history says the bundle key was retired.
    pub retired_ms: Option<i64>,
}

/// Why the bundle key is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// No path of signed rotations leads from a pinned key to it.
    Unknown,
    /// The bundle's history and the pinned one hold different keys at `index`.
    Conflict(usize),
}

/// Decides whether `key` (the bundle's, the newest of `carried` when it has a history) is
/// trusted under `pin`: it is pinned, or a pinned key precedes it in the carried history
/// (each rotation signed by the key before).
pub fn decide(
    pin: &Pin,
    key: &VerifyingKey,
    carried: Option<&KeyHistory>,
) -> Result<Trusted, Untrusted> {
    let from_carried = |pinned: &VerifyingKey| -> Option<Trusted> {
        let h = carried?;
        let (i, j) = (h.position(pinned)?, h.position(key)?);
        (i < j).then_some(Trusted {
            via: Some(*pinned),
            retired_ms: None,
        })
    };
    match pin {
        Pin::Key(p) if p == key => Ok(Trusted {
            via: None,
            retired_ms: None,
        }),
        Pin::Key(p) => from_carried(p).ok_or(Untrusted::Unknown),
        Pin::History(h) => {
            if let Some(i) = carried.and_then(|c| c.conflict_with(h)) {
                return Err(Untrusted::Conflict(i));
            }
            if let Some(i) = h.position(key) {
                return Ok(Trusted {
                    via: None,
                    retired_ms: h.retired_ms(i),
                });
            }
            h.current().and_then(from_carried).ok_or(Untrusted::Unknown)
        }
    }
}

/// True if `bytes` look like a history document rather than a key file.
pub fn looks_like_history(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}
