//! A node that dies (#16 point 4). At every heartbeat each node:
//!
//! 1. moves the open hearings of nodes whose heartbeat stopped ([`LIVE_WITHIN`]) onto
//!    the least loaded live nodes (`Store::move_orphans`; row locks make each move
//!    happen once, whichever node does it);
//! 2. takes over the hearings moved onto it, [`SETTLE`] after the move: restores each
//!    from object storage (`blobs::restore_hearing`: the log up to the dead node's last
//!    shipped checkpoint, and the media it commits), leaves the marker its hearing task turns into the
//!    `node_lost` entry, records the take-over, and starts the task, which seals the
//!    recordings the dead node left open at their last committed byte;
//! 3. stops the hearings it runs that are no longer placed on it (it was taken for
//!    dead and they moved): its copy is stale and is not shipped again.
//!
//! A closed hearing of a dead node moves when it is asked for (`route`,
//! `Store::claim_closed`) and is restored as it was sealed, with no task.
//!
//! Until a moved hearing is taken over its requests answer 503 `node_unavailable`
//! (`route`); pages reconnect by themselves and reach the new node through any node.
//! Without object storage nothing is moved: there would be nothing to restore, so a
//! dead node's hearings wait for it.

use super::{Cluster, LIVE_WITHIN};
use crate::hearing::{MOVED_MARKER, MovedMarker};
use crate::http::AppState;
use std::sync::Arc;
use std::time::Duration;

/// Hearings one node moves per heartbeat.
const MOVES_PER_BEAT: i64 = 64;
/// How long a moved hearing waits before its new node restores it: a shipment the old
/// node started before the move (it checked the placement first) has ended by then, so
/// the restore sees all of it and no two nodes write segments from one size.
pub const SETTLE: Duration = Duration::from_secs(3);
/// How long a stale hearing task may take to stop.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// One round of the three steps (module doc); errors are logged and the round is
/// tried again at the next heartbeat.
pub async fn tick(state: &Arc<AppState>, c: &Cluster) {
    if !state.blobs.is_remote() {
        return;
    }
    let this = c.config.node_id.as_str();
    match state
        .store
        .move_orphans(this, LIVE_WITHIN, MOVES_PER_BEAT)
        .await
    {
        Ok(moved) => {
            for m in moved {
                tracing::warn!(hearing = %m.hearing, from = %m.from, to = %m.to, "hearing moved off a node that stopped answering");
            }
        }
        Err(e) => tracing::warn!(error = %e, "dead nodes' hearings not moved"),
    }
    match state.store.adoptions(this, SETTLE).await {
        Ok(list) => {
            for (id, from) in list {
                adopt(state, this, &id, &from).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "hearings moved here not listed"),
    }
    evict_moved(state, this).await;
}

/// Restores `id` from object storage and starts it here (step 2).
async fn adopt(state: &Arc<AppState>, this: &str, id: &crate::domain::HearingId, from: &str) {
    // A task of ours for it is stale (the hearing left and came back): stop it first.
    state.hearings.stop(id, "hearing_moved", STOP_WITHIN).await;
    // A rehearsal has no record to restore (its scratch log is never shipped): it
    // starts again here.
    match state.store.hearing(id).await {
        Ok(Some(h)) if h.fields.rehearsal => {
            if let Ok(true) = state.store.adopted(id, this).await {
                tracing::warn!(hearing = %id, from, "rehearsal moved off a node that stopped answering: it starts again here");
                state.hearings.handle(id);
            }
            return;
        }
        // A sealed hearing: its files as archived, no task (its record is final).
        Ok(Some(h)) if h.state == crate::domain::HearingState::Closed => {
            match crate::blobs::restore_sealed(&state.blobs, &state.paths, id).await {
                Ok((files, bytes)) => {
                    if let Ok(true) = state.store.adopted(id, this).await {
                        tracing::warn!(hearing = %id, from, files, bytes, "sealed hearing restored from object storage: served by this node");
                    }
                }
                Err(e) => {
                    tracing::warn!(hearing = %id, error = %e, "closed hearing not restored; tried again at the next heartbeat")
                }
            }
            return;
        }
        Ok(Some(_)) => {}
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(hearing = %id, error = %e, "moved hearing not read; tried again at the next heartbeat");
            return;
        }
    }
    let started = std::time::Instant::now();
    let restored = match crate::blobs::restore_hearing(&state.blobs, &state.paths, id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(hearing = %id, error = %e, "moved hearing not restored; tried again at the next heartbeat");
            return;
        }
    };
    let marker = MovedMarker {
        from: from.to_owned(),
        to: this.to_owned(),
        restored_size: restored.size,
    };
    let path = state.paths.hearing(id).dir().join(MOVED_MARKER);
    let written = serde_json::to_vec(&marker)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(&path, b));
    if let Err(e) = written {
        tracing::warn!(hearing = %id, error = %e, "restore marker not written; tried again at the next heartbeat");
        return;
    }
    match state.store.adopted(id, this).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(hearing = %id, "moved hearing went elsewhere meanwhile");
            return;
        }
        Err(e) => {
            tracing::warn!(hearing = %id, error = %e, "take-over not recorded; tried again at the next heartbeat");
            return;
        }
    }
    tracing::warn!(
        hearing = %id,
        from,
        entries = restored.size,
        media_files = restored.media_files,
        media_bytes = restored.media_bytes,
        ms = started.elapsed().as_millis() as u64,
        "hearing restored from object storage and resumed on this node"
    );
    state.hearings.handle(id);
}

/// Stops the hearing tasks running here whose hearing is placed elsewhere (step 3).
async fn evict_moved(state: &Arc<AppState>, this: &str) {
    let running = state.hearings.running_ids();
    if running.is_empty() {
        return;
    }
    let mine: std::collections::HashSet<_> = match state.store.node_hearings(this).await {
        Ok(m) => m.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "placements not read");
            return;
        }
    };
    for id in running.into_iter().filter(|id| !mine.contains(id)) {
        // Only a hearing that was placed (a single node's hearings have no node).
        if let Ok(Some(node)) = state.store.hearing_node(&id).await
            && node != this
        {
            tracing::warn!(hearing = %id, now_on = %node, "hearing moved to another node while this one was taken for dead: stopped here");
            state.hearings.stop(&id, "hearing_moved", STOP_WITHIN).await;
        }
    }
}
