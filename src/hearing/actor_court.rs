//! The hearing task's court actions: moderation (admit, deny, mute, remove) checked
//! against the policy table, and the hearing's state changes (open, close).

use super::actor::Actor;
use super::live::Live;
use super::protocol::{ModAction, ServerMsg, close};
use super::{HearingError, Moderator};
use crate::domain::moderation::{
    self, By, Closing, Effect, Logged, Moderation, ModerationError, Notice, Person,
};
use crate::domain::{
    Action, ConnectionState, HearingState, ParticipantId, Presence, Subject, allows,
};
use crate::verify::entry::EntryBody;
use tracing::info;

impl Actor {
    /// A moderation, decided by `domain::moderation` and carried out here in the order
    /// of its effects. Device decisions (another device for an invitation) are
    /// `actor_device`'s.
    pub(super) async fn moderate(
        &mut self,
        by: Moderator,
        action: ModAction,
        target: &ParticipantId,
    ) -> Result<(), HearingError> {
        let by = match by {
            Moderator::Participant(role) => By::Participant(role),
            Moderator::Court => By::Court,
        };
        let m = match action {
            ModAction::Admit => Moderation::Admit,
            ModAction::Deny => Moderation::Deny,
            ModAction::Mute => Moderation::Mute,
            ModAction::Unmute => Moderation::Unmute,
            ModAction::Remove => Moderation::Remove,
            ModAction::ApproveDevice | ModAction::RefuseDevice => {
                if let By::Participant(role) = by {
                    if !allows(Subject::Participant(role), needed_for(action)) {
                        return Err(HearingError::Forbidden);
                    }
                }
                if self.summary.state == HearingState::Closed {
                    return Err(HearingError::Closed);
                }
                self.load_person(target).await?;
                let approve = action == ModAction::ApproveDevice;
                return self.device_decision(target, approve).await;
            }
        };
        // Refusals first, before anything is loaded or changed.
        let closed = self.summary.state == HearingState::Closed;
        let probe = Person {
            presence: Presence::Absent,
            muted_by_court: false,
            denied: false,
        };
        if let Err(e) = moderation::moderate(probe, by, m, closed) {
            return Err(refusal(e));
        }
        self.load_person(target).await?;
        let Some(p) = self.people.get_mut(target) else {
            return Err(HearingError::UnknownParticipant);
        };
        let person = Person {
            presence: p.presence,
            muted_by_court: p.muted_by_court,
            denied: p.row.denied,
        };
        let outcome = moderation::moderate(person, by, m, closed).map_err(refusal)?;
        p.presence = outcome.person.presence;
        p.muted_by_court = outcome.person.muted_by_court;
        p.row.denied = outcome.person.denied;
        for e in outcome.effects {
            self.moderation_effect(target, e).await;
        }
        info!(participant = %target, action = ?action, "moderation");
        self.broadcast_roster().await;
        Ok(())
    }

    /// Makes sure `target` (a participant of this hearing) has live state.
    async fn load_person(&mut self, target: &ParticipantId) -> Result<(), HearingError> {
        if self.people.contains_key(target) {
            return Ok(());
        }
        match self.deps.store.participant(target).await {
            Ok(Some(row)) if row.hearing_id == self.id => {
                self.people.insert(target.clone(), Live::new(row));
                Ok(())
            }
            _ => Err(HearingError::UnknownParticipant),
        }
    }

    async fn moderation_effect(&mut self, target: &ParticipantId, e: Effect) {
        match e {
            Effect::StoreDenied(d) => {
                let _ = self.deps.store.set_denied(target, d).await;
            }
            Effect::RevokeInvite => {
                let _ = self.deps.store.revoke_invite(target).await;
            }
            Effect::ApplyForwarding => self.apply_forwarding(target),
            Effect::Tell(n) => {
                let msg = match n {
                    Notice::Admitted => ServerMsg::Admitted,
                    Notice::Denied => ServerMsg::Denied,
                    Notice::Muted => ServerMsg::Muted { by_court: true },
                    Notice::Unmuted => ServerMsg::Unmuted,
                };
                self.send(target, msg);
                if n == Notice::Admitted {
                    for m in self.admitted_msgs() {
                        self.send(target, m);
                    }
                }
            }
            Effect::Close(c) => {
                if let Some(p) = self.people.get(target) {
                    match c {
                        Closing::Denied => {
                            p.close_socket(close::DENIED, "the court did not admit you")
                        }
                        Closing::Removed => {
                            p.close_socket(close::REMOVED, "removed from the hearing")
                        }
                    }
                }
            }
            Effect::DropConnection => self.drop_conn(target, ConnectionState::None).await,
            Effect::ShareTracks => {
                // A WHIP publisher is already connected: share its tracks now.
                let tracks = self
                    .people
                    .get(target)
                    .map(|p| p.published.clone())
                    .unwrap_or_default();
                for t in tracks {
                    for other in self.subscribers_except(target) {
                        if let Some(s) = self.session_mut(&other) {
                            let _ = s.subscribe(&t).await;
                        }
                        self.renegotiate(&other).await;
                    }
                }
            }
            Effect::StartRecording => self.start_recorder(target),
            Effect::Log(l) => {
                let participant = target.to_string();
                self.log(match l {
                    Logged::Admitted => EntryBody::ParticipantAdmitted { participant },
                    Logged::Denied => EntryBody::ParticipantDenied { participant },
                    Logged::Muted(muted) => EntryBody::Mute {
                        participant,
                        muted,
                        by_court: true,
                    },
                    Logged::Removed => EntryBody::ParticipantRemoved { participant },
                });
            }
        }
    }

    pub(super) async fn state_changed(&mut self, state: HearingState) {
        self.summary.state = state;
        if state == HearingState::Open {
            self.open_record(true).await;
        }
        for p in self.people.values() {
            p.send(ServerMsg::HearingState { state });
        }
        if state == HearingState::Closed {
            self.end_all_extras().await;
            let ids: Vec<ParticipantId> = self.people.keys().cloned().collect();
            for pid in ids {
                if let Some(p) = self.people.get(&pid) {
                    p.close_socket(close::HEARING_CLOSED, "the hearing has ended");
                }
                self.drop_conn(&pid, ConnectionState::None).await;
            }
            self.begin_close().await;
        }
    }
}

fn refusal(e: ModerationError) -> HearingError {
    match e {
        ModerationError::Closed => HearingError::Closed,
        _ => HearingError::Forbidden,
    }
}

/// The policy action a moderation request needs.
pub(super) fn needed_for(action: ModAction) -> Action {
    match action {
        ModAction::Admit => Action::Admit,
        ModAction::Deny => Action::Deny,
        ModAction::Mute | ModAction::Unmute => Action::Mute,
        ModAction::Remove => Action::Remove,
        ModAction::ApproveDevice | ModAction::RefuseDevice => Action::Admit,
    }
}
