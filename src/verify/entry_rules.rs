//! Field rules of log entries that serde cannot express (`entry.rs` holds the types).
//! Pure: a body in, a reason out.

use super::EntryBody;

/// Field rules serde cannot express: safe relative file paths, wall-clock fields in the
/// log's time format, media time ranges that do not run backwards, 32-byte hex digests,
/// a key algorithm this build knows.
pub fn check_fields(body: &EntryBody) -> Result<(), String> {
    let wall = |w: &str| {
        crate::verify::clock::parse_ms(w)
            .map(|_| ())
            .ok_or_else(|| format!("bad wall-clock time {w:?}"))
    };
    let digest = |d: &str| {
        if d.len() == 64
            && d.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            Ok(())
        } else {
            Err("sha256 is not 64 lower-case hex digits".to_string())
        }
    };
    let path = |f: &str| {
        if is_safe_relative_path(f) {
            Ok(())
        } else {
            Err(format!("unsafe file path {f:?}"))
        }
    };
    match body {
        EntryBody::MediaChunk {
            file,
            sha256,
            media_start_ms,
            media_end_ms,
            wall_start,
            wall_end,
            ..
        } => {
            path(file)?;
            digest(sha256)?;
            wall(wall_start)?;
            wall(wall_end)?;
            if media_end_ms < media_start_ms {
                return Err("media time range runs backwards".into());
            }
            Ok(())
        }
        EntryBody::FileSealed { file, sha256, .. } => {
            path(file)?;
            digest(sha256)
        }
        EntryBody::DerivedFile {
            file,
            sha256,
            derived_from,
            ..
        } => {
            path(file)?;
            digest(sha256)?;
            derived_from.iter().try_for_each(|f| path(f))
        }
        EntryBody::Gap {
            wall_start,
            wall_end,
            ..
        } => {
            wall(wall_start)?;
            wall(wall_end)
        }
        EntryBody::Attestation {
            statement_sha256, ..
        } => digest(statement_sha256),
        EntryBody::KeyBound { alg, .. } => crate::verify::keys::KeyAlg::from_field(alg.as_deref())
            .map(|_| ())
            .map_err(|e| format!("key_bound: {e}")),
        EntryBody::HearingOpened {
            request_date: Some(d),
            ..
        } if !is_calendar_date(d) => Err(format!("bad request date {d:?}")),
        EntryBody::DeviceCheck {
            camera,
            microphone,
            speaker,
            ..
        } => [camera, microphone, speaker]
            .into_iter()
            .find(|r| !DEVICE_CHECK_RESULTS.contains(&r.as_str()))
            .map_or(Ok(()), |r| {
                Err(format!("device_check: unknown result {r:?}"))
            }),
        EntryBody::ConnectionQuality { level, .. } if !QUALITY_LEVELS.contains(&level.as_str()) => {
            Err(format!("connection_quality: unknown level {level:?}"))
        }
        _ => Ok(()),
    }
}

/// The results a `device_check` entry may give for each device.
pub const DEVICE_CHECK_RESULTS: [&str; 3] = ["ok", "failed", "not_tested"];

/// The classes a `connection_quality` entry may give (`domain::quality::QualityLevel`).
pub const QUALITY_LEVELS: [&str; 4] = ["good", "fair", "poor", "unknown"];

/// True for `YYYY-MM-DD` naming a real calendar day.
pub fn is_calendar_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        d.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse::<u32>().ok())
    };
    let (Some(y), Some(m), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1..=days).contains(&day)
}

/// True when `path` is a safe relative path: `/`-separated, no empty, `.` or `..`
/// component, no backslash, no NUL.
pub fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 512
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}
