//! The sworn side: starts `sworn serve` (its own data dir, loopback only), creates a
//! judge, opens H hearings (one by default), invites and admits N publishers to each
//! that send the fixtures (`hearings.rs`), and measures the server process over the
//! steady-state window. Kills the server it
//! started on every path (drop guard).

use crate::feed::{Media, Sent, feed_track};
use crate::hearings;
use crate::http::Remote;
use crate::peer::{Peer, client_api};
use crate::procstat;
use crate::report::Side;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use webrtc::api::API;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::stats::StatsReportType;
use webrtc::track::track_local::TrackLocal;

pub const PASSWORD: &str = "bench-judge-password-long";

/// Kills the child on drop (SIGKILL if it has not exited).
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Sends SIGTERM/SIGINT through kill(1) (no libc binding needed) and waits up to `wait`.
pub fn signal_and_wait(child: &mut Child, signal: &str, wait: Duration) -> bool {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn add_judge(bin: &Path, data: &Path) -> anyhow::Result<()> {
    let mut add = Command::new(bin)
        .args(["user", "add", "--username", "judge", "--role", "judge"])
        .arg("--password-stdin")
        .env("SWORN_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("running sworn user add")?;
    add.stdin
        .take()
        .context("stdin of sworn user add")?
        .write_all(PASSWORD.as_bytes())?;
    if !add.wait()?.success() {
        bail!("sworn user add failed");
    }
    Ok(())
}

#[allow(dead_code)] // bench_janus uses it
pub fn start_server(bin: &Path, data: &Path, port: u16) -> anyhow::Result<ChildGuard> {
    start_server_config(bin, data, port, None)
}

/// [`start_server`] with a configuration file (`sworn --config`).
pub fn start_server_config(
    bin: &Path,
    data: &Path,
    port: u16,
    config: Option<&Path>,
) -> anyhow::Result<ChildGuard> {
    // BENCH_SERVER_CPUS=<cpu list>: the server runs pinned there (taskset execs it, so
    // the pid measured is the server's).
    let mut cmd = match std::env::var("BENCH_SERVER_CPUS") {
        Ok(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpus]).arg(bin);
            c
        }
        Err(_) => Command::new(bin),
    };
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let child = cmd
        .arg("serve")
        .env("SWORN_DATA_DIR", data)
        .env("SWORN_BIND", format!("127.0.0.1:{port}"))
        .env("SWORN_LOOPBACK_ONLY", "1")
        .env("SWORN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting sworn serve")?;
    let guard = ChildGuard(child);
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(guard);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("sworn serve did not listen on port {port} within 20 s")
}

/// A PLI or FIR (RFC 4585 / 5104: payload-specific feedback, format 1 or 4).
fn is_keyframe_request(p: &(dyn webrtc::rtcp::packet::Packet + Send + Sync)) -> bool {
    use webrtc::rtcp::header::PacketType;
    let h = p.header();
    h.packet_type == PacketType::PayloadSpecificFeedback && matches!(h.count, 1 | 4)
}

/// Adds VP8 + Opus tracks fed from `media` (like `Peer::publish`, but counting what is
/// sent, stoppable, and answering keyframe requests as a browser does); the caller
/// negotiates.
pub async fn add_tracks(
    pc: &Arc<RTCPeerConnection>,
    media: &Media,
    go: &Arc<AtomicBool>,
    run: &Arc<AtomicBool>,
    sent: &Arc<Sent>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let (video, audio) = crate::peer::vp8_opus_tracks();
    let mut tasks = Vec::new();
    for t in [
        video.clone() as Arc<dyn TrackLocal + Send + Sync>,
        audio.clone() as Arc<dyn TrackLocal + Send + Sync>,
    ] {
        let sender = pc.add_track(t).await?;
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok((packets, _)) = sender.read_rtcp().await {
                if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    sent.keyframe_wanted.store(true, Ordering::Relaxed);
                }
            }
        }));
    }
    tasks.push(tokio::spawn(feed_track(
        video,
        Arc::new(media.video.clone()),
        true,
        (go.clone(), run.clone()),
        sent.clone(),
    )));
    tasks.push(tokio::spawn(feed_track(
        audio,
        Arc::new(media.audio.clone()),
        false,
        (go.clone(), run.clone()),
        sent.clone(),
    )));
    Ok(tasks)
}

