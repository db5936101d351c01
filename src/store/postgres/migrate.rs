//! PostgreSQL schema migrations: the numbered files in `migrations/`, each applied once
//! and recorded in `schema_migrations` with the SHA-256 of its text. The whole run holds
//! a transaction-scoped advisory lock, so nodes that start together migrate once and
//! the others wait and find nothing to do. A recorded migration this release does not
//! know (a newer sworn migrated the database) or whose text changed is refused rather
//! than guessed at. Never edit a released file: add the next number.

use crate::store::StoreError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// `(version, name, sql)`, in order; a version is its file's number.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("migrations/0001_initial.sql")),
    (2, "nodes", include_str!("migrations/0002_nodes.sql")),
    (3, "failover", include_str!("migrations/0003_failover.sql")),
];

/// The advisory lock key: "sworn" in ASCII, so it does not meet another program's.
const LOCK_KEY: i64 = 0x73_77_6f_72_6e;

pub(super) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
           version BIGINT PRIMARY KEY,
           name TEXT NOT NULL,
           sha256 TEXT NOT NULL,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: HashMap<i64, String> = tx
        .query("SELECT version, sha256 FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    for (version, sha) in &applied {
        match MIGRATIONS.iter().find(|(v, _, _)| v == version) {
            None => {
                return Err(StoreError::Migration {
                    version: *version,
                    reason: "applied by a newer release: upgrade this node",
                });
            }
            Some((_, _, sql)) if *sha != digest(sql) => {
                return Err(StoreError::Migration {
                    version: *version,
                    reason: "its text changed since it was applied",
                });
            }
            Some(_) => {}
        }
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.contains_key(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
            &[version, name, &digest(sql)],
        )
        .await?;
        tracing::info!(version, name, "database migration applied");
    }
    tx.commit().await?;
    Ok(())
}

fn digest(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}
