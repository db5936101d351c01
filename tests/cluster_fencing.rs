//! A node taken for dead while it still runs (#16 point 4: a partition, not a crash):
//! two in-process nodes on one PostgreSQL database (`SWORN_TEST_PG`) and one Garage
//! bucket prefix (`SWORN_TEST_S3_*`). A hearing runs on node A and ships its record;
//! then the database says it moved to node B (as `move_orphans` does when A's heartbeat
//! looks stale). Node A stops its task for the hearing at its next heartbeat and ships
//! nothing more of it; node B restores it from object storage, logs `node_lost` and
//! runs it; the console reaches it on B through A. Without PostgreSQL or Garage the
//! test prints `SKIPPED:` and passes.
#![cfg(feature = "server")]

mod common;

use common::garage::{garage, unique_prefix};
use common::pg;
use common::ws::WsClient;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use sworn::domain::{HearingId, StaffRole};
use sworn::store::Database;

fn segments_note(data: &Path, h: &str) -> Value {
    std::fs::read(data.join("hearings").join(h).join("log/.segments.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn entries(data: &Path, h: &str) -> Vec<Value> {
    std::fs::read(data.join("hearings").join(h).join("log/entries.jsonl"))
        .unwrap_or_default()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

async fn wait(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_taken_for_dead_stops_its_hearing_and_the_new_node_restores_it() {
    let (Some(admin), Some(g)) = (pg::pg_admin_url(), garage("fencing")) else {
        println!("SKIPPED: fencing needs SWORN_TEST_PG and SWORN_TEST_S3_*");
        return;
    };
    let url = pg::fresh_pg_database(&admin).await;
    let db = Database::parse(&url).unwrap();
    let storage = g.storage(&unique_prefix("fencing"));
    let edit = |c: &mut sworn::config::Config| {
        c.storage = storage.clone();
        c.checkpoint_interval = Duration::from_secs(1);
    };
    let a = common::cluster_node("node-a", &db, None, edit).await;
    let data_a = a.dir.path().join("data");
    let b = common::cluster_node("node-b", &db, Some(&a), edit).await;
    let data_b = b.dir.path().join("data");
    let judge = a.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    judge.open(&h).await;
    let id = HearingId::parse(&h).unwrap();
    assert!(
        a.state.hearings.running(&id).is_some(),
        "the hearing runs on A"
    );

    // A ships its record at its checkpoints.
    wait("A ships the hearing's record", || {
        segments_note(&data_a, &h)["size"].as_u64().unwrap_or(0) > 0
    })
    .await;

    // The database now says B (A's heartbeat looked stale to another node).
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "UPDATE hearings SET node_id = 'node-b', moved_from = 'node-a', moved_at = now() \
             WHERE id = $1",
            &[&h],
        )
        .await
        .unwrap();

    // A stops its task for it; B restores it and runs it.
    wait("A stops the moved hearing", || {
        a.state.hearings.running(&id).is_none()
    })
    .await;
    wait("B takes the hearing over", || {
        b.state.hearings.running(&id).is_some()
    })
    .await;
    wait("B logs node_lost", || {
        entries(&data_b, &h)
            .iter()
            .any(|e| e["type"] == "node_lost")
    })
    .await;
    let on_b = entries(&data_b, &h);
    let lost = on_b.iter().find(|e| e["type"] == "node_lost").unwrap();
    assert_eq!(lost["node"], "node-a");
    assert_eq!(lost["resumed_on"], "node-b");
    let moved: Option<String> = client
        .query_one("SELECT moved_from FROM hearings WHERE id = $1", &[&h])
        .await
        .unwrap()
        .get(0);
    assert_eq!(moved, None, "the take-over is recorded");

    // What A wrote after the move (its stop) stays on A: it shipped none of it.
    let shipped_by_a = segments_note(&data_a, &h)["size"].as_u64().unwrap();
    let on_a = entries(&data_a, &h);
    assert!(
        on_a.iter().any(|e| e["type"] == "server_stopped"),
        "A stopped the hearing"
    );
    assert!(
        (shipped_by_a as usize) < on_a.len(),
        "A did not ship after the move: shipped {shipped_by_a} of its {} entries",
        on_a.len()
    );
    assert_eq!(
        lost["restored_size"].as_u64(),
        Some(shipped_by_a),
        "B restored what A had shipped"
    );
    assert!(
        !on_b.iter().any(|e| e["type"] == "server_stopped"),
        "A's stop is not in B's record"
    );

    // The console, through A, reaches the hearing on B.
    let console = WsClient::connect_from(
        &a.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
        &a.state.config.public_url,
    )
    .await;
    console.wait_type("welcome").await;
    a.stop().await;
    b.stop().await;
}
