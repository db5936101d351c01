//! Courts (see the SQLite twin for the rules).

use super::Postgres;
use crate::domain::CourtId;
use crate::store::{CourtRow, StoreError};
use tokio_postgres::Row;

fn court_from_row(r: &Row) -> Result<CourtRow, tokio_postgres::Error> {
    Ok(CourtRow {
        id: CourtId::from_trusted(r.try_get(0)?),
        name: r.try_get(1)?,
    })
}

impl Postgres {
    pub(in crate::store) async fn court_by_name(
        &self,
        name: &str,
    ) -> Result<Option<CourtRow>, StoreError> {
        self.opt(
            "SELECT id, name FROM courts WHERE name = $1",
            &[&name.trim()],
            court_from_row,
        )
        .await
    }

    pub(in crate::store) async fn court(
        &self,
        id: &CourtId,
    ) -> Result<Option<CourtRow>, StoreError> {
        self.opt(
            "SELECT id, name FROM courts WHERE id = $1",
            &[&id.as_str()],
            court_from_row,
        )
        .await
    }

    pub(in crate::store) async fn ensure_court(
        &self,
        name: &str,
        now: i64,
    ) -> Result<(CourtRow, bool), StoreError> {
        let name = name.trim();
        let created = self
            .exec_unique(
                "INSERT INTO courts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&crate::secrets::new_id(), &name, &now],
            )
            .await?
            == 1;
        let row = self
            .opt(
                "SELECT id, name FROM courts WHERE name = $1",
                &[&name],
                court_from_row,
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row, created))
    }

    pub(in crate::store) async fn list_courts(&self) -> Result<Vec<CourtRow>, StoreError> {
        self.all(
            "SELECT id, name FROM courts ORDER BY name",
            &[],
            court_from_row,
        )
        .await
    }

    pub(in crate::store) async fn rename_court(
        &self,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let n = self
            .exec_unique(
                "UPDATE courts SET name = $2 WHERE name = $1",
                &[&from.trim(), &to.trim()],
            )
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
