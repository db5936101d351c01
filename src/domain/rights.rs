//! The witness's rights as pure transitions (Model Treaty on Mutual Assistance, art. 12):
//! the court explains the rights; the witness, or their own counsel, claims a privilege
//! (the ground in words); the prosecution and the defence raise objections (the ground
//! in words); the presiding judge rules on each (upheld or overruled, with a reason).
//! [`apply`] takes the state, who asks, the request and the time, and returns the new
//! state with the effects the hearing task must carry out (log entries, telling
//! everyone), or why the request is refused. No I/O, no clock.
//!
//! Who may is the policy table's (`ExplainRights`, `ClaimPrivilege`, `Object`, `Rule`).
//! Each participant may have at most [`MAX_PENDING_EACH`] matters awaiting a ruling, so
//! nobody can flood the record; every text is bounded and cleaned (`text::clean_text`).

use super::policy::{Action, Subject, allows};
use super::role::ParticipantRole;
use super::text::{TextError, clean_text};

/// Longest ground or reason, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Matters one participant may have awaiting a ruling at once.
pub const MAX_PENDING_EACH: usize = 3;
/// Rulings kept in the state shown to participants (all are in the log).
pub const MAX_RULINGS_SHOWN: usize = 20;

/// A privilege claimed or an objection raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatterKind {
    Privilege,
    Objection,
}

impl MatterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privilege => "privilege",
            Self::Objection => "objection",
        }
    }
}

/// A matter awaiting the judge's ruling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    /// 1, 2, … in the hearing (claims and objections share the numbering).
    pub number: u64,
    pub kind: MatterKind,
    /// Who raised it (participant id).
    pub by: String,
    pub ground: String,
    /// Unix milliseconds.
    pub since_ms: i64,
}

/// A matter and the judge's ruling on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub matter: Matter,
    pub upheld: bool,
    pub reason: String,
    /// The judge (participant id).
    pub by: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// The rights explained to the witness, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub language: String,
    pub text: String,
    pub at_ms: i64,
}

/// The rights state of a hearing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RightsState {
    /// The last explanation of the rights.
    pub explained: Option<Explained>,
    /// Awaiting a ruling, oldest first.
    pub pending: Vec<Matter>,
    /// The latest rulings, oldest first (at most [`MAX_RULINGS_SHOWN`]).
    pub rulings: Vec<Ruling>,
    /// The last number given.
    pub last_number: u64,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    pub id: String,
    pub role: ParticipantRole,
}

/// A request about the witness's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Read the rights: `text` in `language`, made by the hearing layer.
    Explain { language: String, text: String },
    /// The witness or their counsel claims a privilege.
    Claim { ground: String },
    /// The prosecution or the defence objects.
    Object { ground: String },
    /// The judge rules on matter `number`.
    Rule {
        number: u64,
        upheld: bool,
        reason: String,
    },
}

/// A rights event for the log (`docs/bundle-format.md` §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RightsEvent {
    Explained {
        language: String,
        text: String,
        by: String,
    },
    Raised(Matter),
    Ruled {
        number: u64,
        upheld: bool,
        reason: String,
        by: String,
    },
}

/// What the hearing task must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Log(RightsEvent),
    /// Tell every participant the new rights state.
    Announce,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RightsError {
    #[error("this is not yours to do")]
    Forbidden,
    #[error("no such claim or objection awaits a ruling")]
    UnknownMatter,
    #[error("too many of your claims or objections await a ruling")]
    TooManyPending,
    #[error("a ground or reason is required")]
    TextRequired,
    #[error("text: {0}")]
    Text(#[from] TextError),
}

impl RightsError {
    /// Stable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::UnknownMatter => "unknown_matter",
            Self::TooManyPending => "too_many_pending",
            Self::TextRequired | Self::Text(_) => "bad_text",
        }
    }
}

/// A transition: the new state and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: RightsState,
    pub effects: Vec<Effect>,
}

fn text(s: &str) -> Result<String, RightsError> {
    if s.trim().is_empty() {
        return Err(RightsError::TextRequired);
    }
    Ok(clean_text(s, MAX_TEXT_CHARS)?)
}

/// The policy action a request needs.
pub fn needed_for(request: &Request) -> Action {
    match request {
        Request::Explain { .. } => Action::ExplainRights,
        Request::Claim { .. } => Action::ClaimPrivilege,
        Request::Object { .. } => Action::Object,
        Request::Rule { .. } => Action::Rule,
    }
}

