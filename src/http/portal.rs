//! Retrieval: the court grants named prosecutor/defence accounts access to a sealed
//! hearing; they list and open their hearings, view recordings and download the
//! certified bundle. Every view and download is committed to the custody log before the
//! first byte is served; a download with no custody entry cannot happen.
//!
//! Files are only ever served by looking a name up in the sealed bundle's own file list
//! (never by joining a request path), and symlinks are refused.
//!
//! Cost per request stays bounded: custody entries go to the custody writer (group
//! commit, off the runtime; `crate::custody`), a file's `Range` requests share one
//! session entry, the summary's verification report is the one cached at seal
//! (`evidence::report_cache`), and every account has quotas ([`super::quota`]).

use super::AppState;
use super::access::hearing_for;
use super::auth::Staff;
use super::error::{ApiError, JsonBody};
use super::quota::{QuotaKind, Refusal};
use crate::custody::{Fact, SessionKey};
use crate::domain::{Action, HearingId, HearingState, StaffRole};
use crate::secrets::{new_id, now_unix};
use crate::store::{GrantRow, HearingRow};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

pub(super) fn bundle_dir(state: &AppState, id: &HearingId) -> PathBuf {
    state.paths.hearing(id).bundle()
}

/// A sealed file to serve: the local copy, or (when it is gone) its copy in object
/// storage (`crate::blobs`); with its length.
pub(super) enum SealedFile {
    Local(PathBuf, u64),
    Archived(PathBuf, u64),
}

impl SealedFile {
    pub(super) fn len(&self) -> u64 {
        match self {
            SealedFile::Local(_, n) | SealedFile::Archived(_, n) => *n,
        }
    }

    /// Finds `path` (a file of the data directory): a regular local file (a symlink is
    /// refused), else its archived copy; 404 when neither exists.
    pub(super) async fn find(state: &AppState, path: PathBuf) -> Result<SealedFile, ApiError> {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => Ok(SealedFile::Local(path, meta.len())),
            Ok(_) => Err(ApiError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match state.blobs.len(&path).await {
                    Ok(Some(len)) => Ok(SealedFile::Archived(path, len)),
                    Ok(None) => Err(ApiError::NotFound),
                    Err(e) => Err(ApiError::Internal(e.to_string())),
                }
            }
            Err(_) => Err(ApiError::NotFound),
        }
    }

    /// Bytes `start..start + count`, streamed; a file shorter than that ends the stream
    /// with an error (the response's Content-Length must not lie).
    pub(super) async fn stream(
        &self,
        state: &AppState,
        start: u64,
        count: u64,
    ) -> Result<crate::blobs::ByteStream, ApiError> {
        use futures_util::StreamExt as _;
        if count == 0 {
            return Ok(futures_util::stream::empty().boxed());
        }
        match self {
            SealedFile::Archived(path, _) => state
                .blobs
                .range(path, start, start + count - 1)
                .await
                .map_err(|e| ApiError::Internal(e.to_string())),
            SealedFile::Local(path, _) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut file = tokio::fs::File::open(path)
                    .await
                    .map_err(|_| ApiError::NotFound)?;
                file.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                let stream =
                    futures_util::stream::unfold((file, count), |(mut f, left)| async move {
                        if left == 0 {
                            return None;
                        }
                        let mut buf = vec![0u8; (left.min(256 * 1024)) as usize];
                        match f.read(&mut buf).await {
                            Ok(0) => Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "sealed file shorter than its length",
                                )),
                                (f, 0),
                            )),
                            Ok(n) => {
                                buf.truncate(n);
                                Some((Ok(bytes::Bytes::from(buf)), (f, left - n as u64)))
                            }
                            Err(e) => Some((Err(e), (f, 0))),
                        }
                    });
                Ok(stream.boxed())
            }
        }
    }
}

fn grant_json(g: &GrantRow) -> Value {
    json!({"id": g.id, "username": g.username, "role": g.role, "created_at": g.created_at, "expires_at": g.expires_at,
           "revoked_at": g.revoked_at, "active": g.active(now_unix())})
}

fn who(staff: &Staff) -> String {
    format!("{} ({})", staff.user.username, staff.user.role.as_str())
}

