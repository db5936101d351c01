//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections, shared by
//! every `sworn serve` node of a deployment. Owns the pool and the schema migrations;
//! each query is one prepared (and cached) statement or one transaction. It must never
//! log or return the connection URL.

mod courts;
mod grants;
mod hearings;
mod migrate;
mod nodes;
mod users;

use super::StoreError;
use super::location::DatabaseUrl;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// Connections per node: the hearing actors and HTTP handlers of one node share them.
const POOL_SIZE: usize = 16;
/// How long a query waits for a free connection, or for a new one to open.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

#[derive(Clone)]
pub(super) struct Postgres {
    pool: Pool,
}

impl Postgres {
    /// Connects, and migrates the schema (once across nodes starting together).
    pub(super) async fn connect(url: &DatabaseUrl) -> Result<Postgres, StoreError> {
        let config: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Pool(e.to_string()))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let pg = Postgres { pool };
        let mut client = pg.client().await?;
        migrate::migrate(&mut client).await?;
        Ok(pg)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// At most one row, mapped.
    async fn opt<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        map: fn(&Row) -> Result<T, tokio_postgres::Error>,
    ) -> Result<Option<T>, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await?;
        match client.query_opt(&st, params).await? {
            Some(row) => Ok(Some(map(&row)?)),
            None => Ok(None),
        }
    }

    /// Every row, mapped.
    async fn all<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        map: fn(&Row) -> Result<T, tokio_postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await?;
        let rows = client.query(&st, params).await?;
        rows.iter()
            .map(|r| map(r).map_err(StoreError::from))
            .collect()
    }

    /// Runs a statement; the number of rows it changed.
    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await?;
        Ok(client.execute(&st, params).await?)
    }

    /// [`Self::exec`], with a unique or foreign-key violation as `Conflict` (as the
    /// SQLite backend's `map_unique`).
    async fn exec_unique(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await?;
        client.execute(&st, params).await.map_err(map_unique)
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
        other => StoreError::Pool(other.to_string()),
    }
}

pub(super) fn map_unique(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            StoreError::Conflict
        }
        _ => StoreError::Postgres(e),
    }
}
