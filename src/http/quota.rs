//! Per-account retrieval quotas (`[retrieval]` in the configuration): portal requests per
//! minute, bytes served per day, new exports per hour, in fixed windows kept in memory.
//! Over quota: 429 `quota_exceeded`, and the refusal is logged in custody (`result` =
//! `refused`) without an fsync of its own, once per account, kind and window (the
//! further refusals of that window are only counted in the server log).

use crate::config::RetrievalLimits;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    Requests,
    Bytes,
    Exports,
}

impl QuotaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Requests => "requests per minute",
            QuotaKind::Bytes => "bytes per day",
            QuotaKind::Exports => "exports per hour",
        }
    }
}

/// A refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: QuotaKind,
    /// The first refusal of its window: log it in custody.
    pub log: bool,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u64,
    refused: bool,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            start: now,
            used: 0,
            refused: false,
        }
    }

    /// Takes `n` of `limit` in the window of `len` starting at the first use.
    fn take(&mut self, n: u64, limit: u64, len: Duration, now: Instant) -> Result<(), bool> {
        if now.duration_since(self.start) >= len {
            *self = Window::new(now);
        }
        if self.used.saturating_add(n) > limit {
            let first = !self.refused;
            self.refused = true;
            return Err(first);
        }
        self.used += n;
        Ok(())
    }
}

#[derive(Debug)]
struct Usage {
    requests: Window,
    bytes: Window,
    exports: Window,
}

/// The quotas of every account.
#[derive(Debug)]
pub struct Quotas {
    limits: RetrievalLimits,
    users: Mutex<HashMap<String, Usage>>,
}

impl Quotas {
    pub fn new(limits: RetrievalLimits) -> Quotas {
        Quotas {
            limits,
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` of quota `kind` for account `account`.
    pub fn take(&self, account: &str, kind: QuotaKind, n: u64) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let u = users.entry(account.to_owned()).or_insert_with(|| Usage {
            requests: Window::new(now),
            bytes: Window::new(now),
            exports: Window::new(now),
        });
        let l = &self.limits;
        let res = match kind {
            QuotaKind::Requests => u.requests.take(n, l.requests_per_minute, MINUTE, now),
            QuotaKind::Bytes => u.bytes.take(n, l.bytes_per_day, DAY, now),
            QuotaKind::Exports => u.exports.take(n, l.exports_per_hour, HOUR, now),
        };
        res.map_err(|log| Refusal { kind, log })
    }
}

/// An export that may be served again: made at custody epoch `epoch` of its hearing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusableExport {
    pub id: String,
    pub epoch: u64,
    pub fingerprint: String,
}

/// Retrieval state of the portal: quotas, the newest export per account and hearing,
/// how many verification reports the portal had to compute.
#[derive(Debug)]
pub struct Retrieval {
    pub quotas: Quotas,
    /// (account id, hearing id) -> its newest export.
    pub exports: Mutex<HashMap<(String, String), ReusableExport>>,
    reports_computed: AtomicU64,
}

impl Retrieval {
    pub fn new(limits: RetrievalLimits) -> Retrieval {
        Retrieval {
            quotas: Quotas::new(limits),
            exports: Mutex::new(HashMap::new()),
            reports_computed: AtomicU64::new(0),
        }
    }

    /// Verification reports the portal computed (not found cached) since start.
    pub fn reports_computed(&self) -> u64 {
        self.reports_computed.load(Ordering::Relaxed)
    }

    pub(super) fn report_computed(&self) {
        self.reports_computed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_refuse_and_log_once() {
        let q = Quotas::new(RetrievalLimits {
            requests_per_minute: 3,
            bytes_per_day: 100,
            ..RetrievalLimits::default()
        });
        for _ in 0..3 {
            q.take("a", QuotaKind::Requests, 1).unwrap();
        }
        let r = q.take("a", QuotaKind::Requests, 1).unwrap_err();
        assert!(r.log);
        assert!(!q.take("a", QuotaKind::Requests, 1).unwrap_err().log);
        q.take("b", QuotaKind::Requests, 1).unwrap();
        q.take("a", QuotaKind::Bytes, 100).unwrap();
        assert_eq!(
            q.take("a", QuotaKind::Bytes, 1).unwrap_err().kind,
            QuotaKind::Bytes
        );
    }
}