pub(super) fn who_of(staff: &Staff) -> String {
    who(staff)
}

/// Commits one custody fact: durable when this returns (before any response byte).
pub(super) async fn custody(
    state: &AppState,
    staff: &Staff,
    h: &HearingId,
    what: &str,
    result: &str,
) -> Result<(), ApiError> {
    state
        .custody
        .commit(Fact::new(&who(staff), h.as_str(), what, result))
        .await
        .map(|_| ())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The custody fact of a quota refusal (no fsync of its own).
pub(super) fn refusal_fact(staff: &Staff, h: &HearingId, r: Refusal, what: &str) -> Fact {
    Fact::new(
        &who(staff),
        h.as_str(),
        &format!("quota_exceeded ({}): {what}", r.kind.as_str()),
        "refused",
    )
}

/// Takes `n` of quota `kind`; over it, logs the refusal (first of its window) and
/// answers 429 `quota_exceeded`.
pub(super) async fn take_quota(
    state: &AppState,
    staff: &Staff,
    h: &HearingId,
    kind: QuotaKind,
    n: u64,
    what: &str,
) -> Result<(), ApiError> {
    let Err(r) = state.retrieval.quotas.take(staff.user.id.as_str(), kind, n) else {
        return Ok(());
    };
    tracing::info!(hearing = %h, quota = r.kind.as_str(), "retrieval over quota refused");
    if r.log {
        state
            .custody
            .note(refusal_fact(staff, h, r, what))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Err(ApiError::QuotaExceeded)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    username: String,
    #[serde(default)]
    expires_at: Option<String>,
}

/// `POST /api/hearings/:id/grants`
pub async fn grant(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<GrantBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::GrantRetrieval).await?;
    if h.fields.rehearsal {
        return Err(ApiError::Rehearsal);
    }
    let user = state
        .store
        .user_by_name(&b.username)
        .await?
        .ok_or_else(|| ApiError::BadRequest("no such account".into()))?;
    if !matches!(user.role, StaffRole::Prosecutor | StaffRole::Defence) {
        return Err(ApiError::BadRequest(
            "retrieval is granted to prosecutor and defence accounts".into(),
        ));
    }
    let expires_at = match b.expires_at.as_deref().filter(|s| !s.is_empty()) {
        Some(t) => Some(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::BadRequest("expires_at must be an RFC 3339 time".into()))?
                .unix_timestamp(),
        ),
        None => None,
    };
    let gid = new_id();
    custody(
        &state,
        &staff,
        &h.id,
        &format!("grant to {} ({})", user.username, user.role.as_str()),
        "granted",
    )
    .await?;
    state
        .store
        .create_grant(
            &gid,
            &h.id,
            &user.id,
            &staff.user.id,
            now_unix(),
            expires_at,
        )
        .await?;
    let g = state
        .store
        .grants_for_hearing(&h.id)
        .await?
        .into_iter()
        .find(|g| g.id == gid)
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(grant_json(&g))))
}

/// `GET /api/hearings/:id/grants`
pub async fn grants(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::GrantRetrieval).await?;
    let list: Vec<Value> = state
        .store
        .grants_for_hearing(&h.id)
        .await?
        .iter()
        .map(grant_json)
        .collect();
    let custody = custody_entries(&state, &h.id);
    Ok(Json(json!({"grants": list, "custody": custody})))
}

/// `POST /api/hearings/:id/grants/:gid/revoke`
pub async fn revoke_grant(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, gid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::GrantRetrieval).await?;
    let g = state
        .store
        .grants_for_hearing(&h.id)
        .await?
        .into_iter()
        .find(|g| g.id == gid)
        .ok_or(ApiError::NotFound)?;
    custody(
        &state,
        &staff,
        &h.id,
        &format!("revoke grant of {} ({})", g.username, g.role),
        "revoked",
    )
    .await?;
    state.store.revoke_grant(&h.id, &gid, now_unix()).await?;
    Ok(Json(json!({"revoked": gid})))
}

/// The custody entries about one hearing (for the court and the portal).
fn custody_entries(state: &AppState, h: &HearingId) -> Vec<Value> {
    let Ok(bytes) = std::fs::read(state.custody.dir().join("entries.jsonl")) else {
        return vec![];
    };
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|e| e["retrieved_hearing"] == h.as_str())
        .map(|e| json!({"seq": e["seq"], "time": e["time"], "user": e["user"], "what": e["what"], "result": e["result"]}))
        .collect()
}

