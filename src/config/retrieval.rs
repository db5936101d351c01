//! `[retrieval]`: the custody writer's checkpoint coalescing, ranged-download sessions,
//! export retention and per-account retrieval quotas (README "Configuration").

use super::ConfigError;
use super::limits::bounded;
use serde::Deserialize;
use std::time::Duration;

/// Retrieval limits, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrievalLimits {
    /// At most one signed custody checkpoint per this interval (entries are fsynced
    /// before any response all the same).
    pub checkpoint_interval: Duration,
    /// A ranged-download session lasts this long from its first request.
    pub range_session: Duration,
    /// Portal requests (summary, minutes, files, exports) per account per minute.
    pub requests_per_minute: u64,
    /// Bytes served per account per day (24 h windows).
    pub bytes_per_day: u64,
    /// New exports per account per hour (a reused export does not count).
    pub exports_per_hour: u64,
    /// An export's files are deleted this long after it was made.
    pub export_ttl: Duration,
    /// A superseded export (the account made two newer ones of the hearing) is deleted
    /// once it is this old (a download of it may still be running until then).
    pub export_grace: Duration,
}

impl Default for RetrievalLimits {
    fn default() -> Self {
        RetrievalLimits {
            checkpoint_interval: Duration::from_millis(1000),
            range_session: Duration::from_secs(600),
            requests_per_minute: 600,
            bytes_per_day: 64 << 30,
            exports_per_hour: 30,
            export_ttl: Duration::from_secs(24 * 3600),
            export_grace: Duration::from_secs(600),
        }
    }
}

/// `[retrieval]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetrieval {
    custody_checkpoint_interval_ms: Option<u64>,
    range_session_secs: Option<u64>,
    requests_per_minute: Option<u64>,
    bytes_per_day: Option<u64>,
    exports_per_hour: Option<u64>,
    export_ttl_hours: Option<u64>,
    export_grace_secs: Option<u64>,
}

pub(super) fn validate(raw: RawRetrieval) -> Result<RetrievalLimits, ConfigError> {
    let d = RetrievalLimits::default();
    Ok(RetrievalLimits {
        checkpoint_interval: Duration::from_millis(bounded(
            "retrieval.custody_checkpoint_interval_ms",
            raw.custody_checkpoint_interval_ms,
            1000,
            10..=60_000,
        )?),
        range_session: Duration::from_secs(bounded(
            "retrieval.range_session_secs",
            raw.range_session_secs,
            d.range_session.as_secs(),
            1..=86_400,
        )?),
        requests_per_minute: bounded(
            "retrieval.requests_per_minute",
            raw.requests_per_minute,
            d.requests_per_minute,
            1..=1_000_000,
        )?,
        bytes_per_day: bounded(
            "retrieval.bytes_per_day",
            raw.bytes_per_day,
            d.bytes_per_day,
            1 << 20..=1 << 50,
        )?,
        exports_per_hour: bounded(
            "retrieval.exports_per_hour",
            raw.exports_per_hour,
            d.exports_per_hour,
            1..=10_000,
        )?,
        export_ttl: Duration::from_secs(
            bounded(
                "retrieval.export_ttl_hours",
                raw.export_ttl_hours,
                24,
                1..=24 * 365,
            )? * 3600,
        ),
        export_grace: Duration::from_secs(bounded(
            "retrieval.export_grace_secs",
            raw.export_grace_secs,
            d.export_grace.as_secs(),
            0..=86_400,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            validate(RawRetrieval::default()).unwrap(),
            RetrievalLimits::default()
        );
        let bad = RawRetrieval {
            requests_per_minute: Some(0),
            ..RawRetrieval::default()
        };
        assert!(validate(bad).is_err());
    }
}
