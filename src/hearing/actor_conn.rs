//! The hearing task's connections: a participant's WebSocket (or WHIP session) arriving,
//! dropping, its reconnect grace expiring, and the WHIP offer that starts its media.

use super::actor::Actor;
use super::live::{Conn, Live};
use super::protocol::{Outbound, ServerMsg, close};
use super::{ConnId, HearingError, next_conn_id};
use crate::domain::{
    Action, ConnectionState, HearingState, ParticipantId, Presence, Subject, allows,
};
use crate::store::ParticipantRow;
use crate::verify::entry::EntryBody;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

impl Actor {
    /// Registers a new connection of a participant, replacing an older one.
    pub(super) async fn connect(
        &mut self,
        row: ParticipantRow,
        out: Option<mpsc::Sender<Outbound>>,
    ) -> ConnId {
        let id = next_conn_id();
        let pid = row.id.clone();
        let live = self
            .people
            .entry(pid.clone())
            .or_insert_with(|| Live::new(row.clone()));
        live.row = row;
        let role = live.row.role;
        if live.conn.is_some() {
            live.close_socket(close::REPLACED, "replaced by a newer connection");
            self.drop_conn(&pid, ConnectionState::None).await;
        }
        let Some(live) = self.people.get_mut(&pid) else {
            return id;
        };
        live.conn = Some(Conn {
            id,
            out,
            session: None,
            awaiting_answer: false,
            renegotiate: false,
            recording: false,
        });
        live.grace_until = None;
        self.conns.insert(id, pid.clone());
        if self.summary.state == HearingState::Closed {
            live.close_socket(close::HEARING_CLOSED, "the hearing has ended");
            return id;
        }
        if live.presence == Presence::Removed {
            live.close_socket(close::REMOVED, "removed from the hearing");
            return id;
        }
        live.send(ServerMsg::Welcome {
            participant: live.roster_entry(),
            hearing: self.summary.clone(),
            ice_servers: self.deps.config.ice_servers_now(),
        });
        live.send(ServerMsg::HearingState {
            state: self.summary.state,
        });
        if live.presence == Presence::Admitted {
            live.send(ServerMsg::Admitted);
        } else {
            live.presence = Presence::Lobby;
            live.send(ServerMsg::Lobby);
        }
        debug!(participant = %pid, conn = id, "connected");
        self.log(EntryBody::ParticipantJoined {
            participant: pid.to_string(),
        });
        if let Some(checkpoint) = self.checkpoint_ref() {
            self.send(&pid, ServerMsg::Checkpoint { checkpoint });
        }
        // A court console starts from what the log holds (it may be a reload).
        if allows(Subject::Participant(role), Action::Admit) {
            if let Some(replay) = self.attestations_replay() {
                self.send(&pid, replay);
            }
            for (participant, state) in &self.recording_states {
                self.send(
                    &pid,
                    ServerMsg::Recording {
                        participant: participant.to_string(),
                        state,
                    },
                );
            }
        }
        self.broadcast_roster();
        id
    }

    pub(super) async fn drop_conn(&mut self, pid: &ParticipantId, connection: ConnectionState) {
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        // Its tracks stay subscribed at everyone else, silent: if the participant comes
        // back, the same outlets carry the new connection's media with no renegotiation.
        p.published.clear();
        p.connection = connection;
        if let Some(conn) = p.conn.take() {
            self.conns.remove(&conn.id);
            if let Some(s) = conn.session {
                s.close().await;
            }
        }
    }

    pub(super) async fn disconnected(&mut self, conn: ConnId) {
        let Some(pid) = self.conns.get(&conn).cloned() else {
            return;
        };
        let grace = self.deps.config.reconnect_grace;
        self.drop_conn(&pid, ConnectionState::Reconnecting).await;
        self.log(EntryBody::ParticipantLeft {
            participant: pid.to_string(),
            reason: "disconnected".into(),
        });
        if let Some(p) = self.people.get_mut(&pid) {
            if p.presence == Presence::Lobby {
                p.presence = Presence::Absent;
                p.connection = ConnectionState::None;
            } else {
                p.grace_until = Some(Instant::now() + grace);
            }
        }
        self.broadcast_roster();
    }

    pub(super) fn expire_grace(&mut self) {
        let now = Instant::now();
        let mut changed = false;
        for p in self.people.values_mut() {
            if p.conn.is_none() && p.grace_until.is_some_and(|t| t <= now) {
                p.grace_until = None;
                p.connection = ConnectionState::None;
                changed = true;
            }
        }
        if changed {
            self.broadcast_roster();
        }
    }

    pub(super) async fn whip_offer(
        &mut self,
        row: ParticipantRow,
        sdp: String,
    ) -> Result<(ConnId, String), HearingError> {
        if self.summary.state == HearingState::Closed {
            return Err(HearingError::Closed);
        }
        let pid = row.id.clone();
        let conn = self.connect(row, None).await;
        if !self.start_session(&pid).await {
            return Err(HearingError::Media(
                "cannot create a peer connection".into(),
            ));
        }
        let session = self.session_mut(&pid).ok_or(HearingError::Gone)?;
        session
            .accept_offer(sdp)
            .await
            .map(|answer| (conn, answer))
            .map_err(|e| HearingError::Media(e.to_string()))
    }
}
