//! Ranged-download sessions (docs/bundle-format.md §2, `retrieval`): a video player or a
//! resuming download asks for one file in many `Range` requests. The first of them opens
//! a session with a durable custody entry `<target> bytes <a>-<b> session <sid>` before
//! its first byte; the same account's further ranges of the same file within
//! `range_session` of that opening are served under that entry (no entry, no fsync
//! each), and when the session ends one closing entry `<target> session <sid> closed:
//! <n> requests, <m> bytes, ranges <a-b,…>` lists what was served. A crash can lose the
//! closing entry (it is appended without waiting for an fsync), never the opening one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The closing entry lists at most this many merged ranges, then `+<k> more`.
const MAX_LISTED: usize = 32;

/// Who asks for what: account id, hearing, and the target (`view media/a.webm`,
/// `download export <id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub account: String,
    pub hearing: String,
    pub target: String,
}

/// An open session.
#[derive(Debug)]
struct Session {
    id: String,
    /// The custody `user` field of its entries.
    who: String,
    opened: Instant,
    /// Disjoint, sorted, inclusive.
    ranges: Vec<(u64, u64)>,
    requests: u64,
    bytes: u64,
}

impl Session {
    fn add(&mut self, a: u64, b: u64) {
        self.requests += 1;
        self.bytes = self.bytes.saturating_add(b - a + 1);
        self.ranges.push((a, b));
        self.ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }
}

/// A custody fact a closed session leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub who: String,
    pub hearing: String,
    pub what: String,
}

fn closing(key: &SessionKey, s: &Session) -> Closing {
    let mut list: Vec<String> = s
        .ranges
        .iter()
        .take(MAX_LISTED)
        .map(|(a, b)| format!("{a}-{b}"))
        .collect();
    if s.ranges.len() > MAX_LISTED {
        list.push(format!("+{} more", s.ranges.len() - MAX_LISTED));
    }
    Closing {
        who: s.who.clone(),
        hearing: key.hearing.clone(),
        what: format!(
            "{} session {} closed: {} requests, {} bytes, ranges {}",
            key.target,
            s.id,
            s.requests,
            s.bytes,
            list.join(",")
        ),
    }
}

/// The open sessions.
#[derive(Debug)]
pub struct Sessions {
    window: Duration,
    open: HashMap<SessionKey, Session>,
}

impl Sessions {
    pub fn new(window: Duration) -> Sessions {
        Sessions {
            window,
            open: HashMap::new(),
        }
    }

    /// Joins an open, unexpired session of `key` with range `a..=b`: true if served
    /// under it (no new entry needed).
    pub fn join(&mut self, key: &SessionKey, a: u64, b: u64, now: Instant) -> bool {
        match self.open.get_mut(key) {
            Some(s) if now.duration_since(s.opened) < self.window => {
                s.add(a, b);
                true
            }
            _ => false,
        }
    }

    /// Registers the session whose opening entry is now durable; returns the closing
    /// fact of the session it replaces (expired, or opened concurrently), if any.
    pub fn opened(
        &mut self,
        key: SessionKey,
        id: String,
        who: String,
        a: u64,
        b: u64,
        now: Instant,
    ) -> Option<Closing> {
        let mut s = Session {
            id,
            who,
            opened: now,
            ranges: Vec::new(),
            requests: 0,
            bytes: 0,
        };
        s.add(a, b);
        let old = self.open.insert(key.clone(), s);
        old.map(|o| closing(&key, &o))
    }

    /// Removes the sessions older than the window (all with `all`) and returns their
    /// closing facts.
    pub fn close_expired(&mut self, now: Instant, all: bool) -> Vec<Closing> {
        let window = self.window;
        let expired: Vec<SessionKey> = self
            .open
            .iter()
            .filter(|(_, s)| all || now.duration_since(s.opened) >= window)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for k in expired {
            if let Some(s) = self.open.remove(&k) {
                out.push(closing(&k, &s));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_close_once() {
        let mut s = Sessions::new(Duration::from_secs(60));
        let k = SessionKey {
            account: "u".into(),
            hearing: "h".into(),
            target: "view media/a.webm".into(),
        };
        let t = Instant::now();
        assert!(!s.join(&k, 0, 9, t));
        assert!(
            s.opened(k.clone(), "s1".into(), "pros".into(), 0, 9, t)
                .is_none()
        );
        for i in 1..100u64 {
            assert!(s.join(&k, i * 10, i * 10 + 9, t));
        }
        assert!(s.join(&k, 5000, 5009, t));
        assert!(s.close_expired(t, false).is_empty());
        let c = s.close_expired(t + Duration::from_secs(61), false);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].what,
            "view media/a.webm session s1 closed: 101 requests, 1010 bytes, ranges 0-999,5000-5009"
        );
        assert!(s.is_empty());
        assert!(!s.join(&k, 0, 1, t));
    }
}
