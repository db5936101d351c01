//! Live hearings: one task (actor) per hearing owns its runtime state. Commands come in
//! through an mpsc channel ([`HearingHandle`]); media events come from `rtc` through
//! another; everything is handled in one `select!` loop, so there is no shared mutable
//! hearing state and no lock around it.
//!
//! The actor never blocks on a socket: each connection has a bounded outbound queue,
//! and a participant whose queue is full is disconnected rather than stalling everyone.

mod actor;
mod actor_attest;
mod actor_check;
mod actor_conn;
mod actor_controls;
mod actor_court;
mod actor_device;
mod actor_exhibit;
mod actor_extra;
mod actor_interpret;
mod actor_media;
mod actor_quality;
mod actor_record;
mod actor_rights;
mod actor_ship;
mod actor_stop;
mod derive;
mod live;
mod oath;
pub(crate) use actor_ship::{MOVED_MARKER, MovedMarker};
pub mod protocol;
mod record;
mod recording;
mod replay;
pub mod rights_msg;
pub(crate) mod rights_text;

use crate::config::Config;
use crate::domain::{HearingId, HearingState, ParticipantId, ParticipantRole};
use crate::rtc::RtcEngine;
use crate::store::{ParticipantRow, Store};
pub use live::LiveStatus;
use protocol::{ClientMsg, ModAction, Outbound};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Identifies one connection (socket + peer connection) of a participant.
pub type ConnId = u64;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_conn_id() -> ConnId {
    NEXT_CONN.fetch_add(1, Ordering::Relaxed)
}

/// Refusals a hearing gives to commands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HearingError {
    #[error("not allowed for this role")]
    Forbidden,
    #[error("no such participant in this hearing")]
    UnknownParticipant,
    #[error("the hearing has ended")]
    Closed,
    #[error("the hearing task is gone")]
    Gone,
    #[error("{0}")]
    Media(String),
    #[error("this invitation is bound to a browser device")]
    DeviceBound,
    #[error("the participant is connected from another device")]
    Busy,
    #[error("no other device is waiting for this participant")]
    NoOtherDevice,
}

/// A WHIP offer's result: the connection, the SDP answer, and a receiver that resolves
/// when that connection ends (its sender is dropped with the connection).
pub type WhipAnswer = (ConnId, String, oneshot::Receiver<()>);

/// Who asks for a moderation action.
#[derive(Clone, Copy, Debug)]
pub enum Moderator {
    /// A participant of the hearing, with that role.
    Participant(ParticipantRole),
    /// A signed-in staff member whose staff policy allows conducting the hearing.
    Court,
}

pub(crate) enum Command {
    Connect {
        participant: ParticipantRow,
        outbound: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<ConnId>,
    },
    Client {
        conn: ConnId,
        msg: ClientMsg,
    },
    Disconnected {
        conn: ConnId,
    },
    Moderate {
        by: Moderator,
        action: ModAction,
        target: ParticipantId,
        reply: oneshot::Sender<Result<(), HearingError>>,
    },
    Revoked {
        target: ParticipantId,
    },
    StateChanged {
        state: HearingState,
    },
    Status {
        reply: oneshot::Sender<HashMap<ParticipantId, LiveStatus>>,
    },
    WhipOffer {
        participant: ParticipantRow,
        sdp: String,
        reply: oneshot::Sender<Result<WhipAnswer, HearingError>>,
    },
    WhipEnd {
        conn: ConnId,
    },
    Invited {
        participant: ParticipantRow,
    },
    Sealed {
        reply: oneshot::Sender<Option<std::path::PathBuf>>,
    },
    SealStatus {
        reply: oneshot::Sender<SealStatus>,
    },
    Stats {
        reply: oneshot::Sender<HearingStats>,
    },
    /// The server is stopping: close everything, seal, log why, then reply.
    Stop {
        reason: String,
        within: std::time::Duration,
        reply: oneshot::Sender<()>,
    },
    #[cfg(debug_assertions)]
    PanicForTest,
}

