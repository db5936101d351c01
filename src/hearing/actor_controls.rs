//! The hearing task's court controls (`court` messages): each is decided by the pure
//! transition of `domain::court` (who may, what changes, what to log), then its effects
//! are carried out here: log entries, the court state told to everyone, mute all, a
//! participant's video stopped. The lock is enforced when a newcomer connects
//! (`actor_conn`).

use super::actor::Actor;
use super::protocol::{CourtControl, RecessInfo, ServerMsg};
use crate::domain::court::{self, Asker, Control, CourtEvent, Effect};
use crate::domain::{ParticipantId, ParticipantRole, Presence};
use crate::verify::entry::EntryBody;

fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Actor {
    /// A `court` message from `pid`.
    pub(super) async fn court_control(
        &mut self,
        pid: &ParticipantId,
        control: CourtControl,
        text: Option<String>,
        participant: Option<String>,
        participants: Option<Vec<String>>,
    ) {
        let Some(role) = self.people.get(pid).map(|p| p.row.role) else {
            return;
        };
        let text = text.unwrap_or_default();
        let target = participant
            .as_deref()
            .and_then(ParticipantId::parse)
            .and_then(|t| self.people.get(&t).map(|p| (t.to_string(), p.row.role)));
        let needs_target = matches!(
            control,
            CourtControl::StopVideo
                | CourtControl::AllowVideo
                | CourtControl::Delegate
                | CourtControl::RequestConsultation
        );
        if needs_target && target.is_none() {
            return self.error(
                pid,
                "unknown_participant",
                "no such participant in this hearing",
            );
        }
        let (target_id, target_role) = target.unwrap_or_default_pair();
        let c = match control {
            CourtControl::Lock => Control::Lock,
            CourtControl::Unlock => Control::Unlock,
            CourtControl::MuteAll => Control::MuteAll,
            CourtControl::StopVideo | CourtControl::AllowVideo => Control::StopVideo {
                participant: target_id,
                stopped: control == CourtControl::StopVideo,
            },
            CourtControl::Recess => Control::Recess { reason: text },
            CourtControl::Resume => Control::Resume { reason: text },
            CourtControl::Mark => Control::Mark { label: text },
            CourtControl::Delegate => Control::Delegate {
                participant: target_id,
                role: target_role,
            },
            CourtControl::EndDelegation => Control::EndDelegation,
            CourtControl::RequestConsultation => Control::RequestConsultation { with: target_id },
            CourtControl::EndConsultation => Control::EndConsultation,
            CourtControl::Consult => {
                let mut members = Vec::new();
                for id in participants.unwrap_or_default() {
                    let found = ParticipantId::parse(&id).and_then(|t| {
                        self.people
                            .get(&t)
                            .filter(|p| p.presence == Presence::Admitted)
                            .map(|p| (t.to_string(), p.row.role))
                    });
                    match found {
                        Some(m) => members.push(m),
                        None => {
                            return self.error(
                                pid,
                                "unknown_participant",
                                "a consultation is between admitted participants",
                            );
                        }
                    }
                }
                let asked_by = participant.clone().unwrap_or_else(|| pid.to_string());
                Control::Consult {
                    participants: members,
                    asked_by,
                }
            }
        };
        let asker = Asker {
            id: pid.to_string(),
            role,
        };
        match court::apply(&self.court, &asker, c, now_ms()) {
            Ok(t) => {
                self.court = t.state;
                for e in t.effects {
                    self.court_effect(e).await;
                }
                self.send(pid, ServerMsg::CourtDone { control });
            }
            Err(e) => self.error(pid, e.code(), &e.to_string()),
        }
    }

    async fn court_effect(&mut self, e: Effect) {
        match e {
            Effect::Log(ev) => self.log(match ev {
                CourtEvent::Locked { locked, by } => EntryBody::HearingLocked { locked, by },
                CourtEvent::Recess {
                    started,
                    reason,
                    by,
                } => EntryBody::Recess {
                    started,
                    reason,
                    by,
                },
                CourtEvent::Delegation {
                    participant,
                    active,
                    by,
                } => EntryBody::Delegation {
                    participant,
                    active,
                    by,
                },
                CourtEvent::Marker { label, by } => EntryBody::Marker {
                    label,
                    by: Some(by),
                },
                CourtEvent::Consultation {
                    participants,
                    started,
                    asked_by,
                    by,
                } => EntryBody::Consultation {
                    participants,
                    started,
                    asked_by,
                    by,
                },
                CourtEvent::VideoStopped {
                    participant,
                    stopped,
                    by,
                } => EntryBody::VideoStopped {
                    participant,
                    stopped,
                    by,
                },
            }),
            Effect::Announce => {
                let msg = self.court_msg();
                for p in self.people.values() {
                    p.send(msg.clone());
                }
            }
            Effect::MuteAll => {
                let ids: Vec<ParticipantId> = self
                    .people
                    .iter()
                    .filter(|(_, p)| {
                        p.presence == Presence::Admitted
                            && !p.muted_by_court
                            && !matches!(
                                p.row.role,
                                ParticipantRole::Judge | ParticipantRole::Clerk
                            )
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in ids {
                    if let Some(p) = self.people.get_mut(&id) {
                        p.muted_by_court = true;
                        p.send(ServerMsg::Muted { by_court: true });
                    }
                    self.apply_forwarding(&id);
                    self.log(EntryBody::Mute {
                        participant: id.to_string(),
                        muted: true,
                        by_court: true,
                    });
                }
                self.broadcast_roster().await;
            }
            Effect::Consultation {
                participants,
                private,
            } => self.consultation(&participants, private).await,
            Effect::ConsultationRequested { by, with } => {
                for p in self.people.values() {
                    if matches!(p.row.role, ParticipantRole::Judge | ParticipantRole::Clerk) {
                        p.send(ServerMsg::ConsultationRequested {
                            by: by.clone(),
                            with: with.clone(),
                        });
                    }
                }
            }
            Effect::Video {
                participant,
                stopped,
            } => {
                if let Some(p) =
                    ParticipantId::parse(&participant).and_then(|id| self.people.get_mut(&id))
                {
                    p.video_stopped_by_court = stopped;
                    p.apply_forwarding();
                    p.send(ServerMsg::Video {
                        stopped_by_court: stopped,
                    });
                }
                self.broadcast_roster().await;
            }
        }
    }

    /// The court state as participants are told it.
    pub(super) fn court_msg(&self) -> ServerMsg {
        ServerMsg::Court {
            locked: self.court.locked,
            recess: self.court.recess.as_ref().map(|r| RecessInfo {
                since: crate::verify::clock::format_ms(r.since_ms),
                reason: r.reason.clone(),
            }),
            delegate: self.court.delegate.clone(),
            consultation: self
                .court
                .consultation
                .as_ref()
                .map(|c| c.participants.clone()),
        }
    }

    /// Moves participants into a private room (room 1: media among them only, recording
    /// stopped and its files sealed) or back into the hearing (recording resumes in new
    /// files). A member's exhibit or interpretation channel ends first: it is forwarded
    /// to everyone and recorded, and a channel carries the interpreter's microphone.
    async fn consultation(&mut self, participants: &[String], private: bool) {
        if private {
            for pid in participants
                .iter()
                .filter_map(|id| ParticipantId::parse(id))
            {
                self.end_extras_of(&pid, |_| true).await;
            }
        }
        let room = u32::from(private);
        for id in participants {
            let Some(pid) = ParticipantId::parse(id) else {
                continue;
            };
            self.deps.rtc.set_room(self.outlets, id, room);
            let Some(p) = self.people.get_mut(&pid) else {
                continue;
            };
            p.in_consultation = private;
            if private {
                if let Some(conn) = p.conn.as_mut() {
                    if let Some(s) = conn.session.as_ref() {
                        s.set_record_sink(None);
                    }
                    conn.recording = false;
                }
                self.recording_state(&pid, "consultation");
            } else {
                self.start_recorder(&pid);
            }
        }
        self.broadcast_roster().await;
    }
}

trait PairOrDefault {
    fn unwrap_or_default_pair(self) -> (String, ParticipantRole);
}

impl PairOrDefault for Option<(String, ParticipantRole)> {
    fn unwrap_or_default_pair(self) -> (String, ParticipantRole) {
        self.unwrap_or((String::new(), ParticipantRole::Witness))
    }
}
