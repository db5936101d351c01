//! The media loop's once-a-second look at simulcast (see `simulcast`): publishers'
//! layer bitrates are closed and copied to their outlets; each subscriber's downlink
//! estimate is shared out among the publishers it receives, moving it between layers
//! (at keyframes) and telling str0m what to probe toward; an estimate stuck below what
//! its subscriber wants is restarted (`bwe_recover`).

use super::MediaLoop;
use crate::rtc::forward::MediaKind;
use crate::rtc::simulcast::{AUDIO_BPS, allocate};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use str0m::bwe::Bitrate;
use tracing::debug;

/// How often layers are measured and chosen.
pub(super) const EVERY: Duration = Duration::from_secs(1);

impl MediaLoop {
    pub(super) fn layer_tick(&mut self, now: Instant) {
        for c in self.conns.values_mut() {
            for rx in c.rx.iter_mut().filter(|r| r.kind == MediaKind::Video) {
                rx.layers.tick(now);
                if let Some(o) = self.outlets.by_id.get_mut(&rx.outlet) {
                    if o.source.is_some_and(|(t, _)| t == c.tag) {
                        o.n_layers = rx.layers.ordered(now, &mut o.layers);
                    }
                }
            }
        }
        let mut touched = Vec::new();
        for c in self.conns.values_mut() {
            if c.failed || c.tx.is_empty() {
                continue;
            }
            let video = !c.downlink.audio_only();
            let mut fixed = 0u64;
            let mut lines: Vec<&[(u32, u32)]> = Vec::new();
            let mut subs = Vec::new();
            for (i, sub) in c.tx.iter().enumerate() {
                let Some(o) = self.outlets.by_id.get(&sub.outlet) else {
                    continue;
                };
                if o.room != c.room || o.source.is_none() {
                    continue;
                }
                let layers = o.layers.get(..o.n_layers).unwrap_or_default();
                match o.kind {
                    MediaKind::Audio => fixed += AUDIO_BPS,
                    MediaKind::Video if !video => {}
                    MediaKind::Video if layers.len() > 1 => {
                        lines.push(layers);
                        subs.push(i);
                    }
                    MediaKind::Video => {
                        fixed += layers.first().map_or(0, |(_, b)| u64::from(*b));
                    }
                }
            }
            // No estimate yet: every line's best layer.
            let estimate = c.bwe_bps.unwrap_or(u64::MAX / 4);
            let a = allocate(estimate, fixed, &lines);
            if a.starved && c.bwe_bps.is_some() {
                c.starved_ticks = c.starved_ticks.saturating_add(1);
            }
            for ((i, line), level) in subs.iter().zip(&lines).zip(&a.levels) {
                if let Some(sub) = c.tx.get_mut(*i) {
                    // Still waiting for the keyframe of the layer chosen before: ask
                    // again (a request inside another's rate limit was not sent, and
                    // a keyframe can be lost).
                    if let Some(w) = sub.choice.waiting() {
                        self.queues.keyframe.push((sub.outlet, Some(w)));
                    }
                    if let Some(ask) = sub.choice.choose(line, *level) {
                        debug!(
                            conn = c.tag,
                            outlet = sub.outlet,
                            level = *level,
                            layers = line.len(),
                            estimate = c.bwe_bps,
                            "simulcast: a subscriber changes layer"
                        );
                        self.queues.keyframe.push((sub.outlet, Some(ask)));
                    }
                }
            }
            let (min, desired) = (a.minimum_bps, a.desired_bps);
            let held = a
                .levels
                .iter()
                .zip(&lines)
                .any(|(l, line)| l + 1 < line.len());
            let congested = a.starved || c.starved_ticks > 0;
            let restart = c.recovery.tick(now, c.bwe_bps, held, congested);
            debug!(
                conn = c.tag,
                estimate = c.bwe_bps,
                min,
                desired,
                levels = ?a.levels,
                starved = a.starved,
                restart,
                "simulcast: downlink shared out"
            );
            let set = catch_unwind(AssertUnwindSafe(|| {
                let mut bwe = c.rtc.bwe();
                if let Some(from) = restart {
                    bwe.reset(Bitrate::bps(from));
                }
                bwe.set_bitrate(Bitrate::bps(min), Bitrate::bps(desired));
            }));
            touched.push((c.tag, set.is_ok()));
        }
        for (tag, ok) in touched {
            if ok {
                self.drain(tag);
            } else {
                self.crashed(tag);
            }
        }
        self.flush();
    }
}