/// Applies `request` asked by `by` at `now_ms`.
pub fn apply(
    state: &RightsState,
    by: &Asker,
    request: Request,
    now_ms: i64,
) -> Result<Transition, RightsError> {
    if !allows(Subject::Participant(by.role), needed_for(&request)) {
        return Err(RightsError::Forbidden);
    }
    let mut next = state.clone();
    let who = by.id.clone();
    let effects = match request {
        Request::Explain { language, text } => {
            // Made by the server, not typed by a person: logged exactly as read.
            next.explained = Some(Explained {
                language: language.clone(),
                text: text.clone(),
                at_ms: now_ms,
            });
            vec![
                Effect::Log(RightsEvent::Explained {
                    language,
                    text,
                    by: who,
                }),
                Effect::Announce,
            ]
        }
        Request::Claim { ground } => raise(
            state,
            &mut next,
            who,
            MatterKind::Privilege,
            &ground,
            now_ms,
        )?,
        Request::Object { ground } => raise(
            state,
            &mut next,
            who,
            MatterKind::Objection,
            &ground,
            now_ms,
        )?,
        Request::Rule {
            number,
            upheld,
            reason,
        } => {
            let Some(at) = state.pending.iter().position(|m| m.number == number) else {
                return Err(RightsError::UnknownMatter);
            };
            let reason = text(&reason)?;
            let matter = next.pending.remove(at);
            next.rulings.push(Ruling {
                matter,
                upheld,
                reason: reason.clone(),
                by: who.clone(),
                at_ms: now_ms,
            });
            let excess = next.rulings.len().saturating_sub(MAX_RULINGS_SHOWN);
            next.rulings.drain(..excess);
            vec![
                Effect::Log(RightsEvent::Ruled {
                    number,
                    upheld,
                    reason,
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

/// A new matter raised by `who`.
fn raise(
    state: &RightsState,
    next: &mut RightsState,
    who: String,
    kind: MatterKind,
    ground: &str,
    now_ms: i64,
) -> Result<Vec<Effect>, RightsError> {
    let ground = text(ground)?;
    if state.pending.iter().filter(|m| m.by == who).count() >= MAX_PENDING_EACH {
        return Err(RightsError::TooManyPending);
    }
    let matter = Matter {
        number: state.last_number.saturating_add(1),
        kind,
        by: who,
        ground,
        since_ms: now_ms,
    };
    next.last_number = matter.number;
    next.pending.push(matter.clone());
    Ok(vec![
        Effect::Log(RightsEvent::Raised(matter)),
        Effect::Announce,
    ])
}

/// Rebuilds the state from the events of a log (after a restart), in log order; events
/// that do not fit (a ruling on an unknown number) are skipped.
pub fn replay(events: impl IntoIterator<Item = (RightsEvent, i64)>) -> RightsState {
    let mut s = RightsState::default();
    for (event, at_ms) in events {
        match event {
            RightsEvent::Explained { language, text, .. } => {
                s.explained = Some(Explained {
                    language,
                    text,
                    at_ms,
                })
            }
            RightsEvent::Raised(mut m) => {
                m.since_ms = at_ms;
                s.last_number = s.last_number.max(m.number);
                s.pending.push(m);
            }
            RightsEvent::Ruled {
                number,
                upheld,
                reason,
                by,
            } => {
                if let Some(at) = s.pending.iter().position(|m| m.number == number) {
                    let matter = s.pending.remove(at);
                    s.rulings.push(Ruling {
                        matter,
                        upheld,
                        reason,
                        by,
                        at_ms,
                    });
                }
            }
        }
    }
    let excess = s.rulings.len().saturating_sub(MAX_RULINGS_SHOWN);
    s.rulings.drain(..excess);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: &str, role: ParticipantRole) -> Asker {
        Asker {
            id: id.into(),
            role,
        }
    }
    fn claim(g: &str) -> Request {
        Request::Claim { ground: g.into() }
    }
    fn rule(number: u64, upheld: bool, reason: &str) -> Request {
        Request::Rule {
            number,
            upheld,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_claim_is_numbered_logged_and_ruled_once() {
        let w = who("p-w", ParticipantRole::Witness);
        let j = who("p-j", ParticipantRole::Judge);
        let s = RightsState::default();
        let t = apply(&s, &w, claim("  my answer could incriminate me "), 7).unwrap();
        let m = Matter {
            number: 1,
            kind: MatterKind::Privilege,
            by: "p-w".into(),
            ground: "my answer could incriminate me".into(),
            since_ms: 7,
        };
        assert_eq!(t.state.pending, vec![m.clone()]);
        assert_eq!(
            t.effects,
            vec![Effect::Log(RightsEvent::Raised(m)), Effect::Announce]
        );
        assert_eq!(
            apply(&t.state, &j, rule(2, true, "x"), 8),
            Err(RightsError::UnknownMatter)
        );
        assert_eq!(
            apply(&t.state, &j, rule(1, true, " "), 8),
            Err(RightsError::TextRequired)
        );
        let r = apply(&t.state, &j, rule(1, true, "art. 12 (1) (a)"), 9).unwrap();
        assert!(r.state.pending.is_empty());
        assert_eq!(r.state.rulings.len(), 1);
        assert_eq!(r.state.rulings[0].at_ms, 9);
        assert!(r.effects.contains(&Effect::Log(RightsEvent::Ruled {
            number: 1,
            upheld: true,
            reason: "art. 12 (1) (a)".into(),
            by: "p-j".into()
        })));
        assert_eq!(
            apply(&r.state, &j, rule(1, false, "again"), 10),
            Err(RightsError::UnknownMatter)
        );
        // Numbers go on after a ruling.
        let n = apply(&r.state, &w, claim("spouse of the accused"), 11).unwrap();
        assert_eq!(n.state.pending[0].number, 2);
    }

    #[test]
    fn each_role_does_only_its_part() {
        let s = RightsState::default();
        let explain = || Request::Explain {
            language: "en".into(),
            text: "You may refuse…".into(),
        };
        let object = || Request::Object {
            ground: "leading question".into(),
        };
        use ParticipantRole::*;
        for (role, ok_claim, ok_object, ok_rule, ok_explain) in [
            (Judge, false, false, true, true),
            (Witness, true, false, false, false),
            (Counsel, true, false, false, false),
            (Prosecutor, false, true, false, false),
            (Defence, false, true, false, false),
            (Official, false, false, false, false),
            (Interpreter, false, false, false, false),
            (Clerk, false, false, false, false),
        ] {
            let a = who("p", role);
            assert_eq!(
                apply(&s, &a, claim("g"), 0).is_ok(),
                ok_claim,
                "{role} claim"
            );
            assert_eq!(
                apply(&s, &a, object(), 0).is_ok(),
                ok_object,
                "{role} object"
            );
            assert_eq!(apply(&s, &a, explain(), 0).is_ok(), ok_explain, "{role}");
            let pending = apply(&s, &who("p-w", Witness), claim("g"), 0).unwrap();
            let ruled = apply(&pending.state, &a, rule(1, false, "r"), 0);
            assert_eq!(ruled.is_ok(), ok_rule, "{role} rule");
            if !ok_rule {
                assert_eq!(ruled, Err(RightsError::Forbidden));
            }
        }
        let o = apply(&s, &who("p-d", Defence), object(), 0).unwrap();
        assert_eq!(o.state.pending[0].kind, MatterKind::Objection);
    }

    #[test]
    fn grounds_are_bounded_cleaned_and_pending_limited() {
        let w = who("p-w", ParticipantRole::Witness);
        let s = RightsState::default();
        assert_eq!(apply(&s, &w, claim(""), 0), Err(RightsError::TextRequired));
        assert!(matches!(
            apply(&s, &w, claim("a\u{202e}b"), 0),
            Err(RightsError::Text(TextError::Invisible))
        ));
        assert!(matches!(
            apply(&s, &w, claim(&"x".repeat(MAX_TEXT_CHARS + 1)), 0),
            Err(RightsError::Text(TextError::Length { .. }))
        ));
        let mut st = s;
        for i in 0..MAX_PENDING_EACH {
            st = apply(&st, &w, claim(&format!("ground {i}")), 0)
                .unwrap()
                .state;
        }
        assert_eq!(
            apply(&st, &w, claim("one more"), 0),
            Err(RightsError::TooManyPending)
        );
        // Counsel has their own allowance.
        let c = who("p-c", ParticipantRole::Counsel);
        assert!(apply(&st, &c, claim("for the witness"), 0).is_ok());
    }

    #[test]
    fn rulings_shown_are_bounded_and_replay_rebuilds_the_state() {
        let w = who("p-w", ParticipantRole::Witness);
        let j = who("p-j", ParticipantRole::Judge);
        let mut st = RightsState::default();
        let mut events = Vec::new();
        for i in 0..(MAX_RULINGS_SHOWN as i64 + 2) {
            for (req, by) in [(claim("g"), &w), (rule(i as u64 + 1, i % 2 == 0, "r"), &j)] {
                let t = apply(&st, by, req, i).unwrap();
                st = t.state;
                for e in t.effects {
                    if let Effect::Log(ev) = e {
                        events.push((ev, i));
                    }
                }
            }
        }
        let last = apply(&st, &w, claim("still open"), 99).unwrap();
        st = last.state;
        for e in last.effects {
            if let Effect::Log(ev) = e {
                events.push((ev, 99));
            }
        }
        assert_eq!(st.rulings.len(), MAX_RULINGS_SHOWN);
        assert_eq!(st.rulings[0].matter.number, 3);
        assert_eq!(replay(events), st);
    }
}
