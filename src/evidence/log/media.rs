//! Sealing media files: after a crash (or at close) every media file that has chunks but
//! no `file_sealed` gets one more `media_chunk` for bytes written after its last chunk,
//! then its `file_sealed`, so the bundle's byte-for-byte tiling holds.
//!
//! It must never commit bytes it has not hashed from the file itself, and never seal a
//! file that is shorter than what the log already commits.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{HearingLog, LogError};
use crate::verify::clock;
use crate::verify::entry::EntryBody;

/// What the log commits of one media file.
#[derive(Debug, Clone, Default)]
pub(super) struct MediaState {
    pub committed: u64,
    pub last_media_end_ms: i64,
    pub sealed: bool,
}

fn hash_from(f: &mut File, offset: u64) -> std::io::Result<(String, u64)> {
    f.seek(SeekFrom::Start(offset))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(buf.get(..k).unwrap_or_default());
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

impl HearingLog {
    /// Media files (entry paths) with chunks but no `file_sealed`, and the bytes the log
    /// commits of each.
    pub fn unsealed_media(&self) -> Vec<(String, u64)> {
        self.media
            .iter()
            .filter(|(_, m)| !m.sealed)
            .map(|(f, m)| (f.clone(), m.committed))
            .collect()
    }

    /// Seals every unsealed media file found under `media_dir`: commits its uncommitted
    /// tail (if any) with a final `media_chunk`, then appends `file_sealed`. The caller
    /// has stopped and fsynced the recorder. Returns the files sealed.
    pub fn seal_open_media(
        &mut self,
        media_dir: &Path,
        time: OffsetDateTime,
    ) -> Result<Vec<String>, LogError> {
        let mut sealed = Vec::new();
        let open: Vec<(String, MediaState)> = self
            .media
            .iter()
            .filter(|(_, m)| !m.sealed)
            .map(|(f, m)| (f.clone(), m.clone()))
            .collect();
        let wall = clock::format_ms(
            i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        );
        for (file, state) in open {
            let mut f = File::open(media_dir.join(&file))?;
            let len = f.metadata()?.len();
            if len < state.committed {
                return Err(LogError::MediaTruncated(file));
            }
            if len > state.committed {
                let (sha256, n) = hash_from(&mut f, state.committed)?;
                self.append(
                    EntryBody::MediaChunk {
                        file: file.clone(),
                        offset: state.committed,
                        length: n,
                        sha256,
                        media_start_ms: state.last_media_end_ms,
                        media_end_ms: state.last_media_end_ms,
                        wall_start: wall.clone(),
                        wall_end: wall.clone(),
                        participant: None,
                        track: Some("uncommitted_tail".into()),
                    },
                    time,
                )?;
            }
            let (sha256, length) = hash_from(&mut f, 0)?;
            self.append(
                EntryBody::FileSealed {
                    file: file.clone(),
                    length,
                    sha256,
                },
                time,
            )?;
            sealed.push(file);
        }
        Ok(sealed)
    }
}
