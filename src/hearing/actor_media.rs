//! The hearing task's media negotiation: the client's first offer, server offers when
//! tracks are added (one at a time per peer), peer connection events, and sharing a
//! newly published track with everyone allowed to receive it.

use super::actor::Actor;
use super::protocol::ServerMsg;
use super::protocol::close;
use crate::domain::{Action, ConnectionState, ParticipantId, Presence, Subject, allows};
use crate::rtc::{PeerState, PublishedTrack, SessionEvent, SessionEventKind};
use tracing::{debug, warn};

impl Actor {
    pub(super) async fn client_offer(&mut self, pid: &ParticipantId, sdp: String) {
        let Some(p) = self.people.get(pid) else {
            return;
        };
        if p.presence != Presence::Admitted {
            self.error(pid, "out_of_order", "wait until the court admits you");
            return;
        }
        if p.conn.as_ref().is_some_and(|c| c.awaiting_answer) {
            self.error(pid, "out_of_order", "answer the server's offer first");
            return;
        }
        let fresh = p.conn.as_ref().is_some_and(|c| c.session.is_none());
        if fresh && !self.start_session(pid).await {
            return;
        }
        let answer = match self.session_mut(pid) {
            Some(s) => s.accept_offer(sdp).await,
            None => return,
        };
        match answer {
            Ok(sdp) => self.send(pid, ServerMsg::Answer { sdp }),
            Err(e) => {
                debug!(participant = %pid, error = %e, "offer rejected");
                self.error(pid, "bad_sdp", "the offer was rejected");
                return;
            }
        }
        if fresh {
            self.subscribe_to_others(pid).await;
        }
    }

    pub(super) async fn client_answer(&mut self, pid: &ParticipantId, sdp: String) {
        let Some(conn) = self.people.get_mut(pid).and_then(|p| p.conn.as_mut()) else {
            return;
        };
        if !conn.awaiting_answer {
            self.error(pid, "out_of_order", "no offer is waiting for an answer");
            return;
        }
        let Some(session) = conn.session.as_mut() else {
            return;
        };
        let result = session.accept_answer(sdp).await;
        conn.awaiting_answer = false;
        let again = std::mem::take(&mut conn.renegotiate);
        if result.is_err() {
            self.error(pid, "bad_sdp", "the answer was rejected");
        }
        if again {
            self.renegotiate(pid).await;
        }
    }

    /// Creates the peer connection for a participant's current connection.
    pub(super) async fn start_session(&mut self, pid: &ParticipantId) -> bool {
        let Some(p) = self.people.get(pid) else {
            return false;
        };
        let Some(conn_id) = p.conn.as_ref().map(|c| c.id) else {
            return false;
        };
        // Forwarding starts off; it is switched on per track from the participant's state.
        match self
            .deps
            .rtc
            .session(
                conn_id,
                pid.to_string(),
                self.rtc_tx.clone(),
                self.outlets,
                false,
            )
            .await
        {
            Ok(session) => {
                if let Some(p) = self.people.get_mut(pid) {
                    if let Some(c) = p.conn.as_mut() {
                        c.session = Some(session);
                    }
                    p.connection = ConnectionState::Connecting;
                }
                self.start_recorder(pid);
                true
            }
            Err(e) => {
                warn!(error = %e, "cannot create a peer connection");
                self.error(
                    pid,
                    "media_unavailable",
                    "the media server cannot take the connection",
                );
                false
            }
        }
    }

    pub(super) fn session_mut(
        &mut self,
        pid: &ParticipantId,
    ) -> Option<&mut crate::rtc::PeerSession> {
        self.people.get_mut(pid)?.conn.as_mut()?.session.as_mut()
    }

