//! The benchmark itself (server feature only): placement, then nodes lost and
//! placement around them, then re-placement of the lost nodes' hearings.

use std::time::{Duration, Instant};
use sworn::domain::{CourtId, HearingId, StaffRole, UserId};
use sworn::store::{Database, NewHearing, RequestDetails, Store};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn hearing() -> NewHearing {
    NewHearing {
        case_ref: "CR-SIM".into(),
        mla_ref: "MLA-SIM".into(),
        requesting_state: "FR".into(),
        requested_state: "ES".into(),
        scheduled_at: "2026-12-07T09:00:00Z".into(),
        language: "en".into(),
        request: RequestDetails::default(),
        rehearsal: false,
    }
}

/// Places `ids` with `concurrency` tasks, each request at a random live node.
async fn place_all(
    store: &std::sync::Arc<Store>,
    ids: Vec<HearingId>,
    nodes: &[String],
    concurrency: usize,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(ids));
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let store = store.clone();
        let queue = queue.clone();
        let nodes = nodes.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            let mut i = t;
            while let Some(h) = queue.lock().map(|mut q| q.pop()).unwrap_or(None) {
                i = i.wrapping_mul(2_654_435_761).wrapping_add(1);
                let this = &nodes[i % nodes.len()];
                let t0 = Instant::now();
                store
                    .place_hearing(&h, this, Duration::from_secs(3600))
                    .await
                    .expect("placed")
                    .expect("a hearing");
                took.push(t0.elapsed());
            }
            took
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    (all, start.elapsed())
}

