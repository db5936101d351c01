//! Media nodes and hearing placement (#16 point 3). Only PostgreSQL has them: a
//! cluster's nodes share one database; SQLite is one node's own (`Store` answers
//! `NeedsPostgres`).

use super::Postgres;
use crate::domain::HearingId;
use crate::store::{NodeRow, Placement, StoreError};
use std::time::Duration;
use tokio_postgres::Row;

fn node_from_row(r: &Row) -> Result<NodeRow, tokio_postgres::Error> {
    Ok(NodeRow {
        id: r.try_get(0)?,
        internal_url: r.try_get(1)?,
        load: r.try_get(2)?,
        draining: r.try_get(3)?,
        live: r.try_get(4)?,
        open_hearings: r.try_get(5)?,
    })
}

/// `live` and `open_hearings` of a node row `n`, given the staleness bound `$N`.
fn node_cols(secs: &str) -> String {
    format!(
        "n.id, n.internal_url, n.load, n.draining, n.heartbeat_at > now() - make_interval(secs => {secs}), \
         (SELECT COUNT(*) FROM hearings h WHERE h.node_id = n.id AND h.state <> 'closed')"
    )
}

impl Postgres {
    /// This node is alive: its row is created or refreshed (the database's clock). Its
    /// `draining` flag is left as `set_node_draining` set it.
    pub(in crate::store) async fn node_heartbeat(
        &self,
        id: &str,
        internal_url: &str,
        load: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO nodes (id, internal_url, load) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET internal_url = EXCLUDED.internal_url, \
             heartbeat_at = now(), load = EXCLUDED.load",
            &[&id, &internal_url, &load],
        )
        .await?;
        Ok(())
    }

    /// Every node known, live or not, by id.
    pub(in crate::store) async fn nodes(&self, live: Duration) -> Result<Vec<NodeRow>, StoreError> {
        let secs = live.as_secs_f64();
        self.all(
            &format!("SELECT {} FROM nodes n ORDER BY n.id", node_cols("$1")),
            &[&secs],
            node_from_row,
        )
        .await
    }

    /// Sets or clears a node's `draining` flag (no new hearings are placed on it).
    /// `false` when no such node is known.
    pub(in crate::store) async fn set_node_draining(
        &self,
        id: &str,
        draining: bool,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE nodes SET draining = $2 WHERE id = $1",
                &[&id, &draining],
            )
            .await?
            == 1)
    }

    /// The node of `hearing`, placing it first if it has none: on the live, not
    /// draining node with the fewest open hearings, `this` winning a tie (then the
    /// lowest id). The hearing's row is locked meanwhile, so two nodes placing one
    /// hearing at once agree. `Ok(None)`: no such hearing.
    pub(in crate::store) async fn place_hearing(
        &self,
        hearing: &HearingId,
        this: &str,
        live: Duration,
    ) -> Result<Option<Placement>, StoreError> {
        let secs = live.as_secs_f64();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT node_id, moved_from IS NOT NULL FROM hearings WHERE id = $1 FOR UPDATE",
                &[&hearing.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        let current: Option<String> = row.try_get(0)?;
        let moving: bool = row.try_get(1)?;
        let placed = current.is_none();
        let node = match current {
            Some(id) => tx
                .query_opt(
                    &format!("SELECT {} FROM nodes n WHERE n.id = $2", node_cols("$1")),
                    &[&secs, &id],
                )
                .await?
                .map(|r| node_from_row(&r))
                .transpose()?
                .unwrap_or(NodeRow {
                    id,
                    internal_url: String::new(),
                    load: 0,
                    draining: false,
                    live: false,
                    open_hearings: 0,
                }),
            None => {
                // Open hearings per node in one pass; the chosen node's row is locked
                // and locked rows skipped, so placements running at once spread over
                // the least loaded nodes instead of all taking the same one.
                let chosen = tx
                    .query_opt(
                        "SELECT n.id, n.internal_url, n.load, n.draining, TRUE, COALESCE(c.open, 0) \
                         FROM nodes n LEFT JOIN (SELECT node_id, COUNT(*) AS open FROM hearings \
                           WHERE node_id IS NOT NULL AND state <> 'closed' GROUP BY node_id) c ON c.node_id = n.id \
                         WHERE n.heartbeat_at > now() - make_interval(secs => $1) AND NOT n.draining \
                         ORDER BY 6, (n.id = $2) DESC, n.id LIMIT 1 FOR UPDATE OF n SKIP LOCKED",
                        &[&secs, &this],
                    )
                    .await?
                    .map(|r| node_from_row(&r))
                    .transpose()?;
                let Some(node) = chosen else {
                    return Err(StoreError::NoLiveNode);
                };
                tx.execute(
                    "UPDATE hearings SET node_id = $2 WHERE id = $1",
                    &[&hearing.as_str(), &node.id],
                )
                .await?;
                node
            }
        };
        tx.commit().await?;
        Ok(Some(Placement {
            node,
            placed,
            moving,
        }))
    }

    /// The nodes of a court's placed hearings: `(hearing, node)`.
    pub(in crate::store) async fn hearing_nodes(
        &self,
        court: &crate::domain::CourtId,
    ) -> Result<Vec<(HearingId, String)>, StoreError> {
        self.all(
            "SELECT id, node_id FROM hearings WHERE court_id = $1 AND node_id IS NOT NULL",
            &[&court.as_str()],
            |r| Ok((HearingId::from_trusted(r.try_get(0)?), r.try_get(1)?)),
        )
        .await
    }

    /// The hearings placed on `node`.
    pub(in crate::store) async fn node_hearings(
        &self,
        node: &str,
    ) -> Result<Vec<HearingId>, StoreError> {
        self.all(
            "SELECT id FROM hearings WHERE node_id = $1",
            &[&node],
            |r| Ok(HearingId::from_trusted(r.try_get(0)?)),
        )
        .await
    }
}

