//! The one declarative policy table: what each role may do. Default deny: an action
//! absent from a role's row is refused.
//!
//! Two kinds of subjects: a participant in a live hearing (acting by invite link or as
//! the presiding judge's console), and a signed-in staff account (acting on the API).

use super::role::{ParticipantRole, StaffRole};
use serde::Serialize;

/// Everything that can be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    // --- in a live hearing (participant roles) ---
    PublishAudio,
    PublishVideo,
    /// Receive the other participants' media.
    Subscribe,
    Admit,
    Deny,
    Mute,
    Remove,
    /// Attest the witness's identity (requested-State official).
    AttestIdentity,
    /// Confirm an identity attestation (presiding judge).
    ConfirmIdentity,
    /// Administer the oath (presiding judge).
    AdministerOath,
    /// Take the oath / affirmation.
    TakeOath,
    MarkEvent,
    /// Sign the minutes (presiding judge).
    SignMinutes,
    /// Read the witness their rights (presiding judge).
    ExplainRights,
    /// Claim a privilege to refuse to testify (the witness, their counsel).
    ClaimPrivilege,
    /// Object (prosecution, defence).
    Object,
    /// Rule on a claimed privilege or an objection (presiding judge).
    Rule,
    /// Show an exhibit: share a screen or a window, forwarded and recorded as its own
    /// track (the court, prosecution, defence, the witness's counsel).
    ShowExhibit,
    /// Publish an interpretation channel: interpreted audio in one language, on a second
    /// send-only connection, forwarded to everyone and recorded as its own stream.
    Interpret,
    // --- staff API ---
    ScheduleHearing,
    ViewHearings,
    ManageParticipants,
    OpenCloseHearing,
    ConductHearing,
    SealHearing,
    GrantRetrieval,
    /// The portal of a hearing the account holds an active grant for:
    /// `GET /api/portal/hearings[/:id[/minutes|/files/*|/bundle.zip|/exports/:eid.zip]]`
    /// (an export is further served only to the account that made it).
    RetrieveGranted,
    ManageUsers,
    /// Open, conduct (admit, mute, remove…) and close a rehearsal: a practice hearing
    /// that makes no evidence (judge and clerk; docs/protocol.md, "Rehearsal").
    RunRehearsal,
}

impl Action {
    pub const ALL: [Action; 29] = [
        Self::PublishAudio,
        Self::PublishVideo,
        Self::Subscribe,
        Self::Admit,
        Self::Deny,
        Self::Mute,
        Self::Remove,
        Self::AttestIdentity,
        Self::ConfirmIdentity,
        Self::AdministerOath,
        Self::TakeOath,
        Self::MarkEvent,
        Self::SignMinutes,
        Self::ExplainRights,
        Self::ClaimPrivilege,
        Self::Object,
        Self::Rule,
        Self::ShowExhibit,
        Self::Interpret,
        Self::ScheduleHearing,
        Self::ViewHearings,
        Self::ManageParticipants,
        Self::OpenCloseHearing,
        Self::ConductHearing,
        Self::SealHearing,
        Self::GrantRetrieval,
        Self::RetrieveGranted,
        Self::ManageUsers,
        Self::RunRehearsal,
    ];
}

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Participant(ParticipantRole),
    Staff(StaffRole),
}

use Action::*;

/// Participant roles in a live hearing.
const PARTICIPANT_POLICY: &[(ParticipantRole, &[Action])] = &[
    (
        ParticipantRole::Judge,
        &[
            PublishAudio,
            PublishVideo,
            Subscribe,
            Admit,
            Deny,
            Mute,
            Remove,
            ConfirmIdentity,
            AdministerOath,
            MarkEvent,
            SignMinutes,
            ExplainRights,
            Rule,
            ShowExhibit,
        ],
    ),
    (
        ParticipantRole::Clerk,
        &[
            PublishAudio,
            PublishVideo,
            Subscribe,
            Admit,
            Deny,
            MarkEvent,
            ShowExhibit,
        ],
    ),
    (
        ParticipantRole::Witness,
        &[
            PublishAudio,
            PublishVideo,
            Subscribe,
            TakeOath,
            ClaimPrivilege,
        ],
    ),
    (
        ParticipantRole::Counsel,
        &[
            PublishAudio,
            PublishVideo,
            Subscribe,
            ClaimPrivilege,
            ShowExhibit,
        ],
    ),
    (
        ParticipantRole::Official,
        &[PublishAudio, PublishVideo, Subscribe, AttestIdentity],
    ),
    (
        ParticipantRole::Interpreter,
        &[PublishAudio, PublishVideo, Subscribe, TakeOath, Interpret],
    ),
    (
        ParticipantRole::Prosecutor,
        &[PublishAudio, PublishVideo, Subscribe, Object, ShowExhibit],
    ),
    (
        ParticipantRole::Defence,
        &[PublishAudio, PublishVideo, Subscribe, Object, ShowExhibit],
    ),
];

