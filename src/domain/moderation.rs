//! The court's moderation of one participant (admit, deny, mute, unmute, remove) as a
//! pure transition: the participant's court-relevant state, who asks and what, in; the
//! new state and the effects the hearing task must carry out, in order, out — or why it
//! is refused. The policy table decides who may; the hearing's state and the
//! participant's state decide what happens. No I/O.

use super::policy::{Action, Subject, allows};
use super::role::ParticipantRole;
use super::state::Presence;

/// What the court's moderation looks at of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    pub presence: Presence,
    pub muted_by_court: bool,
    /// The court refused them (holds across reconnections, persisted).
    pub denied: bool,
}

/// Who moderates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// A participant of the hearing with this role (checked against the policy).
    Participant(ParticipantRole),
    /// A signed-in staff member allowed to conduct the hearing.
    Court,
}

/// A moderation action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    Admit,
    Deny,
    Mute,
    Unmute,
    Remove,
}

impl Moderation {
    /// The policy action it needs.
    pub fn needs(self) -> Action {
        match self {
            Self::Admit => Action::Admit,
            Self::Deny => Action::Deny,
            Self::Mute | Self::Unmute => Action::Mute,
            Self::Remove => Action::Remove,
        }
    }
}

/// What the hearing task does, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Persist the denial flag.
    StoreDenied(bool),
    /// Revoke the invitation link.
    RevokeInvite,
    /// Forward (or stop forwarding) the participant's tracks as the new state says.
    ApplyForwarding,
    /// Tell the participant's page.
    Tell(Notice),
    /// Close the participant's socket with this reason.
    Close(Closing),
    /// Drop the participant's connection.
    DropConnection,
    /// Share an already-connected publisher's tracks with everyone (WHIP).
    ShareTracks,
    /// Start recording the participant (recording starts at admission).
    StartRecording,
    /// Append this to the log.
    Log(Logged),
}

/// A message to the participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Admitted,
    Denied,
    Muted,
    Unmuted,
}

/// Why the socket closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    Denied,
    Removed,
}

/// The log entry of a moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    Admitted,
    Denied,
    Muted(bool),
    Removed,
}

/// Why a moderation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModerationError {
    #[error("this role may not do that")]
    Forbidden,
    #[error("the hearing is closed")]
    Closed,
}

/// The outcome of a moderation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub person: Person,
    pub effects: Vec<Effect>,
}

/// Moderates `person`: `hearing_closed` is the hearing's state.
pub fn moderate(
    person: Person,
    by: By,
    action: Moderation,
    hearing_closed: bool,
) -> Result<Outcome, ModerationError> {
    if let By::Participant(role) = by {
        if !allows(Subject::Participant(role), action.needs()) {
            return Err(ModerationError::Forbidden);
        }
    }
    if hearing_closed {
        return Err(ModerationError::Closed);
    }
    let mut p = person;
    let mut fx = Vec::new();
    match action {
        Moderation::Admit => {
            if p.denied {
                p.denied = false;
                fx.push(Effect::StoreDenied(false));
            }
            if p.presence != Presence::Admitted {
                p.presence = Presence::Admitted;
                fx.extend([
                    Effect::ApplyForwarding,
                    Effect::Tell(Notice::Admitted),
                    Effect::ShareTracks,
                    Effect::StartRecording,
                ]);
            }
            fx.push(Effect::Log(Logged::Admitted));
        }
        Moderation::Deny => {
            p.presence = Presence::Denied;
            p.denied = true;
            fx.extend([
                Effect::StoreDenied(true),
                Effect::Tell(Notice::Denied),
                Effect::Close(Closing::Denied),
                Effect::DropConnection,
                Effect::Log(Logged::Denied),
            ]);
        }
        Moderation::Mute | Moderation::Unmute => {
            let mute = action == Moderation::Mute;
            p.muted_by_court = mute;
            fx.extend([
                Effect::ApplyForwarding,
                Effect::Tell(if mute { Notice::Muted } else { Notice::Unmuted }),
                Effect::Log(Logged::Muted(mute)),
            ]);
        }
        Moderation::Remove => {
            p.presence = Presence::Removed;
            fx.extend([
                Effect::Close(Closing::Removed),
                Effect::RevokeInvite,
                Effect::DropConnection,
                Effect::Log(Logged::Removed),
            ]);
        }
    }
    Ok(Outcome {
        person: p,
        effects: fx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lobby() -> Person {
        Person {
            presence: Presence::Lobby,
            muted_by_court: false,
            denied: false,
        }
    }

    #[test]
    fn admission_forwards_tells_shares_and_starts_recording_once() {
        let o = moderate(lobby(), By::Court, Moderation::Admit, false).unwrap();
        assert_eq!(o.person.presence, Presence::Admitted);
        assert_eq!(
            o.effects,
            vec![
                Effect::ApplyForwarding,
                Effect::Tell(Notice::Admitted),
                Effect::ShareTracks,
                Effect::StartRecording,
                Effect::Log(Logged::Admitted)
            ]
        );
        // Admitting an admitted participant only logs (nothing restarts).
        let again = moderate(o.person, By::Court, Moderation::Admit, false).unwrap();
        assert_eq!(again.effects, vec![Effect::Log(Logged::Admitted)]);
    }

    #[test]
    fn a_denial_is_persisted_and_lifted_by_admission() {
        let d = moderate(lobby(), By::Court, Moderation::Deny, false).unwrap();
        assert!(d.person.denied && d.person.presence == Presence::Denied);
        assert_eq!(d.effects[0], Effect::StoreDenied(true));
        let a = moderate(d.person, By::Court, Moderation::Admit, false).unwrap();
        assert!(!a.person.denied);
        assert_eq!(a.effects[0], Effect::StoreDenied(false));
    }

    #[test]
    fn the_policy_and_the_hearing_state_refuse() {
        let clerk = By::Participant(ParticipantRole::Clerk);
        assert!(moderate(lobby(), clerk, Moderation::Admit, false).is_ok());
        assert_eq!(
            moderate(lobby(), clerk, Moderation::Mute, false),
            Err(ModerationError::Forbidden)
        );
        assert_eq!(
            moderate(
                lobby(),
                By::Participant(ParticipantRole::Witness),
                Moderation::Admit,
                false
            ),
            Err(ModerationError::Forbidden)
        );
        assert_eq!(
            moderate(lobby(), By::Court, Moderation::Remove, true),
            Err(ModerationError::Closed)
        );
    }

    #[test]
    fn mute_and_remove() {
        let m = moderate(lobby(), By::Court, Moderation::Mute, false).unwrap();
        assert!(m.person.muted_by_court);
        assert_eq!(m.effects.last(), Some(&Effect::Log(Logged::Muted(true))));
        let r = moderate(m.person, By::Court, Moderation::Remove, false).unwrap();
        assert_eq!(r.person.presence, Presence::Removed);
        assert!(r.effects.contains(&Effect::RevokeInvite));
    }
}
