//! The hearing task's part in the witness's rights (`rights` messages): each request is
//! decided by the pure transition of `domain::rights` (who may, what changes, what to
//! log), then carried out here: log entries (`rights_explained`, `privilege_claimed`,
//! `objection_raised`, `ruling`) and the rights state told to everyone. After a restart
//! the state is read back from the log, so numbers are never given twice.

use super::actor::Actor;
use super::protocol::ServerMsg;
use super::rights_msg::{RightsAct, RightsView};
use super::rights_text;
use crate::domain::rights::{self, Asker, Effect, Matter, MatterKind, Request, RightsEvent};
use crate::domain::{ParticipantId, Presence};
use crate::verify::clock::parse_ms;
use crate::verify::entry::{self, EntryBody};

fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The fields of a `rights` message.
pub(super) struct RightsAsk {
    pub act: RightsAct,
    pub text: Option<String>,
    pub number: Option<u64>,
    pub upheld: Option<bool>,
    pub language: Option<String>,
}

impl Actor {
    /// A `rights` message from `pid`.
    pub(super) fn rights_request(&mut self, pid: &ParticipantId, ask: RightsAsk) {
        let Some((role, presence)) = self.people.get(pid).map(|p| (p.row.role, p.presence)) else {
            return;
        };
        if presence != Presence::Admitted {
            return self.error(pid, "not_admitted", "you are not in the hearing");
        }
        if self.record.as_ref().is_none_or(|r| r.log.is_closed()) {
            return self.error(pid, "not_recording", "the hearing is not open");
        }
        let text = ask.text.unwrap_or_default();
        let request = match ask.act {
            RightsAct::Explain => {
                let lang = rights_text::language(
                    ask.language.as_deref().unwrap_or(&self.summary.language),
                );
                Request::Explain {
                    language: lang.to_owned(),
                    text: rights_text::text(lang).to_owned(),
                }
            }
            RightsAct::Claim => Request::Claim { ground: text },
            RightsAct::Object => Request::Object { ground: text },
            RightsAct::Rule => {
                let (Some(number), Some(upheld)) = (ask.number, ask.upheld) else {
                    return self.error(
                        pid,
                        "bad_request",
                        "a ruling names the matter (number) and the decision (upheld)",
                    );
                };
                Request::Rule {
                    number,
                    upheld,
                    reason: text,
                }
            }
        };
        let asker = Asker {
            id: pid.to_string(),
            role,
        };
        match rights::apply(&self.rights, &asker, request, now_ms()) {
            Ok(t) => {
                self.rights = t.state;
                let mut number = None;
                for e in t.effects {
                    match e {
                        Effect::Log(ev) => {
                            number = match &ev {
                                RightsEvent::Raised(m) => Some(m.number),
                                RightsEvent::Ruled { number, .. } => Some(*number),
                                RightsEvent::Explained { .. } => None,
                            };
                            self.log(entry_of(ev));
                        }
                        Effect::Announce => {
                            let msg = self.rights_msg();
                            let admitted = self
                                .people
                                .values()
                                .filter(|p| p.presence == Presence::Admitted);
                            for p in admitted {
                                p.send(msg.clone());
                            }
                        }
                    }
                }
                self.send(
                    pid,
                    ServerMsg::RightsDone {
                        act: ask.act,
                        number,
                    },
                );
            }
            Err(e) => self.error(pid, e.code(), &e.to_string()),
        }
    }

    /// The rights state as participants are told it.
    pub(super) fn rights_msg(&self) -> ServerMsg {
        ServerMsg::Rights(RightsView::from(&self.rights))
    }

    /// Reads the rights state back from the log (the task restarted on an open hearing).
    pub(super) fn rights_from_log(&mut self) {
        let Some(dir) = self.record.as_ref().map(|r| r.log.dir().to_path_buf()) else {
            return;
        };
        let Ok(bytes) = std::fs::read(dir.join("entries.jsonl")) else {
            return;
        };
        let events = bytes
            .split(|b| *b == b'\n')
            .filter_map(|l| entry::decode(l).ok())
            .filter_map(|e| {
                let at = parse_ms(&e.time).unwrap_or(0);
                event_of(e.body).map(|ev| (ev, at))
            });
        self.rights = rights::replay(events);
    }
}

fn entry_of(ev: RightsEvent) -> EntryBody {
    match ev {
        RightsEvent::Explained { language, text, by } => {
            EntryBody::RightsExplained { language, text, by }
        }
        RightsEvent::Raised(m) => match m.kind {
            MatterKind::Privilege => EntryBody::PrivilegeClaimed {
                number: m.number,
                by: m.by,
                ground: m.ground,
            },
            MatterKind::Objection => EntryBody::ObjectionRaised {
                number: m.number,
                by: m.by,
                ground: m.ground,
            },
        },
        RightsEvent::Ruled {
            number,
            upheld,
            reason,
            by,
        } => EntryBody::Ruling {
            number,
            upheld,
            reason,
            by,
        },
    }
}

fn event_of(body: EntryBody) -> Option<RightsEvent> {
    let raised = |kind, number, by, ground| {
        Some(RightsEvent::Raised(Matter {
            number,
            kind,
            by,
            ground,
            since_ms: 0,
        }))
    };
    match body {
        EntryBody::RightsExplained { language, text, by } => {
            Some(RightsEvent::Explained { language, text, by })
        }
        EntryBody::PrivilegeClaimed { number, by, ground } => {
            raised(MatterKind::Privilege, number, by, ground)
        }
        EntryBody::ObjectionRaised { number, by, ground } => {
            raised(MatterKind::Objection, number, by, ground)
        }
        EntryBody::Ruling {
            number,
            upheld,
            reason,
            by,
        } => Some(RightsEvent::Ruled {
            number,
            upheld,
            reason,
            by,
        }),
        _ => None,
    }
}
