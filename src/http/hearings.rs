//! Hearing API for the court (judge, clerk): schedule, list, participants and invite
//! links, moderation, open and close. Only the account's own court's hearings: every
//! handler gets its hearing from [`super::access::hearing_for`].

use super::AppState;
use super::access::{hearing_for, reload};
use super::auth::Staff;
use super::error::{ApiError, JsonBody};
use crate::domain::{Action, HearingId, HearingState, ParticipantId, ParticipantRole};
use crate::hearing::protocol::ModAction;
use crate::hearing::{LiveStatus, Moderator};
use crate::secrets::{hash_token, new_id, new_token, now_unix};
use crate::store::{HearingRow, NewHearing, ParticipantRow, RequestDetails};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

fn ts(t: Option<i64>) -> Value {
    match t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()) {
        Some(dt) => dt
            .format(&time::format_description::well_known::Rfc3339)
            .map(Value::String)
            .unwrap_or(Value::Null),
        None => Value::Null,
    }
}

pub(crate) fn participant_json(p: &ParticipantRow, live: Option<&LiveStatus>) -> Value {
    let invite_state = if p.revoked {
        "revoked"
    } else if p.token_expires_at.is_some_and(|e| e <= now_unix()) {
        "expired"
    } else if p.has_token {
        "active"
    } else {
        "none"
    };
    json!({
        "id": p.id,
        "display_name": p.display_name,
        "role": p.role,
        "language": p.language,
        "invite_state": invite_state,
        "presence": live.map(|l| l.presence).unwrap_or(crate::domain::Presence::Absent),
        "connection": live.map(|l| l.connection).unwrap_or(crate::domain::ConnectionState::None),
        "audio_muted": live.is_some_and(|l| l.audio_muted),
        "video_muted": live.is_some_and(|l| l.video_muted),
        "muted_by_court": live.is_some_and(|l| l.muted_by_court),
    })
}

fn hearing_json(h: &HearingRow, participants: Option<Vec<Value>>) -> Value {
    let mut v = json!({
        "id": h.id,
        "case_ref": h.fields.case_ref,
        "mla_ref": h.fields.mla_ref,
        "requesting_state": h.fields.requesting_state,
        "requested_state": h.fields.requested_state,
        "scheduled_at": h.fields.scheduled_at,
        "language": h.fields.language,
        "state": h.state,
        "rehearsal": h.fields.rehearsal,
        "created_at": ts(Some(h.created_at)),
        "opened_at": ts(h.opened_at),
        "closed_at": ts(h.closed_at),
    });
    if let Some(obj) = v.as_object_mut() {
        for (k, x) in request_json(&h.fields) {
            obj.insert(k.into(), x);
        }
        if let Some(p) = participants {
            obj.insert("participants".into(), Value::Array(p));
        }
    }
    v
}

