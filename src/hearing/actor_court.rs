//! The hearing task's court actions: moderation (admit, deny, mute, remove) checked
//! against the policy table, and the hearing's state changes (open, close).

use super::actor::Actor;
use super::live::Live;
use super::protocol::{ModAction, ServerMsg, close};
use super::{HearingError, Moderator};
use crate::domain::{
    Action, ConnectionState, HearingState, ParticipantId, Presence, Subject, allows,
};
use crate::verify::entry::EntryBody;
use tracing::info;

impl Actor {
    pub(super) async fn moderate(
        &mut self,
        by: Moderator,
        action: ModAction,
        target: &ParticipantId,
    ) -> Result<(), HearingError> {
        if let Moderator::Participant(role) = by {
            if !allows(Subject::Participant(role), needed_for(action)) {
                return Err(HearingError::Forbidden);
            }
        }
        if self.summary.state == HearingState::Closed {
            return Err(HearingError::Closed);
        }
        if !self.people.contains_key(target) {
            match self.deps.store.participant(target) {
                Ok(Some(row)) if row.hearing_id == self.id => {
                    self.people.insert(target.clone(), Live::new(row));
                }
                _ => return Err(HearingError::UnknownParticipant),
            }
        }
        match action {
            ModAction::ApproveDevice => return self.device_decision(target, true).await,
            ModAction::RefuseDevice => return self.device_decision(target, false).await,
            _ => {}
        }
        let rights = self.rights_msg();
        let Some(p) = self.people.get_mut(target) else {
            return Err(HearingError::UnknownParticipant);
        };
        match action {
            ModAction::ApproveDevice | ModAction::RefuseDevice => {}
            ModAction::Admit => {
                if p.row.denied {
                    p.row.denied = false;
                    let _ = self.deps.store.set_denied(target, false);
                }
                if p.presence != Presence::Admitted {
                    p.presence = Presence::Admitted;
                    p.apply_forwarding();
                    p.send(ServerMsg::Admitted);
                    // Claims and rulings are shown to those in the hearing only.
                    p.send(rights);
                    // A WHIP publisher is already connected: share its tracks now.
                    let tracks = p.published.clone();
                    for t in tracks {
                        for other in self.subscribers_except(target) {
                            if let Some(s) = self.session_mut(&other) {
                                let _ = s.subscribe(&t).await;
                            }
                            self.renegotiate(&other).await;
                        }
                    }
                    // Recording starts at admission, never in the waiting room.
                    self.start_recorder(target);
                }
            }
            ModAction::Deny => {
                p.presence = Presence::Denied;
                p.row.denied = true;
                let _ = self.deps.store.set_denied(target, true);
                p.send(ServerMsg::Denied);
                p.close_socket(close::DENIED, "the court did not admit you");
                self.drop_conn(target, ConnectionState::None).await;
            }
            ModAction::Mute => {
                p.muted_by_court = true;
                p.apply_forwarding();
                p.send(ServerMsg::Muted { by_court: true });
            }
            ModAction::Unmute => {
                p.muted_by_court = false;
                p.apply_forwarding();
                p.send(ServerMsg::Unmuted);
            }
            ModAction::Remove => {
                p.presence = Presence::Removed;
                p.close_socket(close::REMOVED, "removed from the hearing");
                let _ = self.deps.store.revoke_invite(target);
                self.drop_conn(target, ConnectionState::None).await;
            }
        }
        let participant = target.to_string();
        self.log(match action {
            ModAction::Admit => EntryBody::ParticipantAdmitted { participant },
            ModAction::Deny => EntryBody::ParticipantDenied { participant },
            ModAction::Mute => EntryBody::Mute {
                participant,
                muted: true,
                by_court: true,
            },
            ModAction::Unmute => EntryBody::Mute {
                participant,
                muted: false,
                by_court: true,
            },
            ModAction::Remove => EntryBody::ParticipantRemoved { participant },
            ModAction::ApproveDevice | ModAction::RefuseDevice => return Ok(()),
        });
        info!(participant = %target, action = ?action, "moderation");
        self.broadcast_roster();
        Ok(())
    }

    pub(super) async fn state_changed(&mut self, state: HearingState) {
        self.summary.state = state;
        if state == HearingState::Open {
            self.open_record(true);
        }
        for p in self.people.values() {
            p.send(ServerMsg::HearingState { state });
        }
        if state == HearingState::Closed {
            let ids: Vec<ParticipantId> = self.people.keys().cloned().collect();
            for pid in ids {
                if let Some(p) = self.people.get(&pid) {
                    p.close_socket(close::HEARING_CLOSED, "the hearing has ended");
                }
                self.drop_conn(&pid, ConnectionState::None).await;
            }
            self.begin_close();
        }
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
