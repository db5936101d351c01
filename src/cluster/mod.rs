//! Several media nodes behind one address (#16 point 3, README "Deploying").
//!
//! Every `sworn serve` with `[cluster]` shares one PostgreSQL database with the others
//! and keeps its row in `nodes` fresh ([`heartbeat`], every [`HEARTBEAT_EVERY`]); a node
//! whose heartbeat is older than [`LIVE_WITHIN`] is not live. A hearing runs on one node
//! (`hearings.node_id`), chosen when a request about it first arrives; any node answers
//! any request, forwarding those about a hearing to its node ([`route`], [`proxy`]),
//! signed with the cluster secret ([`sign`]). Media flows between the browser and the
//! hearing's node directly (its ICE candidates are that node's addresses).
//!
//! A node that dies loses at most one checkpoint interval of its hearings: each hearing
//! ships its record to object storage at every checkpoint (`hearing::actor_ship`), and
//! the live nodes move a dead node's hearings among themselves and restore them from
//! there ([`failover`]).

pub mod failover;
pub mod proxy;
pub mod route;
pub mod sign;

use crate::config::ClusterConfig;
use crate::http::AppState;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often a node writes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A node whose last heartbeat is older than this is taken for dead.
pub const LIVE_WITHIN: Duration = Duration::from_secs(10);

/// This node's part in the cluster.
pub struct Cluster {
    pub config: ClusterConfig,
    pub forwarder: proxy::Forwarder,
}

impl Cluster {
    pub fn new(config: ClusterConfig) -> Cluster {
        Cluster {
            config,
            forwarder: proxy::Forwarder::default(),
        }
    }
}

/// The client's address on a request forwarded by another node (as that node saw it).
#[derive(Clone, Copy, Debug)]
pub struct ForwardedClient(pub IpAddr);

/// Writes this node's heartbeat (and its load: the hearings it runs) now, then every
/// [`HEARTBEAT_EVERY`]. A failed write is logged and tried again at the next beat.
pub async fn heartbeat(state: Arc<AppState>) {
    let Some(c) = state.cluster.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Taking hearings over may take a while (a restore downloads their media): it runs
    // beside the heartbeat, one round at a time, so the beat never waits for it.
    let mut round: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tick.tick().await;
        let load = i64::try_from(state.hearings.running_count()).unwrap_or(i64::MAX);
        if let Err(e) = state
            .store
            .node_heartbeat(&c.config.node_id, &c.config.internal_url, load)
            .await
        {
            tracing::warn!(error = %e, "node heartbeat not written");
            continue;
        }
        if round.as_ref().is_none_or(|r| r.is_finished()) {
            let (state, c) = (state.clone(), c.clone());
            round = Some(tokio::spawn(
                async move { failover::tick(&state, &c).await },
            ));
        }
    }
}
