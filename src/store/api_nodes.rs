//! The store's cluster queries (#16 point 3): node heartbeats and hearing placement.
//! PostgreSQL only; the SQLite store is one node's own and answers `NeedsPostgres`
//! (`config` refuses a cluster without PostgreSQL, so a server never asks).

use super::{Backend, NodeRow, Placement, Store, StoreError};
use crate::domain::{CourtId, HearingId};
use std::time::Duration;

impl Store {
    /// Creates or refreshes this node's row.
    pub async fn node_heartbeat(
        &self,
        id: &str,
        internal_url: &str,
        load: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.node_heartbeat(id, internal_url, load).await,
        }
    }

    /// Every node, with whether its heartbeat is younger than `live`.
    pub async fn nodes(&self, live: Duration) -> Result<Vec<NodeRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.nodes(live).await,
        }
    }

    /// Marks a node draining (no new hearings) or not; `false` if it is unknown.
    pub async fn set_node_draining(&self, id: &str, draining: bool) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.set_node_draining(id, draining).await,
        }
    }

    /// The node `hearing` runs on, placed now if it had none (the live, not draining
    /// node with the fewest open hearings; `this` wins a tie). `Ok(None)`: no such
    /// hearing. `NoLiveNode`: nowhere to place it.
    pub async fn place_hearing(
        &self,
        hearing: &HearingId,
        this: &str,
        live: Duration,
    ) -> Result<Option<Placement>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.place_hearing(hearing, this, live).await,
        }
    }

    /// `(hearing, node)` for a court's placed hearings.
    pub async fn hearing_nodes(
        &self,
        court: &CourtId,
    ) -> Result<Vec<(HearingId, String)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(p) => p.hearing_nodes(court).await,
        }
    }

    /// The hearings placed on `node`.
    pub async fn node_hearings(&self, node: &str) -> Result<Vec<HearingId>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.node_hearings(node).await,
        }
    }
}

impl Store {
    /// Moves up to `limit` open hearings off dead nodes (heartbeat older than `live`)
    /// onto live ones; returns what moved.
    pub async fn move_orphans(
        &self,
        this: &str,
        live: Duration,
        limit: i64,
    ) -> Result<Vec<super::Moved>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.move_orphans(this, live, limit).await,
        }
    }

    /// Hearings moved onto `node` at least `settled` ago and not taken over yet:
    /// `(hearing, from node)`.
    pub async fn adoptions(
        &self,
        node: &str,
        settled: Duration,
    ) -> Result<Vec<(HearingId, String)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.adoptions(node, settled).await,
        }
    }

    /// `node` has taken `hearing` over; `false` if it is no longer placed there.
    pub async fn adopted(&self, hearing: &HearingId, node: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.adopted(hearing, node).await,
        }
    }

    /// The node `hearing` is placed on (`None`: not placed, or a single server).
    pub async fn hearing_node(&self, hearing: &HearingId) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(p) => p.hearing_node(hearing).await,
        }
    }

    /// Records `node`'s signing key; returns the live nodes signing with another key.
    pub async fn register_signing_key(
        &self,
        node: &str,
        key: &str,
        live: Duration,
    ) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.register_signing_key(node, key, live).await,
        }
    }

    /// Takes a closed hearing of a dead node over for `node` (it is then restored from
    /// object storage, `cluster::failover`); `false` if there was nothing to take.
    pub async fn claim_closed(
        &self,
        hearing: &HearingId,
        node: &str,
        live: Duration,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(StoreError::NeedsPostgres("a cluster")),
            Backend::Postgres(p) => p.claim_closed(hearing, node, live).await,
        }
    }
}
