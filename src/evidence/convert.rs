//! Small conversions the runtime needs to fill log entries: log origins, wall-clock text
//! from `SystemTime`, hex digests, and recorder file paths to entry paths.
//!
//! Pure helpers; they must never accept a path that could leave the bundle's `media/`.

use std::path::{Component, Path};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::verify::clock;
use crate::verify::entry::is_safe_relative_path;

pub use crate::verify::bundle::CUSTODY_LOG_ID;

/// Checkpoint origin of a hearing log: `<server>/hearing/<hearing id>`.
pub fn hearing_origin(server: &str, hearing: &str) -> String {
    format!("{server}/hearing/{hearing}")
}

/// Checkpoint origin of the custody log: `<server>/custody`.
pub fn custody_origin(server: &str) -> String {
    format!("{server}/{CUSTODY_LOG_ID}")
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The log's wall-clock text (`2026-11-29T17:30:00.123Z`) for a `SystemTime`.
pub fn wall(t: SystemTime) -> String {
    clock::format_ms(unix_ms(t))
}

/// Lower-case hex of a SHA-256.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// A recorder file path (relative to the media directory) as an entry `file` value:
/// `/`-separated, normal components only. `None` for anything else.
pub fn media_path(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            _ => return None,
        }
    }
    let joined = parts.join("/");
    is_safe_relative_path(&joined).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn conversions() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_973_400_123);
        assert_eq!(wall(t), "2026-11-29T17:30:00.123Z");
        assert_eq!(hearing_origin("c.example", "ab"), "c.example/hearing/ab");
        assert_eq!(custody_origin("c.example"), "c.example/custody");
        assert_eq!(
            media_path(Path::new("p1/a.webm")).as_deref(),
            Some("p1/a.webm")
        );
        assert_eq!(media_path(Path::new("../a.webm")), None);
        assert_eq!(media_path(Path::new("/etc/passwd")), None);
        assert_eq!(media_path(Path::new("")), None);
    }
}
