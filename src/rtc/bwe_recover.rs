//! Getting a downlink's estimate up again after its link recovers.
//!
//! str0m's GoogCC raises an estimate only from what is sent: by additive increase,
//! capped at about 1.5× the throughput it sees acknowledged, and by probes. When a
//! subscriber's link was cut and has come back, the server sends it the small layers
//! its estimate allowed, so increase is capped near them; the probes that would find the
//! freed capacity are suppressed while the loss controller still holds a loss-limited
//! state, and str0m's "stagnant" probe waits for 15 s of an estimate that does not move
//! at all (a live estimate always moves a little). Measured: once in a few runs of the
//! simulcast browser test, a witness stayed on the smallest layer for the 90 s the test
//! waited after its link was freed; another run stayed below the top layer on a free
//! link for 90 s.
//!
//! [`Recovery`] watches for that state: the subscriber is held below what it wants and
//! the estimate has not grown by a quarter for a while, with no sign of congestion
//! (not starved). Then the media loop restarts str0m's estimator from the estimate it
//! has (`Bwe::reset`), which starts over with its initial probes (short bursts at 3× and
//! 6× the estimate: a few kilobytes, which a weak link absorbs). The wait doubles after
//! every restart that did not help, up to [`MAX_WAIT`], so a link that really is weak is
//! probed about once a minute, and falls back to [`FIRST_WAIT`] once the subscriber
//! receives all it wants.

use std::time::{Duration, Instant};

/// How long a held, stagnant estimate waits before its first restart.
pub(super) const FIRST_WAIT: Duration = Duration::from_secs(8);
/// The longest wait between restarts on a link that stays weak.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(64);

/// One downlink's watch (see the module doc).
#[derive(Debug)]
pub(super) struct Recovery {
    /// Since when the subscriber is held with no growth, and the estimate then.
    held: Option<(Instant, u64)>,
    wait: Duration,
}

impl Default for Recovery {
    fn default() -> Recovery {
        Recovery {
            held: None,
            wait: FIRST_WAIT,
        }
    }
}

impl Recovery {
    /// One layer tick. `estimate`: str0m's current estimate (none yet: nothing to do);
    /// `held`: the allocation gives less than every line's best layer; `congested`: the
    /// estimate is starved or the link shows other trouble now. Returns the bitrate to
    /// restart the estimator from, when it is time to.
    pub fn tick(
        &mut self,
        now: Instant,
        estimate: Option<u64>,
        held: bool,
        congested: bool,
    ) -> Option<u64> {
        let Some(estimate) = estimate.filter(|_| held) else {
            self.held = None;
            if estimate.is_some() {
                self.wait = FIRST_WAIT;
            }
            return None;
        };
        let Some((since, from)) = self.held else {
            self.held = Some((now, estimate));
            return None;
        };
        // Growing, or rightly held down: start the watch again.
        if congested || estimate >= from.saturating_add(from / 4) {
            self.held = Some((now, estimate));
            return None;
        }
        if now.saturating_duration_since(since) < self.wait {
            return None;
        }
        self.held = Some((now, estimate));
        self.wait = (self.wait * 2).min(MAX_WAIT);
        Some(estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Recovery, t0: Instant, secs: std::ops::Range<u64>, est: u64) -> Vec<u64> {
        secs.filter(|s| {
            r.tick(t0 + Duration::from_secs(*s), Some(est), true, false)
                .is_some()
        })
        .collect()
    }

    #[test]
    fn a_held_stagnant_estimate_is_restarted_with_a_doubling_wait() {
        let t0 = Instant::now();
        let mut r = Recovery::default();
        // Restarts at 8 s, then 16 s and 32 s later, then every 64 s.
        let at = run(&mut r, t0, 0..200, 500_000);
        assert_eq!(at, vec![8, 24, 56, 120, 184]);
    }

    #[test]
    fn growth_congestion_or_no_hold_restart_the_watch() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut r = Recovery::default();
        assert_eq!(r.tick(s(0), Some(400_000), true, false), None);
        // Grows by a quarter at 6 s: the watch starts over.
        assert_eq!(r.tick(s(6), Some(500_000), true, false), None);
        assert_eq!(r.tick(s(13), Some(520_000), true, false), None);
        assert_eq!(r.tick(s(14), Some(520_000), true, false), Some(520_000));
        // Congested: never restarted, however long.
        let mut r = Recovery::default();
        for n in 0..100 {
            assert_eq!(r.tick(s(n), Some(300_000), true, true), None);
        }
        // Not held (the subscriber has every best layer): nothing, and the wait is
        // back to the first.
        let mut r = Recovery::default();
        assert_eq!(run(&mut r, t0, 0..9, 500_000), vec![8]);
        assert_eq!(r.tick(s(9), Some(500_000), false, false), None);
        assert_eq!(run(&mut r, t0, 10..19, 500_000), vec![18]);
        // No estimate yet: nothing.
        let mut r = Recovery::default();
        for n in 0..20 {
            assert_eq!(r.tick(s(n), None, true, false), None);
        }
    }
}
