//! A stand-in for `tc qdisc ... netem delay D J` on a kernel without sch_netem (the
//! test machines'): an NFQUEUE listener that holds every packet queued to it for D ± J ms
//! (uniform, drawn per packet, as netem draws its jitter) and then lets it go. Verdicts
//! are issued when each packet is due, so packets may overtake one another, as under
//! netem with jitter. Loss and rate limits are not its job (an iptables `statistic`
//! rule and `tc` do those).
//!
//! Usage (root, in the tests' loopback-only network namespace):
//!
//! ```text
//! netdelay --queue 0 --delay-ms 100 --jitter-ms 30 < fifo &
//! # once it printed "ready":
//! iptables -A OUTPUT -p udp --sport 40000 -j NFQUEUE --queue-num 0
//! ```
//!
//! It runs until its standard input closes; then it lets the packets it still holds go
//! when due, waits until none has come for a moment, and exits. Remove the rule before
//! that: a queued packet with no listener is dropped, which would add loss.
//! Used by `tests/browser/faults.test.mjs`.

use clap::Parser;
use std::collections::BinaryHeap;
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(about = "Delays the packets of an NFQUEUE by D ± J ms (netem-like delay)")]
struct Args {
    /// NFQUEUE number to listen on (iptables `-j NFQUEUE --queue-num`).
    #[arg(long, default_value_t = 0)]
    queue: u16,
    /// Mean delay added to each packet, in milliseconds.
    #[arg(long, default_value_t = 100)]
    delay_ms: u64,
    /// Each packet's delay is drawn uniformly in delay ± jitter, in milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Seed of the draws (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
}

/// A packet held until `due`; the heap gives the earliest first (`seq` breaks ties in
/// arrival order).
struct Held {
    due: Instant,
    seq: u64,
    msg: nfq::Message,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// xorshift64*: plenty for spreading delays, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[mean - jitter, mean + jitter]` microseconds, never below zero.
    fn delay(&mut self, mean_ms: u64, jitter_ms: u64) -> Duration {
        let (mean, jitter) = (mean_ms * 1000, jitter_ms * 1000);
        let low = mean.saturating_sub(jitter);
        let span = mean + jitter - low;
        Duration::from_micros(low + self.next() % (span + 1))
    }
}

/// Longest sleep between two looks at the queue when nothing is due sooner.
const POLL: Duration = Duration::from_millis(1);
/// Once told to stop and holding nothing, how long no packet may come before it exits.
const QUIET: Duration = Duration::from_millis(100);

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng(seed | 1);
    let mut queue = nfq::Queue::open()?;
    queue.bind(args.queue)?;
    // Only the verdict matters: the kernel need not copy packets to us.
    queue.set_copy_range(args.queue, 0)?;
    queue.set_queue_max_len(args.queue, 8192)?;
    queue.set_nonblocking(true);
    println!("ready");
    std::io::stdout().flush()?;

    // Standard input closed (or anything read from it): time to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let told = Arc::clone(&stop);
    std::thread::spawn(move || {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        told.store(true, Ordering::Relaxed);
    });

    let mut held = BinaryHeap::new();
    let mut seq = 0u64;
    let mut last_packet = Instant::now();
    loop {
        loop {
            match queue.recv() {
                Ok(mut msg) => {
                    last_packet = Instant::now();
                    msg.set_verdict(nfq::Verdict::Accept);
                    seq += 1;
                    let due = Instant::now() + rng.delay(args.delay_ms, args.jitter_ms);
                    held.push(Held { due, seq, msg });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let now = Instant::now();
        while held.peek().is_some_and(|h: &Held| h.due <= now) {
            if let Some(h) = held.pop() {
                queue.verdict(h.msg)?;
            }
        }
        if held.is_empty()
            && stop.load(Ordering::Relaxed)
            && now.duration_since(last_packet) >= QUIET
        {
            return Ok(());
        }
        let wait = held
            .peek()
            .map_or(POLL, |h| h.due.saturating_duration_since(now))
            .min(POLL);
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;
    use std::time::Duration;

    #[test]
    fn delays_stay_within_the_jitter_and_spread_over_it() {
        let mut rng = Rng(42);
        let draws: Vec<Duration> = (0..10_000).map(|_| rng.delay(100, 30)).collect();
        let (lo, hi) = (Duration::from_millis(70), Duration::from_millis(130));
        assert!(draws.iter().all(|d| *d >= lo && *d <= hi));
        let mean = draws.iter().sum::<Duration>() / 10_000;
        assert!(mean > Duration::from_millis(98) && mean < Duration::from_millis(102));
        assert!(draws.iter().any(|d| *d < Duration::from_millis(75)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(125)));
    }

    #[test]
    fn no_jitter_is_a_fixed_delay() {
        let mut rng = Rng(7);
        assert!((0..100).all(|_| rng.delay(100, 0) == Duration::from_millis(100)));
        // A jitter above the mean clamps at zero rather than wrapping.
        assert!((0..1000).all(|_| rng.delay(10, 30) <= Duration::from_millis(40)));
    }
}
