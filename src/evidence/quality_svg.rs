//! Each participant's link over the hearing as one SVG timeline (#11 point 6), drawn by
//! the server from the log's `connection_quality` entries: a row per participant, a bar
//! coloured good / fair / poor / unknown for the time each sample covers (until the next,
//! at most [`SAMPLE_SPAN_MS`]: a longer silence stays blank — the link was not measured,
//! e.g. the participant had left), ticks in UTC. Every bar carries its values in a
//! `<title>` (round trip, losses, bitrates); the picture needs no script and no font
//! beyond a generic one. Shown in the minutes and the portal.
//!
//! Pure: entries in, text out; every text from the log is escaped.

use super::minutes::esc;
use crate::verify::clock::parse_ms;
use crate::verify::entry::{Entry, EntryBody};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Longest time one sample stands for (the server logs one at least every 10 s).
pub const SAMPLE_SPAN_MS: i64 = 15_000;

const WIDTH: i64 = 760;
const LABEL_W: i64 = 200;
const ROW_H: i64 = 26;
const TOP: i64 = 8;
const AXIS_H: i64 = 40;

/// The words of the picture, in the language of the document it goes into.
pub struct QualityWords<'a> {
    pub title: &'a str,
    pub good: &'a str,
    pub fair: &'a str,
    pub poor: &'a str,
    pub unknown: &'a str,
}

struct Sample {
    at: i64,
    level: String,
    tip: String,
}

fn colour(level: &str) -> &'static str {
    match level {
        "good" => "#2e7d32",
        "fair" => "#f9a825",
        "poor" => "#c62828",
        _ => "#9e9e9e",
    }
}

fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}", s / 3600, s / 60 % 60)
}

