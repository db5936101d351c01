//! Simulcast receive (#11 point 4). A browser publishes its camera in up to three
//! layers (RFC 8853 rids `q`, `h`, `f`: a quarter, half and full size), each its own
//! SSRC on one media line, and lowers or stops its top layers when its uplink shrinks.
//! The server keeps, per published video line:
//! - each layer's bitrate (1 s windows, smoothed), picture size (read from its
//!   keyframes) and whether it is still being sent;
//! - the layer the recording takes: the best one being sent, changed only at one of its
//!   keyframes (a decoder can change streams only there).
//!
//! And per subscriber, the layer it receives of each publisher, chosen from str0m's
//! estimate of the subscriber's downlink ([`allocate`]) and also changed at a keyframe.
//!
//! Pure: packets, estimates and time in, decisions out. Nothing on the per-packet path
//! allocates ([`allocate`] runs once a second per subscriber).

use std::time::{Duration, Instant};

/// Layers kept per media line (`q`, `h`, `f`); a further SSRC replaces an idle one.
pub(super) const MAX_LAYERS: usize = 3;
/// A layer without a packet for this long is no longer being sent.
const IDLE_AFTER: Duration = Duration::from_millis(1500);
/// The recording waits this long after a line's first packet before taking a layer,
/// so that it starts on the best one rather than on whichever keyframe came first.
const SETTLE: Duration = Duration::from_millis(500);
/// A layer that came (back) must be sent this long before the recording moves up to
/// it: a publisher on a strained uplink or CPU drops and restores its top layer often,
/// and each move starts a new file.
const RECORD_UP_AFTER: Duration = Duration::from_secs(3);
/// Share of the estimate the allocation fills (the rest absorbs keyframes and probes).
const HEADROOM_PERCENT: u64 = 85;
/// Ticks in a row an upgrade must fit before a subscriber is moved up.
const UP_TICKS: u8 = 2;
/// What an audio stream is assumed to take of a subscriber's downlink.
pub(super) const AUDIO_BPS: u64 = 48_000;

/// One layer of a simulcast line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layer {
    pub ssrc: u32,
    bytes: u64,
    /// Bits per second, smoothed over the last windows.
    pub bitrate: u32,
    /// Width and height of its last keyframe ((0, 0) until one was seen).
    pub size: (u16, u16),
    last_at: Instant,
    /// Sent without a pause since.
    since: Instant,
    pub last_pli: Option<Instant>,
}

impl Layer {
    fn rank(&self) -> (u32, u32) {
        let (w, h) = self.size;
        (u32::from(w) * u32::from(h), self.bitrate)
    }
    fn active(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_at) < IDLE_AFTER
    }
}

/// What the recording does with a packet of a simulcast line: record it or not, and
/// whether to ask the publisher for a keyframe of a better layer to move to (the
/// caller asks, rate-limited).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RecordTake {
    pub take: bool,
    pub ask: Option<u32>,
}

/// The layers of one published simulcast line, and the one the recording takes.
#[derive(Debug)]
pub(super) struct Layers {
    slots: [Option<Layer>; MAX_LAYERS],
    window_at: Instant,
    first_at: Instant,
    record: Option<u32>,
}

impl Layers {
    pub fn new(now: Instant) -> Layers {
        Layers {
            slots: [None; MAX_LAYERS],
            window_at: now,
            first_at: now,
            record: None,
        }
    }

    /// Accounts one packet of layer `ssrc`; `key` is [`keyframe_start`]'s answer.
    ///
    /// [`keyframe_start`]: crate::recorder::keyframe::keyframe_start
    pub fn on_packet(&mut self, ssrc: u32, len: usize, key: Option<(u16, u16)>, now: Instant) {
        let at = match self
            .slots
            .iter()
            .position(|l| l.is_some_and(|l| l.ssrc == ssrc))
        {
            Some(i) => i,
            None => {
                // A free slot, else an idle layer's (a publisher that restarted a layer).
                let Some(i) = self
                    .slots
                    .iter()
                    .position(|l| l.is_none_or(|l| !l.active(now)))
                else {
                    return;
                };
                if let Some(l) = self.slots[i] {
                    if self.record == Some(l.ssrc) {
                        self.record = None;
                    }
                }
                self.slots[i] = Some(Layer {
                    ssrc,
                    bytes: 0,
                    bitrate: 0,
                    size: (0, 0),
                    last_at: now,
                    since: now,
                    last_pli: None,
                });
                i
            }
        };
        if let Some(l) = self.slots[at].as_mut() {
            if !l.active(now) {
                l.since = now;
            }
            l.bytes += len as u64;
            l.last_at = now;
            if let Some(size) = key.filter(|(w, h)| *w > 0 && *h > 0) {
                l.size = size;
            }
        }
    }

