//! A participant's live state inside the hearing task.

use super::ConnId;
use super::protocol::{Outbound, RosterEntry, ServerMsg};
use crate::domain::{ConnectionState, ParticipantRole, Presence};
use crate::rtc::{PeerSession, PublishedTrack};
use crate::store::ParticipantRow;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the API shows about a participant's live state.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LiveStatus {
    pub presence: Presence,
    pub connection: ConnectionState,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub muted_by_court: bool,
}

/// One connection: a signalling socket (or a WHIP resource) and its peer connection.
pub(crate) struct Conn {
    pub id: ConnId,
    /// None for WHIP (no socket).
    pub out: Option<mpsc::Sender<Outbound>>,
    pub session: Option<PeerSession>,
    /// We sent an offer and wait for the answer.
    pub awaiting_answer: bool,
    /// Tracks changed while an offer was outstanding: offer again after the answer.
    pub renegotiate: bool,
    /// A recorder thread receives this connection's media.
    pub recording: bool,
    /// Recorders started on this connection so far (a consultation stops recording and
    /// a new segment starts after it: its files get their own names).
    pub segments: u32,
    /// A key was bound on this connection (a staff console binds one per connection).
    pub key_set: bool,
    /// Dropped with the connection: tells a WHIP resource that its session ended.
    pub ended: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A device other than the bound one, asking to take over the invitation: its socket
/// waits (lobby) until the court approves or refuses it.
pub(crate) struct Contender {
    pub conn: ConnId,
    pub out: mpsc::Sender<Outbound>,
    /// The key it offered (None: its browser has no Ed25519).
    pub key: Option<String>,
}

pub(crate) struct Live {
    pub row: ParticipantRow,
    pub presence: Presence,
    pub connection: ConnectionState,
    pub conn: Option<Conn>,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub muted_by_court: bool,
    /// The court stopped forwarding this participant's video.
    pub video_stopped_by_court: bool,
    /// In a private consultation: not forwarded outside it, not recorded.
    pub in_consultation: bool,
    /// The language the participant's page shows (`language` message), if told.
    pub page_language: Option<&'static str>,
    pub published: Vec<PublishedTrack>,
    /// When a dropped connection stops counting as "reconnecting".
    pub grace_until: Option<Instant>,
    /// The key the invitation is bound to (the first device's), persisted in the store.
    pub public_key: Option<String>,
    pub contender: Option<Contender>,
    /// The device check this participant's page last reported (`actor_check`).
    pub device_check: Option<super::actor_check::ReportedCheck>,
}

impl Live {
    pub fn new(row: ParticipantRow) -> Live {
        let presence = if row.role == ParticipantRole::Judge {
            Presence::Admitted
        } else if row.denied {
            Presence::Denied
        } else {
            Presence::Absent
        };
        Live {
            presence,
            connection: ConnectionState::None,
            conn: None,
            audio_muted: false,
            video_muted: false,
            muted_by_court: false,
            video_stopped_by_court: false,
            in_consultation: false,
            page_language: None,
            published: Vec::new(),
            grace_until: None,
            public_key: row.device_key.clone(),
            contender: None,
            device_check: None,
            row,
        }
    }

    pub fn status(&self) -> LiveStatus {
        LiveStatus {
            presence: self.presence,
            connection: self.connection,
            audio_muted: self.audio_muted,
            video_muted: self.video_muted,
            muted_by_court: self.muted_by_court,
        }
    }

    pub fn roster_entry(&self) -> RosterEntry {
        RosterEntry {
            id: self.row.id.to_string(),
            display_name: self.row.display_name.clone(),
            role: self.row.role,
            presence: self.presence,
            connection: self.connection,
            audio_muted: self.audio_muted,
            video_muted: self.video_muted,
            muted_by_court: self.muted_by_court,
            video_stopped_by_court: self.video_stopped_by_court,
            in_consultation: self.in_consultation,
            stream_id: self.row.id.to_string(),
            other_device: self.contender.is_some(),
            language: self
                .page_language
                .map(str::to_owned)
                .or_else(|| self.row.language.clone()),
        }
    }

    /// Queues a message; false if the socket is gone or hopelessly behind.
    pub fn send(&self, msg: ServerMsg) -> bool {
        match self.conn.as_ref().and_then(|c| c.out.as_ref()) {
            Some(out) => out.try_send(Outbound::Msg(msg)).is_ok(),
            None => false,
        }
    }

    pub fn close_socket(&self, code: u16, reason: &'static str) {
        if let Some(out) = self.conn.as_ref().and_then(|c| c.out.as_ref()) {
            let _ = out.try_send(Outbound::Close { code, reason });
        }
    }

    /// Notes that the current connection bound a key.
    pub fn mark_key_set(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            c.key_set = true;
        }
    }

    /// Closes the waiting other device's socket, if any.
    pub fn drop_contender(&mut self, code: u16, reason: &'static str) -> Option<ConnId> {
        let c = self.contender.take()?;
        let _ = c.out.try_send(Outbound::Close { code, reason });
        Some(c.conn)
    }

    /// Whether this participant's media goes to the others now.
    pub fn forwards(&self, kind: crate::rtc::MediaKind) -> bool {
        self.presence == Presence::Admitted
            && !(kind == crate::rtc::MediaKind::Audio && self.muted_by_court)
            && !(kind == crate::rtc::MediaKind::Video && self.video_stopped_by_court)
    }

    pub fn apply_forwarding(&self) {
        for t in &self.published {
            t.set_forwarding(self.forwards(t.kind));
        }
    }
}