/// A hearing the signed-in prosecutor/defence holds an active grant for, sealed.
pub(super) async fn granted(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<HearingRow, ApiError> {
    let h = hearing_for(state, staff, id, Action::RetrieveGranted).await?;
    if h.fields.rehearsal {
        return Err(ApiError::Rehearsal);
    }
    if h.state != HearingState::Closed || !bundle_dir(state, &h.id).join("manifest.json").is_file()
    {
        return Err(ApiError::Conflict("the record is not sealed yet".into()));
    }
    Ok(h)
}

fn manifest(state: &AppState, id: &HearingId) -> Result<Value, ApiError> {
    let bytes = std::fs::read(bundle_dir(state, id).join("manifest.json"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The bundle's fingerprint: SHA-256 of the sealed `manifest.json` (which the server key
/// signs and which lists every sealed file's SHA-256). Every export of the bundle carries
/// these exact bytes, so the fingerprint is the same for all of them.
pub(super) fn bundle_fingerprint(state: &AppState, id: &HearingId) -> Option<String> {
    let bytes = std::fs::read(bundle_dir(state, id).join("manifest.json")).ok()?;
    use sha2::Digest;
    Some(hex::encode(sha2::Sha256::digest(&bytes)))
}

/// `GET /api/portal/hearings`
pub async fn my_hearings(
    State(state): State<Arc<AppState>>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Action::RetrieveGranted)?;
    let now = now_unix();
    let mut out = vec![];
    for g in state
        .store
        .grants_for_user(&staff.user.id)
        .await?
        .into_iter()
        .filter(|g| g.active(now))
    {
        if let Some(h) = state
            .store
            .hearing(&g.hearing_id)
            .await?
            .filter(|h| !h.fields.rehearsal)
        {
            let sealed = bundle_dir(&state, &h.id).join("manifest.json").is_file();
            let interrupted =
                std::fs::read_to_string(bundle_dir(&state, &h.id).join("log/entries.jsonl"))
                    .is_ok_and(|t| t.contains("recovered_after_interruption"));
            out.push(json!({"id": h.id, "case_ref": h.fields.case_ref, "mla_ref": h.fields.mla_ref, "scheduled_at": h.fields.scheduled_at,
                            "state": h.state, "sealed": sealed, "interrupted": interrupted, "expires_at": g.expires_at}));
        }
    }
    Ok(Json(json!({"hearings": out})))
}

/// `GET /api/portal/hearings/:id`: summary, media list, fingerprint, verification report.
pub async fn open_hearing(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = granted(&state, &staff, &id).await?;
    take_quota(
        &state,
        &staff,
        &h.id,
        QuotaKind::Requests,
        1,
        "view summary",
    )
    .await?;
    custody(&state, &staff, &h.id, "view summary", "served").await?;
    let m = manifest(&state, &h.id)?;
    let dir = bundle_dir(&state, &h.id);
    // The server knows its own key: the portal's report is against it, pinned. It was
    // computed when the bundle was sealed; computed (and stored) here only if missing
    // or stale.
    let own = state.key.clone();
    let (report, (streams, quality)) = tokio::task::spawn_blocking(move || {
        let report = crate::evidence::report_cache::load_or_refresh(&dir, &own);
        (report, log_facts(&dir.join("log").join("entries.jsonl")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (report, computed) = report.map_err(|e| ApiError::Internal(e.to_string()))?;
    if computed {
        state.retrieval.report_computed();
    }
    let files: Vec<Value> = m["files"].as_array().cloned().unwrap_or_default();
    let media: Vec<Value> = files
        .iter()
        .filter(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("media/") || p.starts_with("derived/"))
        })
        .cloned()
        .collect();
    let participants: Vec<Value> = state
        .store
        .participants(&h.id)
        .await?
        .iter()
        .map(|p| json!({"id": p.id, "display_name": p.display_name, "role": p.role}))
        .collect();
    let mut hearing = json!({"id": h.id, "case_ref": h.fields.case_ref, "mla_ref": h.fields.mla_ref, "requesting_state": h.fields.requesting_state,
                    "requested_state": h.fields.requested_state, "scheduled_at": h.fields.scheduled_at, "language": h.fields.language});
    if let Some(obj) = hearing.as_object_mut() {
        for (k, v) in super::hearings::request_json(&h.fields) {
            obj.insert(k.into(), v);
        }
    }
    Ok(Json(json!({
        "hearing": hearing,
        "participants": participants,
        "media": media,
        "streams": streams,
        "link_quality": quality,
        "bundle_fingerprint": bundle_fingerprint(&state, &h.id),
        "server_key_fingerprint": state.key.fingerprint(),
        "report": report,
        "custody": custody_entries(&state, &h.id),
    })))
}

/// What the portal page needs from a sealed log: the exhibits and interpretation
/// channels, as it labels their recordings (`{stream, kind: "exhibit"|"interpretation",
/// number, participant, language?}` from each started entry), and whether it holds link
/// quality samples (then the page shows `quality.svg`). A log that cannot be read gives
/// neither.
fn log_facts(entries: &std::path::Path) -> (Vec<Value>, bool) {
    let Ok(bytes) = std::fs::read(entries) else {
        return (Vec::new(), false);
    };
    let values: Vec<Value> = bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .collect();
    let streams = values
        .iter()
        .filter(|v| {
            (v["type"] == "exhibit" || v["type"] == "interpretation") && v["started"] == true
        })
        .map(|v| {
            json!({"stream": v["stream"], "kind": v["type"], "number": v["number"],
                   "participant": v["participant"], "language": v["language"]})
        })
        .collect();
    let quality = values.iter().any(|v| v["type"] == "connection_quality");
    (streams, quality)
}

/// `GET /api/portal/hearings/:id/quality.svg`: each participant's link over the hearing
/// (the timeline of the minutes, in the hearing's language), drawn from the sealed log.
pub async fn quality(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let h = granted(&state, &staff, &id).await?;
    let log = bundle_dir(&state, &h.id).join("log/entries.jsonl");
    let language = h.fields.language.clone();
    let svg = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(log).ok()?;
        let entries: Vec<crate::verify::entry::Entry> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| crate::verify::entry::decode(l).ok())
            .collect();
        let words = crate::evidence::minutes_text::for_language(Some(&language)).quality_words();
        crate::evidence::quality_svg::timeline(&entries, &words)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .ok_or(ApiError::NotFound)?;
    take_quota(
        &state,
        &staff,
        &h.id,
        QuotaKind::Requests,
        1,
        "view link quality",
    )
    .await?;
    custody(&state, &staff, &h.id, "view link quality", "served").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        ],
        svg,
    )
        .into_response())
}

/// `GET /api/portal/hearings/:id/minutes`: the signed minutes (HTML) of the bundle.
pub async fn minutes(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let h = granted(&state, &staff, &id).await?;
    let path = bundle_dir(&state, &h.id).join("minutes/minutes.html");
    let html = std::fs::read(path).map_err(|_| ApiError::NotFound)?;
    take_quota(
        &state,
        &staff,
        &h.id,
        QuotaKind::Requests,
        1,
        "view minutes",
    )
    .await?;
    take_quota(
        &state,
        &staff,
        &h.id,
        QuotaKind::Bytes,
        html.len() as u64,
        "view minutes",
    )
    .await?;
    custody(&state, &staff, &h.id, "view minutes", "served").await?;
    // The minutes are shown as a document, never as an active page.
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        ],
        html,
    )
        .into_response())
}