/// Where closing a hearing stands, for the console.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SealStatus {
    /// `open`, `closing`, `deriving`, `sealing`, `sealed`.
    pub stage: &'static str,
    /// Progress of the derived copies, 0..=1.
    pub progress: f32,
}

/// Counters for tests and the console.
#[derive(Clone, Debug, Default)]
pub struct HearingStats {
    pub connections: usize,
    pub sessions: usize,
    pub published_tracks: usize,
}

/// A cheap handle to a live hearing's task.
#[derive(Clone)]
pub struct HearingHandle {
    tx: mpsc::Sender<Command>,
}

impl HearingHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HearingError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| HearingError::Gone)?;
        rx.await.map_err(|_| HearingError::Gone)
    }

    pub async fn connect(
        &self,
        participant: ParticipantRow,
        outbound: mpsc::Sender<Outbound>,
    ) -> Result<ConnId, HearingError> {
        self.ask(|reply| Command::Connect {
            participant,
            outbound,
            reply,
        })
        .await
    }

    pub async fn client_message(&self, conn: ConnId, msg: ClientMsg) {
        let _ = self.tx.send(Command::Client { conn, msg }).await;
    }

    pub async fn disconnected(&self, conn: ConnId) {
        let _ = self.tx.send(Command::Disconnected { conn }).await;
    }

    pub async fn moderate(
        &self,
        by: Moderator,
        action: ModAction,
        target: ParticipantId,
    ) -> Result<(), HearingError> {
        self.ask(|reply| Command::Moderate {
            by,
            action,
            target,
            reply,
        })
        .await?
    }

    pub async fn revoked(&self, target: ParticipantId) {
        let _ = self.tx.send(Command::Revoked { target }).await;
    }

    pub async fn state_changed(&self, state: HearingState) {
        let _ = self.tx.send(Command::StateChanged { state }).await;
    }

    pub async fn status(&self) -> Result<HashMap<ParticipantId, LiveStatus>, HearingError> {
        self.ask(|reply| Command::Status { reply }).await
    }

    pub async fn whip_offer(
        &self,
        participant: ParticipantRow,
        sdp: String,
    ) -> Result<WhipAnswer, HearingError> {
        self.ask(|reply| Command::WhipOffer {
            participant,
            sdp,
            reply,
        })
        .await?
    }

    pub async fn whip_end(&self, conn: ConnId) {
        let _ = self.tx.send(Command::WhipEnd { conn }).await;
    }

    pub async fn invited(&self, participant: ParticipantRow) {
        let _ = self.tx.send(Command::Invited { participant }).await;
    }

    /// The sealed bundle directory, once the closed hearing is sealed.
    pub async fn sealed(&self) -> Result<Option<std::path::PathBuf>, HearingError> {
        self.ask(|reply| Command::Sealed { reply }).await
    }

    pub async fn seal_status(&self) -> Result<SealStatus, HearingError> {
        self.ask(|reply| Command::SealStatus { reply }).await
    }

    pub async fn stats(&self) -> Result<HearingStats, HearingError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Makes the hearing task panic (debug builds only: the supervision test).
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub async fn panic_for_test(&self) {
        let _ = self.tx.send(Command::PanicForTest).await;
    }
}

/// Everything a hearing task needs from the server.
#[derive(Clone)]
pub struct HearingDeps {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub rtc: RtcEngine,
    /// Signs checkpoints.
    pub key: Arc<crate::evidence::ServerKey>,
    /// Time-stamps checkpoints.
    pub tsa: Arc<crate::evidence::tsa::TimeStamper>,
    /// Where sealed files are archived (`[storage]`).
    pub blobs: Arc<crate::blobs::Blobs>,
}

/// The registry of live hearing tasks (started on first use).
pub struct Hearings {
    deps: HearingDeps,
    live: Arc<Mutex<HashMap<HearingId, HearingHandle>>>,
}

