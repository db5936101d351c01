//! Graceful stop of a hearing task when the server stops (`SIGTERM`/`SIGINT`): every
//! socket is closed (1001), every connection dropped so its recorder seals its files,
//! then the log records `server_stopped` under a new checkpoint and the stop is
//! acknowledged, all within a deadline. A hearing being closed finishes sealing instead.
//! After a stop the task refuses new connections; at the next start the hearing
//! resumes from its log with nothing to recover.
//!
//! It must never acknowledge before the entry is checkpointed (or the deadline passed),
//! and never leave the log without saying why its recordings ended.

use super::actor::Actor;
use super::protocol::close;
use crate::domain::{ConnectionState, ParticipantId, Presence};
use crate::verify::entry::EntryBody;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A stop in progress.
pub(super) struct Stopping {
    reason: String,
    deadline: Instant,
    replies: Vec<oneshot::Sender<()>>,
}

impl Actor {
    /// Starts stopping: closes every socket and connection (recorders then seal).
    pub(super) async fn begin_stop(
        &mut self,
        reason: String,
        within: std::time::Duration,
        reply: oneshot::Sender<()>,
    ) {
        if let Some(st) = self.stopping.as_mut() {
            st.replies.push(reply);
            return;
        }
        if self.stopped {
            let _ = reply.send(());
            return;
        }
        self.stopping = Some(Stopping {
            reason,
            deadline: Instant::now() + within,
            replies: vec![reply],
        });
        let ids: Vec<ParticipantId> = self.people.keys().cloned().collect();
        for pid in ids {
            let mut contender = None;
            let connected = self.people.get_mut(&pid).is_some_and(|p| {
                p.close_socket(close::SERVER_SHUTDOWN, "the server is stopping");
                contender = p.drop_contender(close::SERVER_SHUTDOWN, "the server is stopping");
                p.conn.is_some()
            });
            if let Some(c) = contender {
                self.side.remove(&c);
            }
            self.drop_conn(&pid, ConnectionState::None).await;
            if let Some(p) = self.people.get_mut(&pid) {
                if p.presence == Presence::Lobby {
                    p.presence = Presence::Absent;
                }
                p.grace_until = None;
            }
            if connected && self.record.is_some() {
                self.log(EntryBody::ParticipantLeft {
                    participant: pid.to_string(),
                    reason: "server_stopped".into(),
                });
            }
        }
        self.poll_stop();
    }

    /// Finishes the stop once the recorders are done (or the seal, for a hearing being
    /// closed), or at the deadline.
    pub(super) fn poll_stop(&mut self) {
        let Some(st) = self.stopping.as_ref() else {
            return;
        };
        let closing = self.closing.is_some() || self.sealing.is_some() || self.deriving.is_some();
        let done = if closing {
            self.sealed.is_some()
        } else {
            self.recorders == 0
        };
        if !done && Instant::now() < st.deadline {
            return;
        }
        let Some(st) = self.stopping.take() else {
            return;
        };
        if !closing && self.record.is_some() {
            self.log(EntryBody::ServerStopped {
                reason: st.reason,
                unsealed: self.recorders as u64,
            });
            // Not rate-capped: this is the last checkpoint before the process ends.
            if let Some(rec) = self.record.as_mut() {
                let size = rec.log.size();
                if rec.checkpoint().is_some() {
                    rec.stamp_now(size);
                }
            }
        }
        self.stopped = true;
        for r in st.replies {
            let _ = r.send(());
        }
    }
}