/// `GET /api/portal/hearings/:id/files/*path`: one recording (media/ or derived/) to play.
pub async fn file(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let h = granted(&state, &staff, &id).await?;
    let m = manifest(&state, &h.id)?;
    // Only a name the sealed manifest lists, under media/ or derived/.
    let listed = m["files"]
        .as_array()
        .is_some_and(|fs| fs.iter().any(|f| f["path"].as_str() == Some(path.as_str())));
    if !listed || !(path.starts_with("media/") || path.starts_with("derived/")) {
        return Err(ApiError::NotFound);
    }
    let ct = if path.ends_with(".mp4") {
        "video/mp4"
    } else {
        "video/webm"
    };
    let full = bundle_dir(&state, &h.id).join(&path);
    serve_file(
        &state,
        &staff,
        &h.id,
        full,
        &format!("view {path}"),
        ct,
        &headers,
    )
    .await
}

pub(super) fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| ApiError::BadRequest("bad range".into()))?;
    let spec = v
        .strip_prefix("bytes=")
        .ok_or_else(|| ApiError::BadRequest("bad range".into()))?;
    if spec.contains(',') {
        return Err(ApiError::BadRequest("one range at a time".into()));
    }
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| ApiError::BadRequest("bad range".into()))?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix
                .parse()
                .map_err(|_| ApiError::BadRequest("bad range".into()))?;
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (s, "") => (
            s.parse()
                .map_err(|_| ApiError::BadRequest("bad range".into()))?,
            len.saturating_sub(1),
        ),
        (s, e) => (
            s.parse()
                .map_err(|_| ApiError::BadRequest("bad range".into()))?,
            e.parse::<u64>()
                .map_err(|_| ApiError::BadRequest("bad range".into()))?
                .min(len.saturating_sub(1)),
        ),
    };
    if len == 0 || start > end || start >= len {
        return Err(ApiError::RangeNotSatisfiable);
    }
    Ok(Some((start, end)))
}

