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
    /// Per hearing (`--hearings`): what was sent, received, and is in its files.
    pub hearings: Vec<HearingFrames>,
    /// The whole machine in the window: (CPU seconds busy over all cores, cores).
    pub machine: Option<(f64, usize)>,
    /// Datagrams dropped from the start of the run (the network namespace's) to the end
    /// of the window, setting up included: [the server's sockets, the publishers'].
    pub udp_drops_run: [u64; 2],
    /// The server's resident memory at the end of the window, KiB.
    pub rss_kib: u64,
}

/// One hearing of several: frames its publishers sent and its files hold, and RTP its
/// subscribers received in the window against what its publishers sent them.
#[derive(Debug, Default, Clone)]
pub struct HearingFrames {
    pub video_sent: u64,
    pub audio_sent: u64,
    pub video_file: u64,
    pub audio_file: u64,
    pub files: usize,
    pub gaps: usize,
    /// Of the gaps, how many began before the window, in it, and after it.
    pub gaps_when: [usize; 3],
    /// RTP packets its subscribers received in the window.
    pub received_video: u64,
    pub received_audio: u64,
    /// RTP packets its publishers sent in the window times the others there to receive
    /// them (0 when nobody subscribes).
    pub expected_video: u64,
    pub expected_audio: u64,
}

impl HearingFrames {
    /// Frames sent that are not in the files (video + audio).
    pub fn lost(&self) -> i64 {
        (self.video_sent + self.audio_sent) as i64 - (self.video_file + self.audio_file) as i64
    }
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

/// Percent of `part` missing from `whole`, or "-" when nothing was due.
fn loss_pct(got: u64, due: u64) -> String {
    if due == 0 {
        "-".into()
    } else {
        format!("{:.1}", 100.0 * (due as f64 - got as f64) / due as f64)
    }
}

/// The several-hearings report (`--hearings`): one line per hearing, the server's and
/// the load generator's CPU, the frames lost in recording, what the subscribers missed,
/// and one `bench-capacity summary:` line for `scripts/bench-capacity`.
pub fn print_hearings(s: &Side, participants: usize, ingest: &str) {
    let secs = s.window.as_secs_f64().max(1e-9);
    println!();
    println!(
        "bench-capacity: {} hearings x {participants} participants ({}), window {secs:.1} s, \
         loopback only",
        s.hearings.len(),
        s.label
    );
    println!(
        "{:>7} {:>22} {:>22} {:>6} {:>5} {:>34}",
        "hearing",
        "video sent / in files",
        "audio sent / in files",
        "lost",
        "gaps",
        "subscribers got / sent them, loss %"
    );
    for (k, h) in s.hearings.iter().enumerate() {
        let got = h.received_video + h.received_audio;
        let due = h.expected_video + h.expected_audio;
        println!(
            "{:>7} {:>22} {:>22} {:>6} {:>5} {:>34}",
            k + 1,
            format!("{} / {}", h.video_sent, h.video_file),
            format!("{} / {}", h.audio_sent, h.audio_file),
            h.lost(),
            h.gaps,
            format!("{got} / {due}, {}", loss_pct(got, due)),
        );
    }
    let server_pct = 100.0 * s.cpu_total / secs;
    let generator_pct = 100.0 * s.generator_cpu / secs;
    let recorder_pct = s.cpu_recorder.map_or(0.0, |c| 100.0 * c / secs);
    println!(
        "server: {server_pct:.1} % of one core (whole process), {:.2} % per recorded \
         participant, recorder threads {recorder_pct:.1} %; RSS {:.1} MiB ({:+.1} MiB per \
         participant)",
        s.core_pct_per_stream(),
        s.rss_kib as f64 / 1024.0,
        s.rss_per_stream_kib / 1024.0
    );
    let (machine_pct, cores) = s
        .machine
        .map_or((f64::NAN, 0), |(busy, cores)| (100.0 * busy / secs, cores));
    println!(
        "load generator (the webrtc-rs publishers, this process): {generator_pct:.1} % of one \
         core; machine: {machine_pct:.0} % of {} % ({cores} cores; every process, other \
         users' included)",
        100 * cores
    );
    let (lost_v, lost_a) = s.hearings.iter().fold((0i64, 0i64), |(v, a), h| {
        (
            v + h.video_sent as i64 - h.video_file as i64,
            a + h.audio_sent as i64 - h.audio_file as i64,
        )
    });
    let when = s.hearings.iter().fold([0; 3], |w, h| {
        [
            w[0] + h.gaps_when[0],
            w[1] + h.gaps_when[1],
            w[2] + h.gaps_when[2],
        ]
    });
    println!(
        "frames lost in recording (sent - in files): {} (video {lost_v}, audio {lost_a}); \
         recorder gap entries {} (beginning before the window {}, in it {}, after it {})",
        s.frames_lost(),
        s.gaps.len(),
        when[0],
        when[1],
        when[2]
    );
    let sum = |f: fn(&HearingFrames) -> u64| s.hearings.iter().map(f).sum::<u64>();
    let (got_v, got_a) = (sum(|h| h.received_video), sum(|h| h.received_audio));
    let (due_v, due_a) = (sum(|h| h.expected_video), sum(|h| h.expected_audio));
    // Audio is exact: the server sends a subscriber nothing on the audio streams but
    // what the publisher sent. Video can exceed 100 %: the server's bandwidth probes
    // (padding, retransmissions) count as received video packets.
    let (audio_missing, video_missing) = (loss_pct(got_a, due_a), loss_pct(got_v, due_v));
    println!(
        "subscribers received, in the window, of the RTP packets their hearing's publishers \
         sent: audio {got_a} of {due_a} (missing %: {audio_missing}), video {got_v} of {due_v} \
         (missing %: {video_missing}; the server's padding probes count as received); UDP \
         datagrams dropped for a full receive buffer in the window: server {}, clients {}; \
         from the start (setting up included): server {}, clients {}",
        s.udp_drops[0], s.udp_drops[1], s.udp_drops_run[0], s.udp_drops_run[1]
    );
    println!(
        "bench-capacity summary: hearings={} participants={participants} ingest={ingest} \
         window_s={secs:.1} server_pct_core={server_pct:.1} server_pct_per_participant={:.2} \
         recorder_pct_core={recorder_pct:.1} generator_pct_core={generator_pct:.1} \
         machine_busy_pct={machine_pct:.0} machine_cores={cores} frames_lost={} gaps={} \
         gaps_in_window={} udp_drops_server_run={} udp_drops_clients_run={} \
         sub_audio_missing_pct={audio_missing} sub_video_missing_pct={video_missing} \
         sub_received={} sub_expected={} udp_drops_server={} \
         udp_drops_clients={} rss_mib={:.1} held={}",
        s.hearings.len(),
        s.core_pct_per_stream(),
        s.frames_lost(),
        s.gaps.len(),
        when[1],
        s.udp_drops_run[0],
        s.udp_drops_run[1],
        got_v + got_a,
        due_v + due_a,
        s.udp_drops[0],
        s.udp_drops[1],
        s.rss_kib as f64 / 1024.0,
        if s.frames_lost() == 0 && s.gaps.is_empty() {
            "yes"
        } else {
            "no"
        },
    );
}