    /// Subscribes `pid` to every track it may receive, then renegotiates.
    pub(super) async fn subscribe_to_others(&mut self, pid: &ParticipantId) {
        let Some(role) = self.people.get(pid).map(|p| p.row.role) else {
            return;
        };
        if !allows(Subject::Participant(role), Action::Subscribe) {
            return;
        }
        let tracks: Vec<PublishedTrack> = self
            .people
            .iter()
            .filter(|(id, p)| *id != pid && p.presence == Presence::Admitted)
            .flat_map(|(_, p)| p.published.iter().cloned())
            .chain(self.extra_tracks())
            .collect();
        if tracks.is_empty() {
            return;
        }
        if let Some(s) = self.session_mut(pid) {
            for t in &tracks {
                let _ = s.subscribe(t).await;
            }
        }
        self.renegotiate(pid).await;
    }

    /// Sends a server offer now, or after the outstanding one is answered.
    pub(super) async fn renegotiate(&mut self, pid: &ParticipantId) {
        let Some(conn) = self.people.get_mut(pid).and_then(|p| p.conn.as_mut()) else {
            return;
        };
        if conn.awaiting_answer {
            conn.renegotiate = true;
            return;
        }
        if conn.out.is_none() {
            return; // WHIP publishers do not receive.
        }
        let Some(session) = conn.session.as_mut() else {
            return;
        };
        match session.create_offer().await {
            Ok(Some(sdp)) => {
                conn.awaiting_answer = true;
                self.send(pid, ServerMsg::Offer { sdp });
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "server offer failed"),
        }
    }

    pub(super) async fn media_event(&mut self, ev: SessionEvent) {
        let Some(pid) = self.conns.get(&ev.tag).cloned() else {
            self.extra_event(ev.tag, ev.kind).await;
            return;
        };
        match ev.kind {
            SessionEventKind::State(state) => {
                let connection = match state {
                    PeerState::Connecting => ConnectionState::Connecting,
                    PeerState::Connected => ConnectionState::Connected,
                    PeerState::Disconnected => ConnectionState::Reconnecting,
                    PeerState::Failed => ConnectionState::Failed,
                    PeerState::Closed => return,
                };
                if let Some(p) = self.people.get_mut(&pid) {
                    p.connection = connection;
                }
                if state == PeerState::Failed {
                    if let Some(p) = self.people.get(&pid) {
                        p.close_socket(close::MEDIA_FAILED, "the media connection failed");
                    }
                    self.drop_conn(&pid, ConnectionState::Failed).await;
                }
                self.broadcast_roster().await;
            }
            SessionEventKind::TrackPublished(track) => self.track_published(&pid, track).await,
            SessionEventKind::Quality(q) => self.link_quality(&pid, q),
            SessionEventKind::AudioOnly(on) => self.audio_only(&pid, on),
        }
    }

    pub(super) async fn track_published(&mut self, pid: &ParticipantId, track: PublishedTrack) {
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        let kind_allowed = match track.kind {
            crate::rtc::MediaKind::Audio => Action::PublishAudio,
            crate::rtc::MediaKind::Video => Action::PublishVideo,
        };
        if !allows(Subject::Participant(p.row.role), kind_allowed) {
            return; // never forwarded
        }
        track.set_forwarding(p.forwards(track.kind));
        p.published.retain(|t| t.track_id != track.track_id);
        p.published.push(track.clone());
        if p.presence != Presence::Admitted {
            return;
        }
        let others: Vec<ParticipantId> = self.subscribers_except(pid);
        for other in others {
            if let Some(s) = self.session_mut(&other) {
                let _ = s.subscribe(&track).await;
            }
            self.renegotiate(&other).await;
        }
    }

    pub(super) fn subscribers_except(&self, pid: &ParticipantId) -> Vec<ParticipantId> {
        self.people
            .iter()
            .filter(|(id, p)| {
                *id != pid
                    && p.presence == Presence::Admitted
                    && allows(Subject::Participant(p.row.role), Action::Subscribe)
                    && p.conn
                        .as_ref()
                        .is_some_and(|c| c.session.is_some() && c.out.is_some())
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}