async fn serve_file(
    state: &AppState,
    staff: &Staff,
    h: &HearingId,
    path: PathBuf,
    what: &str,
    ct: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let file = SealedFile::find(state, path).await?;
    let len = file.len();
    let range = parse_range(headers, len)?;
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    let count = if len == 0 { 0 } else { end - start + 1 };
    admit_bytes(state, staff, h, what, count).await?;
    // Durable before the first byte leaves (a range: its session's entry).
    log_served(state, staff, h, what, range).await?;
    let stream = file.stream(state, start, count).await?;
    ranged_response(Body::from_stream(stream), ct, range, len, None)
}

/// Quotas of one file request of `count` bytes.
pub(super) async fn admit_bytes(
    state: &AppState,
    staff: &Staff,
    h: &HearingId,
    what: &str,
    count: u64,
) -> Result<(), ApiError> {
    take_quota(state, staff, h, QuotaKind::Requests, 1, what).await?;
    take_quota(state, staff, h, QuotaKind::Bytes, count, what).await
}

/// Logs one file request: a whole file, its own durable entry; a range, the durable
/// opening entry of the account's session of that file (or the open session's).
pub(super) async fn log_served(
    state: &AppState,
    staff: &Staff,
    h: &HearingId,
    target: &str,
    range: Option<(u64, u64)>,
) -> Result<(), ApiError> {
    let internal = |e: crate::custody::CustodyError| ApiError::Internal(e.to_string());
    match range {
        None => {
            let fact = Fact::new(&who(staff), h.as_str(), target, "served");
            state.custody.commit(fact).await.map_err(internal)?;
        }
        Some(r) => {
            let key = SessionKey {
                account: staff.user.id.as_str().to_owned(),
                hearing: h.as_str().to_owned(),
                target: target.to_owned(),
            };
            state
                .custody
                .record_range(key, &who(staff), r)
                .await
                .map_err(internal)?;
        }
    }
    Ok(())
}

/// The response for bytes `range` (None: all) of a `len`-byte resource: 200 or 206 with
/// Content-Range, never cached, optionally a download file name.
pub(super) fn ranged_response(
    body: Body,
    content_type: &str,
    range: Option<(u64, u64)>,
    len: u64,
    download_name: Option<&str>,
) -> Result<Response, ApiError> {
    let header = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| ApiError::Internal("response header".into()))
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    let count = if len == 0 { 0 } else { end - start + 1 };
    let mut resp = Response::new(body);
    let hd = resp.headers_mut();
    hd.insert(header::CONTENT_TYPE, header(content_type)?);
    hd.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    hd.insert(header::CONTENT_LENGTH, count.into());
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(name) = download_name {
        hd.insert(
            header::CONTENT_DISPOSITION,
            header(&format!("attachment; filename=\"{name}\""))?,
        );
    }
    if range.is_some() {
        hd.insert(
            header::CONTENT_RANGE,
            header(&format!("bytes {start}-{end}/{len}"))?,
        );
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}
