//! Courts: the unit hearings belong to. Every staff account, setup link and hearing
//! names one; judges and clerks act only on their own court's hearings
//! (`http::access`). Names are unique; ids are 128-bit random (the default court of an
//! upgraded database has a fixed one, [`CourtId::DEFAULT`]).

use super::{SqliteDb, map_unique};
use crate::domain::CourtId;
use crate::store::{CourtRow, StoreError};
use rusqlite::{OptionalExtension, params};

fn court_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CourtRow> {
    Ok(CourtRow {
        id: CourtId::from_trusted(r.get(0)?),
        name: r.get(1)?,
    })
}

impl SqliteDb {
    pub fn court_by_name(&self, name: &str) -> Result<Option<CourtRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT id, name FROM courts WHERE name = ?1",
                [name.trim()],
                court_from_row,
            )
            .optional()?)
    }

    pub fn court(&self, id: &CourtId) -> Result<Option<CourtRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT id, name FROM courts WHERE id = ?1",
                [id.as_str()],
                court_from_row,
            )
            .optional()?)
    }

    /// The court named `name`, created if new; the bool says whether it was created.
    pub fn ensure_court(&self, name: &str, now: i64) -> Result<(CourtRow, bool), StoreError> {
        let name = name.trim();
        let conn = self.conn()?;
        let created = conn
            .execute(
                "INSERT INTO courts (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING",
                params![crate::secrets::new_id(), name, now],
            )
            .map_err(map_unique)?
            == 1;
        let row = conn.query_row(
            "SELECT id, name FROM courts WHERE name = ?1",
            [name],
            court_from_row,
        )?;
        Ok((row, created))
    }

    pub fn list_courts(&self) -> Result<Vec<CourtRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare("SELECT id, name FROM courts ORDER BY name")?;
        let rows = st
            .query_map([], court_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Renames a court (its accounts and hearings stay with it).
    pub fn rename_court(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let n = self
            .conn()?
            .execute(
                "UPDATE courts SET name = ?2 WHERE name = ?1",
                params![from.trim(), to.trim()],
            )
            .map_err(map_unique)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
