//! Short-lived TURN credentials made from a secret shared with the TURN server: the
//! "TURN REST API" convention that coturn implements with `use-auth-secret` +
//! `static-auth-secret`. The username is `<expiry unix time>:<opaque id>` and the
//! password is base64(HMAC-SHA1(secret, username)); the TURN server recomputes the
//! password from the username and refuses it once the expiry has passed, so every
//! participant connection gets its own credential that stops working on its own.
//!
//! Pure: the time is an input, the opaque id is the caller's (random per connection,
//! never a participant's name). Nothing here logs; [`TurnSecret`] and
//! [`TurnCredential`] print no secret through `Debug`.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The secret shared with the TURN server (coturn's `static-auth-secret`), keyed once.
#[derive(Clone)]
pub struct TurnSecret(Hmac<Sha1>);

/// An empty secret: it would make every credential guessable.
#[derive(Debug, thiserror::Error)]
#[error("the TURN secret is empty")]
pub struct EmptySecret;

impl TurnSecret {
    /// Keys HMAC-SHA1 with `secret` (any length but zero; longer than 64 bytes is
    /// hashed first, as HMAC does and coturn too).
    pub fn new(secret: &[u8]) -> Result<TurnSecret, EmptySecret> {
        if secret.is_empty() {
            return Err(EmptySecret);
        }
        Hmac::<Sha1>::new_from_slice(secret)
            .map(TurnSecret)
            .map_err(|_| EmptySecret)
    }

    /// The password for `username`: base64(HMAC-SHA1(secret, username)), standard
    /// alphabet with padding (what coturn compares against).
    pub fn password(&self, username: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// A credential valid until `now_unix + ttl_secs` for the connection known to the TURN
    /// server as `opaque_id` (which must not be a participant's name; a `:` in it is
    /// kept, coturn splits at the first one).
    pub fn credential(&self, now_unix: u64, ttl_secs: u64, opaque_id: &str) -> TurnCredential {
        let expires_at = now_unix.saturating_add(ttl_secs);
        let username = format!("{expires_at}:{opaque_id}");
        let password = self.password(&username);
        TurnCredential {
            username,
            password,
            expires_at,
        }
    }
}

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnSecret([redacted])")
    }
}

/// One participant connection's TURN username and password.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnCredential {
    /// `<expires_at>:<opaque id>`
    pub username: String,
    /// base64(HMAC-SHA1(secret, username))
    pub password: String,
    /// Unix time after which the TURN server refuses it.
    pub expires_at: u64,
}

impl std::fmt::Debug for TurnCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredential")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "north-wind-court-secret-0001";

    /// Vectors made with openssl:
    /// `printf '%s' "$USERNAME" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64`
    #[test]
    fn matches_openssl_vectors() {
        let s = TurnSecret::new(SECRET.as_bytes()).unwrap();
        assert_eq!(
            s.password("1700003600:0123456789abcdef0123456789abcdef"),
            "KhQnDokQZLUU4m/c4augLE4Ts3A="
        );
        assert_eq!(
            s.password("1893456000:c0ffee"),
            "gJlm3pw+0ovOOkDS62mwIvKj+XM="
        );
        let k = TurnSecret::new(b"key").unwrap();
        assert_eq!(k.password("abc"), "T9CyFSdu8S8rPkyOysKBFJi2Vvw=");
    }

    /// The same, computed by openssl now, over secrets shorter and longer than the
    /// 64-byte HMAC block (a long key is hashed first).
    #[test]
    fn matches_openssl_at_run_time() {
        for secret in [
            "s3",
            "a-secret-of-exactly-sixty-four-bytes-for-the-hmac-block-size-ok!",
            &"long-secret-".repeat(12),
        ] {
            let username = "1999999999:5f2b1c0e9d8a7b6c5f2b1c0e9d8a7b6c";
            let out = openssl_hmac_sha1_base64(secret, username);
            let ours = TurnSecret::new(secret.as_bytes())
                .unwrap()
                .password(username);
            assert_eq!(ours, out, "secret of {} bytes", secret.len());
        }
    }

    fn openssl_hmac_sha1_base64(secret: &str, data: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("openssl")
            .args(["dgst", "-sha1", "-hmac", secret, "-binary"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("openssl (scripts/install-deps) runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(data.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        base64::engine::general_purpose::STANDARD.encode(out.stdout)
    }

    #[test]
    fn username_is_expiry_then_opaque_id_and_expiry_is_now_plus_ttl() {
        let s = TurnSecret::new(SECRET.as_bytes()).unwrap();
        let c = s.credential(1_700_000_000, 3600, "0123456789abcdef0123456789abcdef");
        assert_eq!(c.expires_at, 1_700_003_600);
        assert_eq!(c.username, "1700003600:0123456789abcdef0123456789abcdef");
        assert_eq!(c.password, "KhQnDokQZLUU4m/c4augLE4Ts3A=");
        assert_eq!(c.password, s.password(&c.username));
        // Another connection at the same instant gets another credential.
        let d = s.credential(1_700_000_000, 3600, "ffffffffffffffffffffffffffffffff");
        assert_eq!(d.expires_at, c.expires_at);
        assert_ne!(d.password, c.password);
        // Later: later expiry. No overflow at the end of time.
        assert_eq!(
            s.credential(1_700_000_060, 60, "x").expires_at,
            1_700_000_120
        );
        assert_eq!(s.credential(u64::MAX, 60, "x").expires_at, u64::MAX);
    }

    #[test]
    fn another_secret_gives_another_password() {
        let a = TurnSecret::new(b"secret-a").unwrap();
        let b = TurnSecret::new(b"secret-b").unwrap();
        assert_ne!(a.password("1:x"), b.password("1:x"));
        assert!(TurnSecret::new(b"").is_err());
    }

    #[test]
    fn debug_prints_no_secret_or_password() {
        let s = TurnSecret::new(SECRET.as_bytes()).unwrap();
        let c = s.credential(1_700_000_000, 3600, "0123456789abcdef0123456789abcdef");
        let text = format!("{s:?} {c:?}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&c.password), "{text}");
        assert!(text.contains("1700003600:"), "{text}");
    }
}