fn balance(store_nodes: &[sworn::store::NodeRow]) -> String {
    let counts: Vec<i64> = store_nodes.iter().map(|n| n.open_hearings).collect();
    let n = counts.len().max(1) as f64;
    let mean = counts.iter().sum::<i64>() as f64 / n;
    let sd = (counts
        .iter()
        .map(|c| (*c as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    format!(
        "hearings per node: min {} max {} mean {mean:.1} sd {sd:.2}",
        counts.iter().min().unwrap_or(&0),
        counts.iter().max().unwrap_or(&0)
    )
}

/// [`balance`] over the live nodes only.
fn balance_live(nodes: &[sworn::store::NodeRow]) -> String {
    balance(&nodes.iter().filter(|n| n.live).cloned().collect::<Vec<_>>())
}

pub async fn run() -> anyhow::Result<()> {
    let (n_nodes, n_hearings, n_dead, conc) = (arg(1, 500), arg(2, 10_000), arg(3, 10), arg(4, 16));
    let admin = std::env::var("SWORN_TEST_PG")?;
    let name = format!("sworn_bench_{}", sworn::secrets::new_id());
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let (server, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    let url = if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    };
    let dir = tempfile::tempdir()?;
    let store = std::sync::Arc::new(Store::open(&Database::parse(&url)?, dir.path()).await?);

    let nodes: Vec<String> = (0..n_nodes).map(|i| format!("node-{i:04}")).collect();
    let t0 = Instant::now();
    for n in &nodes {
        store
            .node_heartbeat(n, &format!("http://10.0.{}.{}:8080", n.len(), 1), 0)
            .await?;
    }
    let beats = t0.elapsed();
    let judge = UserId::from_trusted(sworn::secrets::new_id());
    store
        .create_user(
            &judge,
            "judge",
            StaffRole::Judge,
            "x",
            &CourtId::default_court(),
            0,
        )
        .await?;
    let mut ids = Vec::with_capacity(n_hearings + 1000);
    for _ in 0..n_hearings + 1000 {
        let id = HearingId::from_trusted(sworn::secrets::new_id());
        store.create_hearing(&id, &hearing(), &judge, 0).await?;
        ids.push(id);
    }
    let later = ids.split_off(n_hearings);
    println!("{n_nodes} nodes, {n_hearings} hearings, {conc} concurrent placements");
    println!(
        "heartbeats: {:.2} ms each ({n_nodes} upserts)",
        beats.as_secs_f64() * 1000.0 / n_nodes as f64
    );

    let (took, wall) = place_all(&store, ids, &nodes, conc).await;
    println!(
        "placement: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} placements/s",
        pct(&took, 0.5),
        pct(&took, 0.99),
        pct(&took, 1.0),
        took.len() as f64 / wall.as_secs_f64()
    );
    let listed = store.nodes(Duration::from_secs(3600)).await?;
    println!("after placement: {}", balance(&listed));

    // K nodes stop heartbeating: 1,000 new hearings are placed around them.
    let (admin_db, conn2) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn2);
    for n in nodes.iter().take(n_dead) {
        admin_db
            .execute(
                "UPDATE nodes SET heartbeat_at = now() - interval '2 hours' WHERE id = $1",
                &[n],
            )
            .await?;
    }
    let on_dead = |rows: &[sworn::store::NodeRow]| -> i64 {
        rows.iter()
            .filter(|n| !n.live)
            .map(|n| n.open_hearings)
            .sum()
    };
    let dead_before = on_dead(&store.nodes(Duration::from_secs(3600)).await?);
    let (took, wall) = place_all(&store, later, &nodes[n_dead..], conc).await;
    let listed = store.nodes(Duration::from_secs(3600)).await?;
    println!(
        "{n_dead} nodes down, 1000 more hearings: p50 {:.2} ms, p99 {:.2} ms; {:.0} placements/s; placed on a dead node: {}",
        pct(&took, 0.5),
        pct(&took, 0.99),
        took.len() as f64 / wall.as_secs_f64(),
        on_dead(&listed) - dead_before
    );
    println!("after: {}", balance_live(&listed));

    // Re-placement: every live node's heartbeat moves the dead nodes' open hearings
    // (`Store::move_orphans`, as `cluster::failover` calls it), `conc` beats at once.
    let orphans = on_dead(&listed);
    let live_nodes = nodes[n_dead..].to_vec();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..conc {
        let store = store.clone();
        let live_nodes = live_nodes.clone();
        tasks.push(tokio::spawn(async move {
            let (mut took, mut moved) = (Vec::new(), Vec::new());
            let mut i = t;
            loop {
                i = i.wrapping_mul(2_654_435_761).wrapping_add(1);
                let this = &live_nodes[i % live_nodes.len()];
                let t1 = Instant::now();
                let m = store
                    .move_orphans(this, Duration::from_secs(3600), 64)
                    .await
                    .expect("moved");
                took.push(t1.elapsed());
                if m.is_empty() {
                    return (took, moved);
                }
                moved.extend(m);
            }
        }));
    }
    let (mut took, mut moved) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, b) = t.await?;
        took.extend(a);
        moved.extend(b);
    }
    let wall = t0.elapsed();
    took.sort();
    let listed = store.nodes(Duration::from_secs(3600)).await?;
    let dead: std::collections::HashSet<&str> =
        nodes.iter().take(n_dead).map(String::as_str).collect();
    println!(
        "re-placement of {orphans} hearings off {n_dead} dead nodes by {conc} concurrent heartbeats: all moved in {:.0} ms ({} moved, each once: {}; onto a dead node: {}); move_orphans p50 {:.2} ms, p99 {:.2} ms",
        wall.as_secs_f64() * 1000.0,
        moved.len(),
        moved
            .iter()
            .map(|m| &m.hearing)
            .collect::<std::collections::HashSet<_>>()
            .len()
            == moved.len(),
        moved
            .iter()
            .filter(|m| dead.contains(m.to.as_str()))
            .count(),
        pct(&took, 0.5),
        pct(&took, 0.99),
    );
    println!(
        "left on dead nodes: {}; after re-placement: {}",
        on_dead(&listed),
        balance_live(&listed)
    );

    // What every live node asks at each heartbeat besides its upsert: hearings moved
    // onto it, and its placements (`cluster::failover`).
    let t0 = Instant::now();
    for n in &live_nodes {
        store.adoptions(n, sworn::cluster::failover::SETTLE).await?;
        store.node_hearings(n).await?;
    }
    println!(
        "per heartbeat and node: adoptions + placements {:.2} ms ({} nodes, one after the other)",
        t0.elapsed().as_secs_f64() * 1000.0 / live_nodes.len() as f64,
        live_nodes.len()
    );
    drop(store);
    client
        .batch_execute(&format!("DROP DATABASE {name}"))
        .await
        .ok();
    Ok(())
}