/// The request on record as pages show it: each State's English name (null for a
/// free-text State of an older hearing: show the text), the authorities, the date.
pub(crate) fn request_json(f: &NewHearing) -> [(&'static str, Value); 7] {
    let name = |s: &str| crate::domain::countries::name(s).map_or(Value::Null, Value::from);
    let r = &f.request;
    [
        ("requesting_state_name", name(&f.requesting_state)),
        ("requested_state_name", name(&f.requested_state)),
        ("requesting_authority", json!(r.requesting_authority)),
        ("requesting_reference", json!(r.requesting_reference)),
        ("requested_authority", json!(r.requested_authority)),
        ("requested_reference", json!(r.requested_reference)),
        ("request_date", json!(r.request_date)),
    ]
}

fn text_field(name: &str, v: &str, max: usize) -> Result<String, ApiError> {
    crate::domain::text::clean_text(v, max).map_err(|e| ApiError::BadRequest(format!("{name} {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHearingBody {
    case_ref: String,
    mla_ref: String,
    requesting_state: String,
    requested_state: String,
    scheduled_at: String,
    language: String,
    #[serde(default)]
    requesting_authority: Option<String>,
    #[serde(default)]
    requesting_reference: Option<String>,
    #[serde(default)]
    requested_authority: Option<String>,
    #[serde(default)]
    requested_reference: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    request_date: Option<String>,
    /// A practice hearing (not evidence, nothing kept).
    #[serde(default)]
    rehearsal: bool,
}

/// An optional text field: absent or blank is `None`.
fn opt_text(name: &str, v: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text_field(name, t, max).map(Some),
    }
}

fn state_code(field: &'static str, v: &str) -> Result<String, ApiError> {
    crate::domain::countries::parse_code(v)
        .map(str::to_string)
        .ok_or(ApiError::UnknownCountry(field))
}

fn request_date(v: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(v, &fmt) {
        Ok(d) if v.len() == 10 => {
            Ok(Some(d.format(&fmt).map_err(|_| {
                ApiError::BadRequest("request_date is out of range".into())
            })?))
        }
        _ => Err(ApiError::BadRequest(
            "request_date must be a date such as 2026-11-30".into(),
        )),
    }
}

fn validate_hearing(b: NewHearingBody) -> Result<NewHearing, ApiError> {
    let scheduled = b.scheduled_at.trim();
    let parsed =
        time::OffsetDateTime::parse(scheduled, &time::format_description::well_known::Rfc3339)
            .or_else(|_| {
                time::OffsetDateTime::parse(
                    &format!("{scheduled}:00Z"),
                    &time::format_description::well_known::Rfc3339,
                )
            })
            .map_err(|_| ApiError::BadRequest("scheduled_at must be an RFC 3339 time".into()))?;
    let lang = b.language.trim();
    let lang_ok = (2..=12).contains(&lang.len())
        && lang.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
    if !lang_ok {
        return Err(ApiError::BadRequest(
            "language must be a language tag such as en or fr".into(),
        ));
    }
    Ok(NewHearing {
        case_ref: text_field("case_ref", &b.case_ref, 200)?,
        mla_ref: text_field("mla_ref", &b.mla_ref, 200)?,
        requesting_state: state_code("requesting_state", &b.requesting_state)?,
        requested_state: state_code("requested_state", &b.requested_state)?,
        scheduled_at: parsed
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::BadRequest("scheduled_at is out of range".into()))?,
        language: lang.to_ascii_lowercase(),
        request: RequestDetails {
            requesting_authority: opt_text(
                "requesting_authority",
                b.requesting_authority.as_deref(),
                200,
            )?,
            requesting_reference: opt_text(
                "requesting_reference",
                b.requesting_reference.as_deref(),
                200,
            )?,
            requested_authority: opt_text(
                "requested_authority",
                b.requested_authority.as_deref(),
                200,
            )?,
            requested_reference: opt_text(
                "requested_reference",
                b.requested_reference.as_deref(),
                200,
            )?,
            request_date: request_date(b.request_date.as_deref())?,
        },
        rehearsal: b.rehearsal,
    })
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    JsonBody(body): JsonBody<NewHearingBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    staff.require(Action::ScheduleHearing)?;
    let fields = validate_hearing(body)?;
    let id = HearingId::from_trusted(new_id());
    state
        .store
        .create_hearing(&id, &fields, &staff.user.id, now_unix())
        .await?;
    let h = state.store.hearing(&id).await?.ok_or(ApiError::NotFound)?;
    tracing::info!(hearing = %id, rehearsal = fields.rehearsal, "hearing scheduled");
    Ok((StatusCode::CREATED, Json(hearing_json(&h, Some(vec![])))))
}

/// `GET /api/countries`: the ISO 3166-1 table the schedule form offers (public data).
pub async fn countries() -> Json<Value> {
    let all: Vec<Value> = crate::domain::countries::COUNTRIES
        .iter()
        .map(|(code, name)| json!({"code": code, "name": name}))
        .collect();
    Json(json!({"countries": all}))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Action::ViewHearings)?;
    // On a cluster, the node each placed hearing runs on (every node lists them all).
    let nodes: HashMap<HearingId, String> = match &state.cluster {
        Some(_) => state
            .store
            .hearing_nodes(&staff.user.court_id)
            .await?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    };
    let all: Vec<Value> = state
        .store
        .list_court_hearings(&staff.user.court_id)
        .await?
        .iter()
        .map(|h| {
            let mut v = hearing_json(h, None);
            if let (Some(obj), Some(node)) = (v.as_object_mut(), nodes.get(&h.id)) {
                obj.insert("node".into(), json!(node));
            }
            v
        })
        .collect();
    Ok(Json(json!({"hearings": all})))
}

async fn live_status(state: &AppState, id: &HearingId) -> HashMap<ParticipantId, LiveStatus> {
    match state.hearings.running(id) {
        Some(h) => h.status().await.unwrap_or_default(),
        None => HashMap::new(),
    }
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::ViewHearings).await?;
    let live = live_status(&state, &h.id).await;
    let ps = state
        .store
        .participants(&h.id)
        .await?
        .iter()
        .map(|p| participant_json(p, live.get(&p.id)))
        .collect();
    let mut v = hearing_json(&h, Some(ps));
    let seal = match state.hearings.running(&h.id) {
        Some(live) => live.seal_status().await.ok(),
        None => None,
    };
    let files = state.paths.hearing(&h.id);
    // The zip may have been removed locally once archived (`crate::blobs`).
    let sealed = files.bundle_zip().is_file() || files.manifest().is_file();
    if let Some(obj) = v.as_object_mut() {
        let record = match seal {
            Some(s) if !sealed => json!({"stage": s.stage, "progress": s.progress}),
            _ if sealed => json!({"stage": "sealed", "progress": 1.0}),
            _ if h.fields.rehearsal && h.state == HearingState::Closed => {
                json!({"stage": "discarded", "progress": 1.0})
            }
            _ => json!({"stage": h.state.as_str(), "progress": 0.0}),
        };
        obj.insert("record".into(), record);
    }
    Ok(Json(v))
}

