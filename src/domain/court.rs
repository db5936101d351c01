//! The court's controls of a live hearing as pure transitions: lock, mute all, stop a
//! participant's video, markers, recess and resume, and the judge's delegation of the
//! conduct to a clerk. [`apply`] takes the state, who asks, the control and the time, and
//! returns the new state with the effects the hearing task must carry out (log entries,
//! announcements, media changes), or why the control is refused. No I/O, no clock.
//!
//! Who may: the presiding judge, everything; a clerk, markers always (`MarkEvent`) and
//! the rest only while the judge has delegated the conduct to them; nobody else.
//! During a recess nothing stops: media is forwarded and recorded as before, so the
//! record has no hole a party could later point to; the log and the minutes mark the
//! recess from start to end with its reasons.

use super::role::ParticipantRole;
use super::text::{TextError, clean_text};

/// Longest reason or marker label, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// The court state of a hearing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourtState {
    /// Newcomers are turned away from the waiting room.
    pub locked: bool,
    /// The hearing is in recess since then, for that reason.
    pub recess: Option<Recess>,
    /// The clerk (participant id) the judge has delegated the conduct to.
    pub delegate: Option<String>,
    /// A private consultation in progress.
    pub consultation: Option<Consultation>,
}

/// A private consultation: its participants' media reaches only each other and is not
/// recorded until it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub participants: Vec<String>,
    /// Who asked for it.
    pub asked_by: String,
    pub since_ms: i64,
}

/// A recess in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recess {
    /// Unix milliseconds.
    pub since_ms: i64,
    /// Why.
    pub reason: String,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// Participant id.
    pub id: String,
    /// Their role in the hearing.
    pub role: ParticipantRole,
}

/// A court control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Lock,
    Unlock,
    /// Mute every admitted participant but the court.
    MuteAll,
    /// Stop forwarding (and showing) a participant's video, or allow it again.
    StopVideo {
        participant: String,
        stopped: bool,
    },
    Recess {
        reason: String,
    },
    Resume {
        reason: String,
    },
    Mark {
        label: String,
    },
    /// Delegate the conduct to a clerk (`role` is the target's role).
    Delegate {
        participant: String,
        role: ParticipantRole,
    },
    EndDelegation,
    /// Start a private consultation of these participants (with their roles), at the
    /// request of `asked_by`.
    Consult {
        participants: Vec<(String, ParticipantRole)>,
        asked_by: String,
    },
    EndConsultation,
    /// A participant asks the court for a private consultation with another.
    RequestConsultation {
        with: String,
    },
}

/// What the hearing task must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Append this event to the log.
    Log(CourtEvent),
    /// Tell every participant the new court state.
    Announce,
    /// Mute every admitted participant who is not the court (each logged as `mute`).
    MuteAll,
    /// Stop or restart forwarding a participant's video.
    Video { participant: String, stopped: bool },
    /// Move these participants into a private room (media only among them, not
    /// recorded) or back into the hearing (recording resumes).
    Consultation {
        participants: Vec<String>,
        private: bool,
    },
    /// Tell the court that `by` asks to consult `with`.
    ConsultationRequested { by: String, with: String },
}

/// A court event for the log (`docs/bundle-format.md` §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourtEvent {
    Locked {
        locked: bool,
        by: String,
    },
    Recess {
        started: bool,
        reason: String,
        by: String,
    },
    Delegation {
        participant: String,
        active: bool,
        by: String,
    },
    Marker {
        label: String,
        by: String,
    },
    VideoStopped {
        participant: String,
        stopped: bool,
        by: String,
    },
    Consultation {
        participants: Vec<String>,
        started: bool,
        asked_by: String,
        by: String,
    },
}

/// Why a control was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CourtError {
    #[error("only the presiding judge, or a clerk the judge has delegated, may do this")]
    Forbidden,
    #[error("the hearing is already locked")]
    AlreadyLocked,
    #[error("the hearing is not locked")]
    NotLocked,
    #[error("the hearing is already in recess")]
    AlreadyInRecess,
    #[error("the hearing is not in recess")]
    NotInRecess,
    #[error("the conduct can only be delegated to a clerk")]
    NotAClerk,
    #[error("no delegation is in force")]
    NoDelegation,
    #[error("a reason or label is required")]
    TextRequired,
    #[error("a consultation is already in progress")]
    ConsultationInProgress,
    #[error("no consultation is in progress")]
    NoConsultation,
    #[error("a consultation needs two or more participants who are not the court")]
    BadConsultation,
    #[error("text: {0}")]
    Text(#[from] TextError),
}

