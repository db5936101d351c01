//! Extra streams: media a participant sends on a second, send-only peer connection
//! besides their camera and microphone — an exhibit (`actor_exhibit`: one video track, a
//! shared screen) or an interpretation channel (`actor_interpret`: one audio track, the
//! interpreter's voice in one language).
//!
//! What both share lives here: the connection is given its own stream id
//! (`<participant>-x<N>` or `-i<N>`), which is the recorder's participant (its own files,
//! its own `media_chunk` entries) and the remote MediaStream id at subscribers; its one
//! track is forwarded to everyone admitted except its owner; it ends with its owner's
//! connection, on failure, and when the hearing closes. Each kind logs its own start and
//! stop entries and tells pages its own list.

use super::actor::Actor;
use super::next_conn_id;
use super::recording::{self, RecorderSettings};
use crate::domain::ParticipantId;
use crate::rtc::{MediaKind, PeerSession, PeerState, PublishedTrack, SessionEventKind};
use tracing::warn;

/// What an extra stream carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ExtraKind {
    Exhibit,
    /// Interpretation into this language.
    Interpretation(String),
}

impl ExtraKind {
    /// The one kind of track the stream may carry.
    fn media(&self) -> MediaKind {
        match self {
            Self::Exhibit => MediaKind::Video,
            Self::Interpretation(_) => MediaKind::Audio,
        }
    }
}

/// An extra stream being sent.
pub(super) struct Extra {
    /// Its number among the hearing's streams of its kind, from 1.
    pub number: u64,
    pub owner: ParticipantId,
    /// The stream id at subscribers and the recorder's participant.
    pub stream: ParticipantId,
    pub kind: ExtraKind,
    pub session: Option<PeerSession>,
    pub track: Option<PublishedTrack>,
}

impl Actor {
    /// Answers `sdp` on a new send-only connection for `stream` and starts its recorder.
    /// On failure tells `pid` why and returns None.
    pub(super) async fn open_extra(
        &mut self,
        pid: &ParticipantId,
        stream: &ParticipantId,
        sdp: String,
    ) -> Option<(u64, PeerSession, String)> {
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
                warn!(error = %e, "cannot create a send-only peer connection");
                self.error(pid, "media_unavailable", "the media server cannot take it");
                return None;
            }
        };
        let answer = match session.accept_offer(sdp).await {
            Ok(a) => a,
            Err(_) => {
                session.close().await;
                self.error(pid, "bad_sdp", "the offer was rejected");
                return None;
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
                Err(e) => warn!(error = %e, "cannot start a send-only stream's recorder"),
            }
        }
        Some((tag, session, answer))
    }

    /// Removes the extra stream `tag` and closes its connection (which drops the record
    /// sink: the recorder seals the file and reports). The caller logs the stop.
    pub(super) async fn close_extra(&mut self, tag: u64) -> Option<Extra> {
        let mut e = self.extras.remove(&tag)?;
        if let Some(s) = e.session.take() {
            s.close().await;
        }
        Some(e)
    }

    /// Ends the extra stream `tag`, whatever its kind.
    async fn end_extra(&mut self, tag: u64) {
        match self.extras.get(&tag).map(|e| e.kind.clone()) {
            Some(ExtraKind::Exhibit) => self.end_exhibit(tag).await,
            Some(ExtraKind::Interpretation(_)) => self.end_channel(tag).await,
            None => {}
        }
    }

    /// Ends `pid`'s extra streams of the kinds `which` accepts.
    pub(super) async fn end_extras_of(
        &mut self,
        pid: &ParticipantId,
        which: impl Fn(&ExtraKind) -> bool,
    ) {
        let tags: Vec<u64> = self
            .extras
            .iter()
            .filter(|(_, e)| e.owner == *pid && which(&e.kind))
            .map(|(t, _)| *t)
            .collect();
        for t in tags {
            self.end_extra(t).await;
        }
    }

    /// Ends every extra stream (the hearing closes or the server stops).
    pub(super) async fn end_all_extras(&mut self) {
        let tags: Vec<u64> = self.extras.keys().copied().collect();
        for t in tags {
            self.end_extra(t).await;
        }
    }

    /// A media event of an extra stream's connection; false if `tag` is not one.
    pub(super) async fn extra_event(&mut self, tag: u64, ev: SessionEventKind) -> bool {
        let Some(e) = self.extras.get_mut(&tag) else {
            return false;
        };
        match ev {
            SessionEventKind::TrackPublished(track) => {
                if track.kind != e.kind.media() || e.track.is_some() {
                    track.set_forwarding(false);
                    return true; // one track of its kind, nothing else
                }
                // A channel is the interpreter's microphone: muted by the court, it is
                // not forwarded either (`actor_interpret::apply_forwarding`).
                let on = e.kind == ExtraKind::Exhibit
                    || self
                        .people
                        .get(&e.owner)
                        .is_some_and(|p| p.forwards(MediaKind::Audio));
                track.set_forwarding(on);
                e.track = Some(track.clone());
                let owner = e.owner.clone();
                for other in self.subscribers_except(&owner) {
                    if let Some(s) = self.session_mut(&other) {
                        let _ = s.subscribe(&track).await;
                    }
                    self.renegotiate(&other).await;
                }
            }
            SessionEventKind::State(PeerState::Failed) => self.end_extra(tag).await,
            // An extra stream's link is its owner's: their own connection reports it.
            SessionEventKind::State(_)
            | SessionEventKind::Quality(_)
            | SessionEventKind::AudioOnly(_) => {}
        }
        true
    }

    /// Tracks of the extra streams being sent (a participant who arrives subscribes to
    /// them).
    pub(super) fn extra_tracks(&self) -> Vec<PublishedTrack> {
        self.extras
            .values()
            .filter_map(|e| e.track.clone())
            .collect()
    }

    /// Asks the extra stream recorded as `stream` for a keyframe; false if none.
    pub(super) fn extra_keyframe(&self, stream: &ParticipantId) -> bool {
        let Some(e) = self.extras.values().find(|e| e.stream == *stream) else {
            return false;
        };
        if let Some(t) = e.track.as_ref().filter(|t| t.kind == MediaKind::Video) {
            t.request_keyframe();
        }
        true
    }

    /// The entries of the hearing's log so far, as JSON values (empty without a log).
    pub(super) fn log_values(&self) -> Vec<serde_json::Value> {
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

    /// The number of `kind` entries (`exhibit`, `interpretation`) already started in the
    /// log (a restarted task numbers on).
    pub(super) fn started_in_log(log: &[serde_json::Value], kind: &str) -> u64 {
        log.iter()
            .filter(|v| v["type"] == kind && v["started"] == true)
            .count() as u64
    }
}
