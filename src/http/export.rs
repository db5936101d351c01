//! Exports: every download of a sealed bundle is one export, the sealed zip plus the
//! custody extract about its hearing (docs/bundle-format.md §8). `GET …/bundle.zip`
//! commits an `export <id> of bundle <manifest sha256>` custody entry, builds the extract
//! and a zip tail (data/exports/<id>.tail + <id>.json), and answers 303 to
//! `…/exports/<id>.zip`, which serves the sealed zip's bytes up to its central directory
//! followed by the tail, with ranges, to the user who made it while the grant lasts.
//!
//! Reuse and retention: an account asking again for a hearing whose custody has not moved
//! on since its newest export (the custody epoch, `Custody::epoch`: nothing about the
//! hearing was logged since but `reused` entries of that export) is redirected to that export
//! (custody entry `export <id> of bundle <fp>`, result `reused`) instead of a new tail
//! file. A new export deletes the account's older exports of the hearing but the one
//! before it once they are `retrieval.export_grace_secs` old (a download may still be
//! running), and any export older than `retrieval.export_ttl_hours`; new exports count
//! against `retrieval.exports_per_hour`: the number of files stays bounded.
//!
//! It must never copy or write the sealed zip, serve a byte before its custody entry is
//! committed, or build a path from anything but a validated 128-bit export id.

use super::AppState;
use super::auth::Staff;
use super::error::ApiError;
use super::guard::{OriginRule, check_origin};
use super::portal::{
    SealedFile, admit_bytes, bundle_dir, bundle_fingerprint, granted, log_served, parse_range,
    ranged_response, refusal_fact, take_quota, who_of,
};
use super::quota::{QuotaKind, ReusableExport};
use crate::custody::Fact;
use crate::custody_extract::zip_tail;
use crate::secrets::{new_id, now_unix};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// A validated export id: 32 lowercase hex characters (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportId(String);

