//! The S3-compatible backend (`object_store`'s `AmazonS3`): path-style requests, every
//! request signed (with `x-amz-content-sha256`, which Garage requires), bodies checked
//! by the server (`x-amz-checksum-sha256`) and read back by us.

use super::{BlobError, ByteStream, Stored};
use crate::config::S3Settings;
use crate::paths::DataPaths;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _,
    PutMode, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// Files up to this size go in one PUT; larger ones in parts of this size.
const PART: usize = 8 << 20;
/// Parts in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// An S3 bucket (and key prefix) holding the data directory's sealed files.
pub struct S3Blobs {
    store: AmazonS3,
    /// Key prefix without surrounding `/` (may be empty).
    prefix: String,
    data: DataPaths,
    /// `s3://bucket/prefix`, for messages.
    label: String,
}

impl std::fmt::Debug for S3Blobs {
    // The client holds the secret key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs")
            .field("url", &self.label)
            .finish_non_exhaustive()
    }
}

impl S3Blobs {
    pub fn new(s: &S3Settings, data: DataPaths) -> Result<S3Blobs, BlobError> {
        let options = ClientOptions::new()
            .with_allow_http(
                s.endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            )
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120));
        let retry = RetryConfig {
            max_retries: 4,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(s.secret_access_key.expose())
            .with_checksum_algorithm(Checksum::SHA256)
            .with_disable_tagging(true)
            .with_retry(retry)
            .with_client_options(options);
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e);
        }
        let store = b.build().map_err(|e| BlobError::Settings(e.to_string()))?;
        Ok(S3Blobs {
            store,
            prefix: s.prefix.clone(),
            data,
            label: s.label(),
        })
    }

    /// `s3://bucket/prefix`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key (without the prefix) of a data directory path.
    pub(super) fn data_key(&self, path: &Path) -> Option<String> {
        self.data.key_of(path)
    }

    /// The object key of a data directory file.
    pub(super) fn key_of(&self, path: &Path) -> Result<ObjPath, BlobError> {
        let rel = self
            .data
            .key_of(path)
            .ok_or_else(|| BlobError::OutsideDataDir(path.to_path_buf()))?;
        self.full_key(&rel)
    }

    /// `prefix/rel`.
    pub(super) fn full_key(&self, rel: &str) -> Result<ObjPath, BlobError> {
        let full = if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        };
        ObjPath::parse(&full).map_err(|e| BlobError::Store {
            key: full,
            message: e.to_string(),
        })
    }

    /// Two requests: a HEAD of a key that need not exist (refused credentials come back
    /// typed: [`BlobError::Credentials`]), then a listing of the prefix (a missing
    /// bucket: [`BlobError::Settings`]).
    pub(super) async fn check(&self) -> Result<(), BlobError> {
        let probe = self.full_key("sworn-start-check")?;
        match self.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error(&probe, e)),
        }
        let prefix = (!self.prefix.is_empty())
            .then(|| ObjPath::parse(&self.prefix))
            .transpose()
            .map_err(|e| BlobError::Settings(e.to_string()))?;
        match self.store.list_with_delimiter(prefix.as_ref()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // object_store reports a failed listing as a generic error whose
                // status is only in its text.
                let text = e.to_string();
                if text.contains("NoSuchBucket") || text.contains("404 Not Found") {
                    Err(BlobError::Settings(format!(
                        "bucket of {} not found",
                        self.label
                    )))
                } else if text.contains("403 Forbidden") || text.contains("401 Unauthorized") {
                    Err(BlobError::Credentials {
                        key: self.label.clone(),
                    })
                } else {
                    Err(store_error(&probe, e))
                }
            }
        }
    }

    pub(super) async fn put_file(&self, path: &Path) -> Result<Stored, BlobError> {
        let key = self.key_of(path)?;
        let local = |source| BlobError::Local {
            path: path.to_path_buf(),
            source,
        };
        let len = tokio::fs::metadata(path).await.map_err(local)?.len();
        if let Some(existing) = self.len(&key).await? {
            let p = path.to_path_buf();
            let ours = tokio::task::spawn_blocking(move || sha256_file(&p))
                .await
                .map_err(|e| store_msg(&key, e))??;
            return self.same_or_conflict(&key, existing, len, ours).await;
        }
        let sent = if len as usize <= PART {
            let bytes = tokio::fs::read(path).await.map_err(local)?;
            let sha: [u8; 32] = Sha256::digest(&bytes).into();
            self.put_once(&key, bytes::Bytes::from(bytes), &sha).await?;
            sha
        } else {
            self.put_parts(&key, path).await?
        };
        self.verify(&key, &sent).await?;
        Ok(Stored::Uploaded)
    }

    pub(super) async fn put_bytes(
        &self,
        rel: &str,
        bytes: bytes::Bytes,
    ) -> Result<Stored, BlobError> {
        let key = self.full_key(rel)?;
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(existing) = self.len(&key).await? {
            return self
                .same_or_conflict(&key, existing, bytes.len() as u64, sha)
                .await;
        }
        self.put_once(&key, bytes, &sha).await?;
        self.verify(&key, &sha).await?;
        Ok(Stored::Uploaded)
    }

    /// An object is already at `key`: the same bytes (same length and SHA-256) are
    /// fine, anything else is a conflict.
    async fn same_or_conflict(
        &self,
        key: &ObjPath,
        existing_len: u64,
        len: u64,
        sha: [u8; 32],
    ) -> Result<Stored, BlobError> {
        if existing_len == len && self.sha256(key).await? == sha {
            Ok(Stored::AlreadyPresent)
        } else {
            Err(BlobError::Conflict {
                key: key.to_string(),
            })
        }
    }

    async fn put_once(
        &self,
        key: &ObjPath,
        bytes: bytes::Bytes,
        sha: &[u8; 32],
    ) -> Result<(), BlobError> {
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes: sha_attribute(sha),
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(key, PutPayload::from_bytes(bytes), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(BlobError::Conflict {
                key: key.to_string(),
            }),
            Err(e) => Err(store_error(key, e)),
        }
    }

    /// A multipart upload of the file at `path`; returns the SHA-256 of what was sent.
    async fn put_parts(&self, key: &ObjPath, path: &Path) -> Result<[u8; 32], BlobError> {
        use tokio::io::AsyncReadExt as _;
        let local = |source| BlobError::Local {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(local)?;
        let upload = self
            .store
            .put_multipart_opts(key, object_store::PutMultipartOptions::default())
            .await
            .map_err(|e| store_error(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(local(e));
                }
            };
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            writer.write(&buf[..n]);
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(store_error(key, e));
            }
        }
        writer.finish().await.map_err(|e| store_error(key, e))?;
        Ok(hasher.finalize().into())
    }

    /// Reads the object back and compares its SHA-256 with what was sent.
    async fn verify(&self, key: &ObjPath, sent: &[u8; 32]) -> Result<(), BlobError> {
        let found = self.sha256(key).await?;
        if &found == sent {
            Ok(())
        } else {
            Err(BlobError::Mismatch {
                key: key.to_string(),
                expected: hex::encode(sent),
                found: hex::encode(found),
            })
        }
    }

    pub(super) async fn sha256(&self, key: &ObjPath) -> Result<[u8; 32], BlobError> {
        let got = self.store.get(key).await.map_err(|e| store_error(key, e))?;
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        while let Some(part) = stream.next().await {
            hasher.update(&part.map_err(|e| store_error(key, e))?);
        }
        Ok(hasher.finalize().into())
    }

    /// The keys under `rel/` (relative to the data directory's root, like `rel`), with
    /// their sizes, in key order.
    pub(super) async fn list(&self, rel: &str) -> Result<Vec<(String, u64)>, BlobError> {
        let dir = self.full_key(rel)?;
        let skip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let mut out: Vec<(String, u64)> = self
            .store
            .list(Some(&dir))
            .map_err(|e| store_error(&dir, e))
            .map_ok(|m| {
                (
                    m.location.as_ref().get(skip..).unwrap_or("").to_owned(),
                    m.size,
                )
            })
            .try_collect()
            .await?;
        out.sort();
        Ok(out)
    }

    /// The whole object at `rel` (relative to the data directory's root).
    pub(super) async fn get(&self, rel: &str) -> Result<bytes::Bytes, BlobError> {
        let key = self.full_key(rel)?;
        let got = self
            .store
            .get(&key)
            .await
            .map_err(|e| store_error(&key, e))?;
        got.bytes().await.map_err(|e| store_error(&key, e))
    }

    /// The object at `rel` (relative to the data directory's root) streamed into the
    /// new file `dest`, synced; returns its length.
    pub(super) async fn get_to_file(&self, rel: &str, dest: &Path) -> Result<u64, BlobError> {
        use tokio::io::AsyncWriteExt as _;
        let key = self.full_key(rel)?;
        let local = |source| BlobError::Local {
            path: dest.to_path_buf(),
            source,
        };
        let got = self
            .store
            .get(&key)
            .await
            .map_err(|e| store_error(&key, e))?;
        let mut stream = got.into_stream();
        let mut out = tokio::fs::File::create(dest).await.map_err(local)?;
        let mut n = 0u64;
        while let Some(part) = stream.next().await {
            let part = part.map_err(|e| store_error(&key, e))?;
            out.write_all(&part).await.map_err(local)?;
            n += part.len() as u64;
        }
        out.sync_all().await.map_err(local)?;
        Ok(n)
    }

    /// Whether an object exists at `rel` (relative to the data directory's root).
    pub(super) async fn exists(&self, rel: &str) -> Result<bool, BlobError> {
        Ok(self.len(&self.full_key(rel)?).await?.is_some())
    }

    pub(super) async fn len(&self, key: &ObjPath) -> Result<Option<u64>, BlobError> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(key, e)),
        }
    }

    pub(super) async fn range(
        &self,
        key: &ObjPath,
        start: u64,
        end: u64,
    ) -> Result<ByteStream, BlobError> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..end.saturating_add(1))),
            ..GetOptions::default()
        };
        let got = self
            .store
            .get_opts(key, opts)
            .await
            .map_err(|e| store_error(key, e))?;
        // The server may answer a shorter body than asked (a range past the end): the
        // caller's Content-Length would then lie, so a short object is an error.
        if got.range != (start..end.saturating_add(1)) {
            return Err(BlobError::Store {
                key: key.to_string(),
                message: format!(
                    "asked bytes {start}-{end}, got {}-{}",
                    got.range.start, got.range.end
                ),
            });
        }
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }
}

