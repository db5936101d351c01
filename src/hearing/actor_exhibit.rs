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
use super::next_conn_id;
use super::protocol::{ExhibitInfo, ServerMsg};
use super::recording::{self, RecorderSettings};
use crate::domain::{Action, ParticipantId, Presence, Subject, allows};
use crate::rtc::{PeerSession, PublishedTrack};
use crate::verify::entry::EntryBody;
use tracing::warn;

/// Exhibits one participant may show at once.
const PER_PARTICIPANT: usize = 1;
/// Exhibits a hearing may show at once.
const AT_ONCE: usize = 4;

/// An exhibit being shown.
pub(super) struct Exhibit {
    pub number: u64,
    pub owner: ParticipantId,
    /// `<owner>-x<number>`: the stream id at subscribers and the recorder's participant.
    pub stream: ParticipantId,
    pub session: Option<PeerSession>,
    pub track: Option<PublishedTrack>,
}

impl Actor {
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
        let mine = self.exhibits.values().filter(|e| e.owner == *pid).count();
        if mine >= PER_PARTICIPANT || self.exhibits.len() >= AT_ONCE {
            return self.error(pid, "too_many_exhibits", "stop the exhibit shown first");
        }
        self.exhibit_count += 1;
        let number = self.exhibit_count;
        let stream = ParticipantId::from_trusted(format!("{pid}-x{number}"));
        let tag = next_conn_id();
        let session = self
            .deps
            .rtc
            .session(
                tag,
                stream.to_string(),
                self.rtc_tx.clone(),
                self.outlets,
                true,
            )
            .await;
        let mut session = match session {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot create the exhibit's peer connection");
                return self.error(pid, "media_unavailable", "the media server cannot take it");
            }
        };
        let answer = match session.accept_offer(sdp).await {
            Ok(a) => a,
            Err(_) => {
                session.close().await;
                return self.error(pid, "bad_sdp", "the exhibit offer was rejected");
            }
        };
        if let Some(dir) = self.record.as_ref().map(|r| r.media_dir()) {
            let settings = RecorderSettings {
                dir,
                base_name: stream.to_string(),
                rotate_after: self.deps.config.rotate_after,
            };
            match recording::start(stream.clone(), settings, self.rec_tx.clone()) {
                Ok(sink) => {
                    session.set_record_sink(Some(sink));
                    self.recorders += 1;
                }
                Err(e) => warn!(error = %e, "cannot start the exhibit's recorder"),
            }
        }
        self.exhibits.insert(
            tag,
            Exhibit {
                number,
                owner: pid.clone(),
                stream: stream.clone(),
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
        let tags: Vec<u64> = self
            .exhibits
            .iter()
            .filter(|(_, e)| e.owner == *pid)
            .map(|(t, _)| *t)
            .collect();
        for t in tags {
            self.end_exhibit(t).await;
        }
    }

    /// Ends every exhibit (the hearing closes or the server stops).
    pub(super) async fn end_all_exhibits(&mut self) {
        let tags: Vec<u64> = self.exhibits.keys().copied().collect();
        for t in tags {
            self.end_exhibit(t).await;
        }
    }

    async fn end_exhibit(&mut self, tag: u64) {
        let Some(mut e) = self.exhibits.remove(&tag) else {
            return;
        };
        if let Some(s) = e.session.take() {
            // Closing drops the record sink: the recorder seals the file and reports.
            s.close().await;
        }
        self.log(EntryBody::Exhibit {
            number: e.number,
            participant: e.owner.to_string(),
            stream: e.stream.to_string(),
            started: false,
        });
        self.broadcast_exhibits();
    }

    /// A media event of an exhibit's peer connection; false if `tag` is not an exhibit.
    pub(super) async fn exhibit_event(
        &mut self,
        tag: u64,
        ev: crate::rtc::SessionEventKind,
    ) -> bool {
        use crate::rtc::{MediaKind, PeerState, SessionEventKind};
        let Some(e) = self.exhibits.get_mut(&tag) else {
            return false;
        };
        match ev {
            SessionEventKind::TrackPublished(track) => {
                if track.kind != MediaKind::Video || e.track.is_some() {
                    track.set_forwarding(false);
                    return true; // one video track, nothing else
                }
                track.set_forwarding(true);
                e.track = Some(track.clone());
                let owner = e.owner.clone();
                for other in self.subscribers_except(&owner) {
                    if let Some(s) = self.session_mut(&other) {
                        let _ = s.subscribe(&track).await;
                    }
                    self.renegotiate(&other).await;
                }
            }
            SessionEventKind::State(PeerState::Failed) => self.end_exhibit(tag).await,
            SessionEventKind::State(_) => {}
        }
        true
    }

    /// Tracks of the exhibits being shown (a participant who arrives subscribes to them).
    pub(super) fn exhibit_tracks(&self) -> Vec<PublishedTrack> {
        self.exhibits
            .values()
            .filter_map(|e| e.track.clone())
            .collect()
    }

    /// Asks the exhibit with this recorder stream for a keyframe; false if none.
    pub(super) fn exhibit_keyframe(&self, stream: &ParticipantId) -> bool {
        let Some(e) = self.exhibits.values().find(|e| e.stream == *stream) else {
            return false;
        };
        if let Some(t) = &e.track {
            t.request_keyframe();
        }
        true
    }

    pub(super) fn exhibits_msg(&self) -> ServerMsg {
        let mut exhibits: Vec<ExhibitInfo> = self
            .exhibits
            .values()
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
        let msg = self.exhibits_msg();
        for p in self.people.values() {
            if p.presence == Presence::Admitted {
                p.send(msg.clone());
            }
        }
    }

    /// `labels` (participant id -> label) with "Exhibit N, shown by …" for every exhibit
    /// stream in the log, for the derived copies and the composite.
    pub(super) fn with_exhibit_labels(
        &self,
        mut labels: std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        for v in self.log_values() {
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

    fn log_values(&self) -> Vec<serde_json::Value> {
        let Some(rec) = self.record.as_ref() else {
            return Vec::new();
        };
        let Ok(bytes) = std::fs::read(rec.dir.join("log").join("entries.jsonl")) else {
            return Vec::new();
        };
        bytes
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .collect()
    }

    /// The number of exhibits already in the log (a restarted task numbers on).
    pub(super) fn exhibits_in_log(&self) -> u64 {
        self.log_values()
            .iter()
            .filter(|v| v["type"] == "exhibit" && v["started"] == true)
            .count() as u64
    }
}
