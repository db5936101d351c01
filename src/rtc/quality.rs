//! A connection's link quality, from str0m's statistics (`RtcConfig::set_stats_interval`):
//! every [`STATS_INTERVAL`] the media loop turns one window of statistics into a
//! [`LinkQuality`] and reports it to the hearing task (`SessionEventKind::Quality`).
//!
//! Round trip and losses come from RTCP: the receiver reports the peer sends about what
//! we forward (loss on the way to them, round trip), and what str0m measures of what the
//! peer sends (loss on the way to us); bitrates from the bytes counted each way. Worst
//! value of the window's media lines: one frozen video line is what a court needs to see.

use std::time::{Duration, Instant};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

/// How often str0m reports statistics of a connection.
pub(super) const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// One window of a connection's link quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkQuality {
    /// Round-trip time, when RTCP gave one.
    pub rtt_ms: Option<u32>,
    /// Packets lost on the way from the peer, in thousandths.
    pub loss_in_permille: Option<u16>,
    /// Packets lost on the way to the peer, in thousandths.
    pub loss_out_permille: Option<u16>,
    /// What the peer sent us, kbit/s over the window.
    pub kbps_in: u32,
    /// What we sent the peer, kbit/s over the window.
    pub kbps_out: u32,
    /// The peer's camera: how many layers it sends (1 without simulcast) and the
    /// picture height of the best; None without video.
    pub layers_sent: Option<u8>,
    pub height_sent: Option<u16>,
    /// How many of the pictures the peer receives come in a smaller layer than their
    /// publisher sends (its downlink cannot hold more).
    pub reduced: Option<u8>,
}

/// The statistics of the current window, folded as str0m reports them.
#[derive(Debug, Default)]
pub(super) struct QualityWindow {
    rtt: Option<Duration>,
    loss_in: Option<f32>,
    loss_out: Option<f32>,
    last: Option<(Instant, u64, u64)>,
}

fn worst(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn permille(f: Option<f32>) -> Option<u16> {
    f.filter(|v| v.is_finite())
        .map(|v| (v.clamp(0.0, 1.0) * 1000.0).round() as u16)
}

impl QualityWindow {
    pub(super) fn ingress(&mut self, s: &MediaIngressStats) {
        self.loss_in = worst(self.loss_in, s.loss);
        self.rtt = self.rtt.max(s.rtt);
    }

    pub(super) fn egress(&mut self, s: &MediaEgressStats) {
        self.loss_out = worst(self.loss_out, s.loss);
        self.rtt = self.rtt.max(s.rtt);
    }

    /// Closes the window at the connection's byte totals (everything received from and
    /// sent to the peer); None for the first window (no interval to divide by yet).
    pub(super) fn peer(&mut self, s: &PeerStats) -> Option<LinkQuality> {
        let prev = self
            .last
            .replace((s.timestamp, s.peer_bytes_rx, s.peer_bytes_tx));
        let rtt = self.rtt.take().max(s.rtt);
        let loss_in = worst(self.loss_in.take(), s.ingress_loss_fraction);
        let loss_out = worst(self.loss_out.take(), s.egress_loss_fraction);
        let (at, rx, tx) = prev?;
        let secs = s.timestamp.saturating_duration_since(at).as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let kbps = |now: u64, then: u64| {
            let k = now.saturating_sub(then) as f64 * 8.0 / 1000.0 / secs;
            k.round().min(f64::from(u32::MAX)) as u32
        };
        Some(LinkQuality {
            rtt_ms: rtt.map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
            loss_in_permille: permille(loss_in),
            loss_out_permille: permille(loss_out),
            kbps_in: kbps(s.peer_bytes_rx, rx),
            kbps_out: kbps(s.peer_bytes_tx, tx),
            ..Default::default()
        })
    }
}