impl ExportId {
    /// Parses untrusted input; nothing else becomes a file name.
    pub fn parse(s: &str) -> Option<ExportId> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| ExportId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `data/exports/<id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportMeta {
    hearing: String,
    /// Account id of the user who made it (the only one it is served to).
    user: String,
    /// Bytes of the sealed zip the export starts with.
    base_len: u64,
    /// Length of the sealed zip when the export was made (it never changes).
    sealed_len: u64,
    /// Length of the tail file.
    tail_len: u64,
    /// SHA-256 of the sealed manifest.json.
    bundle_fingerprint: String,
    /// Unix seconds.
    created: i64,
    /// Custody seq of the entry that made it (orders one account's exports).
    #[serde(default)]
    seq: u64,
}

/// Exports an account keeps per hearing: the newest and the one before it.
const KEEP_PER_ACCOUNT: usize = 2;

fn exports_dir(state: &AppState) -> PathBuf {
    state.paths.exports()
}

/// Writes `bytes` under `path` atomically and durably (temporary name, fsync, rename,
/// fsync the directory).
fn write_durable(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Reads a regular file; a symlink (planted in the data directory) is refused.
fn read_regular(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    std::fs::read(path)
}

/// The bundle's evidence record as it stands now (`archive/evidence-record.ers` and its
/// `archive/tsa-NN.pem` chains, docs/bundle-format.md §14): an export carries it after
/// the sealed zip's entries, beside the custody extract; the sealed zip never holds it.
fn archive_files(
    dir: &std::path::Path,
) -> std::io::Result<Vec<crate::custody_extract::ExtractFile>> {
    use crate::verify::archive::{RECORD_PATH, chain_number};
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("archive")) else {
        return Ok(out);
    };
    for e in entries {
        let e = e?;
        let path = format!("archive/{}", e.file_name().to_string_lossy());
        if path == RECORD_PATH || chain_number(&path).is_some() {
            let bytes = read_regular(&e.path())?;
            out.push(crate::custody_extract::ExtractFile { path, bytes });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// `GET /api/portal/hearings/:id/bundle.zip`: makes an export and redirects to it. A
/// GET with a side effect (a custody entry): refused when another site asks
/// (`guard::check_origin`).
pub async fn create(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers, OriginRule::IfPresent)?;
    let h = granted(&state, &staff, &id).await?;
    take_quota(&state, &staff, &h.id, QuotaKind::Requests, 1, "export").await?;
    let st = state.clone();
    let hearing = h.id.clone();
    let eid = tokio::task::spawn_blocking(move || make_export(&st, &staff, &hearing))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut resp = Redirect::to(&format!(
        "/api/portal/hearings/{}/exports/{}.zip",
        h.id,
        eid.as_str()
    ))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The account's newest export of `h`, if the hearing's custody has not moved on since
/// it was made and its files are still there.
fn reusable(
    state: &AppState,
    staff: &Staff,
    h: &crate::domain::HearingId,
    fp: &str,
) -> Option<ReusableExport> {
    let key = (staff.user.id.as_str().to_owned(), h.as_str().to_owned());
    let prev = state.retrieval.exports.lock().ok()?.get(&key).cloned()?;
    let dir = exports_dir(state);
    let present = ["json", "tail"]
        .iter()
        .all(|x| dir.join(format!("{}.{x}", prev.id)).is_file());
    (prev.fingerprint == fp && state.custody.epoch(h.as_str()) == Some(prev.epoch) && present)
        .then_some(prev)
}

/// Reuses the account's up-to-date export, or commits a new export's custody entry, then
/// builds and stores its tail.
fn make_export(
    state: &AppState,
    staff: &Staff,
    h: &crate::domain::HearingId,
) -> Result<ExportId, ApiError> {
    let internal = |e: &dyn std::fmt::Display| ApiError::Internal(e.to_string());
    let fp = bundle_fingerprint(state, h).ok_or_else(|| internal(&"sealed manifest unreadable"))?;
    // The sealed zip here, or its archived copy (then its central directory is read
    // with a few ranged requests).
    let sealed = tokio::runtime::Handle::current()
        .block_on(SealedFile::find(state, state.paths.hearing(h).bundle_zip()))?;
    let sealed_len = sealed.len();
    let who = who_of(staff);
    if let Some(prev) = reusable(state, staff, h, &fp) {
        let eid = ExportId::parse(&prev.id).ok_or_else(|| internal(&"export id"))?;
        state
            .custody
            .commit_blocking(
                Fact::new(
                    &who,
                    h.as_str(),
                    &format!("export {} of bundle {fp}", prev.id),
                    "reused",
                )
                .about_export(&prev.id),
            )
            .map_err(|e| internal(&e))?;
        return Ok(eid);
    }
    if let Err(r) = state
        .retrieval
        .quotas
        .take(staff.user.id.as_str(), QuotaKind::Exports, 1)
    {
        tracing::info!(hearing = %h, "export over quota refused");
        if r.log {
            state
                .custody
                .note_blocking(refusal_fact(staff, h, r, "export"))
                .map_err(|e| internal(&e))?;
        }
        return Err(ApiError::QuotaExceeded);
    }
    let eid = ExportId::parse(&new_id()).ok_or_else(|| internal(&"export id"))?;
    let made = state
        .custody
        .commit_blocking(
            Fact::new(
                &who,
                h.as_str(),
                &format!("export {} of bundle {fp}", eid.as_str()),
                "created",
            )
            .about_export(eid.as_str()),
        )
        .map_err(|e| internal(&e))?;
    // The extract needs a signed checkpoint over this export's own entry.
    let cp = state
        .custody
        .checkpoint_blocking()
        .map_err(|e| internal(&e))?;
    state.custody.stamp_quick(&cp);
    // The evidence record as it stands now, then the custody extract.
    let mut files = archive_files(&bundle_dir(state, h)).map_err(|e| internal(&e))?;
    files.extend(
        state
            .custody
            .extract(h.as_str())
            .map_err(|e| internal(&e))?,
    );
    let created = now_unix();
    let tail = match &sealed {
        SealedFile::Local(path, _) => {
            let mut f = std::fs::File::open(path).map_err(|e| internal(&e))?;
            zip_tail::build_tail(&mut f, sealed_len, &files, created)
        }
        SealedFile::Archived(path, _) => {
            let mut r = state
                .blobs
                .reader(path, sealed_len)
                .map_err(|e| internal(&e))?;
            zip_tail::build_tail(&mut r, sealed_len, &files, created)
        }
    }
    .map_err(|e| internal(&e))?;
    let record = ExportMeta {
        hearing: h.as_str().to_owned(),
        user: staff.user.id.as_str().to_owned(),
        base_len: tail.base_len,
        sealed_len,
        tail_len: tail.bytes.len() as u64,
        bundle_fingerprint: fp.clone(),
        created,
        seq: made.seq,
    };
    let dir = exports_dir(state);
    std::fs::create_dir_all(&dir).map_err(|e| internal(&e))?;
    write_durable(&dir.join(format!("{}.tail", eid.as_str())), &tail.bytes)
        .map_err(|e| internal(&e))?;
    let json = serde_json::to_vec(&record).map_err(|e| internal(&e))?;
    write_durable(&dir.join(format!("{}.json", eid.as_str())), &json).map_err(|e| internal(&e))?;
    if let Ok(mut index) = state.retrieval.exports.lock() {
        index.insert(
            (record.user.clone(), record.hearing.clone()),
            ReusableExport {
                id: eid.as_str().to_owned(),
                epoch: made.epoch,
                fingerprint: fp,
            },
        );
    }
    let limits = &state.config.retrieval;
    let (ttl, grace) = (limits.export_ttl.as_secs(), limits.export_grace.as_secs());
    if let Err(e) = prune(&dir, &record, ttl, grace) {
        tracing::warn!(error = %e, "old exports not deleted");
    }
    Ok(eid)
}

/// Deletes exports older than `ttl_secs`, and `made`'s account's exports of its hearing
/// but the newest [`KEEP_PER_ACCOUNT`] once they are `grace_secs` old. The `.json` goes
/// first: an export without it is never served.
fn prune(
    dir: &std::path::Path,
    made: &ExportMeta,
    ttl_secs: u64,
    grace_secs: u64,
) -> std::io::Result<()> {
    let now = now_unix();
    let mut mine: Vec<(u64, i64, String)> = Vec::new();
    let mut expired: Vec<String> = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(ExportId::parse)
        else {
            continue;
        };
        let Ok(m) = read_regular(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ExportMeta>(&b).ok())
            .ok_or(())
        else {
            continue;
        };
        if now.saturating_sub(m.created) > i64::try_from(ttl_secs).unwrap_or(i64::MAX) {
            expired.push(id.as_str().to_owned());
        } else if m.user == made.user && m.hearing == made.hearing {
            mine.push((m.seq, m.created, id.as_str().to_owned()));
        }
    }
    mine.sort_unstable_by(|a, b| b.cmp(a));
    let grace = i64::try_from(grace_secs).unwrap_or(i64::MAX);
    expired.extend(
        mine.into_iter()
            .skip(KEEP_PER_ACCOUNT)
            .filter(|m| now.saturating_sub(m.1) >= grace)
            .map(|m| m.2),
    );
    for id in expired {
        std::fs::remove_file(dir.join(format!("{id}.json")))?;
        match std::fs::remove_file(dir.join(format!("{id}.tail"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// `GET /api/portal/hearings/:id/exports/:eid.zip`: one export, resumable with Range.
pub async fn serve(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let h = granted(&state, &staff, &id).await?;
    let eid = file
        .strip_suffix(".zip")
        .and_then(ExportId::parse)
        .ok_or_else(|| ApiError::BadRequest("bad export id".into()))?;
    let dir = exports_dir(&state);
    let meta_bytes = read_regular(&dir.join(format!("{}.json", eid.as_str())))
        .map_err(|_| ApiError::NotFound)?;
    let meta: ExportMeta =
        serde_json::from_slice(&meta_bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    if meta.user != staff.user.id.as_str() || meta.hearing != h.id.as_str() {
        tracing::info!(hearing = %h.id, "export of another user or hearing refused");
        return Err(ApiError::NotFound);
    }
    let sealed = SealedFile::find(&state, state.paths.hearing(&h.id).bundle_zip()).await?;
    if sealed.len() != meta.sealed_len {
        return Err(ApiError::Internal("sealed bundle zip changed".into()));
    }
    let tail = read_regular(&dir.join(format!("{}.tail", eid.as_str())))
        .map_err(|_| ApiError::NotFound)?;
    if tail.len() as u64 != meta.tail_len || meta.base_len > meta.sealed_len {
        return Err(ApiError::Internal("export tail inconsistent".into()));
    }
    let len = meta.base_len + meta.tail_len;
    if len == 0 {
        return Err(ApiError::Internal("empty export".into()));
    }
    let range = parse_range(&headers, len)?;
    let what = format!("download export {}", eid.as_str());
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    admit_bytes(&state, &staff, &h.id, &what, end - start + 1).await?;
    // Durable before the first byte leaves (a range: its session's entry).
    // Not tagged with the export: a download moves the hearing's custody on, so the
    // next export is a new one that lists it.
    log_served(&state, &staff, &h.id, &what, range).await?;
    let body = concat_body(&state, &sealed, meta.base_len, tail, start, end).await?;
    let name = format!("sworn-bundle-{}.zip", h.id);
    ranged_response(body, "application/zip", range, len, Some(&name))
}

/// Bytes `start..=end` of `sealed[..base_len] ++ tail`, streamed (the sealed zip from
/// disk, or from object storage when the local copy is gone).
async fn concat_body(
    state: &AppState,
    sealed: &SealedFile,
    base_len: u64,
    tail: Vec<u8>,
    start: u64,
    end: u64,
) -> Result<Body, ApiError> {
    use futures_util::StreamExt as _;
    let file_count = if start < base_len {
        end.min(base_len - 1) - start + 1
    } else {
        0
    };
    let head = sealed.stream(state, start, file_count).await?;
    let tail_part = if end >= base_len {
        let from = usize::try_from(start.max(base_len) - base_len)
            .map_err(|_| ApiError::RangeNotSatisfiable)?;
        let to = usize::try_from(end - base_len + 1).map_err(|_| ApiError::RangeNotSatisfiable)?;
        tail.get(from..to)
            .map(bytes::Bytes::copy_from_slice)
            .ok_or(ApiError::RangeNotSatisfiable)?
    } else {
        bytes::Bytes::new()
    };
    let rest = futures_util::stream::iter(
        (!tail_part.is_empty()).then_some(Ok::<_, std::io::Error>(tail_part)),
    );
    Ok(Body::from_stream(head.chain(rest)))
}

#[cfg(test)]
mod tests {
    use super::ExportId;

    #[test]
    fn export_ids_are_strict() {
        assert!(ExportId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in [
            "",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789abcdef",
            "../../../../keys/server.key......",
            "0123456789abcdef0123456789abcde/",
            "0123456789abcdef0123456789abcd%2",
        ] {
            assert!(ExportId::parse(bad).is_none(), "{bad}");
        }
    }
}
