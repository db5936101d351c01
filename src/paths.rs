//! The data directory's layout, in one place: every path the server reads or writes
//! under `data_dir` is named here, and so is the object key each sealed file gets in
//! object storage (`crate::blobs`): the key is the path relative to `data_dir`, with `/`
//! separators, so an archived hearing has the same shape as a local one.
//!
//! ```text
//! <data_dir>/hearings/<id>/log/entries.jsonl          the hearing's Merkle log
//!                         /log/checkpoints/NNNNNN.note|.tsr
//!                         /log/proofs/, log/attestations/
//!                         /media/                      recordings
//!                         /derived/                    seekable copies, composite
//!                         /bundle/ + bundle.zip        the sealed bundle
//! <data_dir>/rehearsals/hearings/<id>/                 scratch logs, never evidence
//! <data_dir>/custody/entries.jsonl, custody/checkpoints/   the custody log
//! <data_dir>/exports/<export id>.json|.tail            portal exports
//! <data_dir>/superseded/<id>-<unix time>/              a hearing's older copy, kept
//!                                                      when a restore replaced it
//! ```
//!
//! Must never build a path from request input other than a validated id.

use crate::domain::HearingId;
use std::path::{Component, Path, PathBuf};

/// The log's entries file, in a hearing's `log/` and in a bundle's `log/`.
pub const ENTRIES: &str = "entries.jsonl";

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataPaths {
    root: PathBuf,
}

impl DataPaths {
    pub fn new(root: &Path) -> DataPaths {
        DataPaths {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A hearing's evidence directory.
    pub fn hearing(&self, id: &HearingId) -> HearingPaths {
        HearingPaths {
            dir: self.root.join("hearings").join(id.as_str()),
        }
    }

    /// A rehearsal's scratch directory (deleted when it closes).
    pub fn rehearsal(&self, id: &HearingId) -> HearingPaths {
        HearingPaths {
            dir: self
                .root
                .join("rehearsals")
                .join("hearings")
                .join(id.as_str()),
        }
    }

    /// Where rehearsals' scratch logs live.
    pub fn rehearsals(&self) -> PathBuf {
        self.root.join("rehearsals")
    }

    /// The server-wide custody log.
    pub fn custody(&self) -> PathBuf {
        self.root.join("custody")
    }

    /// Older copies of hearings a restore from object storage replaced.
    pub fn superseded(&self) -> PathBuf {
        self.root.join("superseded")
    }

    /// Portal exports (`<id>.json` + `<id>.tail`).
    pub fn exports(&self) -> PathBuf {
        self.root.join("exports")
    }

    /// The object key of `path`, a file under the data directory: its relative path
    /// with `/` separators. `None` for a path outside it or one with `..`, `.` or a
    /// name that is not UTF-8.
    pub fn key_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_str()?),
                _ => return None,
            }
        }
        (!parts.is_empty()).then(|| parts.join("/"))
    }
}

/// One hearing's directory (`hearings/<id>/`).
#[derive(Debug, Clone)]
pub struct HearingPaths {
    dir: PathBuf,
}

impl HearingPaths {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Merkle log's directory.
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }

    pub fn entries(&self) -> PathBuf {
        self.log().join(ENTRIES)
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.log().join("checkpoints")
    }

    /// The recordings.
    pub fn media(&self) -> PathBuf {
        self.dir.join("media")
    }

    /// Derived copies made after the hearing.
    pub fn derived(&self) -> PathBuf {
        self.dir.join("derived")
    }

    /// The sealed bundle's directory.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    /// The sealed bundle's zip (`bundle.zip`, beside the directory).
    pub fn bundle_zip(&self) -> PathBuf {
        self.dir.join("bundle.zip")
    }

    /// The sealed manifest (present once the bundle is sealed).
    pub fn manifest(&self) -> PathBuf {
        self.bundle().join("manifest.json")
    }

    /// A file of the sealed bundle, by its manifest path (already checked against the
    /// manifest by the caller).
    pub fn bundle_file(&self, manifest_path: &str) -> PathBuf {
        self.bundle().join(manifest_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_slash_paths_inside_the_data_dir() {
        let d = DataPaths::new(Path::new("/srv/sworn"));
        let Some(id) = HearingId::parse("0123456789abcdef0123456789abcdef") else {
            panic!("a valid hearing id");
        };
        let h = d.hearing(&id);
        assert_eq!(
            d.key_of(&h.bundle_file("media/a.webm")).as_deref(),
            Some("hearings/0123456789abcdef0123456789abcdef/bundle/media/a.webm")
        );
        assert_eq!(
            d.key_of(&h.bundle_zip()).as_deref(),
            Some("hearings/0123456789abcdef0123456789abcdef/bundle.zip")
        );
        assert_eq!(d.key_of(Path::new("/srv/other/x")), None);
        assert_eq!(d.key_of(Path::new("/srv/sworn")), None);
        assert_eq!(d.key_of(Path::new("/srv/sworn/a/../b")), None);
    }
}
