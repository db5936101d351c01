//! The server's Ed25519 signing key: created once (file mode 0600, PKCS#8 PEM that
//! `openssl pkey` reads), loaded on start, used to sign checkpoints.
//!
//! It must never log, print or serialize the private key, and must refuse a key file
//! that others can read.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use std::time::SystemTime;

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::key_rotation::{self, History};

use crate::verify::keys as pubkeys;
use crate::verify::note;

/// DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why the server key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// File system error.
    #[error("server key file: {0}")]
    Io(#[from] std::io::Error),
    /// Not an Ed25519 PKCS#8 PEM key.
    #[error("server key file is not an Ed25519 PKCS#8 PEM private key")]
    Malformed,
    /// Group or others may read the key file.
    #[error("server key file is readable by group or others (mode {0:o}); chmod 600 it")]
    Permissions(u32),
    /// The key name is unusable in a signed note.
    #[error("server name must be non-empty without spaces or '+'")]
    BadName,
    /// `keys/history.json` is unreadable or does not fit the key.
    #[error("server key history (keys/history.json): {0}")]
    History(String),
}

/// The server signing key and its note name.
pub struct ServerKey {
    name: String,
    key: SigningKey,
    history: Option<History>,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("name", &self.name)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// Loads the key at `path`, or creates it (mode 0600) if the file does not exist.
    pub fn load_or_create(path: &Path, name: &str) -> Result<ServerKey, KeyFileError> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(KeyFileError::BadName);
        }
        key_rotation::finish_interrupted(path)?;
        let key = match fs::read_to_string(path) {
            Ok(text) => {
                check_mode(path)?;
                parse_private_pem(&text)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            Err(e) => return Err(e.into()),
        };
        let history = key_rotation::load_or_genesis(path, name, &key, SystemTime::now())?;
        Ok(ServerKey {
            name: name.to_string(),
            key,
            history: Some(history),
        })
    }

    /// A key from a seed (tests, key ceremonies), without a key history.
    pub fn from_seed(seed: [u8; 32], name: &str) -> ServerKey {
        ServerKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
            history: None,
        }
    }

    /// The same key carrying `history`, whose newest key it must be.
    pub fn with_history(self, history: History) -> Result<ServerKey, KeyFileError> {
        if history.parsed.server != self.name
            || history.parsed.current() != Some(&self.verifying_key())
        {
            return Err(KeyFileError::History(
                "its newest key is not this key".into(),
            ));
        }
        Ok(ServerKey {
            history: Some(history),
            ..self
        })
    }

    /// The key history (none for keys made with [`ServerKey::from_seed`]).
    pub fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    /// Note verifiers of every key this server has signed with (the history's, else
    /// this key's), to read back its own checkpoints.
    pub fn note_verifiers(&self) -> Vec<pubkeys::NoteVerifier> {
        match &self.history {
            Some(h) => h.parsed.ring().into_iter().map(|(v, _)| v).collect(),
            None => vec![pubkeys::NoteVerifier {
                name: self.name.clone(),
                key_id: pubkeys::key_id(&self.name, &self.verifying_key()),
                key: self.verifying_key(),
            }],
        }
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Server (key) name used in notes and origins.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// SPKI PEM of the public key.
    pub fn public_pem(&self) -> String {
        pubkeys::public_key_pem(&self.verifying_key())
    }

    /// Signed-note verifier key string.
    pub fn vkey(&self) -> String {
        pubkeys::vkey(&self.name, &self.verifying_key())
    }

    /// `sha256:<hex>` of the raw public key.
    pub fn fingerprint(&self) -> String {
        pubkeys::fingerprint(&self.verifying_key())
    }

    /// Raw Ed25519 signature over `bytes` (the bundle manifest).
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(bytes).to_bytes()
    }

    /// Signs a note body.
    pub(crate) fn sign_note(&self, body: &str) -> Vec<u8> {
        note::sign_note(body, &self.name, &self.key)
    }
}

pub(crate) fn parse_private_pem(text: &str) -> Result<SigningKey, KeyFileError> {
    let der = pubkeys::pem_decode(text, "PRIVATE KEY").map_err(|_| KeyFileError::Malformed)?;
    let seed: [u8; 32] = der
        .strip_prefix(&PKCS8_PREFIX)
        .and_then(|s| s.try_into().ok())
        .ok_or(KeyFileError::Malformed)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions(mode));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

pub(crate) fn create(path: &Path) -> Result<SigningKey, KeyFileError> {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let mut der = PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(pem.as_bytes())?;
    f.sync_all()?;
    Ok(key)
}