/// The timeline of `entries`, or None when the log holds no `connection_quality`.
pub fn timeline(entries: &[Entry], words: &QualityWords) -> Option<String> {
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    let mut rows: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    let (mut start, mut end) = (i64::MAX, i64::MIN);
    for e in entries {
        let Some(at) = parse_ms(&e.time) else {
            continue;
        };
        start = start.min(at);
        end = end.max(at);
        match &e.body {
            EntryBody::ParticipantInvited {
                participant,
                role,
                display_name,
                ..
            } => {
                let name = display_name.as_deref().unwrap_or("");
                names.insert(participant, format!("{name} ({role})"));
            }
            EntryBody::ConnectionQuality {
                participant,
                level,
                rtt_ms,
                loss_in_permille,
                loss_out_permille,
                kbps_in,
                kbps_out,
                layers_sent,
                height_sent,
                reduced,
            } => {
                let pct = |p: &Option<u64>| {
                    p.map_or("–".to_owned(), |v| format!("{}.{} %", v / 10, v % 10))
                };
                let mut tip = format!(
                    "{} UTC: {level}; RTT {}; loss in {}, out {}; {kbps_in} kbit/s in, {kbps_out} kbit/s out",
                    e.time.get(11..19).unwrap_or(""),
                    rtt_ms.map_or("–".to_owned(), |r| format!("{r} ms")),
                    pct(loss_in_permille),
                    pct(loss_out_permille),
                );
                if let Some(h) = height_sent {
                    let n = layers_sent.unwrap_or(1);
                    tip.push_str(&format!("; camera {h}p, {n} layer(s)"));
                }
                if let Some(r) = reduced.filter(|r| *r > 0) {
                    tip.push_str(&format!("; {r} picture(s) received reduced"));
                }
                rows.entry(participant).or_default().push(Sample {
                    at,
                    level: level.clone(),
                    tip,
                });
            }
            _ => {}
        }
    }
    if rows.is_empty() || end <= start {
        return None;
    }
    let span = end - start;
    let plot_w = WIDTH - LABEL_W - 10;
    let x = |t: i64| LABEL_W + (t - start) * plot_w / span;
    let height = TOP + rows.len() as i64 * ROW_H + AXIS_H;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"quality-timeline\" role=\"img\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\"><title>{}</title>",
        esc(words.title)
    );
    for (i, (pid, samples)) in rows.iter().enumerate() {
        let y = TOP + i as i64 * ROW_H;
        let label = names.get(pid).map_or_else(|| pid.to_string(), Clone::clone);
        let _ = write!(
            s,
            "<g data-participant=\"{}\"><text x=\"4\" y=\"{}\" direction=\"ltr\"><tspan unicode-bidi=\"isolate\">{}</tspan></text>",
            esc(pid),
            y + 16,
            esc(&label)
        );
        let _ = write!(
            s,
            "<rect x=\"{LABEL_W}\" y=\"{}\" width=\"{plot_w}\" height=\"{}\" fill=\"#f2f2f2\"/>",
            y + 3,
            ROW_H - 6
        );
        for (j, smp) in samples.iter().enumerate() {
            let next = samples.get(j + 1).map_or(end, |n| n.at);
            let stop = next.min(smp.at + SAMPLE_SPAN_MS).min(end);
            let (x0, x1) = (x(smp.at), x(stop.max(smp.at)));
            let _ = write!(
                s,
                "<rect class=\"{}\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                esc(&smp.level),
                y + 3,
                (x1 - x0).max(1),
                ROW_H - 6,
                colour(&smp.level),
                esc(&smp.tip)
            );
        }
        s.push_str("</g>");
    }
    // Axis: about six ticks on whole minutes.
    let axis_y = TOP + rows.len() as i64 * ROW_H + 4;
    let step = (span / 6).max(60_000) / 60_000 * 60_000;
    let mut t = (start / 60_000 + 1) * 60_000;
    while t < end {
        let _ = write!(
            s,
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"{TOP}\" y2=\"{1}\" stroke=\"#999\" stroke-width=\"0.5\"/>\
             <text x=\"{0}\" y=\"{2}\" text-anchor=\"middle\">{3}</text>",
            x(t),
            axis_y,
            axis_y + 14,
            clock(t)
        );
        t += step;
    }
    let legend_y = axis_y + 32;
    let mut lx = LABEL_W;
    for (level, word) in [
        ("good", words.good),
        ("fair", words.fair),
        ("poor", words.poor),
        ("unknown", words.unknown),
    ] {
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{legend_y}\">{}</text>",
            legend_y - 10,
            colour(level),
            lx + 16,
            esc(word)
        );
        lx += 16 + 8 * word.chars().count() as i64 + 24;
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::entry::ENTRY_VERSION;

    fn entry(seq: u64, secs: u64, body: EntryBody) -> Entry {
        Entry {
            v: ENTRY_VERSION,
            hearing: "h".into(),
            seq,
            time: format!("2026-12-07T10:{:02}:{:02}.000Z", secs / 60, secs % 60),
            body,
        }
    }

    fn sample(seq: u64, secs: u64, level: &str) -> Entry {
        entry(
            seq,
            secs,
            EntryBody::ConnectionQuality {
                participant: "p-w".into(),
                level: level.into(),
                rtt_ms: Some(850),
                loss_in_permille: Some(125),
                loss_out_permille: None,
                kbps_in: 300,
                kbps_out: 900,
                layers_sent: Some(3),
                height_sent: Some(720),
                reduced: Some(2),
            },
        )
    }

    const WORDS: QualityWords = QualityWords {
        title: "Links",
        good: "good",
        fair: "fair",
        poor: "poor",
        unknown: "unknown",
    };

    #[test]
    fn bars_follow_the_samples_and_a_silence_stays_blank() {
        let invited = EntryBody::ParticipantInvited {
            participant: "p-w".into(),
            role: "witness".into(),
            display_name: Some("A <b>&".into()),
        };
        let log = vec![
            entry(0, 0, invited),
            sample(1, 10, "good"),
            sample(2, 20, "poor"),
            // 100 s without a sample: the poor bar stops after 15 s.
            sample(3, 120, "fair"),
            entry(
                4,
                130,
                EntryBody::HearingClosed {
                    reason: "closed_by_judge".into(),
                },
            ),
        ];
        let svg = timeline(&log, &WORDS).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("A &lt;b&gt;&amp; (witness)"),
            "names are escaped"
        );
        let bars: Vec<(&str, i64)> = svg
            .match_indices("<rect class=\"")
            .map(|(i, _)| {
                let rest = &svg[i + 13..];
                let class = &rest[..rest.find('"').unwrap()];
                let w = rest.split("width=\"").nth(1).unwrap();
                (class, w[..w.find('"').unwrap()].parse().unwrap())
            })
            .collect();
        let plot = WIDTH - LABEL_W - 10;
        let px = |ms: i64| ms * plot / 130_000;
        assert_eq!(
            bars,
            vec![
                ("good", px(20_000) - px(10_000)),
                ("poor", px(35_000) - px(20_000)),
                ("fair", px(130_000) - px(120_000)),
            ]
        );
        assert!(svg.contains("RTT 850 ms; loss in 12.5 %, out –; 300 kbit/s in, 900 kbit/s out"));
        assert!(svg.contains("#c62828"), "poor is red");
    }

    #[test]
    fn no_samples_no_picture() {
        let log = vec![entry(0, 0, EntryBody::HearingClosed { reason: "x".into() })];
        assert_eq!(timeline(&log, &WORDS), None);
    }
}
