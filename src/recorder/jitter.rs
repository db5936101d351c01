//! Per-track reorder buffer: unwraps 16-bit RTP sequence numbers, puts packets back in
//! order within the reorder window, drops duplicates and late packets, declares the
//! holes that NACK did not repair as losses, and starts a new sequence space when the
//! SSRC changes.
//!
//! Pure: the clock is the packet arrival / `now` passed in. It must never block,
//! allocate without bound (the buffer is capped), or panic on any sequence of packets.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::types::RtpIn;

/// Most packets held while a hole is open; past this the hole is declared lost.
const MAX_BUFFERED: usize = 2_000;
/// A packet this far behind the delivery point is a sender restart, not a late packet.
const RESTART_DISTANCE: i64 = 3_000;

/// One packet released in order.
#[derive(Debug)]
pub(crate) struct Ordered {
    /// The packet.
    pub pkt: RtpIn,
    /// Packets are missing right before this one (depacketizers drop partial frames).
    pub after_loss: bool,
}

/// What the buffer releases.
#[derive(Debug)]
pub(crate) enum JitterOut {
    /// The next packet in sequence order.
    Packet(Ordered),
    /// `packets` sequence numbers never arrived.
    Loss { packets: u64 },
    /// The source changed; following packets belong to a new sequence space.
    SsrcChange { from: u32, to: u32 },
}

/// Reorder buffer state for one track.
#[derive(Debug)]
pub(crate) struct JitterBuffer {
    window: Duration,
    ssrc: Option<u32>,
    max_ext: i64,
    next: i64,
    buf: BTreeMap<i64, RtpIn>,
    hole_since: Option<SystemTime>,
    /// After a (re)start nothing is released until this time, so that packets which
    /// overtook the first one are still put in order.
    warmup_until: Option<SystemTime>,
    after_loss: bool,
    /// Duplicates dropped (for statistics).
    pub duplicates: u64,
    /// Packets that arrived after their slot was released (for statistics).
    pub late: u64,
}