/// Staff accounts on the API.
const STAFF_POLICY: &[(StaffRole, &[Action])] = &[
    (
        StaffRole::Judge,
        &[
            ScheduleHearing,
            ViewHearings,
            ManageParticipants,
            OpenCloseHearing,
            ConductHearing,
            SealHearing,
            GrantRetrieval,
            RunRehearsal,
        ],
    ),
    (
        StaffRole::Clerk,
        &[
            ScheduleHearing,
            ViewHearings,
            ManageParticipants,
            GrantRetrieval,
            RunRehearsal,
        ],
    ),
    (StaffRole::Prosecutor, &[RetrieveGranted]),
    (StaffRole::Defence, &[RetrieveGranted]),
    (StaffRole::Admin, &[ManageUsers]),
];

/// True when the policy table grants `action` to `subject`. Default deny.
pub fn allows(subject: Subject, action: Action) -> bool {
    match subject {
        Subject::Participant(role) => row(PARTICIPANT_POLICY, role).contains(&action),
        Subject::Staff(role) => row(STAFF_POLICY, role).contains(&action),
    }
}

fn row<R: PartialEq + Copy>(table: &[(R, &'static [Action])], role: R) -> &'static [Action] {
    table
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, a)| *a)
        .unwrap_or(&[])
}

/// The whole table, for documentation and the console.
pub fn participant_table() -> impl Iterator<Item = (ParticipantRole, &'static [Action])> {
    PARTICIPANT_POLICY.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every role x every action, written out independently of the table above: a change
    /// to the table must be a change here too.
    #[test]
    fn participant_matrix() {
        let expected: &[(ParticipantRole, &str)] = &[
            (
                ParticipantRole::Judge,
                "publish_audio publish_video subscribe admit deny mute remove confirm_identity administer_oath mark_event sign_minutes explain_rights rule show_exhibit",
            ),
            (
                ParticipantRole::Clerk,
                "publish_audio publish_video subscribe admit deny mark_event show_exhibit",
            ),
            (
                ParticipantRole::Witness,
                "publish_audio publish_video subscribe take_oath claim_privilege",
            ),
            (
                ParticipantRole::Counsel,
                "publish_audio publish_video subscribe claim_privilege show_exhibit",
            ),
            (
                ParticipantRole::Official,
                "publish_audio publish_video subscribe attest_identity",
            ),
            (
                ParticipantRole::Interpreter,
                "publish_audio publish_video subscribe take_oath interpret",
            ),
            (
                ParticipantRole::Prosecutor,
                "publish_audio publish_video subscribe object show_exhibit",
            ),
            (
                ParticipantRole::Defence,
                "publish_audio publish_video subscribe object show_exhibit",
            ),
        ];
        for role in ParticipantRole::ALL {
            let granted = expected
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| *s)
                .unwrap();
            for action in Action::ALL {
                let name = serde_json::to_value(action)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                let want = granted.split(' ').any(|g| g == name);
                assert_eq!(
                    allows(Subject::Participant(role), action),
                    want,
                    "{role} {name}"
                );
            }
        }
    }

    #[test]
    fn staff_matrix() {
        let expected: &[(StaffRole, &str)] = &[
            (
                StaffRole::Judge,
                "schedule_hearing view_hearings manage_participants open_close_hearing conduct_hearing seal_hearing grant_retrieval run_rehearsal",
            ),
            (
                StaffRole::Clerk,
                "schedule_hearing view_hearings manage_participants grant_retrieval run_rehearsal",
            ),
            (StaffRole::Prosecutor, "retrieve_granted"),
            (StaffRole::Defence, "retrieve_granted"),
            (StaffRole::Admin, "manage_users"),
        ];
        for role in StaffRole::ALL {
            let granted = expected
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| *s)
                .unwrap();
            for action in Action::ALL {
                let name = serde_json::to_value(action)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                let want = granted.split(' ').any(|g| g == name);
                assert_eq!(allows(Subject::Staff(role), action), want, "{role} {name}");
            }
        }
    }

    #[test]
    fn witness_cannot_moderate() {
        for a in [
            Admit,
            Deny,
            Mute,
            Remove,
            ConfirmIdentity,
            AdministerOath,
            Rule,
            ExplainRights,
        ] {
            assert!(!allows(Subject::Participant(ParticipantRole::Witness), a));
        }
    }
}
