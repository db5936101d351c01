//! Ed25519 public-key encodings used by bundles: SPKI PEM (`openssl pkeyutl`), C2SP
//! signed-note verifier keys (`name+keyid+base64(0x01||key)`), key ids and fingerprints.
//!
//! Pure parsing and formatting. It never holds or reads private keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Signature algorithm byte of Ed25519 in signed notes.
const NOTE_ALG_ED25519: u8 = 0x01;

/// Why a key text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a single `PUBLIC KEY` PEM block.
    #[error("not a PEM public key: {0}")]
    BadPem(String),
    /// The DER is not an Ed25519 SubjectPublicKeyInfo.
    #[error("not an Ed25519 public key")]
    NotEd25519,
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("invalid Ed25519 point")]
    BadPoint,
    /// The verifier key text is malformed.
    #[error("malformed signed-note verifier key: {0}")]
    BadVkey(String),
}

/// A signed-note verifier: name, key id and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    /// Key name (the server name).
    pub name: String,
    /// First 4 bytes of SHA-256(name || 0x0A || 0x01 || key).
    pub key_id: [u8; 4],
    /// The public key.
    pub key: VerifyingKey,
}

/// Key id of a signed-note Ed25519 key.
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, NOTE_ALG_ED25519]);
    h.update(key.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    let [a, b, c, e, ..] = d;
    [a, b, c, e]
}

/// `name+<8 hex keyid>+<base64(0x01 || key)>`.
pub fn vkey(name: &str, key: &VerifyingKey) -> String {
    let mut raw = vec![NOTE_ALG_ED25519];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, key)),
        STANDARD.encode(raw)
    )
}

/// Parses a verifier key text (surrounding whitespace ignored).
pub fn parse_vkey(text: &str) -> Result<NoteVerifier, KeyError> {
    let text = text.trim();
    // The name cannot contain '+'; the base64 key data can.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::BadVkey("expected name+keyid+key".into()));
    };
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(KeyError::BadVkey("bad key name".into()));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|e| KeyError::BadVkey(e.to_string()))?;
    let Some((&NOTE_ALG_ED25519, key_bytes)) = raw.split_first() else {
        return Err(KeyError::BadVkey("not an Ed25519 key".into()));
    };
    let key = key_from_slice(key_bytes)?;
    let id = hex::decode(id_hex).map_err(|e| KeyError::BadVkey(e.to_string()))?;
    let expected = key_id(name, &key);
    if id.as_slice() != expected.as_slice() {
        return Err(KeyError::BadVkey(
            "key id does not match name and key".into(),
        ));
    }
    Ok(NoteVerifier {
        name: name.to_string(),
        key_id: expected,
        key,
    })
}

fn key_from_slice(bytes: &[u8]) -> Result<VerifyingKey, KeyError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::NotEd25519)?;
    VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::BadPoint)
}

/// SPKI PEM of an Ed25519 public key, as `openssl pkey -pubout` writes it.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

/// Decodes one PEM block with the given label into DER.
pub fn pem_decode(text: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let text = text.trim();
    let inner = text
        .strip_prefix(begin.as_str())
        .and_then(|t| t.strip_suffix(end.as_str()))
        .ok_or_else(|| KeyError::BadPem(format!("expected one {label} block")))?;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|e| KeyError::BadPem(e.to_string()))
}

/// Parses an Ed25519 SPKI PEM public key.
pub fn parse_public_key_pem(text: &str) -> Result<VerifyingKey, KeyError> {
    let der = pem_decode(text, "PUBLIC KEY")?;
    let Some(rest) = der.strip_prefix(&SPKI_PREFIX) else {
        return Err(KeyError::NotEd25519);
    };
    key_from_slice(rest)
}

/// Fingerprint shown to people comparing keys: `sha256:<hex of SHA-256(raw key)>`.
pub fn fingerprint(key: &VerifyingKey) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// Decodes a raw Ed25519 public key written as unpadded base64url (the `key_bound` form).
pub fn parse_raw_b64url(text: &str) -> Result<VerifyingKey, KeyError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| KeyError::BadVkey(e.to_string()))?;
    key_from_slice(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn pem_and_vkey_round_trip() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        assert_eq!(parse_public_key_pem(&public_key_pem(&key)).unwrap(), key);
        let v = parse_vkey(&vkey("court.example", &key)).unwrap();
        assert_eq!(v.key, key);
        assert_eq!(v.name, "court.example");
        let mut bad = vkey("court.example", &key);
        bad.replace_range(0..1, "x");
        assert!(parse_vkey(&bad).is_err());
    }
}
