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
    /// A new connection of a participant. If the invitation is bound to a device, the
    /// socket must first prove it holds that device's key (see `actor_device`); until
    /// then it replaces nothing. Otherwise it becomes the participant's connection.
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
        if live.public_key.is_none() {
            live.public_key = row.device_key.clone();
        }
        live.row = row;
        if let Some(out) = &out {
            // Staff are authenticated by their session; the binding is for invitations.
            let invited = live.row.user_id.is_none();
            if invited && live.public_key.is_some() && self.summary.state != HearingState::Closed {
                self.challenge(id, &pid, out.clone());
                return id;
            }
        }
        self.adopt(id, &pid, out).await;
        id
    }

    /// Makes `id` the participant's connection, replacing an older one.
    pub(super) async fn adopt(
        &mut self,
        id: ConnId,
        pid: &ParticipantId,
        out: Option<mpsc::Sender<Outbound>>,
    ) {
        let pid = pid.clone();
        let court_msg = self.court_msg();
        let admitted_msgs = self.admitted_msgs();
        let Some(live) = self.people.get_mut(&pid) else {
            return;
        };
        let role = live.row.role;
        if live.conn.is_some() {
            live.close_socket(close::REPLACED, "replaced by a newer connection");
            self.drop_conn(&pid, ConnectionState::None).await;
        }
        let Some(live) = self.people.get_mut(&pid) else {
            return;
        };
        live.conn = Some(Conn {
            id,
            out,
            session: None,
            awaiting_answer: false,
            renegotiate: false,
            recording: false,
            segments: 0,
            key_set: false,
            ended: None,
        });
        live.grace_until = None;
        self.conns.insert(id, pid.clone());
        if self.summary.state == HearingState::Closed {
            live.close_socket(close::HEARING_CLOSED, "the hearing has ended");
            return;
        }
        if live.presence == Presence::Removed {
            live.close_socket(close::REMOVED, "removed from the hearing");
            return;
        }
        if live.presence == Presence::Denied {
            // A denial holds across reconnections until the court admits or re-invites.
            live.send(ServerMsg::Denied);
            live.close_socket(close::DENIED, "the court did not admit you");
            self.log(EntryBody::JoinRefused {
                participant: pid.to_string(),
                reason: "denied".into(),
            });
            return;
        }
        // A locked hearing turns newcomers away; whoever the court admitted comes back.
        if self.court.locked && live.presence != Presence::Admitted && live.row.user_id.is_none() {
            live.send(ServerMsg::Locked);
            live.close_socket(close::HEARING_LOCKED, "the hearing is locked");
            if live.presence == Presence::Lobby {
                live.presence = Presence::Absent;
            }
            self.log(EntryBody::JoinRefused {
                participant: pid.to_string(),
                reason: "hearing_locked".into(),
            });
            self.broadcast_roster().await;
            return;
        }
        live.send(ServerMsg::Welcome {
            participant: live.roster_entry(),
            hearing: self.summary.clone(),
            ice_servers: self.deps.config.ice_servers_now(),
        });
        live.send(ServerMsg::HearingState {
            state: self.summary.state,
        });
        live.send(court_msg);
        if live.presence == Presence::Admitted {
            live.send(ServerMsg::Admitted);
            for m in admitted_msgs {
                live.send(m);
            }
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
        self.broadcast_roster().await;
    }

    pub(super) async fn drop_conn(&mut self, pid: &ParticipantId, connection: ConnectionState) {
        // An exhibit or a channel ends with its owner's connection.
        self.end_extras_of(pid, |_| true).await;
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
        if self.side_conn_gone(conn).await {
            return;
        }
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
        self.broadcast_roster().await;
    }

    /// What someone admitted is told after `admitted` (at admission and on rejoining):
    /// claims and rulings, the exhibits being shown (their tiles' names) and the
    /// interpretation channels, which only those in the hearing see.
    pub(super) fn admitted_msgs(&self) -> [ServerMsg; 3] {
        [
            self.rights_msg(),
            self.exhibits_msg(),
            self.interpretation_msg(),
        ]
    }

    pub(super) async fn expire_grace(&mut self) {
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
            self.broadcast_roster().await;
        }
    }

    pub(super) async fn whip_offer(
        &mut self,
        row: ParticipantRow,
        sdp: String,
    ) -> Result<super::WhipAnswer, HearingError> {
        if self.summary.state == HearingState::Closed {
            return Err(HearingError::Closed);
        }
        let pid = row.id.clone();
        // WHIP has no key to prove a device with: it may not take over a connected or
        // device-bound invitation, nor one the court refused.
        let live = self.people.get(&pid);
        let bound = row.device_key.is_some() || live.is_some_and(|p| p.public_key.is_some());
        let refused = row.denied
            || live.is_some_and(|p| matches!(p.presence, Presence::Denied | Presence::Removed));
        if refused {
            return Err(HearingError::Forbidden);
        }
        if bound {
            return Err(HearingError::DeviceBound);
        }
        if live.is_some_and(|p| p.conn.is_some()) {
            return Err(HearingError::Busy);
        }
        let conn = self.connect(row, None).await;
        let answer = self.whip_answer(&pid, sdp).await;
        if answer.is_err() {
            // A refused offer leaves nothing behind: the next POST may try again.
            self.drop_conn(&pid, ConnectionState::None).await;
            self.conns.remove(&conn);
        }
        answer.map(|(answer, ended)| (conn, answer, ended))
    }

    async fn whip_answer(
        &mut self,
        pid: &ParticipantId,
        sdp: String,
    ) -> Result<(String, tokio::sync::oneshot::Receiver<()>), HearingError> {
        if !self.start_session(pid).await {
            return Err(HearingError::Media(
                "cannot create a peer connection".into(),
            ));
        }
        let (ended_tx, ended) = tokio::sync::oneshot::channel();
        let conn_state = self.people.get_mut(pid).and_then(|p| p.conn.as_mut());
        let session = conn_state.ok_or(HearingError::Gone)?;
        session.ended = Some(ended_tx);
        let session = session.session.as_mut().ok_or(HearingError::Gone)?;
        session
            .accept_offer(sdp)
            .await
            .map(|answer| (answer, ended))
            .map_err(|e| HearingError::Media(e.to_string()))
    }
}
