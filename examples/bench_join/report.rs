//! Summary statistics and the printed table of the join benchmark. Pure: it never
//! touches the network or the clock.

use crate::joiner::{STEPS, Step};
use std::time::Duration;

/// Nearest-rank percentile (`p` in 0..=100) of sorted values; `None` if empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Milestones of every joiner (one row per joiner, one column per step).
pub type Samples = Vec<Vec<Option<Duration>>>;

/// The values of one step in ms, sorted; joiners that never reached it are left out.
fn column(samples: &Samples, step: Step) -> Vec<f64> {
    let mut v: Vec<f64> = samples
        .iter()
        .filter_map(|row| row.get(step as usize).copied().flatten())
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Prints median, p95 and max per step (ms since the WebSocket connect started).
pub fn print(samples: &Samples) {
    println!(
        "{:<20} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "step (ms from link)", "n", "min", "median", "p95", "max"
    );
    for step in STEPS {
        let v = column(samples, step);
        let f = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.1}"));
        println!(
            "{:<20} {:>6} {:>9} {:>9} {:>9} {:>9}",
            step.name(),
            v.len(),
            f(v.first().copied()),
            f(percentile(&v, 50.0)),
            f(percentile(&v, 95.0)),
            f(v.last().copied())
        );
    }
}

/// One line for scripts: `bench-join N=.. first_frame_median_ms=.. ...`.
pub fn summary_line(joiners: usize, samples: &Samples, failures: usize) -> String {
    let mut out = format!(
        "bench-join N={joiners} samples={} failures={failures}",
        samples.len()
    );
    for (key, step) in [
        ("ice", Step::IceConnected),
        ("frame", Step::FirstFrame),
        ("keyframe", Step::FirstKeyframe),
    ] {
        let v = column(samples, step);
        for (name, p) in [("median", 50.0), ("p95", 95.0)] {
            if let Some(x) = percentile(&v, p) {
                out.push_str(&format!(" {key}_{name}_ms={x:.1}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(10.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