/// The hearing for `action`; an account without it (a clerk) may still take it on a
/// rehearsal, with [`Action::RunRehearsal`]. The role check still comes first: an
/// account with neither right is refused before the hearing is looked up.
pub(crate) async fn hearing_or_rehearsal(
    state: &AppState,
    staff: &Staff,
    id: &str,
    action: Action,
) -> Result<HearingRow, ApiError> {
    if staff.allows(action) {
        return hearing_for(state, staff, id, action).await;
    }
    let h = hearing_for(state, staff, id, Action::RunRehearsal).await?;
    if h.fields.rehearsal {
        Ok(h)
    } else {
        staff.require(action).map(|()| h)
    }
}

async fn transition(
    state: &Arc<AppState>,
    staff: &Staff,
    id: &str,
    to: HearingState,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_or_rehearsal(state, staff, id, Action::OpenCloseHearing).await?;
    if !state.store.set_hearing_state(&h.id, to, now_unix()).await? {
        return Err(ApiError::Conflict(format!(
            "the hearing cannot go from {} to {}",
            h.state.as_str(),
            to.as_str()
        )));
    }
    state.hearings.handle(&h.id).state_changed(to).await;
    tracing::info!(hearing = %h.id, state = to.as_str(), "hearing state changed");
    let h = reload(state, &h).await?;
    Ok(Json(hearing_json(&h, None)))
}

pub async fn open(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &staff, &id, HearingState::Open).await
}

