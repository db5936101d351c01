//! `[cluster]`: this `sworn serve` is one media node of several sharing a PostgreSQL
//! database (#16 point 3, README "Deploying"). All absent: a single server, as before.

use super::ConfigError;
use serde::Deserialize;
use std::path::PathBuf;

/// The shortest cluster secret accepted (bytes, after trimming white space).
const SECRET_MIN_LEN: usize = 32;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub node_id: Option<String>,
    pub internal_url: Option<String>,
    pub secret_file: Option<PathBuf>,
}

/// A node's place in a cluster, validated.
#[derive(Clone)]
pub struct ClusterConfig {
    /// This node's name: 1-32 of `a-z`, `0-9`, `-`.
    pub node_id: String,
    /// Where the other nodes reach this one (`http://10.0.0.2:8080`), no trailing `/`.
    pub internal_url: String,
    /// Shared by every node: requests one node forwards to another are signed with it.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("node_id", &self.node_id)
            .field("internal_url", &self.internal_url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

fn node_id_ok(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// `http://` or `https://`, a host, no path beyond `/`, no white space.
fn internal_url(v: &str) -> Option<String> {
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let ok = !host.is_empty()
        && !host.contains(['/', '?', '#', '@'])
        && !host.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| v.trim_end_matches('/').to_owned())
}

/// All three keys or none; a cluster needs the PostgreSQL store (`postgres`).
pub(super) fn validate(
    raw: RawCluster,
    postgres: bool,
) -> Result<Option<ClusterConfig>, ConfigError> {
    let invalid = |key, message: &str| ConfigError::Invalid {
        key,
        message: message.to_owned(),
    };
    let (node_id, url, secret_file) = match (raw.node_id, raw.internal_url, raw.secret_file) {
        (None, None, None) => return Ok(None),
        (Some(n), Some(u), Some(s)) => (n, u, s),
        (n, u, _) => {
            let key = if n.is_none() {
                "cluster.node_id"
            } else if u.is_none() {
                "cluster.internal_url"
            } else {
                "cluster.secret_file"
            };
            return Err(invalid(
                key,
                "a cluster node needs cluster.node_id, cluster.internal_url and cluster.secret_file",
            ));
        }
    };
    if !node_id_ok(&node_id) {
        return Err(invalid(
            "cluster.node_id",
            "expected 1 to 32 of a-z, 0-9 and -",
        ));
    }
    let internal_url = internal_url(&url).ok_or_else(|| {
        invalid(
            "cluster.internal_url",
            "expected http://HOST[:PORT] or https://HOST[:PORT], where the other nodes reach this one",
        )
    })?;
    if !postgres {
        return Err(invalid(
            "cluster.node_id",
            "a cluster's nodes share one PostgreSQL database: set database.url",
        ));
    }
    let bytes = std::fs::read(&secret_file).map_err(|e| {
        invalid(
            "cluster.secret_file",
            &format!("cannot read {}: {e}", secret_file.display()),
        )
    })?;
    let secret = bytes.trim_ascii();
    if secret.len() < SECRET_MIN_LEN {
        return Err(invalid(
            "cluster.secret_file",
            "the secret is shorter than 32 characters (make one with `openssl rand -hex 32`)",
        ));
    }
    Ok(Some(ClusterConfig {
        node_id,
        internal_url,
        secret: secret.to_vec(),
    }))
}