impl JitterBuffer {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            ssrc: None,
            max_ext: 0,
            next: 0,
            buf: BTreeMap::new(),
            hole_since: None,
            warmup_until: None,
            after_loss: false,
            duplicates: 0,
            late: 0,
        }
    }

    fn unwrap_seq(&self, seq: u16) -> i64 {
        // Distance from the highest seen, interpreted as a signed 16-bit step.
        let low = (self.max_ext & 0xffff) as u16;
        self.max_ext + i64::from(seq.wrapping_sub(low) as i16)
    }

    fn restart(&mut self, ssrc: u32, seq: u16, now: SystemTime) {
        self.warmup_until = now.checked_add(self.window);
        self.ssrc = Some(ssrc);
        // Keep unwrapped numbers positive and clear of the previous space.
        self.max_ext = i64::from(seq) + (1 << 20);
        self.next = self.max_ext;
        self.buf.clear();
        self.hole_since = None;
    }

    /// Accepts one packet and releases whatever is now in order.
    pub(crate) fn push(&mut self, pkt: RtpIn, out: &mut Vec<JitterOut>) {
        let now = pkt.arrival;
        match self.ssrc {
            None => self.restart(pkt.ssrc, pkt.seq, now),
            Some(old) if old != pkt.ssrc => {
                self.drain(out);
                out.push(JitterOut::SsrcChange {
                    from: old,
                    to: pkt.ssrc,
                });
                self.restart(pkt.ssrc, pkt.seq, now);
                self.after_loss = true;
            }
            Some(_) => {}
        }
        let ext = self.unwrap_seq(pkt.seq);
        if ext < self.next && self.warming_up(now) && self.next - ext < RESTART_DISTANCE {
            // It overtook the packet that opened the sequence space: start earlier.
            self.next = ext;
        }
        if ext < self.next {
            if self.next - ext > RESTART_DISTANCE {
                // The sender restarted its sequence numbers without a new SSRC.
                self.drain(out);
                let ssrc = pkt.ssrc;
                self.restart(ssrc, pkt.seq, now);
                self.after_loss = true;
                self.insert(self.next, pkt);
                self.release(now, out);
            } else {
                self.late += 1;
            }
            return;
        }
        if self.buf.contains_key(&ext) {
            self.duplicates += 1;
            return;
        }
        self.insert(ext, pkt);
        self.release(now, out);
    }

    fn insert(&mut self, ext: i64, pkt: RtpIn) {
        self.max_ext = self.max_ext.max(ext);
        self.buf.insert(ext, pkt);
    }

    /// Releases packets whose hole has waited longer than the window.
    pub(crate) fn poll(&mut self, now: SystemTime, out: &mut Vec<JitterOut>) {
        self.release(now, out);
    }

    fn warming_up(&self, now: SystemTime) -> bool {
        self.warmup_until.is_some_and(|t| now < t)
    }

    fn release(&mut self, now: SystemTime, out: &mut Vec<JitterOut>) {
        if self.warming_up(now) && self.buf.len() <= MAX_BUFFERED {
            return;
        }
        self.warmup_until = None;
        loop {
            let Some((&first, _)) = self.buf.first_key_value() else {
                self.hole_since = None;
                return;
            };
            if first == self.next {
                self.emit_first(out);
                continue;
            }
            // A hole at `self.next`.
            let since = *self.hole_since.get_or_insert(now);
            let waited = now.duration_since(since).unwrap_or(Duration::ZERO);
            if waited >= self.window || self.buf.len() > MAX_BUFFERED {
                self.declare_lost(first, out);
                continue;
            }
            return;
        }
    }

    fn declare_lost(&mut self, first: i64, out: &mut Vec<JitterOut>) {
        let missing = u64::try_from(first - self.next).unwrap_or(0);
        if missing > 0 {
            out.push(JitterOut::Loss { packets: missing });
            self.after_loss = true;
        }
        self.next = first;
        self.hole_since = None;
    }

    fn emit_first(&mut self, out: &mut Vec<JitterOut>) {
        if let Some((ext, pkt)) = self.buf.pop_first() {
            out.push(JitterOut::Packet(Ordered {
                pkt,
                after_loss: std::mem::take(&mut self.after_loss),
            }));
            self.next = ext + 1;
            self.hole_since = None;
        }
    }

    /// Releases everything buffered, declaring the remaining holes lost.
    pub(crate) fn drain(&mut self, out: &mut Vec<JitterOut>) {
        while let Some((&first, _)) = self.buf.first_key_value() {
            if first != self.next {
                self.declare_lost(first, out);
            }
            self.emit_first(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ssrc: u32, ms: u64) -> RtpIn {
        RtpIn {
            seq,
            timestamp: u32::from(seq) * 10,
            marker: false,
            ssrc,
            payload: vec![seq as u8],
            arrival: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
        }
    }

    fn seqs(out: &[JitterOut]) -> Vec<u16> {
        out.iter()
            .filter_map(|o| match o {
                JitterOut::Packet(p) => Some(p.pkt.seq),
                _ => None,
            })
            .collect()
    }

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn reorders_dedupes_and_wraps() {
        let mut jb = JitterBuffer::new(Duration::from_millis(200));
        let mut out = Vec::new();
        for (i, s) in [65534u16, 65533, 65535, 65535, 65534, 0, 2, 1, 3]
            .iter()
            .enumerate()
        {
            jb.push(pkt(*s, 1, i as u64), &mut out);
        }
        assert!(seqs(&out).is_empty(), "held during the start window");
        jb.poll(at(300), &mut out);
        // 65533 overtook the first packet and still comes out first.
        assert_eq!(seqs(&out), vec![65533, 65534, 65535, 0, 1, 2, 3]);
        assert_eq!(jb.duplicates, 2);
        // after the start window, an old packet is late
        jb.push(pkt(2, 1, 310), &mut out);
        assert_eq!(jb.late, 1);
        assert!(!out.iter().any(|o| matches!(o, JitterOut::Loss { .. })));
    }

    #[test]
    fn hole_becomes_loss_after_window() {
        let mut jb = JitterBuffer::new(Duration::from_millis(200));
        let mut out = Vec::new();
        jb.push(pkt(10, 1, 0), &mut out);
        jb.poll(at(250), &mut out);
        assert_eq!(seqs(&out), vec![10]);
        jb.push(pkt(13, 1, 260), &mut out);
        jb.poll(at(400), &mut out);
        assert_eq!(seqs(&out), vec![10]);
        jb.poll(at(461), &mut out);
        assert_eq!(seqs(&out), vec![10, 13]);
        assert!(matches!(out[1], JitterOut::Loss { packets: 2 }));
        let JitterOut::Packet(p) = &out[2] else {
            panic!("packet expected")
        };
        assert!(p.after_loss);
        // a repaired packet arriving after the loss was declared is late
        jb.push(pkt(11, 1, 500), &mut out);
        assert_eq!(jb.late, 1);
    }

    #[test]
    fn ssrc_change_starts_new_space() {
        let mut jb = JitterBuffer::new(Duration::from_millis(200));
        let mut out = Vec::new();
        jb.push(pkt(100, 1, 0), &mut out);
        jb.push(pkt(6, 2, 1), &mut out);
        jb.push(pkt(5, 2, 2), &mut out);
        jb.poll(at(300), &mut out);
        assert_eq!(seqs(&out), vec![100, 5, 6]);
        assert!(matches!(out[1], JitterOut::SsrcChange { from: 1, to: 2 }));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026),
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Any local reordering (within the window) plus duplicates, anywhere in the
        /// sequence space: every packet comes out once, in order, with no loss.
        #[test]
        fn local_shuffles_and_duplicates_are_undone(
            start in proptest::prelude::any::<u16>(),
            n in 1usize..300,
            swaps in proptest::collection::vec((0usize..300, 1usize..4), 0..60),
            dups in proptest::collection::vec(0usize..300, 0..30),
        ) {
            let mut order: Vec<u16> = (0..n).map(|i| start.wrapping_add(i as u16)).collect();
            for (i, d) in swaps {
                if i + d < order.len() {
                    order.swap(i, i + d);
                }
            }
            for d in dups {
                if d < order.len() {
                    let s = order[d];
                    order.insert(d, s);
                }
            }
            let mut jb = JitterBuffer::new(Duration::from_millis(200));
            let mut out = Vec::new();
            for (i, s) in order.iter().enumerate() {
                // 1 ms apart: every hole is filled well within the window
                jb.push(pkt(*s, 7, i as u64 / 10), &mut out);
            }
            jb.drain(&mut out);
            let want: Vec<u16> = (0..n).map(|i| start.wrapping_add(i as u16)).collect();
            proptest::prop_assert_eq!(seqs(&out), want);
            let lost = out.iter().any(|o| matches!(o, JitterOut::Loss { .. }));
            proptest::prop_assert!(!lost);
        }
    }
}
