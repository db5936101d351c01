//! The rows the store returns, the same whichever backend holds them.

use crate::domain::{
    CourtId, HearingId, HearingState, ParticipantId, ParticipantRole, StaffRole, UserId,
};

#[derive(Clone, Debug, serde::Serialize)]
pub struct CourtRow {
    pub id: CourtId,
    pub name: String,
}

/// Court names: 1 to 200 characters once trimmed, no control characters.
pub fn court_name_acceptable(name: &str) -> bool {
    let t = name.trim();
    !t.is_empty() && t.chars().count() <= 200 && !t.chars().any(char::is_control)
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GrantRow {
    pub id: String,
    pub hearing_id: HearingId,
    pub user_id: UserId,
    pub username: String,
    pub role: String,
    pub granted_by: UserId,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl GrantRow {
    pub fn active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Clone, Debug)]
pub struct NewHearing {
    pub case_ref: String,
    pub mla_ref: String,
    pub requesting_state: String,
    pub requested_state: String,
    pub scheduled_at: String,
    pub language: String,
    /// The request on record (#13 point 1): each central authority's name and
    /// reference, and the date of the request (`YYYY-MM-DD`). `None` for hearings
    /// scheduled before these existed.
    pub request: RequestDetails,
    /// A practice hearing: not evidence, nothing kept (docs/protocol.md, "Rehearsal").
    pub rehearsal: bool,
}

/// The mutual-assistance request's parties beyond the States (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestDetails {
    pub requesting_authority: Option<String>,
    pub requesting_reference: Option<String>,
    pub requested_authority: Option<String>,
    pub requested_reference: Option<String>,
    pub request_date: Option<String>,
}

#[derive(Clone, Debug)]
pub struct HearingRow {
    pub id: HearingId,
    pub fields: NewHearing,
    pub state: HearingState,
    pub created_by: UserId,
    /// The court the hearing belongs to (its creator's): only that court's judges and
    /// clerks act on it.
    pub court_id: CourtId,
    pub created_at: i64,
    pub opened_at: Option<i64>,
    pub closed_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct ParticipantRow {
    pub id: ParticipantId,
    pub hearing_id: HearingId,
    pub display_name: String,
    pub role: ParticipantRole,
    pub user_id: Option<UserId>,
    pub token_expires_at: Option<i64>,
    pub revoked: bool,
    pub has_token: bool,
    /// The browser key the invitation is bound to (raw Ed25519, base64url), once bound.
    pub device_key: Option<String>,
    /// The court refused admission; holds until the court admits or reissues the link.
    pub denied: bool,
    /// The language the participant's pages open in, chosen at invitation (one of the
    /// six UN languages); `None`: the hearing's.
    pub language: Option<String>,
}

#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub role: StaffRole,
    pub password_hash: String,
    /// The court the account belongs to: the only court whose hearings it acts on.
    pub court_id: CourtId,
}

/// A valid setup token's role and court.
#[derive(Clone, Debug)]
pub struct SetupGrant {
    pub role: StaffRole,
    pub court_id: CourtId,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf: String,
    pub expires_at: i64,
}

/// A media node of a cluster (PostgreSQL only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    pub id: String,
    /// Where the other nodes reach it (`cluster.internal_url`).
    pub internal_url: String,
    /// Hearings running on it, as its last heartbeat said.
    pub load: i64,
    /// Takes no new hearings.
    pub draining: bool,
    /// Its last heartbeat is recent enough.
    pub live: bool,
    /// Hearings placed on it and not closed.
    pub open_hearings: i64,
}

/// Where a hearing runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub node: NodeRow,
    /// Placed by this call (it had no node before).
    pub placed: bool,
    /// Moved off a dead node and not yet taken over by `node` (`cluster::failover`).
    pub moving: bool,
}

/// A hearing moved off a dead node ([`crate::store::Store::move_orphans`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub hearing: crate::domain::HearingId,
    /// The node whose heartbeat stopped.
    pub from: String,
    /// The live node that takes it over.
    pub to: String,
}
