//! Exhibits: a participant the policy allows (`ShowExhibit`) shares a screen or a window
//! from their page. The page opens a second, send-only peer connection for it
//! (`exhibit_offer`); the server gives it its own stream (`<participant>-x<N>`, exhibit
//! N of the hearing), forwards its video to everyone in the hearing and records it as its
//! own file (its `media_chunk` entries name that stream), and logs `exhibit` when it
//! starts and stops. The composite and the per-stream copies carry it like a participant
//! ("Exhibit N, shown by …").
//!
//! It must never forward or record an exhibit of someone not admitted, and an exhibit
//! ends with its owner's connection, a consultation never includes one, and the hearing's
//! close ends all.

use super::actor::Actor;
use super::actor_extra::{Extra, ExtraKind};
use super::protocol::{ExhibitInfo, ServerMsg};
use crate::domain::{Action, ParticipantId, Presence, Subject, allows};
use crate::verify::entry::EntryBody;

/// Exhibits one participant may show at once.
const PER_PARTICIPANT: usize = 1;
/// Exhibits a hearing may show at once.
const AT_ONCE: usize = 4;

impl Actor {
    fn exhibits(&self) -> impl Iterator<Item = &Extra> {
        self.extras
            .values()
            .filter(|e| e.kind == ExtraKind::Exhibit)
    }

    pub(super) async fn exhibit_offer(&mut self, pid: &ParticipantId, sdp: String) {
        let Some(p) = self.people.get(pid) else {
            return;
        };
        if !allows(Subject::Participant(p.row.role), Action::ShowExhibit) {
            return self.error(pid, "forbidden", "your role may not show exhibits");
        }
        if p.presence != Presence::Admitted || p.in_consultation {
            return self.error(pid, "out_of_order", "exhibits are shown in the hearing");
        }
        if self.record.is_none() {
            return self.error(pid, "out_of_order", "the hearing is not open");
        }
        let mine = self.exhibits().filter(|e| e.owner == *pid).count();
        if mine >= PER_PARTICIPANT || self.exhibits().count() >= AT_ONCE {
            return self.error(pid, "too_many_exhibits", "stop the exhibit shown first");
        }
        let number = self.exhibit_count + 1;
        let stream = ParticipantId::from_trusted(format!("{pid}-x{number}"));
        let Some((tag, session, answer)) = self.open_extra(pid, &stream, sdp).await else {
            return;
        };
        self.exhibit_count = number;
        self.extras.insert(
            tag,
            Extra {
                number,
                owner: pid.clone(),
                stream: stream.clone(),
                kind: ExtraKind::Exhibit,
                session: Some(session),
                track: None,
            },
        );
        self.log(EntryBody::Exhibit {
            number,
            participant: pid.to_string(),
            stream: stream.to_string(),
            started: true,
        });
        self.send(pid, ServerMsg::ExhibitAnswer { sdp: answer });
        self.broadcast_exhibits();
    }

    /// Stops `pid`'s exhibit(s), if any.
    pub(super) async fn exhibit_stop(&mut self, pid: &ParticipantId) {
        self.end_extras_of(pid, |k| *k == ExtraKind::Exhibit).await;
    }

    pub(super) async fn end_exhibit(&mut self, tag: u64) {
        let Some(e) = self.close_extra(tag).await else {
            return;
        };
        self.log(EntryBody::Exhibit {
            number: e.number,
            participant: e.owner.to_string(),
            stream: e.stream.to_string(),
            started: false,
        });
        self.broadcast_exhibits();
    }

    pub(super) fn exhibits_msg(&self) -> ServerMsg {
        let mut exhibits: Vec<ExhibitInfo> = self
            .exhibits()
            .map(|e| ExhibitInfo {
                number: e.number,
                participant: e.owner.to_string(),
                stream: e.stream.to_string(),
            })
            .collect();
        exhibits.sort_by_key(|e| e.number);
        ServerMsg::Exhibits { exhibits }
    }

    fn broadcast_exhibits(&self) {
        self.to_admitted(self.exhibits_msg());
    }

    /// `labels` (participant id -> label) with "Exhibit N, shown by …" for every exhibit
    /// stream in `log` (the log's entries), for the derived copies and the composite.
    pub(super) fn with_exhibit_labels(
        log: &[serde_json::Value],
        mut labels: std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        for v in log {
            if v["type"] != "exhibit" || v["started"] != true {
                continue;
            }
            let (Some(stream), Some(owner), Some(n)) = (
                v["stream"].as_str(),
                v["participant"].as_str(),
                v["number"].as_u64(),
            ) else {
                continue;
            };
            let by = labels
                .get(owner)
                .cloned()
                .unwrap_or_else(|| owner.to_owned());
            labels.insert(stream.to_owned(), format!("Exhibit {n}, shown by {by}"));
        }
        labels
    }
}
