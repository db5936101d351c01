//! Participant attestations: the statement a browser signs (canonical JSON with `v`,
//! `kind`, `hearing`, `participant`, `checkpoint {size, root}`, `text`, ...) and where
//! its files live in a bundle.
//!
//! Parses exact bytes; it must never re-encode a statement before its signature is
//! checked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::canonical::parse_canonical;
use super::merkle::Hash;

/// Statement kinds.
pub const KINDS: [&str; 5] = ["oath", "identity", "cosign", "closing", "minutes"];
/// Largest statement accepted.
pub const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// The fields of a statement the record relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// One of [`KINDS`].
    pub kind: String,
    /// Hearing id.
    pub hearing: String,
    /// Signer's participant id.
    pub participant: String,
    /// Checkpoint size the signer saw.
    pub checkpoint_size: u64,
    /// Checkpoint root the signer saw.
    pub checkpoint_root: Hash,
    /// The text the signer agreed to.
    pub text: String,
    /// For `minutes`: hex SHA-256 of `minutes/minutes.html`.
    pub minutes_sha256: Option<String>,
}

/// Why a statement was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// Too large, not canonical, or a field missing or of the wrong type.
    #[error("malformed statement: {0}")]
    Malformed(String),
}

/// Parses statement bytes (must be canonical JSON, `v` = 1, known kind).
pub fn parse_statement(bytes: &[u8]) -> Result<Statement, StatementError> {
    let bad = |m: &str| StatementError::Malformed(m.to_string());
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(bad("too large"));
    }
    let v: Value = parse_canonical(bytes).map_err(|e| StatementError::Malformed(e.to_string()))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if v.get("v").and_then(Value::as_u64) != Some(1) {
        return Err(bad("v must be 1"));
    }
    let kind = s("kind").ok_or_else(|| bad("no kind"))?;
    if !KINDS.contains(&kind.as_str()) {
        return Err(bad("unknown kind"));
    }
    let cp = v.get("checkpoint").ok_or_else(|| bad("no checkpoint"))?;
    let checkpoint_size = cp
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("no checkpoint.size"))?;
    let checkpoint_root: Hash = cp
        .get("root")
        .and_then(Value::as_str)
        .and_then(|r| STANDARD.decode(r).ok())
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| bad("checkpoint.root is not base64 SHA-256"))?;
    let minutes_sha256 = s("minutes_sha256");
    if kind == "minutes" && minutes_sha256.is_none() {
        return Err(bad("minutes statement without minutes_sha256"));
    }
    Ok(Statement {
        kind,
        hearing: s("hearing").ok_or_else(|| bad("no hearing"))?,
        participant: s("participant").ok_or_else(|| bad("no participant"))?,
        checkpoint_size,
        checkpoint_root,
        text: s("text").ok_or_else(|| bad("no text"))?,
        minutes_sha256,
    })
}

/// Builds the exact statement bytes a participant's browser is asked to sign:
/// canonical JSON `{"checkpoint":{"root","size"},"hearing","kind","participant","text","v":1}`
/// plus `extra` string fields (e.g. `minutes_sha256`). Fails on an unknown kind or an
/// extra field that would replace a required one.
pub fn build_statement(
    kind: &str,
    hearing: &str,
    participant: &str,
    checkpoint: (u64, &Hash),
    text: &str,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>, StatementError> {
    if !KINDS.contains(&kind) {
        return Err(StatementError::Malformed("unknown kind".into()));
    }
    let mut map = serde_json::Map::new();
    for (k, v) in extra {
        map.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    let required = [
        ("v", Value::from(1u8)),
        ("kind", Value::from(kind)),
        ("hearing", Value::from(hearing)),
        ("participant", Value::from(participant)),
        ("text", Value::from(text)),
        (
            "checkpoint",
            serde_json::json!({"size": checkpoint.0, "root": STANDARD.encode(checkpoint.1)}),
        ),
    ];
    for (k, v) in required {
        if map.insert(k.to_string(), v).is_some() {
            return Err(StatementError::Malformed(format!(
                "extra field {k} not allowed"
            )));
        }
    }
    let bytes = super::canonical::to_canonical(&Value::Object(map))
        .map_err(|e| StatementError::Malformed(e.to_string()))?;
    parse_statement(&bytes)?;
    Ok(bytes)
}

/// Bundle paths of the `ordinal`-th (1-based) attestation: statement, signature, key.
pub fn attestation_paths(ordinal: u64, kind: &str) -> [String; 3] {
    let stem = format!("attestations/{ordinal:04}-{kind}");
    [
        format!("{stem}.json"),
        format!("{stem}.sig"),
        format!("{stem}.pub.pem"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_statement_is_canonical_and_parses_back() {
        let root = [3u8; 32];
        let b = build_statement("oath", "h1", "p1", (5, &root), "I swear.", &[]).unwrap();
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            format!(
                "{{\"checkpoint\":{{\"root\":\"{}\",\"size\":5}},\"hearing\":\"h1\",\"kind\":\"oath\",\"participant\":\"p1\",\"text\":\"I swear.\",\"v\":1}}",
                STANDARD.encode(root)
            )
        );
        let st = parse_statement(&b).unwrap();
        assert_eq!((st.checkpoint_size, st.checkpoint_root), (5, root));
        assert!(build_statement("minutes", "h1", "p1", (5, &root), "x", &[]).is_err());
        assert!(build_statement("oath", "h1", "p1", (5, &root), "x", &[("v", "2")]).is_err());
        assert!(build_statement("bribe", "h1", "p1", (5, &root), "x", &[]).is_err());
        let m = build_statement(
            "minutes",
            "h1",
            "p1",
            (5, &root),
            "x",
            &[("minutes_sha256", "ab")],
        );
        assert_eq!(
            parse_statement(&m.unwrap())
                .unwrap()
                .minutes_sha256
                .as_deref(),
            Some("ab")
        );
    }
}