/// `x-amz-meta-sha256`: the object's SHA-256, for anyone listing the bucket.
fn sha_attribute(sha: &[u8; 32]) -> Attributes {
    let mut a = Attributes::new();
    a.insert(
        Attribute::Metadata("sha256".into()),
        hex::encode(sha).into(),
    );
    a
}

fn store_msg(key: &ObjPath, e: impl std::fmt::Display) -> BlobError {
    BlobError::Store {
        key: key.to_string(),
        message: without_urls(&e.to_string()),
    }
}

/// `object_store` errors name the request's URL (the endpoint's address, the bucket):
/// replaced by `[url]`, so that no address reaches the logs.
fn without_urls(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                "[url]"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn store_error(key: &ObjPath, e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => BlobError::Credentials {
            key: key.to_string(),
        },
        object_store::Error::NotFound { .. } => BlobError::NotFound {
            key: key.to_string(),
        },
        e => store_msg(key, e),
    }
}

/// SHA-256 of a local file, streamed.
pub(super) fn sha256_file(path: &Path) -> Result<[u8; 32], BlobError> {
    let local = |source| BlobError::Local {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(local)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(local)?;
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_texts_lose_their_urls() {
        assert_eq!(
            super::without_urls(
                "Error performing GET http://127.0.0.1:3900/b?list-type=2 in 1ms - 403 Forbidden"
            ),
            "Error performing GET [url] in 1ms - 403 Forbidden"
        );
    }
}