    /// Closes a bitrate window (called about once a second).
    pub fn tick(&mut self, now: Instant) {
        let ms = now.saturating_duration_since(self.window_at).as_millis() as u64;
        if ms == 0 {
            return;
        }
        for l in self.slots.iter_mut().flatten() {
            let bps = (l.bytes * 8 * 1000 / ms).min(u64::from(u32::MAX)) as u32;
            l.bitrate = if l.bitrate == 0 {
                bps
            } else {
                ((u64::from(l.bitrate) + u64::from(bps)) / 2) as u32
            };
            l.bytes = 0;
        }
        self.window_at = now;
    }

    /// The best layer being sent.
    pub fn best(&self, now: Instant) -> Option<u32> {
        self.slots
            .iter()
            .flatten()
            .filter(|l| l.active(now))
            .max_by_key(|l| l.rank())
            .map(|l| l.ssrc)
    }

    /// The layers being sent, worst first: (SSRC, bits per second). Returns how many.
    pub fn ordered(&self, now: Instant, out: &mut [(u32, u32); MAX_LAYERS]) -> usize {
        let mut n = 0;
        for l in self.slots.iter().flatten().filter(|l| l.active(now)) {
            out[n] = (l.ssrc, l.bitrate);
            n += 1;
        }
        let ranks = |ssrc: u32| {
            self.slots
                .iter()
                .flatten()
                .find(|l| l.ssrc == ssrc)
                .map(Layer::rank)
        };
        out[..n].sort_unstable_by_key(|(s, _)| ranks(*s));
        n
    }

    /// How many layers are being sent, and the picture size of the best.
    pub fn sent(&self, now: Instant) -> (u8, Option<(u16, u16)>) {
        let active = self.slots.iter().flatten().filter(|l| l.active(now));
        let n = active.clone().count() as u8;
        let best = active.max_by_key(|l| l.rank()).map(|l| l.size);
        (n, best.filter(|(w, _)| *w > 0))
    }

    /// The layer the recording takes now, if it has started.
    pub fn recorded(&self) -> Option<u32> {
        self.record
    }

    /// Whether the recording takes this packet: it starts on the best layer after the
    /// line settled, and moves to a better or surviving layer at that layer's keyframe.
    pub fn record(&mut self, ssrc: u32, keyframe: bool, now: Instant) -> RecordTake {
        let recorded_alive = self.record.is_some_and(|r| {
            self.slots
                .iter()
                .flatten()
                .any(|l| l.ssrc == r && l.active(now))
        });
        // While the recorded layer is sent, only a layer sent for RECORD_UP_AFTER
        // counts as better.
        let best = self
            .slots
            .iter()
            .flatten()
            .filter(|l| {
                l.active(now)
                    && (!recorded_alive
                        || Some(l.ssrc) == self.record
                        || now.saturating_duration_since(l.since) >= RECORD_UP_AFTER)
            })
            .max_by_key(|l| l.rank())
            .map(|l| l.ssrc);
        if self.record == Some(ssrc) {
            // The recorded layer's own packets are always taken, until the change.
            let ask = best.filter(|b| *b != ssrc);
            return RecordTake { take: true, ask };
        }
        let settled = now.saturating_duration_since(self.first_at) >= SETTLE;
        if best != Some(ssrc) || !settled {
            return RecordTake {
                take: false,
                ask: None,
            };
        }
        if keyframe {
            self.record = Some(ssrc);
            return RecordTake {
                take: true,
                ask: None,
            };
        }
        // Nothing recorded yet, or the recorded layer stopped: ask for a keyframe here.
        RecordTake {
            take: false,
            ask: (!recorded_alive).then_some(ssrc),
        }
    }

    /// The layer's rate limit for keyframe requests.
    pub fn last_pli(&mut self, ssrc: u32) -> Option<&mut Option<Instant>> {
        self.slots
            .iter_mut()
            .flatten()
            .find(|l| l.ssrc == ssrc)
            .map(|l| &mut l.last_pli)
    }
}

