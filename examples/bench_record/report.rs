//! What one side of the benchmark measured, and the side-by-side table. Pure
//! formatting: measures nothing itself.

use std::time::Duration;

#[derive(Debug, Default)]
pub struct Side {
    pub label: String,
    pub streams: usize,
    pub window: Duration,
    /// CPU seconds (user + system) of the measured process(es) during the window.
    pub cpu_total: f64,
    /// CPU seconds of the recorder threads alone, when they can be told apart.
    pub cpu_recorder: Option<f64>,
    pub rss_per_stream_kib: f64,
    pub rss_note: String,
    pub video_frames_sent: u64,
    pub audio_frames_sent: u64,
    pub packets_sent: u64,
    /// As the server's RTCP receiver reports told the publishers.
    pub rr_received: u64,
    pub rr_lost: u64,
    pub files: usize,
    pub video_frames_file: u64,
    pub audio_frames_file: u64,
    /// Gap reasons the recorder logged.
    pub gaps: Vec<String>,
    /// RTP packets the subscribers received during the window (what the server
    /// forwarded; 0 when nobody subscribes).
    pub forwarded_packets: u64,
    /// Of which video.
    pub forwarded_video: u64,
    /// Keyframes the publishers sent early to answer the server's PLI/FIR.
    pub keyframes_on_request: u64,
    /// CPU seconds of the benchmark process itself (the publishers) in the window: near
    /// the window length on a pinned core, the load generator is the limit.
    pub generator_cpu: f64,
    /// Datagrams dropped in the window for a full socket receive buffer: [the server's
    /// sockets, the publishers' (every other socket of the namespace)].
    pub udp_drops: [u64; 2],
}

impl Side {
    pub fn new(label: &str, streams: usize, window: Duration) -> Side {
        Side {
            label: label.to_owned(),
            streams,
            window,
            ..Default::default()
        }
    }

    /// Percent of one core per stream over the window.
    pub fn core_pct_per_stream(&self) -> f64 {
        100.0 * self.cpu_total / self.window.as_secs_f64().max(1e-9) / self.streams.max(1) as f64
    }

    fn recorder_pct_per_stream(&self) -> Option<f64> {
        self.cpu_recorder
            .map(|c| 100.0 * c / self.window.as_secs_f64().max(1e-9) / self.streams.max(1) as f64)
    }

    /// Server CPU (all of it) per forwarded RTP packet over the window, microseconds.
    pub fn us_per_forwarded(&self) -> Option<f64> {
        (self.forwarded_packets > 0).then(|| 1e6 * self.cpu_total / self.forwarded_packets as f64)
    }

    /// Frames sent that are not in the files (video + audio).
    pub fn frames_lost(&self) -> i64 {
        (self.video_frames_sent + self.audio_frames_sent) as i64
            - (self.video_frames_file + self.audio_frames_file) as i64
    }
}

fn row(name: &str, a: String, b: String) {
    println!("{name:<44} {a:>22} {b:>22}");
}

pub fn print(sworn: &Side, base: &Side) {
    println!();
    println!(
        "bench-record: {} streams each side (VP8 640x360 20 fps ~600 kbit/s + Opus 48 kbit/s), \
         window {:.1} s / {:.1} s, loopback only",
        sworn.streams,
        sworn.window.as_secs_f64(),
        base.window.as_secs_f64()
    );
    println!("left: {}; right: {}", sworn.label, base.label);
    row("", "sworn serve".into(), "ffmpeg -c copy".into());
    row(
        "CPU per stream, % of one core",
        format!("{:.2}", sworn.core_pct_per_stream()),
        format!("{:.2}", base.core_pct_per_stream()),
    );
    row(
        "CPU in window, s (all streams)",
        format!("{:.2}", sworn.cpu_total),
        format!("{:.2}", base.cpu_total),
    );
    row(
        "publishers' (this process's) CPU in window, s",
        format!("{:.2}", sworn.generator_cpu),
        "-".into(),
    );
    row(
        "  recorder threads only, % core per stream",
        sworn
            .recorder_pct_per_stream()
            .map_or("-".into(), |p| format!("{p:.2}")),
        "-".into(),
    );
    row(
        "RSS per stream, MiB",
        format!("{:.1}", sworn.rss_per_stream_kib / 1024.0),
        format!("{:.1}", base.rss_per_stream_kib / 1024.0),
    );
    row(
        "video frames sent / in files",
        format!("{} / {}", sworn.video_frames_sent, sworn.video_frames_file),
        format!("{} / {}", base.video_frames_sent, base.video_frames_file),
    );
    row(
        "audio frames sent / in files",
        format!("{} / {}", sworn.audio_frames_sent, sworn.audio_frames_file),
        format!("{} / {}", base.audio_frames_sent, base.audio_frames_file),
    );
    row(
        "RTP packets sent",
        sworn.packets_sent.to_string(),
        base.packets_sent.to_string(),
    );
    if let Some(us) = sworn.us_per_forwarded() {
        row(
            "RTP forwarded in window (video) / µs each",
            format!(
                "{} ({}) / {us:.2}",
                sworn.forwarded_packets, sworn.forwarded_video
            ),
            "-".into(),
        );
    }
    row(
        "UDP dropped in window: server / publishers",
        format!("{} / {}", sworn.udp_drops[0], sworn.udp_drops[1]),
        "-".into(),
    );
    row(
        "RTP received / lost (server RTCP RR)",
        if sworn.rr_received == 0 && sworn.rr_lost == 0 {
            "not reported".into()
        } else {
            format!("{} / {}", sworn.rr_received, sworn.rr_lost)
        },
        "-".into(),
    );
    row(
        "files / recorder gap entries",
        format!("{} / {}", sworn.files, sworn.gaps.len()),
        format!("{} / -", base.files),
    );
    row(
        "frames sent but not in files",
        sworn.frames_lost().to_string(),
        base.frames_lost().to_string(),
    );
    println!("  sworn RSS: {}", sworn.rss_note);
    println!("  ffmpeg RSS: {}", base.rss_note);
    for g in &sworn.gaps {
        println!("  sworn gap: {g}");
    }
    let ratio = sworn.core_pct_per_stream() / base.core_pct_per_stream().max(1e-9);
    println!(
        "bench-record summary: n={} sworn_cpu_pct_per_stream={:.2} ffmpeg_cpu_pct_per_stream={:.2} \
         ratio={:.2} sworn_rss_mib_per_stream={:.1} ffmpeg_rss_mib_per_stream={:.1} \
         sworn_frames_lost={} ffmpeg_frames_lost={} target_cpu={} target_no_loss={}",
        sworn.streams,
        sworn.core_pct_per_stream(),
        base.core_pct_per_stream(),
        ratio,
        sworn.rss_per_stream_kib / 1024.0,
        base.rss_per_stream_kib / 1024.0,
        sworn.frames_lost(),
        base.frames_lost(),
        if ratio < 1.0 { "met" } else { "missed" },
        if sworn.frames_lost() == 0 && sworn.gaps.is_empty() {
            "met"
        } else {
            "missed"
        },
    );
}
