//! A hearing's record shipped to object storage while it runs (#16 point 4): after
//! every checkpoint the log's new segment, the media bytes it commits and its
//! attestations go to the store (`blobs::ship_hearing`), and each time-stamp when it
//! comes back, so a node that dies loses at most one checkpoint interval. One shipment
//! at a time per hearing; one asked for meanwhile runs when it ends.
//!
//! On a node of a cluster a shipment first checks that the hearing is still placed on
//! this node: a node cut off long enough for its hearings to move must not add to what
//! their new node ships.
//!
//! And the other end: a hearing restored here after its node died carries a marker
//! (`.moved.json`, written by `cluster::failover`) that becomes its `node_lost` entry.

use super::actor::Actor;
use crate::verify::entry::EntryBody;
use tracing::{debug, warn};

/// The marker a restore leaves in the hearing's directory for the hearing task.
pub(crate) const MOVED_MARKER: &str = ".moved.json";

/// What the marker says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MovedMarker {
    /// The node that died.
    pub from: String,
    /// This node.
    pub to: String,
    /// Entries restored.
    pub restored_size: u64,
}

/// Shipments in flight or wanted.
#[derive(Default)]
pub(super) struct Shipping {
    task: Option<tokio::task::JoinHandle<()>>,
    again: bool,
    stamps: Vec<u64>,
}

impl Actor {
    /// Ships what the last checkpoint (or `stamp`, a time-stamp just stored) added, now
    /// or when the shipment in flight ends. Only with object storage, never for a
    /// rehearsal.
    pub(super) fn ship(&mut self, stamp: Option<u64>) {
        if !self.deps.blobs.is_remote() || self.summary.rehearsal {
            return;
        }
        let Some(rec) = self.record.as_ref() else {
            return;
        };
        if let Some(s) = stamp {
            self.shipping.stamps.push(s);
        }
        if self
            .shipping
            .task
            .as_ref()
            .is_some_and(|t| !t.is_finished())
        {
            self.shipping.again = true;
            return;
        }
        self.shipping.again = false;
        let stamps = std::mem::take(&mut self.shipping.stamps);
        let (blobs, store, id) = (
            self.deps.blobs.clone(),
            self.deps.store.clone(),
            self.id.clone(),
        );
        let node = self.deps.config.cluster.as_ref().map(|c| c.node_id.clone());
        let paths = rec.paths().clone();
        self.shipping.task = Some(tokio::spawn(async move {
            if let Some(node) = node {
                match store.hearing_node(&id).await {
                    Ok(Some(n)) if n == node => {}
                    Ok(_) => {
                        warn!("not shipped: the hearing is placed on another node now");
                        return;
                    }
                    Err(e) => {
                        warn!(error = %e, "not shipped: the hearing's node is unknown");
                        return;
                    }
                }
            }
            match crate::blobs::ship_hearing(&blobs, &paths).await {
                Ok(size) => debug!(size, "hearing record shipped to object storage"),
                Err(e) => warn!(
                    error = %e,
                    "hearing record not shipped to object storage; tried again at the next checkpoint"
                ),
            }
            for s in stamps {
                let tsr = paths.checkpoints().join(format!("{s:06}.tsr"));
                if tsr.is_file()
                    && let Err(e) = blobs.put_file(&tsr).await
                {
                    warn!(error = %e, "time-stamp not shipped to object storage");
                }
            }
        }));
    }

    /// A shipment asked for while one was in flight, once that one ended.
    pub(super) fn ship_pending(&mut self) {
        if self.shipping.again && self.shipping.task.as_ref().is_none_or(|t| t.is_finished()) {
            self.ship(None);
        }
    }

    /// The marker of a restore onto this node, if the hearing has one.
    pub(super) fn moved_marker(&self) -> Option<MovedMarker> {
        if self.summary.rehearsal {
            return None;
        }
        let path = self.record.as_ref()?.dir.join(MOVED_MARKER);
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                warn!(error = %e, "unreadable restore marker ignored");
                None
            }
        }
    }

    /// Logs `node_lost` for a restore onto this node and removes its marker.
    pub(super) fn log_node_lost(&mut self, m: MovedMarker) {
        self.interrupted = true;
        self.log(EntryBody::NodeLost {
            node: m.from,
            resumed_on: m.to,
            restored_size: m.restored_size,
        });
        if let Some(rec) = self.record.as_ref()
            && let Err(e) = std::fs::remove_file(rec.dir.join(MOVED_MARKER))
        {
            warn!(error = %e, "restore marker not removed");
        }
    }
}