/// One subscriber's layer of one simulcast outlet.
#[derive(Default, Debug)]
pub(super) struct LayerChoice {
    /// The layer forwarded now.
    pub current: Option<u32>,
    /// The layer to change to at its next keyframe.
    pub want: Option<u32>,
    /// Ticks in a row an upgrade fitted.
    up: u8,
}

impl LayerChoice {
    /// Whether a packet of layer `ssrc` goes to this subscriber. Before any choice the
    /// first keyframe of any layer starts the picture.
    pub fn admit(&mut self, ssrc: u32, keyframe: bool) -> bool {
        if self.current == Some(ssrc) {
            return true;
        }
        let wanted = match self.want {
            Some(w) => w == ssrc,
            None => self.current.is_none(),
        };
        if wanted && keyframe {
            self.current = Some(ssrc);
            return true;
        }
        false
    }

    /// The layer chosen whose keyframe has not come yet.
    pub fn waiting(&self) -> Option<u32> {
        self.want.filter(|w| self.current != Some(*w))
    }

    /// Applies the allocation's pick (index `level` of `layers`, worst first): down at
    /// once, up after [`UP_TICKS`] ticks that agree. Returns the layer whose keyframe
    /// must be asked for when the subscriber is to change layer.
    pub fn choose(&mut self, layers: &[(u32, u32)], level: usize) -> Option<u32> {
        let target = layers.get(level)?.0;
        let now_at = self
            .want
            .or(self.current)
            .and_then(|w| layers.iter().position(|(s, _)| *s == w));
        let go = match now_at {
            None => true, // nothing yet, or the layer stopped
            Some(at) if level < at => true,
            Some(at) if level > at => {
                self.up = self.up.saturating_add(1);
                self.up >= UP_TICKS
            }
            Some(_) => false,
        };
        if level <= now_at.unwrap_or(0) {
            self.up = 0;
        }
        if !go {
            return None;
        }
        self.up = 0;
        self.want = Some(target);
        (self.current != Some(target)).then_some(target)
    }
}

/// What a subscriber's downlink is given: per simulcast line (its layers worst first,
/// as [`Layers::ordered`] lists them), the index of the layer it receives.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Allocation {
    pub levels: Vec<usize>,
    /// What it would take to receive every line's best layer (str0m probes toward it).
    pub desired_bps: u64,
    /// The estimate is well below (under 3/4 of) audio and every line's smallest layer.
    pub starved: bool,
    /// What the allocation uses. str0m pads up to this much when media falls short, so
    /// it is not set higher: sustained padding toward a next layer would itself fill a
    /// weak downlink. The estimate grows by str0m's periodic probes toward `desired`
    /// while the link is application-limited (every 5 s, as libwebrtc's).
    pub minimum_bps: u64,
}

/// Fills `HEADROOM_PERCENT` of the estimate (after `fixed_bps` for audio and
/// single-layer video): every line starts at its lowest layer, then lines are moved up
/// one step at a time, in turn, while the step fits.
pub(super) fn allocate(estimate_bps: u64, fixed_bps: u64, lines: &[&[(u32, u32)]]) -> Allocation {
    let budget = (estimate_bps / 100)
        .saturating_mul(HEADROOM_PERCENT)
        .saturating_sub(fixed_bps);
    let mut levels = vec![0usize; lines.len()];
    let bps = |line: &[(u32, u32)], i: usize| line.get(i).map_or(0, |(_, b)| u64::from(*b));
    let mut spent: u64 = lines.iter().map(|l| bps(l, 0)).sum();
    // Starved: clearly below what audio and the smallest layers take (under 3/4 of it:
    // the estimate swings around a link's capacity, and audio only is the last resort).
    let starved =
        estimate_bps.saturating_mul(4) < fixed_bps.saturating_add(spent).saturating_mul(3);
    loop {
        let mut moved = false;
        for (i, line) in lines.iter().enumerate() {
            let next = levels[i] + 1;
            if next >= line.len() {
                continue;
            }
            let step = bps(line, next).saturating_sub(bps(line, levels[i]));
            if spent.saturating_add(step) <= budget {
                spent += step;
                levels[i] = next;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let top: u64 = lines
        .iter()
        .map(|l| bps(l, l.len().saturating_sub(1)))
        .sum();
    let desired_bps = fixed_bps.saturating_add(top);
    Allocation {
        levels,
        starved,
        desired_bps,
        minimum_bps: fixed_bps.saturating_add(spent),
    }
}

#[cfg(test)]
#[path = "simulcast_tests.rs"]
mod tests;