impl Postgres {
    /// Moves up to `limit` open hearings off nodes whose heartbeat is older than `live`,
    /// each onto the live, not draining node with the fewest open hearings (`this`
    /// winning a tie), noting where it came from (`moved_from`). Hearings another
    /// node is moving at the same time are skipped (row locks), so each moves once;
    /// the nodes chosen are locked too, so movers running at once spread their
    /// hearings instead of all choosing the same least loaded nodes.
    pub(in crate::store) async fn move_orphans(
        &self,
        this: &str,
        live: Duration,
        limit: i64,
    ) -> Result<Vec<crate::store::Moved>, StoreError> {
        let secs = live.as_secs_f64();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let orphans = tx
            .query(
                "SELECT h.id, h.node_id FROM hearings h JOIN nodes n ON n.id = h.node_id \
                 WHERE h.state <> 'closed' AND n.heartbeat_at <= now() - make_interval(secs => $1) \
                 ORDER BY h.id LIMIT $2 FOR UPDATE OF h SKIP LOCKED",
                &[&secs, &limit],
            )
            .await?;
        let mut moved = Vec::new();
        for row in orphans {
            let hearing: String = row.try_get(0)?;
            let from: String = row.try_get(1)?;
            let Some(to) = tx
                .query_opt(
                    "SELECT n.id FROM nodes n LEFT JOIN (SELECT node_id, COUNT(*) AS open FROM hearings \
                       WHERE node_id IS NOT NULL AND state <> 'closed' GROUP BY node_id) c ON c.node_id = n.id \
                     WHERE n.heartbeat_at > now() - make_interval(secs => $1) AND NOT n.draining \
                     ORDER BY COALESCE(c.open, 0), (n.id = $2) DESC, n.id LIMIT 1 \
                     FOR UPDATE OF n SKIP LOCKED",
                    &[&secs, &this],
                )
                .await?
            else {
                break;
            };
            let to: String = to.try_get(0)?;
            tx.execute(
                "UPDATE hearings SET node_id = $2, moved_from = $3, moved_at = now() WHERE id = $1",
                &[&hearing, &to, &from],
            )
            .await?;
            moved.push(crate::store::Moved {
                hearing: HearingId::from_trusted(hearing),
                from,
                to,
            });
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Hearings moved onto `node` at least `settled` ago that it has not taken over
    /// yet: `(hearing, from)`.
    pub(in crate::store) async fn adoptions(
        &self,
        node: &str,
        settled: Duration,
    ) -> Result<Vec<(HearingId, String)>, StoreError> {
        let secs = settled.as_secs_f64();
        self.all(
            "SELECT id, moved_from FROM hearings WHERE node_id = $1 AND moved_from IS NOT NULL \
             AND moved_at <= now() - make_interval(secs => $2)",
            &[&node, &secs],
            |r| Ok((HearingId::from_trusted(r.try_get(0)?), r.try_get(1)?)),
        )
        .await
    }

    /// `node` has taken `hearing` over (restored and logged the move): `false` if the
    /// hearing is no longer on `node`.
    pub(in crate::store) async fn adopted(
        &self,
        hearing: &HearingId,
        node: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE hearings SET moved_from = NULL WHERE id = $1 AND node_id = $2",
                &[&hearing.as_str(), &node],
            )
            .await?
            == 1)
    }

    /// The node `hearing` is placed on, if any (no placement is made).
    pub(in crate::store) async fn hearing_node(
        &self,
        hearing: &HearingId,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .all(
                "SELECT node_id FROM hearings WHERE id = $1",
                &[&hearing.as_str()],
                |r| r.try_get::<_, Option<String>>(0),
            )
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    /// Records the public key `node` signs with, and returns the live nodes that sign
    /// with another one.
    pub(in crate::store) async fn register_signing_key(
        &self,
        node: &str,
        key: &str,
        live: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let secs = live.as_secs_f64();
        self.exec(
            "UPDATE nodes SET signing_key = $2 WHERE id = $1",
            &[&node, &key],
        )
        .await?;
        self.all(
            "SELECT id FROM nodes WHERE id <> $1 AND signing_key IS NOT NULL AND signing_key <> $2 \
             AND heartbeat_at > now() - make_interval(secs => $3) ORDER BY id",
            &[&node, &key, &secs],
            |r| r.try_get(0),
        )
        .await
    }

    /// Takes the closed `hearing` over for `node` if the node it is placed on is dead
    /// (heartbeat older than `live`): `moved_from` and `moved_at` are set, as for a
    /// moved open hearing. `false` if it is not closed, not on a dead node, or already
    /// being moved.
    pub(in crate::store) async fn claim_closed(
        &self,
        hearing: &HearingId,
        node: &str,
        live: Duration,
    ) -> Result<bool, StoreError> {
        let secs = live.as_secs_f64();
        Ok(self
            .exec(
                "UPDATE hearings h SET node_id = $2, moved_from = h.node_id, moved_at = now() \
                 FROM nodes n WHERE h.id = $1 AND n.id = h.node_id AND h.state = 'closed' \
                 AND h.moved_from IS NULL AND n.heartbeat_at <= now() - make_interval(secs => $3)",
                &[&hearing.as_str(), &node, &secs],
            )
            .await?
            == 1)
    }
}