/// How many times a hearing task that panicked is restarted at once (each restart
/// reopens its log, as after a crash); after that it restarts on next use only.
const MAX_RESTARTS: u32 = 3;

/// Starts a hearing task under a supervisor: if it panics, the panic is logged and a new
/// task takes over from the hearing's log (participants' sockets close with the old task
/// and their pages reconnect to the new one), and the record says so.
fn start_supervised(
    id: HearingId,
    deps: HearingDeps,
    live: Arc<Mutex<HashMap<HearingId, HearingHandle>>>,
    restarts: u32,
) -> HearingHandle {
    let (tx, rx) = mpsc::channel(256);
    let task = tokio::spawn(actor::run(id.clone(), deps.clone(), rx, restarts > 0));
    tokio::spawn(async move {
        let Err(e) = task.await else { return };
        if !e.is_panic() {
            return;
        }
        tracing::error!(hearing = %id, restarts, "the hearing task panicked");
        if restarts >= MAX_RESTARTS {
            return;
        }
        let fresh = start_supervised(id.clone(), deps, live.clone(), restarts + 1);
        live.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, fresh);
    });
    HearingHandle { tx }
}

impl Hearings {
    pub fn new(deps: HearingDeps) -> Hearings {
        Hearings {
            deps,
            live: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The task for `id`, started if needed. The caller has checked the hearing exists.
    pub fn handle(&self, id: &HearingId) -> HearingHandle {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = live.get(id).filter(|h| !h.tx.is_closed()) {
            return h.clone();
        }
        let handle = start_supervised(id.clone(), self.deps.clone(), self.live.clone(), 0);
        live.insert(id.clone(), handle.clone());
        handle
    }

    /// The task for `id` only if it is running.
    pub fn running(&self, id: &HearingId) -> Option<HearingHandle> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(id).filter(|h| !h.tx.is_closed()).cloned()
    }

    /// Stops every running hearing task gracefully (connections closed, recordings
    /// sealed, `server_stopped` logged and checkpointed), waiting at most `within` in
    /// all. Returns how many acknowledged in time.
    pub async fn stop_all(&self, reason: &str, within: std::time::Duration) -> usize {
        let handles: Vec<HearingHandle> = {
            let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.values()
                .filter(|h| !h.tx.is_closed())
                .cloned()
                .collect()
        };
        // Each task gets most of the time; the rest is for the answer to come back.
        let each = within.mul_f32(0.8);
        let stops = handles.iter().map(|h| {
            h.ask(|reply| Command::Stop {
                reason: reason.to_owned(),
                within: each,
                reply,
            })
        });
        let all = futures_util::future::join_all(stops);
        match tokio::time::timeout(within, all).await {
            Ok(results) => results.iter().filter(|r| r.is_ok()).count(),
            Err(_) => 0,
        }
    }

    /// The hearings whose tasks are running.
    pub fn running_ids(&self) -> Vec<HearingId> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.iter()
            .filter(|(_, h)| !h.tx.is_closed())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Stops one hearing's task as [`Hearings::stop_all`] does, waiting at most
    /// `within`, and forgets it: its next use starts a new task from its log. `false`
    /// if it was not running or did not acknowledge in time.
    pub async fn stop(&self, id: &HearingId, reason: &str, within: std::time::Duration) -> bool {
        let handle = {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.remove(id)
        };
        let Some(h) = handle.filter(|h| !h.tx.is_closed()) else {
            return false;
        };
        let stop = h.ask(|reply| Command::Stop {
            reason: reason.to_owned(),
            within: within.mul_f32(0.8),
            reply,
        });
        matches!(tokio::time::timeout(within, stop).await, Ok(Ok(_)))
    }

    pub fn running_count(&self) -> usize {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.values().filter(|h| !h.tx.is_closed()).count()
    }
}
