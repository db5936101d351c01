//! The signalling messages about the witness's rights (docs/protocol.md, "Witness's
//! rights"): what a client asks (`rights` with an `act`) and the rights state every
//! participant is shown, made from `domain::rights::RightsState`. Owns only the wire
//! shapes; who may do what is decided in `domain::rights`.

use crate::domain::rights::{Matter, RightsState, Ruling};
use crate::verify::clock::format_ms;
use serde::{Deserialize, Serialize};

/// What a `rights` message asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsAct {
    /// Read the rights to the witness (judge).
    Explain,
    /// Claim a privilege (witness, counsel).
    Claim,
    /// Object (prosecutor, defence).
    Object,
    /// Rule on a claim or objection (judge).
    Rule,
}

/// The rights state as participants see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RightsView {
    /// The last statement of rights read, or null.
    pub explained: Option<ExplainedView>,
    /// Awaiting the judge's ruling, oldest first.
    pub pending: Vec<MatterView>,
    /// The latest rulings, oldest first.
    pub rulings: Vec<RulingView>,
}

/// The statement of rights as read (and logged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExplainedView {
    pub language: String,
    pub text: String,
    /// RFC 3339.
    pub time: String,
}

/// A claim of privilege or an objection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatterView {
    pub number: u64,
    /// `privilege` or `objection`.
    pub kind: &'static str,
    /// Who raised it (participant id).
    pub by: String,
    pub ground: String,
    /// RFC 3339.
    pub time: String,
}

/// A matter and the ruling on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RulingView {
    #[serde(flatten)]
    pub matter: MatterView,
    pub upheld: bool,
    pub reason: String,
    /// The judge (participant id).
    pub judge: String,
    /// RFC 3339.
    pub ruled_at: String,
}

fn matter(m: &Matter) -> MatterView {
    MatterView {
        number: m.number,
        kind: m.kind.as_str(),
        by: m.by.clone(),
        ground: m.ground.clone(),
        time: format_ms(m.since_ms),
    }
}

fn ruling(r: &Ruling) -> RulingView {
    RulingView {
        matter: matter(&r.matter),
        upheld: r.upheld,
        reason: r.reason.clone(),
        judge: r.by.clone(),
        ruled_at: format_ms(r.at_ms),
    }
}

impl From<&RightsState> for RightsView {
    fn from(s: &RightsState) -> Self {
        RightsView {
            explained: s.explained.as_ref().map(|e| ExplainedView {
                language: e.language.clone(),
                text: e.text.clone(),
                time: format_ms(e.at_ms),
            }),
            pending: s.pending.iter().map(matter).collect(),
            rulings: s.rulings.iter().map(ruling).collect(),
        }
    }
}
