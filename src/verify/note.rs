//! C2SP signed notes (Ed25519) carrying C2SP tlog checkpoints
//! (`<origin>\n<size>\n<base64 root>\n`).
//!
//! Signs and verifies the exact note bytes; it must never re-serialize a note before
//! checking its signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey};

use super::keys::{NoteVerifier, key_id};
use super::merkle::Hash;

/// Largest note accepted.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note or checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Not a well-formed signed note.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// No signature line by the trusted key name and key id.
    #[error("no signature by the trusted key")]
    NoTrustedSignature,
    /// A signature line by the trusted key does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The body is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(String),
}

/// A parsed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `court.example/hearing/<id>`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
}

/// The checkpoint body text.
pub fn checkpoint_body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", STANDARD.encode(root))
}

/// Signs `body` (which must end with `\n`) as a signed note by `name`.
pub fn sign_note(body: &str, name: &str, key: &SigningKey) -> Vec<u8> {
    let sig: Signature = key.sign(body.as_bytes());
    let mut blob = key_id(name, &key.verifying_key()).to_vec();
    blob.extend_from_slice(&sig.to_bytes());
    format!("{body}\n{SIG_PREFIX}{name} {}\n", STANDARD.encode(blob)).into_bytes()
}

/// Checks `note` carries a valid signature by `verifier`; returns the signed body text.
pub fn verify_note<'a>(note: &'a [u8], verifier: &NoteVerifier) -> Result<&'a str, NoteError> {
    verify_note_any(note, std::slice::from_ref(verifier)).map(|(body, _)| body)
}

/// Checks `note` carries a valid signature by one of `verifiers` (a key history); returns
/// the signed body text and the index of the first verifier whose signature is there.
/// Every signature line by a listed key must verify.
pub fn verify_note_any<'a>(
    note: &'a [u8],
    verifiers: &[NoteVerifier],
) -> Result<(&'a str, usize), NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::Malformed("note too large".into()));
    }
    let text = std::str::from_utf8(note).map_err(|_| NoteError::Malformed("not UTF-8".into()))?;
    let split = text
        .rfind("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before signatures".into()))?;
    let (body, sigs) = text.split_at(split + 1);
    let sigs = sigs
        .strip_prefix('\n')
        .ok_or_else(|| NoteError::Malformed("no signature block".into()))?;
    if body.len() < 2 || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "empty body or unterminated signature".into(),
        ));
    }
    let mut found = None;
    for line in sigs.lines() {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| NoteError::Malformed("signature line without em dash".into()))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| NoteError::Malformed("signature line without name".into()))?;
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature not base64".into()))?;
        let Some((i, verifier)) = verifiers
            .iter()
            .enumerate()
            .find(|(_, v)| name == v.name && blob.get(..4) == Some(v.key_id.as_slice()))
        else {
            continue;
        };
        let sig_bytes: [u8; 64] = blob
            .get(4..)
            .and_then(|s| s.try_into().ok())
            .ok_or(NoteError::BadSignature)?;
        let sig = Signature::from_bytes(&sig_bytes);
        verifier
            .key
            .verify_strict(body.as_bytes(), &sig)
            .map_err(|_| NoteError::BadSignature)?;
        found = found.or(Some(i));
    }
    found
        .map(|i| (body, i))
        .ok_or(NoteError::NoTrustedSignature)
}

/// Parses a checkpoint body: exactly origin, decimal size, base64 root (no extensions).
pub fn parse_checkpoint(body: &str) -> Result<Checkpoint, NoteError> {
    let bad = |m: &str| NoteError::BadCheckpoint(m.to_string());
    let inner = body
        .strip_suffix('\n')
        .ok_or_else(|| bad("no final newline"))?;
    let lines: Vec<&str> = inner.split('\n').collect();
    let [origin, size, root] = lines.as_slice() else {
        return Err(bad("expected exactly three lines"));
    };
    if origin.is_empty() {
        return Err(bad("empty origin"));
    }
    if size.is_empty()
        || !size.bytes().all(|c| c.is_ascii_digit())
        || (size.len() > 1 && size.starts_with('0'))
    {
        return Err(bad("size is not a decimal number"));
    }
    let size: u64 = size.parse().map_err(|_| bad("size out of range"))?;
    let root_bytes = STANDARD.decode(root).map_err(|_| bad("root not base64"))?;
    let root: Hash = root_bytes
        .try_into()
        .map_err(|_| bad("root is not 32 bytes"))?;
    Ok(Checkpoint {
        origin: (*origin).to_string(),
        size,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::keys::{parse_vkey, vkey};

    #[test]
    fn sign_then_verify_and_reject_changes() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let v = parse_vkey(&vkey("court.example", &key.verifying_key())).unwrap();
        let body = checkpoint_body("court.example/hearing/ab", 3, &[1u8; 32]);
        let note = sign_note(&body, "court.example", &key);
        assert_eq!(verify_note(&note, &v).unwrap(), body);
        let cp = parse_checkpoint(&body).unwrap();
        assert_eq!(cp.size, 3);
        let mut bad = note.clone();
        bad[26] ^= 1;
        assert!(verify_note(&bad, &v).is_err());
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let note2 = sign_note(&body, "court.example", &other);
        assert_eq!(verify_note(&note2, &v), Err(NoteError::NoTrustedSignature));
    }
}