#[allow(dead_code)] // bench_janus uses it
/// RTP packets these peer connections received (all their inbound streams), [video,
/// audio]: for subscribers, what the server forwarded to them.
pub async fn inbound_packets<'a>(pcs: impl IntoIterator<Item = &'a RTCPeerConnection>) -> [u64; 2] {
    let mut out = [0; 2];
    for pc in pcs {
        for s in pc.get_stats().await.reports.into_values() {
            if let StatsReportType::InboundRTP(i) = s {
                out[usize::from(i.kind != "video")] += i.packets_received;
            }
        }
    }
    out
}

/// RTP packets sent and, as the server's RTCP receiver reports say, received and lost:
/// [video sent, audio sent, received, lost].
pub async fn rtp_stats(pc: &RTCPeerConnection) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (_, s) in pc.get_stats().await.reports {
        match s {
            StatsReportType::OutboundRTP(o) if o.kind == "video" => out[0] += o.packets_sent,
            StatsReportType::OutboundRTP(o) => out[1] += o.packets_sent,
            StatsReportType::RemoteInboundRTP(r) => {
                out[2] += r.packets_received;
                out[3] += u64::try_from(r.packets_lost).unwrap_or(0);
            }
            _ => {}
        }
    }
    out
}

pub fn media_files(data: &Path, hearing: &str) -> anyhow::Result<Vec<PathBuf>> {
    let dir = data.join("hearings").join(hearing).join("media");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("no media directory {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "webm" || e == "mkv" || e == "mka")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Gap entries the recorder logged (each one is media it says it did not get).
pub fn gap_entries(data: &Path, hearing: &str) -> Vec<String> {
    let p = data
        .join("hearings")
        .join(hearing)
        .join("log/entries.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "gap")
        .map(|e| e["reason"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// How the publishers join the hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Ingest {
    /// WHIP: publish only (received and recorded, nothing forwarded to them).
    Whip,
    /// The join WebSocket, like a browser: each also receives every other publisher.
    Hearing,
}

#[allow(dead_code)] // bench_janus uses it
/// Creates and opens a hearing as the logged-in judge; its id.
pub fn open_hearing(r: &Remote) -> anyhow::Result<String> {
    open_hearing_ref(r, "BENCH-1")
}

/// [`open_hearing`] with case reference `case_ref`.
pub fn open_hearing_ref(r: &Remote, case_ref: &str) -> anyhow::Result<String> {
    let h = r.post("/api/hearings", json!({"case_ref": case_ref, "mla_ref": "MLA/BENCH", "requesting_state": "FR", "requested_state": "DE", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}))["id"]
        .as_str()
        .context("hearing id")?
        .to_owned();
    r.post(&format!("/api/hearings/{h}/open"), json!({}));
    Ok(h)
}

/// Invites a witness: (invite token, participant id = the stream id of their media).
pub fn invite(r: &Remote, h: &str, name: &str) -> anyhow::Result<(String, String)> {
    let v = r.post(
        &format!("/api/hearings/{h}/participants"),
        json!({"display_name": name, "role": "witness"}),
    );
    let token = v["invite_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .context("invite url")?
        .to_owned();
    let pid = v["participant"]["id"]
        .as_str()
        .context("participant id")?
        .to_owned();
    Ok((token, pid))
}

/// Joins hearing `h` through invite `token` as a browser does (lobby, admitted by the
/// judge `r`, participant `pid`) and publishes `media` (sending once `go` is set, until
/// `run` is cleared); returns once the server's answer is applied.
pub async fn join_and_publish(
    api: &API,
    r: &Remote,
    port: u16,
    (h, token, pid): (&str, &str, &str),
    media: &Media,
    (go, run, sent): (&Arc<AtomicBool>, &Arc<AtomicBool>, &Arc<Sent>),
) -> anyhow::Result<(Peer, Vec<tokio::task::JoinHandle<()>>)> {
    let url = format!("ws://127.0.0.1:{port}/ws/join/{token}");
    let p = Peer::connect(api, &url, None).await;
    p.wait_type("lobby").await;
    r.post(
        &format!("/api/hearings/{h}/participants/{pid}/admit"),
        json!({}),
    );
    p.wait_type("admitted").await;
    let tasks = add_tracks(&p.pc, media, go, run, sent).await?;
    let offer = p.pc.create_offer(None).await?;
    p.pc.set_local_description(offer.clone()).await?;
    p.send(json!({"type": "offer", "sdp": offer.sdp}));
    p.wait_type("answer").await;
    Ok((p, tasks))
}

pub struct SfuArgs<'a> {
    pub bin: &'a Path,
    pub work: &'a Path,
    pub port: u16,
    /// Hearings, each with `publishers` publishers of its own.
    pub hearings: usize,
    pub publishers: usize,
    pub ingest: Ingest,
    pub warmup: Duration,
    pub window: Duration,
    pub media: &'a Media,
}

pub async fn run(a: SfuArgs<'_>) -> anyhow::Result<Side> {
    let data = a.work.join("sworn-data");
    add_judge(a.bin, &data)?;
    // Every join WebSocket comes from 127.0.0.1: past 128 of them (the default cap per
    // client address) the server would refuse the next one.
    let config = (a.hearings > 1).then(|| a.work.join("bench.toml"));
    if let Some(c) = &config {
        std::fs::write(c, "[server]\nmax_connections_per_address = 0\n")?;
    }
    let mut server = start_server_config(a.bin, &data, a.port, config.as_deref())?;
    let pid = server.0.id();
    let mut r = Remote {
        addr: format!("127.0.0.1:{}", a.port),
        cookie: None,
        csrf: None,
    };
    r.login("judge", PASSWORD);
    let ids = hearings::open(&r, a.hearings)?;
    let rss0 = procstat::status_kib(pid, "VmRSS")?;

    let api = client_api();
    let run = Arc::new(AtomicBool::new(true));
    let setup = hearings::Setup {
        api: &api,
        r: &r,
        port: a.port,
        ingest: a.ingest,
        media: a.media,
        run: &run,
    };
    let hs = hearings::fill_all(&setup, ids, a.publishers).await?;

    tokio::time::sleep(a.warmup).await;
    let recorders = a.publishers * a.hearings;
    let threads0 = procstat::threads_cpu(pid, "sworn-recorder");
    if threads0.len() != recorders {
        eprintln!(
            "warning: {} recorder threads for {recorders} publishers",
            threads0.len()
        );
    }
    let pk0 = hearings::sample(&hs).await;
    let udp0 = procstat::udp_drops(pid);
    let cpu0 = procstat::process_cpu(pid)?;
    let me0 = procstat::process_cpu(std::process::id())?;
    let machine0 = procstat::machine_cpu();
    let t0 = Instant::now();
    let wall0 = std::time::SystemTime::now();
    // BENCH_PERF=<file>: profile the server over exactly the window (perf record).
    let perf = std::env::var_os("BENCH_PERF").and_then(|out| {
        // BENCH_PERF_ARGS replaces the sampling options (e.g. `-F 999 --call-graph dwarf`).
        let opts = std::env::var("BENCH_PERF_ARGS").unwrap_or_else(|_| "-F 4999 -g".into());
        std::process::Command::new("perf")
            .args(["record", "-q"])
            .args(opts.split_whitespace())
            .args(["-p", &pid.to_string(), "-o"])
            .arg(out)
            .args(["--", "sleep", &a.window.as_secs().to_string()])
            .spawn()
            .ok()
    });
    tokio::time::sleep(a.window).await;
    if let Some(mut perf) = perf {
        let _ = perf.wait();
    }
    let cpu1 = procstat::process_cpu(pid)?;
    let window = t0.elapsed();
    let wall1 = std::time::SystemTime::now();
    let machine1 = procstat::machine_cpu();
    let me1 = procstat::process_cpu(std::process::id())?;
    let pk1 = hearings::sample(&hs).await;
    let udp1 = procstat::udp_drops(pid);
    let threads1 = procstat::threads_cpu(pid, "sworn-recorder");
    let rss1 = procstat::status_kib(pid, "VmRSS")?;
    let hwm = procstat::status_kib(pid, "VmHWM")?;

    // Stop sending, let the last packets land, then read the senders' counters.
    run.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let label = match a.ingest {
        Ingest::Whip => "sworn serve (WHIP ingest, recording)",
        Ingest::Hearing => "sworn serve (hearing: SFU + recording)",
    };
    let mut side = Side::new(label, recorders, window);
    side.hearings = hearings::window_traffic(&pk0, &pk1, a.ingest);
    for f in &side.hearings {
        side.forwarded_video += f.received_video;
        side.forwarded_packets += f.received_video + f.received_audio;
    }
    side.generator_cpu = me1 - me0;
    if let (Some(m0), Some(m1)) = (machine0, machine1) {
        side.machine = Some((m1.0 - m0.0, m1.1));
    }
    side.udp_drops_run = udp1;
    side.udp_drops = [
        udp1[0].saturating_sub(udp0[0]),
        udp1[1].saturating_sub(udp0[1]),
    ];
    for (f, h) in side.hearings.iter_mut().zip(&hs) {
        hearings::add_sent(f, h);
    }
    for p in hs.iter().flat_map(|h| &h.publishers) {
        side.keyframes_on_request += p.sent.keyframes_on_request.load(Ordering::Relaxed);
        let [vf, af, _, _] = p.sent.get();
        let [vp, ap, rr_recv, rr_lost] = rtp_stats(&p.pc).await;
        side.video_frames_sent += vf;
        side.audio_frames_sent += af;
        side.packets_sent += vp + ap;
        side.rr_received += rr_recv;
        side.rr_lost += rr_lost;
    }
    let ids: Vec<String> = hs.iter().map(|h| h.id.clone()).collect();
    hearings::close(&r, hs).await;
    // The recorder threads seal their files and end.
    let until = Instant::now() + Duration::from_secs(30);
    while !procstat::threads_cpu(pid, "sworn-recorder").is_empty() {
        if Instant::now() > until {
            bail!("recorder threads still running 30 s after the hearing closed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if !signal_and_wait(&mut server.0, "-TERM", Duration::from_secs(15)) {
        eprintln!("warning: sworn serve did not stop within 15 s of SIGTERM; killed");
    }
    drop(server);

    side.cpu_total = cpu1 - cpu0;
    side.cpu_recorder = Some(procstat::threads_delta(&threads0, &threads1));
    side.rss_per_stream_kib = rss1.saturating_sub(rss0) as f64 / recorders as f64;
    side.rss_kib = rss1;
    side.rss_note = format!("growth {rss0}->{rss1} KiB, peak {hwm} KiB, one process");
    for (f, id) in side.hearings.iter_mut().zip(&ids) {
        hearings::add_files(f, &data, id)?;
        let gaps = gap_entries(&data, id);
        f.gaps = gaps.len();
        f.gaps_when = hearings::gaps_by_time(&data, id, (wall0, wall1));
        side.gaps.extend(gaps);
        side.files += f.files;
        side.video_frames_file += f.video_file;
        side.audio_frames_file += f.audio_file;
    }
    Ok(side)
}
