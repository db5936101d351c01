//! `[storage]`: where sealed files are archived (`crate::blobs`). Absent: the data
//! directory only. `url = "s3://bucket/prefix"`: an S3-compatible bucket, with
//! `endpoint` (any S3-compatible server: Garage, MinIO, Ceph…; default AWS), `region`,
//! `access_key_id` and `secret_access_key_file` (read at start, never printed).

use super::ConfigError;
use serde::Deserialize;
use std::path::PathBuf;

/// `[storage]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub url: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key_file: Option<PathBuf>,
}

/// Where sealed files are archived, validated.
#[derive(Debug, Clone, Default)]
pub enum StorageConfig {
    /// The data directory only (the default).
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3(S3Settings),
}

/// An S3-compatible bucket and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix, no leading or trailing `/` (may be empty).
    pub prefix: String,
    /// `http(s)://host[:port]` of the S3 API; `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl S3Settings {
    /// `s3://bucket/prefix`, for messages (no credential).
    pub fn label(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Settings from `s3://bucket[/prefix]` and the rest; what `[storage]` validates.
    pub fn parse(
        url: &str,
        endpoint: Option<String>,
        region: Option<String>,
        access_key_id: String,
        secret_access_key: SecretString,
    ) -> Result<S3Settings, ConfigError> {
        let invalid = |key, message: &str| ConfigError::Invalid {
            key,
            message: message.to_owned(),
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            invalid(
                "storage.url",
                "must be s3://BUCKET[/PREFIX] (leave [storage] out to keep files in data_dir only)",
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(invalid(
                "storage.url",
                "the bucket name must be 3-63 lower-case letters, digits, '-' or '.'",
            ));
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.split('/').all(|p| {
            prefix.is_empty()
                || (!p.is_empty()
                    && p != "."
                    && p != ".."
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        });
        if !prefix_ok {
            return Err(invalid(
                "storage.url",
                "the prefix may hold letters, digits, '-', '_', '.' and '/' between names",
            ));
        }
        let endpoint = endpoint
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty());
        // The scheme in lower case (later checks compare it as such).
        let endpoint = match endpoint {
            None => None,
            Some(e) => {
                let lower = e.to_ascii_lowercase();
                let scheme = ["http://", "https://"]
                    .into_iter()
                    .find(|p| lower.starts_with(p))
                    .ok_or_else(|| {
                        invalid("storage.endpoint", "must start with http:// or https://")
                    })?;
                Some(format!(
                    "{scheme}{}",
                    e.get(scheme.len()..).unwrap_or_default()
                ))
            }
        };
        if access_key_id.trim().is_empty() {
            return Err(invalid(
                "storage.access_key_id",
                "is required with storage.url",
            ));
        }
        Ok(S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint,
            region: region
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: access_key_id.trim().to_owned(),
            secret_access_key,
        })
    }

    /// Plain HTTP to an endpoint that is not on this machine (objects and signed
    /// requests in clear): a warning at start.
    pub fn plain_http_warning(&self) -> Option<String> {
        let e = self.endpoint.as_deref()?;
        let host = e.strip_prefix("http://")?;
        let local = ["localhost:", "127.", "[::1]:"]
            .iter()
            .any(|l| host.starts_with(l))
            || host == "localhost";
        (!local).then(|| {
            "storage.endpoint is plain http:// off this machine: archived evidence crosses the network in clear".to_owned()
        })
    }
}

/// A secret that prints as `[redacted]`.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> SecretString {
        SecretString(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `SWORN_STORAGE_*` over `[storage]`.
pub(super) fn apply_env(raw: &mut RawStorage, env: &dyn Fn(&str) -> Option<String>) {
    if let Some(v) = env("SWORN_STORAGE_URL") {
        raw.url = Some(v);
    }
    if let Some(v) = env("SWORN_STORAGE_ENDPOINT") {
        raw.endpoint = Some(v);
    }
    if let Some(v) = env("SWORN_STORAGE_REGION") {
        raw.region = Some(v);
    }
    if let Some(v) = env("SWORN_STORAGE_ACCESS_KEY_ID") {
        raw.access_key_id = Some(v);
    }
    if let Some(v) = env("SWORN_STORAGE_SECRET_ACCESS_KEY_FILE") {
        raw.secret_access_key_file = Some(v.into());
    }
}

pub(super) fn validate(raw: RawStorage) -> Result<StorageConfig, ConfigError> {
    let Some(url) = raw
        .url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
    else {
        let stray = [
            ("storage.endpoint", raw.endpoint.is_some()),
            ("storage.region", raw.region.is_some()),
            ("storage.access_key_id", raw.access_key_id.is_some()),
            (
                "storage.secret_access_key_file",
                raw.secret_access_key_file.is_some(),
            ),
        ];
        if let Some((key, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(ConfigError::Invalid {
                key,
                message: "is set but storage.url is not".into(),
            });
        }
        return Ok(StorageConfig::Local);
    };
    let file = raw
        .secret_access_key_file
        .ok_or_else(|| ConfigError::Invalid {
            key: "storage.secret_access_key_file",
            message: "is required with storage.url (a file holding the secret key)".into(),
        })?;
    // The error names the file, never its content.
    let secret = std::fs::read_to_string(&file).map_err(|e| ConfigError::Invalid {
        key: "storage.secret_access_key_file",
        message: format!("cannot read {}: {e}", file.display()),
    })?;
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(ConfigError::Invalid {
            key: "storage.secret_access_key_file",
            message: format!("{} is empty", file.display()),
        });
    }
    let settings = S3Settings::parse(
        &url,
        raw.endpoint,
        raw.region,
        raw.access_key_id.unwrap_or_default(),
        SecretString::new(secret),
    )?;
    Ok(StorageConfig::S3(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(url: &str) -> Result<S3Settings, ConfigError> {
        S3Settings::parse(
            url,
            Some("HTTP://127.0.0.1:3900/".into()),
            None,
            "GK123".into(),
            SecretString::new("very secret".into()),
        )
    }

    #[test]
    fn urls_name_a_bucket_and_a_clean_prefix() {
        let Ok(s) = s3("s3://sworn-evidence/court/paris/") else {
            panic!("valid");
        };
        assert_eq!(
            (s.bucket.as_str(), s.prefix.as_str()),
            ("sworn-evidence", "court/paris")
        );
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.label(), "s3://sworn-evidence/court/paris");
        assert!(s.plain_http_warning().is_none());
        for bad in [
            "sworn-evidence",
            "file:///srv",
            "s3://",
            "s3://A_B",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a b",
        ] {
            assert!(s3(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_never_prints() {
        let Ok(s) = s3("s3://bucket") else {
            panic!("valid");
        };
        let shown = format!("{s:?} {:?}", StorageConfig::S3(s.clone()));
        assert!(!shown.contains("very secret"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
