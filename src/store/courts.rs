//! Courts: the unit hearings belong to. Every staff account, setup link and hearing
//! names one; judges and clerks act only on their own court's hearings
//! (`http::access`). Names are unique; ids are 128-bit random (the default court of an
//! upgraded database has a fixed one, [`CourtId::DEFAULT`]).

use super::{Store, StoreError, map_unique};
use crate::domain::CourtId;
use rusqlite::{OptionalExtension, params};

#[derive(Clone, Debug, serde::Serialize)]
pub struct CourtRow {
    pub id: CourtId,
    pub name: String,
}

/// Court names: 1 to 200 characters once trimmed, no control characters.
pub fn court_name_acceptable(name: &str) -> bool {
    let t = name.trim();
    !t.is_empty() && t.chars().count() <= 200 && !t.chars().any(char::is_control)
}

fn court_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CourtRow> {
    Ok(CourtRow {
        id: CourtId::from_trusted(r.get(0)?),
        name: r.get(1)?,
    })
}

impl Store {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_court_exists_and_names_are_unique() {
        let s = Store::open_in_memory().unwrap();
        let courts = s.list_courts().unwrap();
        assert_eq!(courts.len(), 1);
        assert_eq!(courts[0].id.as_str(), CourtId::DEFAULT);
        let (a, created) = s.ensure_court(" Tribunal de Paris ", 0).unwrap();
        assert!(created);
        assert_eq!(a.name, "Tribunal de Paris");
        let (again, created) = s.ensure_court("Tribunal de Paris", 0).unwrap();
        assert!(!created);
        assert_eq!(again.id, a.id);
        assert!(matches!(
            s.rename_court("Tribunal de Paris", "Default court"),
            Err(StoreError::Conflict)
        ));
        s.rename_court("Default court", "Tribunal de Lyon").unwrap();
        assert!(s.court_by_name("Tribunal de Lyon").unwrap().is_some());
        assert!(court_name_acceptable("Cour d'appel"));
        assert!(!court_name_acceptable("  "));
        assert!(!court_name_acceptable("a\nb"));
    }
}
