//! Placement at scale (#16 point 6, the placement half): N nodes heartbeat into one
//! PostgreSQL database; H hearings are placed concurrently through `Store::place_hearing`
//! (each request arriving at a random node, as a load balancer spreads them); reports
//! placement latency, throughput and balance; then K nodes stop heartbeating, new
//! hearings are placed around them, and the live nodes' heartbeats move the dead
//! nodes' hearings onto live ones (`Store::move_orphans`): time to re-place all,
//! balance after, and what each heartbeat's queries cost. Run by `scripts/bench-placement` (needs
//! `SWORN_TEST_PG`, a server where it may create a database).
//!
//! Usage: bench_placement [NODES] [HEARINGS] [DEAD] [CONCURRENCY]

#[cfg(feature = "server")]
mod run;

#[cfg(feature = "server")]
#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    run::run().await
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!("bench_placement needs the server feature");
}
