//! Public-key encodings used by bundles: Ed25519 SPKI PEM (`openssl pkeyutl`), C2SP
//! signed-note verifier keys (`name+keyid+base64(0x01||key)`), key ids and fingerprints;
//! and participants' attestation keys ([`ParticipantKey`]), whose algorithm the
//! `key_bound` entry names (`alg`: absent = Ed25519, `ES256` = ECDSA P-256 / SHA-256).
//!
//! Pure parsing, formatting and signature checks. It never holds or reads private keys,
//! and it refuses an algorithm it does not know rather than guess.

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
    /// A `key_bound` names an algorithm this verifier does not implement.
    #[error("unsupported key algorithm {0:?} (known: Ed25519, ES256)")]
    UnknownAlg(String),
    /// Not an uncompressed SEC1 P-256 point (65 bytes, 0x04 || x || y, on the curve).
    #[error("not a P-256 public key (uncompressed SEC1 point)")]
    BadP256,
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

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1); the 65-byte
/// uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Signature algorithm of a participant's attestation key (`key_bound.alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// Ed25519 (RFC 8032), `verify_strict`; raw 32-byte key, 64-byte signature. The
    /// default: a `key_bound` without `alg`.
    Ed25519,
    /// ECDSA over P-256 with SHA-256 (WebCrypto `ECDSA`/`P-256`); uncompressed SEC1
    /// 65-byte key, raw `r || s` 64-byte signature, high or low S.
    Es256,
}

impl KeyAlg {
    /// The `alg` field value: `None` (absent) means Ed25519.
    pub fn from_field(alg: Option<&str>) -> Result<Self, KeyError> {
        match alg {
            None | Some("Ed25519") => Ok(Self::Ed25519),
            Some("ES256") => Ok(Self::Es256),
            Some(other) => Err(KeyError::UnknownAlg(other.chars().take(40).collect())),
        }
    }

    /// Its name as written in `alg` and `hello`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::Es256 => "ES256",
        }
    }

    /// What a producer writes in `key_bound.alg`: nothing for Ed25519, so bundles made
    /// before the field existed keep their exact bytes.
    pub fn field(self) -> Option<String> {
        match self {
            Self::Ed25519 => None,
            Self::Es256 => Some(self.name().to_string()),
        }
    }
}

/// A participant's attestation key as a `key_bound` entry binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantKey {
    /// Ed25519.
    Ed25519(VerifyingKey),
    /// ECDSA P-256.
    Es256(p256::ecdsa::VerifyingKey),
}

impl ParticipantKey {
    /// Parses `key_bound`'s `public_key` (unpadded base64url) under its `alg`.
    pub fn from_entry(alg: Option<&str>, public_key: &str) -> Result<Self, KeyError> {
        Self::from_b64url(KeyAlg::from_field(alg)?, public_key)
    }

    /// Parses an unpadded base64url raw key of a known algorithm.
    pub fn from_b64url(alg: KeyAlg, text: &str) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        match alg {
            KeyAlg::Ed25519 => parse_raw_b64url(text).map(Self::Ed25519),
            KeyAlg::Es256 => {
                let raw = URL_SAFE_NO_PAD
                    .decode(text)
                    .map_err(|_| KeyError::BadP256)?;
                p256_from_sec1(&raw).map(Self::Es256)
            }
        }
    }

    /// Its algorithm.
    pub fn alg(&self) -> KeyAlg {
        match self {
            Self::Ed25519(_) => KeyAlg::Ed25519,
            Self::Es256(_) => KeyAlg::Es256,
        }
    }

    /// Checks a raw signature over `msg`: Ed25519 `verify_strict`, or ECDSA P-256 over
    /// SHA-256(msg) with a 64-byte `r || s` (a high-S signature is accepted, as WebCrypto
    /// makes them and every ECDSA verifier accepts them). The error says why not.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), String> {
        let arr: [u8; 64] = sig
            .try_into()
            .map_err(|_| format!("signature is {} bytes, not 64", sig.len()))?;
        let ok = match self {
            Self::Ed25519(k) => k
                .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&arr))
                .is_ok(),
            Self::Es256(k) => {
                use p256::ecdsa::signature::Verifier as _;
                p256::ecdsa::Signature::from_slice(&arr).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        };
        if ok {
            Ok(())
        } else {
            Err("does not verify".into())
        }
    }

    /// SPKI PEM, as `openssl pkey -pubin -pubout` writes it.
    pub fn to_pem(&self) -> String {
        match self {
            Self::Ed25519(k) => public_key_pem(k),
            Self::Es256(k) => {
                let mut der = P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.to_encoded_point(false).as_bytes());
                format!(
                    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                    STANDARD.encode(der)
                )
            }
        }
    }

    /// Parses an SPKI PEM of either algorithm.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = pem_decode(text, "PUBLIC KEY")?;
        if let Some(rest) = der.strip_prefix(&SPKI_PREFIX) {
            return key_from_slice(rest).map(Self::Ed25519);
        }
        if let Some(rest) = der.strip_prefix(&P256_SPKI_PREFIX) {
            return p256_from_sec1(rest).map(Self::Es256);
        }
        Err(KeyError::NotEd25519)
    }
}

/// An uncompressed SEC1 P-256 point (compressed and identity encodings refused, so both
/// verifiers agree on one form).
fn p256_from_sec1(raw: &[u8]) -> Result<p256::ecdsa::VerifyingKey, KeyError> {
    if raw.len() != 65 || raw.first() != Some(&0x04) {
        return Err(KeyError::BadP256);
    }
    p256::ecdsa::VerifyingKey::from_sec1_bytes(raw).map_err(|_| KeyError::BadP256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn p256_participant_key_round_trips_and_verifies_high_and_low_s() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use p256::ecdsa::signature::Signer as _;
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let vk = *sk.verifying_key();
        let text = URL_SAFE_NO_PAD.encode(vk.to_encoded_point(false).as_bytes());
        let key = ParticipantKey::from_entry(Some("ES256"), &text).unwrap();
        assert_eq!(key, ParticipantKey::Es256(vk));
        assert_eq!(ParticipantKey::from_pem(&key.to_pem()).unwrap(), key);
        let sig: p256::ecdsa::Signature = sk.sign(b"statement");
        let (r, s) = sig.split_scalars();
        let flipped = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        for sig in [sig, flipped] {
            assert!(key.verify(b"statement", &sig.to_bytes()).is_ok());
            assert!(key.verify(b"statemenT", &sig.to_bytes()).is_err());
        }
        let compressed = URL_SAFE_NO_PAD.encode(vk.to_encoded_point(true).as_bytes());
        assert_eq!(
            ParticipantKey::from_entry(Some("ES256"), &compressed),
            Err(KeyError::BadP256)
        );
        assert!(matches!(
            ParticipantKey::from_entry(Some("ML-DSA-65"), &text),
            Err(KeyError::UnknownAlg(_))
        ));
        // An Ed25519 key under ES256 and the reverse are refused.
        let ed = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(ParticipantKey::from_entry(Some("ES256"), &ed).is_err());
        assert!(ParticipantKey::from_entry(None, &text).is_err());
    }

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