pub async fn close(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    transition(&state, &staff, &id, HearingState::Closed).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParticipantBody {
    display_name: String,
    role: String,
    /// The language their pages open in (one of the six UN languages); absent or empty:
    /// the hearing's.
    #[serde(default)]
    language: Option<String>,
}

fn invite_url(state: &AppState, token: &str) -> String {
    format!("{}/join/{}", state.config.public_url, token)
}

pub async fn add_participant(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewParticipantBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::ManageParticipants).await?;
    if h.state == HearingState::Closed {
        return Err(ApiError::Conflict("the hearing has ended".into()));
    }
    let role: ParticipantRole = body
        .role
        .parse()
        .map_err(|_| ApiError::BadRequest("unknown role".into()))?;
    if role == ParticipantRole::Judge {
        return Err(ApiError::BadRequest(
            "the presiding judge joins from the console, not by link".into(),
        ));
    }
    let name = text_field("display_name", &body.display_name, 100)?;
    let language = match body.language.as_deref().filter(|l| !l.is_empty()) {
        Some(l) if crate::hearing::rights_text::LANGUAGES.contains(&l) => Some(l),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "language must be one of ar, en, es, fr, ru, zh".into(),
            ));
        }
        None => None,
    };
    let token = new_token();
    let pid = ParticipantId::from_trusted(new_id());
    let expires = now_unix() + state.config.invite_ttl.as_secs() as i64;
    state
        .store
        .create_participant(
            &pid,
            &h.id,
            &name,
            role,
            None,
            Some(&hash_token(&token)),
            Some(expires),
            now_unix(),
        )
        .await?;
    if language.is_some() {
        state.store.set_participant_language(&pid, language).await?;
    }
    let p = state
        .store
        .participant(&pid)
        .await?
        .ok_or(ApiError::NotFound)?;
    if let Some(live) = state.hearings.running(&h.id) {
        live.invited(p.clone()).await;
    }
    tracing::info!(hearing = %h.id, participant = %pid, role = role.as_str(), "participant invited");
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"participant": participant_json(&p, None), "invite_url": invite_url(&state, &token)}),
        ),
    ))
}

async fn load_participant(
    state: &AppState,
    h: &HearingRow,
    pid: &str,
) -> Result<ParticipantRow, ApiError> {
    let pid = ParticipantId::parse(pid).ok_or(ApiError::NotFound)?;
    let p = state
        .store
        .participant(&pid)
        .await?
        .ok_or(ApiError::NotFound)?;
    if p.hearing_id != h.id {
        return Err(ApiError::NotFound);
    }
    Ok(p)
}

pub async fn reissue(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, pid)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::ManageParticipants).await?;
    let p = load_participant(&state, &h, &pid).await?;
    if p.user_id.is_some() {
        return Err(ApiError::BadRequest(
            "this participant joins from the console".into(),
        ));
    }
    let token = new_token();
    let expires = now_unix() + state.config.invite_ttl.as_secs() as i64;
    state
        .store
        .reissue_invite(&p.id, &hash_token(&token), expires)
        .await?;
    if let Some(live) = state.hearings.running(&h.id) {
        live.revoked(p.id.clone()).await;
    }
    let p = state
        .store
        .participant(&p.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"participant": participant_json(&p, None), "invite_url": invite_url(&state, &token)}),
        ),
    ))
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_for(&state, &staff, &id, Action::ManageParticipants).await?;
    let p = load_participant(&state, &h, &pid).await?;
    state.store.revoke_invite(&p.id).await?;
    if let Some(live) = state.hearings.running(&h.id) {
        live.revoked(p.id.clone()).await;
    }
    tracing::info!(hearing = %h.id, participant = %p.id, "invite revoked");
    let p = state
        .store
        .participant(&p.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(participant_json(&p, None)))
}

pub async fn moderate(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path((id, pid, action)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let h = hearing_or_rehearsal(&state, &staff, &id, Action::ConductHearing).await?;
    let action = match action.as_str() {
        "admit" => ModAction::Admit,
        "deny" => ModAction::Deny,
        "mute" => ModAction::Mute,
        "unmute" => ModAction::Unmute,
        "remove" => ModAction::Remove,
        "approve-device" => ModAction::ApproveDevice,
        "refuse-device" => ModAction::RefuseDevice,
        _ => return Err(ApiError::NotFound),
    };
    let p = load_participant(&state, &h, &pid).await?;
    state
        .hearings
        .handle(&h.id)
        .moderate(Moderator::Court, action, p.id.clone())
        .await?;
    let live = live_status(&state, &h.id).await;
    let p = state
        .store
        .participant(&p.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(participant_json(&p, live.get(&p.id))))
}