impl CourtError {
    /// Stable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::AlreadyLocked => "already_locked",
            Self::NotLocked => "not_locked",
            Self::AlreadyInRecess => "already_in_recess",
            Self::NotInRecess => "not_in_recess",
            Self::NotAClerk => "not_a_clerk",
            Self::NoDelegation => "no_delegation",
            Self::TextRequired | Self::Text(_) => "bad_text",
            Self::ConsultationInProgress => "consultation_in_progress",
            Self::NoConsultation => "no_consultation",
            Self::BadConsultation => "bad_consultation",
        }
    }
}

/// A transition: the new state and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: CourtState,
    pub effects: Vec<Effect>,
}

fn text(s: &str) -> Result<String, CourtError> {
    if s.trim().is_empty() {
        return Err(CourtError::TextRequired);
    }
    Ok(clean_text(s, MAX_TEXT_CHARS)?)
}

impl CourtState {
    /// True if `asker` conducts the hearing now (judge, or the delegated clerk).
    pub fn conducts(&self, asker: &Asker) -> bool {
        match asker.role {
            ParticipantRole::Judge => true,
            ParticipantRole::Clerk => self.delegate.as_deref() == Some(asker.id.as_str()),
            _ => false,
        }
    }
}

/// Applies `control` asked by `by` at `now_ms`.
pub fn apply(
    state: &CourtState,
    by: &Asker,
    control: Control,
    now_ms: i64,
) -> Result<Transition, CourtError> {
    let mut next = state.clone();
    let who = by.id.clone();
    let allowed = match &control {
        Control::Mark { .. } => matches!(by.role, ParticipantRole::Judge | ParticipantRole::Clerk),
        Control::Delegate { .. } | Control::EndDelegation => by.role == ParticipantRole::Judge,
        Control::RequestConsultation { .. } => {
            !matches!(by.role, ParticipantRole::Judge | ParticipantRole::Clerk)
        }
        _ => state.conducts(by),
    };
    if !allowed {
        return Err(CourtError::Forbidden);
    }
    let effects = match control {
        Control::Lock | Control::Unlock => {
            let lock = control == Control::Lock;
            if state.locked == lock {
                return Err(if lock {
                    CourtError::AlreadyLocked
                } else {
                    CourtError::NotLocked
                });
            }
            next.locked = lock;
            vec![
                Effect::Log(CourtEvent::Locked {
                    locked: lock,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
        Control::MuteAll => vec![Effect::MuteAll],
        Control::StopVideo {
            participant,
            stopped,
        } => vec![
            Effect::Video {
                participant: participant.clone(),
                stopped,
            },
            Effect::Log(CourtEvent::VideoStopped {
                participant,
                stopped,
                by: who,
            }),
        ],
        Control::Recess { reason } => {
            if state.recess.is_some() {
                return Err(CourtError::AlreadyInRecess);
            }
            let reason = text(&reason)?;
            next.recess = Some(Recess {
                since_ms: now_ms,
                reason: reason.clone(),
            });
            vec![
                Effect::Log(CourtEvent::Recess {
                    started: true,
                    reason,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
        Control::Resume { reason } => {
            if state.recess.is_none() {
                return Err(CourtError::NotInRecess);
            }
            let reason = text(&reason)?;
            next.recess = None;
            vec![
                Effect::Log(CourtEvent::Recess {
                    started: false,
                    reason,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
        Control::Mark { label } => vec![Effect::Log(CourtEvent::Marker {
            label: text(&label)?,
            by: who,
        })],
        Control::Delegate { participant, role } => {
            if role != ParticipantRole::Clerk {
                return Err(CourtError::NotAClerk);
            }
            let mut effects = Vec::new();
            if let Some(old) = state.delegate.as_ref().filter(|o| **o != participant) {
                effects.push(Effect::Log(CourtEvent::Delegation {
                    participant: old.clone(),
                    active: false,
                    by: who.clone(),
                }));
            }
            next.delegate = Some(participant.clone());
            effects.push(Effect::Log(CourtEvent::Delegation {
                participant,
                active: true,
                by: who,
            }));
            effects.push(Effect::Announce);
            effects
        }
        Control::Consult {
            participants,
            asked_by,
        } => {
            if state.consultation.is_some() {
                return Err(CourtError::ConsultationInProgress);
            }
            let mut ids: Vec<String> = Vec::new();
            for (id, role) in &participants {
                if matches!(role, ParticipantRole::Judge | ParticipantRole::Clerk)
                    || ids.contains(id)
                {
                    return Err(CourtError::BadConsultation);
                }
                ids.push(id.clone());
            }
            if ids.len() < 2 {
                return Err(CourtError::BadConsultation);
            }
            next.consultation = Some(Consultation {
                participants: ids.clone(),
                asked_by: asked_by.clone(),
                since_ms: now_ms,
            });
            vec![
                Effect::Consultation {
                    participants: ids.clone(),
                    private: true,
                },
                Effect::Log(CourtEvent::Consultation {
                    participants: ids,
                    started: true,
                    asked_by,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
        Control::EndConsultation => {
            let Some(c) = state.consultation.clone() else {
                return Err(CourtError::NoConsultation);
            };
            next.consultation = None;
            // The end is logged before recording resumes: no media of the new files may
            // precede the entry that ends the consultation (the start is logged after
            // recording stopped, for the same reason).
            vec![
                Effect::Log(CourtEvent::Consultation {
                    participants: c.participants.clone(),
                    started: false,
                    asked_by: c.asked_by,
                    by: who,
                }),
                Effect::Consultation {
                    participants: c.participants,
                    private: false,
                },
                Effect::Announce,
            ]
        }
        Control::RequestConsultation { with } => {
            vec![Effect::ConsultationRequested { by: who, with }]
        }
        Control::EndDelegation => {
            let Some(old) = state.delegate.clone() else {
                return Err(CourtError::NoDelegation);
            };
            next.delegate = None;
            vec![
                Effect::Log(CourtEvent::Delegation {
                    participant: old,
                    active: false,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
    };
    Ok(Transition {
        state: next,
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Asker {
        Asker {
            id: "p-judge".into(),
            role: ParticipantRole::Judge,
        }
    }
    fn clerk() -> Asker {
        Asker {
            id: "p-clerk".into(),
            role: ParticipantRole::Clerk,
        }
    }
    fn witness() -> Asker {
        Asker {
            id: "p-w".into(),
            role: ParticipantRole::Witness,
        }
    }

    #[test]
    fn lock_and_unlock_are_logged_and_announced_once() {
        let s = CourtState::default();
        let t = apply(&s, &judge(), Control::Lock, 0).unwrap();
        assert!(t.state.locked);
        assert_eq!(
            t.effects,
            vec![
                Effect::Log(CourtEvent::Locked {
                    locked: true,
                    by: "p-judge".into()
                }),
                Effect::Announce
            ]
        );
        assert_eq!(
            apply(&t.state, &judge(), Control::Lock, 1),
            Err(CourtError::AlreadyLocked)
        );
        let u = apply(&t.state, &judge(), Control::Unlock, 2).unwrap();
        assert!(!u.state.locked);
        assert_eq!(
            apply(&u.state, &judge(), Control::Unlock, 3),
            Err(CourtError::NotLocked)
        );
    }

    #[test]
    fn recess_takes_its_time_from_the_input_and_needs_reasons() {
        let s = CourtState::default();
        assert_eq!(
            apply(
                &s,
                &judge(),
                Control::Recess {
                    reason: "  ".into()
                },
                5
            ),
            Err(CourtError::TextRequired)
        );
        assert_eq!(
            apply(&s, &judge(), Control::Resume { reason: "x".into() }, 5),
            Err(CourtError::NotInRecess)
        );
        let t = apply(
            &s,
            &judge(),
            Control::Recess {
                reason: "lunch".into(),
            },
            1_000,
        )
        .unwrap();
        assert_eq!(
            t.state.recess,
            Some(Recess {
                since_ms: 1_000,
                reason: "lunch".into()
            })
        );
        assert_eq!(
            apply(
                &t.state,
                &judge(),
                Control::Recess {
                    reason: "again".into()
                },
                2_000
            ),
            Err(CourtError::AlreadyInRecess)
        );
        let r = apply(
            &t.state,
            &judge(),
            Control::Resume {
                reason: "back".into(),
            },
            3_000,
        )
        .unwrap();
        assert_eq!(r.state.recess, None);
        assert!(r.effects.contains(&Effect::Log(CourtEvent::Recess {
            started: false,
            reason: "back".into(),
            by: "p-judge".into()
        })));
        // Direction overrides are refused, not logged.
        assert!(matches!(
            apply(
                &s,
                &judge(),
                Control::Recess {
                    reason: "a\u{202e}b".into()
                },
                0
            ),
            Err(CourtError::Text(_))
        ));
    }

    #[test]
    fn a_clerk_conducts_only_while_delegated_and_marks_always() {
        let s = CourtState::default();
        assert_eq!(
            apply(&s, &clerk(), Control::Lock, 0),
            Err(CourtError::Forbidden)
        );
        assert!(
            apply(
                &s,
                &clerk(),
                Control::Mark {
                    label: "exhibit 1 shown".into()
                },
                0
            )
            .is_ok()
        );
        assert_eq!(
            apply(&s, &witness(), Control::Mark { label: "x".into() }, 0),
            Err(CourtError::Forbidden)
        );
        assert_eq!(
            apply(
                &s,
                &judge(),
                Control::Delegate {
                    participant: "p-w".into(),
                    role: ParticipantRole::Witness
                },
                0
            ),
            Err(CourtError::NotAClerk)
        );
        let d = apply(
            &s,
            &judge(),
            Control::Delegate {
                participant: "p-clerk".into(),
                role: ParticipantRole::Clerk,
            },
            0,
        )
        .unwrap();
        assert!(d.state.conducts(&clerk()));
        assert_eq!(
            apply(&d.state, &clerk(), Control::EndDelegation, 0),
            Err(CourtError::Forbidden)
        );
        let l = apply(&d.state, &clerk(), Control::Lock, 1).unwrap();
        assert!(l.state.locked);
        let e = apply(&l.state, &judge(), Control::EndDelegation, 2).unwrap();
        assert!(!e.state.conducts(&clerk()));
        assert_eq!(
            apply(&e.state, &clerk(), Control::Unlock, 3),
            Err(CourtError::Forbidden)
        );
        assert_eq!(
            apply(&e.state, &judge(), Control::EndDelegation, 4),
            Err(CourtError::NoDelegation)
        );
    }

    #[test]
    fn a_consultation_is_private_until_it_ends_and_says_who_asked() {
        let s = CourtState::default();
        let w = ("p-w".to_string(), ParticipantRole::Witness);
        let d = ("p-d".to_string(), ParticipantRole::Defence);
        let consult = |p: Vec<(String, ParticipantRole)>| Control::Consult {
            participants: p,
            asked_by: "p-w".into(),
        };
        assert_eq!(
            apply(&s, &judge(), consult(vec![w.clone()]), 0),
            Err(CourtError::BadConsultation)
        );
        assert_eq!(
            apply(
                &s,
                &judge(),
                consult(vec![w.clone(), ("p-judge".into(), ParticipantRole::Judge)]),
                0
            ),
            Err(CourtError::BadConsultation)
        );
        let r = apply(
            &s,
            &witness(),
            Control::RequestConsultation { with: "p-d".into() },
            1,
        )
        .unwrap();
        assert_eq!(r.state, s);
        assert_eq!(
            r.effects,
            vec![Effect::ConsultationRequested {
                by: "p-w".into(),
                with: "p-d".into()
            }]
        );
        assert_eq!(
            apply(&s, &witness(), consult(vec![w.clone(), d.clone()]), 2),
            Err(CourtError::Forbidden)
        );
        let c = apply(&s, &judge(), consult(vec![w.clone(), d.clone()]), 5_000).unwrap();
        assert_eq!(
            c.state.consultation.as_ref().map(|c| c.since_ms),
            Some(5_000)
        );
        assert_eq!(
            c.effects[0],
            Effect::Consultation {
                participants: vec!["p-w".into(), "p-d".into()],
                private: true
            }
        );
        assert_eq!(
            apply(&c.state, &judge(), consult(vec![w, d]), 6_000),
            Err(CourtError::ConsultationInProgress)
        );
        let e = apply(&c.state, &judge(), Control::EndConsultation, 9_000).unwrap();
        assert_eq!(e.state.consultation, None);
        assert!(e.effects.contains(&Effect::Log(CourtEvent::Consultation {
            participants: vec!["p-w".into(), "p-d".into()],
            started: false,
            asked_by: "p-w".into(),
            by: "p-judge".into()
        })));
        assert_eq!(
            apply(&e.state, &judge(), Control::EndConsultation, 9_500),
            Err(CourtError::NoConsultation)
        );
    }

    #[test]
    fn nobody_but_the_court_controls() {
        let s = CourtState::default();
        for c in [
            Control::Lock,
            Control::MuteAll,
            Control::Recess { reason: "r".into() },
            Control::StopVideo {
                participant: "p-judge".into(),
                stopped: true,
            },
            Control::EndDelegation,
        ] {
            assert_eq!(apply(&s, &witness(), c, 0), Err(CourtError::Forbidden));
        }
    }
}
