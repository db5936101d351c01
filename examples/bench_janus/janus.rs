//! The Janus side: starts Janus 1.1.2 with the config dir `scripts/bench-vs-janus` made
//! (HTTP transport on 127.0.0.1, VideoRoom only, room 1234 with `record = true`, ICE on
//! the namespace's veth address), publishes N webrtc-rs publishers through its HTTP API
//! (create a session, attach janus.plugin.videoroom, `join` as publisher, `publish` with
//! a fully gathered offer, apply the answer from the event), feeds the same media as the
//! sworn side and measures the Janus process over the steady-state window. Then checks
//! the `.mjr` recordings (sizes; frames through `janus-pp-rec` + ffprobe when present).
//! Kills the Janus it started on every path (drop guard).

use crate::feed::{Media, Sent};
use crate::http::Remote;
use crate::procstat;
use crate::report::Side;
use crate::sfu::{ChildGuard, add_tracks, rtp_stats, signal_and_wait};
use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use webrtc::api::interceptor_registry::{configure_nack, configure_rtcp_reports, configure_twcc};
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

pub const ROOM: u64 = 1234;

pub struct JanusArgs<'a> {
    pub bin: &'a Path,
    /// janus.jcfg of the config dir the script made.
    pub config: &'a Path,
    pub port: u16,
    /// The room's rec_dir (emptied before the run).
    pub rec: &'a Path,
    /// Janus's ICE address (the veth end it is restricted to).
    pub ip: IpAddr,
    /// The publishers' ICE address (the other veth end).
    pub client_ip: IpAddr,
    pub work: &'a Path,
    pub publishers: usize,
    /// The hearing shape: each publisher also subscribes to all the others.
    pub subscribe: bool,
    pub warmup: Duration,
    pub window: Duration,
    pub media: &'a Media,
}

/// The test publisher's stack (as `peer::client_api`: NACK, RTCP reports, TWCC) with ICE
/// on one address only: libnice in Janus skips loopback candidates.
pub fn publisher_api(ip: IpAddr) -> anyhow::Result<API> {
    let mut se = SettingEngine::default();
    se.set_ip_filter(Box::new(move |a| a == ip));
    se.set_network_types(vec![NetworkType::Udp4]);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let mut m = MediaEngine::default();
    m.register_default_codecs()?;
    let registry = configure_nack(Registry::new(), &mut m);
    let registry = configure_rtcp_reports(registry);
    let registry = configure_twcc(registry, &mut m)?;
    Ok(APIBuilder::new()
        .with_media_engine(m)
        .with_interceptor_registry(registry)
        .with_setting_engine(se)
        .build())
}

/// One blocking Janus API request (POST with a body, GET for a long poll), off the
/// runtime's workers.
pub async fn request(
    port: u16,
    method: &'static str,
    path: String,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let what = format!("{method} {path}");
    let (status, v) = tokio::task::spawn_blocking(move || {
        let r = Remote {
            addr: format!("127.0.0.1:{port}"),
            cookie: None,
            csrf: None,
        };
        let body = body.map(|mut b| {
            b["transaction"] = json!(format!("t{:x}", rand::random::<u64>()));
            b
        });
        let (status, v, _) = r.request(method, &path, body.as_ref());
        (status, v)
    })
    .await
    .with_context(|| format!("Janus {what}: no response"))?;
    ensure!(status == 200, "Janus {what}: HTTP {status}: {v}");
    if v["janus"] == "error" {
        bail!("Janus {what}: {}", v["error"]);
    }
    Ok(v)
}

/// Long-polls the session's events until one satisfies `want`; an event carrying a
/// VideoRoom error fails.
pub async fn wait_event(
    port: u16,
    session: u64,
    want: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        let v = request(port, "GET", format!("/janus/{session}?maxev=1"), None).await?;
        let events = match v {
            Value::Array(a) => a,
            one => vec![one],
        };
        for e in events {
            if let Some(err) = e["plugindata"]["data"].get("error") {
                bail!("Janus VideoRoom error: {err}");
            }
            if want(&e) {
                return Ok(e);
            }
        }
    }
    bail!("no awaited event from Janus session {session} within 20 s")
}

pub struct Publisher {
    pub session: u64,
    /// The publisher's id in the room (what subscribers ask for).
    pub feed: u64,
    pub pc: Arc<RTCPeerConnection>,
    pub sent: Arc<Sent>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A new Janus session.
pub async fn create_session(port: u16) -> anyhow::Result<u64> {
    let v = request(
        port,
        "POST",
        "/janus".into(),
        Some(json!({"janus": "create"})),
    )
    .await?;
    v["data"]["id"].as_u64().context("Janus session id")
}

/// A VideoRoom handle in `session`.
pub async fn attach(port: u16, session: u64) -> anyhow::Result<u64> {
    let v = request(
        port,
        "POST",
        format!("/janus/{session}"),
        Some(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"})),
    )
    .await?;
    v["data"]["id"].as_u64().context("Janus handle id")
}

/// A session, a VideoRoom handle, `join` as publisher, then `publish` with the offer
/// (every candidate gathered: no trickle) and the answer applied: (session, feed id).
async fn publish(port: u16, pc: &RTCPeerConnection, i: usize) -> anyhow::Result<(u64, u64)> {
    let session = create_session(port).await?;
    let handle = attach(port, session).await?;
    let path = format!("/janus/{session}/{handle}");
    request(
        port,
        "POST",
        path.clone(),
        Some(json!({"janus": "message", "body": {"request": "join", "room": ROOM, "ptype": "publisher", "display": format!("Publisher {i}")}})),
    )
    .await?;
    let joined = wait_event(port, session, |e| {
        e["plugindata"]["data"]["videoroom"] == "joined"
    })
    .await?;
    let feed = joined["plugindata"]["data"]["id"]
        .as_u64()
        .context("publisher feed id")?;
    let offer = pc.create_offer(None).await?;
    let sdp = crate::whip::set_local_gathered(pc, offer).await?;
    request(
        port,
        "POST",
        path,
        Some(json!({"janus": "message", "body": {"request": "publish"}, "jsep": {"type": "offer", "sdp": sdp}})),
    )
    .await?;
    let e = wait_event(port, session, |e| e["jsep"]["type"] == "answer").await?;
    let answer = e["jsep"]["sdp"].as_str().context("answer SDP")?.to_owned();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("offer:\n{sdp}\nanswer:\n{answer}");
    }
    pc.set_remote_description(RTCSessionDescription::answer(answer)?)
        .await?;
    Ok((session, feed))
}

pub fn start_janus(a: &JanusArgs<'_>) -> anyhow::Result<ChildGuard> {
    let conf_dir = a.config.parent().context("config dir")?;
    let log = std::fs::File::create(a.work.join("janus.log"))?;
    let child = Command::new(a.bin)
        .arg("-C")
        .arg(a.config)
        .arg("-F")
        .arg(conf_dir)
        .args(["-i", &a.ip.to_string(), "-o"])
        // BENCH_JANUS_ARGS: extra arguments (e.g. `-d 5 -l` for ICE debugging).
        .args(
            std::env::var("BENCH_JANUS_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .context("starting janus")?;
    let mut guard = ChildGuard(child);
    for _ in 0..400 {
        if let Ok(Some(st)) = guard.0.try_wait() {
            bail!(
                "janus exited at start ({st}); see {}",
                a.work.join("janus.log").display()
            );
        }
        if std::net::TcpStream::connect(("127.0.0.1", a.port)).is_ok() {
            return Ok(guard);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("janus did not listen on port {} within 20 s", a.port)
}

/// The recordings Janus wrote: (path, bytes).
fn mjr_files(rec: &Path) -> Vec<(PathBuf, u64)> {
    let mut out: Vec<(PathBuf, u64)> = std::fs::read_dir(rec)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "mjr"))
        .map(|e| (e.path(), e.metadata().map(|m| m.len()).unwrap_or(0)))
        .collect();
    out.sort();
    out
}

/// Frames in one .mjr, through `janus-pp-rec` to WebM/Opus and ffprobe: (video, audio).
fn mjr_frames(mjr: &Path, out_dir: &Path) -> anyhow::Result<(u64, u64)> {
    let name = mjr
        .file_stem()
        .and_then(|n| n.to_str())
        .context("file name")?;
    // videoroom-<room>-user-<id>-<time>-{audio,video}-<m>: "videoroom" has "video" too.
    let ext = if name.contains("-video-") {
        "webm"
    } else if name.contains("-audio-") {
        "opus"
    } else {
        bail!("{name}: neither audio nor video");
    };
    let out = out_dir.join(format!("{name}.{ext}"));
    let run = Command::new("janus-pp-rec")
        .arg(mjr)
        .arg(&out)
        .output()
        .context("running janus-pp-rec")?;
    if !run.status.success() {
        let text = String::from_utf8_lossy(&run.stdout).into_owned()
            + &String::from_utf8_lossy(&run.stderr);
        let last: Vec<&str> = text.lines().rev().take(3).collect();
        bail!("janus-pp-rec {name}: {}", last.join(" | "));
    }
    procstat::count_packets(&out)
}

/// Publishes `n` publishers of `media` to Janus one after the other, each sending from
/// the moment its peer connection is up.
pub async fn start_publishers(
    a: &JanusArgs<'_>,
    api: &API,
    n: usize,
    run: &Arc<AtomicBool>,
) -> anyhow::Result<Vec<Publisher>> {
    let mut pubs = Vec::new();
    for i in 0..n {
        let pc = Arc::new(api.new_peer_connection(Default::default()).await?);
        let sent = Arc::new(Sent::default());
        let go = Arc::new(AtomicBool::new(false));
        let tasks = add_tracks(&pc, a.media, &go, run, &sent).await?;
        let (session, feed) = publish(a.port, &pc, i)
            .await
            .with_context(|| format!("publisher {i} through Janus's HTTP API"))?;
        wait_connected(&pc, &format!("publisher {i}")).await?;
        go.store(true, Ordering::Relaxed);
        pubs.push(Publisher {
            session,
            feed,
            pc,
            sent,
            tasks,
        });
    }
    Ok(pubs)
}

/// Keep-alives every 15 s: Janus drops a session after session_timeout without a
/// request. Abort the task to stop.
pub fn keepalive(port: u16, sessions: Vec<u64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(15)).await;
            for &s in &sessions {
                let _ = request(
                    port,
                    "POST",
                    format!("/janus/{s}"),
                    Some(json!({"janus": "keepalive"})),
                )
                .await;
            }
        }
    })
}

/// Waits up to 20 s for a peer connection to Janus to be connected.
pub async fn wait_connected(pc: &RTCPeerConnection, who: &str) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(20);
    while pc.connection_state() != RTCPeerConnectionState::Connected {
        if Instant::now() > until {
            bail!(
                "{who} not connected to Janus 20 s after the answer (state {})",
                pc.connection_state()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

pub async fn run(a: JanusArgs<'_>) -> anyhow::Result<(Side, String)> {
    for (f, _) in mjr_files(a.rec) {
        std::fs::remove_file(f)?;
    }
    let mut janus = start_janus(&a)?;
    let pid = janus.0.id();
    let rss0 = procstat::status_kib(pid, "VmRSS")?;
    let api = publisher_api(a.client_ip)?;
    let run = Arc::new(AtomicBool::new(true));
    let pubs = start_publishers(&a, &api, a.publishers, &run).await?;
    // The hearing shape: each publisher also receives every other publisher, through a
    // subscriber handle in its own session (one peer connection for all of them).
    let mut subs = Vec::new();
    if a.subscribe {
        for (i, p) in pubs.iter().enumerate() {
            let feeds: Vec<u64> = pubs
                .iter()
                .filter(|q| q.feed != p.feed)
                .map(|q| q.feed)
                .collect();
            let pc = Arc::new(api.new_peer_connection(Default::default()).await?);
            crate::subscribe::drain_tracks(&pc);
            let handle = attach(a.port, p.session).await?;
            crate::subscribe::subscribe(a.port, p.session, handle, &feeds, &pc, || {})
                .await
                .with_context(|| format!("subscriber {i} through Janus's HTTP API"))?;
            subs.push(pc);
        }
        for (i, pc) in subs.iter().enumerate() {
            wait_connected(pc, &format!("subscriber {i}")).await?;
        }
    }
    let keepalive = keepalive(a.port, pubs.iter().map(|p| p.session).collect());

    tokio::time::sleep(a.warmup).await;
    let fwd0 = crate::sfu::inbound_packets(subs.iter().map(|p| &**p)).await;
    let cpu0 = procstat::process_cpu(pid)?;
    let t0 = Instant::now();
    let mjr0: u64 = mjr_files(a.rec).iter().map(|(_, n)| n).sum();
    tokio::time::sleep(a.window).await;
    let cpu1 = procstat::process_cpu(pid)?;
    let window = t0.elapsed();
    let fwd1 = crate::sfu::inbound_packets(subs.iter().map(|p| &**p)).await;
    let mjr1: u64 = mjr_files(a.rec).iter().map(|(_, n)| n).sum();
    let rss1 = procstat::status_kib(pid, "VmRSS")?;
    let hwm = procstat::status_kib(pid, "VmHWM")?;

    run.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut side = Side::new(
        if a.subscribe {
            "Janus 1.1.2 VideoRoom (.mjr recording, each publisher subscribed to the others)"
        } else {
            "Janus 1.1.2 VideoRoom (.mjr recording)"
        },
        a.publishers,
        window,
    );
    side.forwarded_video = fwd1[0].saturating_sub(fwd0[0]);
    side.forwarded_packets = side.forwarded_video + fwd1[1].saturating_sub(fwd0[1]);
    for p in &pubs {
        side.keyframes_on_request += p.sent.keyframes_on_request.load(Ordering::Relaxed);
        let [vf, af, _, _] = p.sent.get();
        let [vp, ap, rr_recv, rr_lost] = rtp_stats(&p.pc).await;
        side.video_frames_sent += vf;
        side.audio_frames_sent += af;
        side.packets_sent += vp + ap;
        side.rr_received += rr_recv;
        side.rr_lost += rr_lost;
    }
    keepalive.abort();
    // Destroying the sessions hangs up the publishers: Janus closes their recordings.
    for p in &pubs {
        let _ = request(
            a.port,
            "POST",
            format!("/janus/{}", p.session),
            Some(json!({"janus": "destroy"})),
        )
        .await;
    }
    for pc in subs {
        let _ = pc.close().await;
    }
    for p in pubs {
        let _ = p.pc.close().await;
        for t in p.tasks {
            t.abort();
        }
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    if !signal_and_wait(&mut janus.0, "-TERM", Duration::from_secs(15)) {
        eprintln!("warning: janus did not stop within 15 s of SIGTERM; killed");
    }
    drop(janus);

    side.cpu_total = cpu1 - cpu0;
    side.rss_per_stream_kib = rss1.saturating_sub(rss0) as f64 / a.publishers as f64;
    side.rss_note = format!("growth {rss0}->{rss1} KiB, peak {hwm} KiB, one process");
    let files = mjr_files(a.rec);
    let total: u64 = files.iter().map(|(_, n)| n).sum();
    let conv = a.work.join("janus-pp");
    std::fs::create_dir_all(&conv)?;
    let mut converted = 0;
    for (f, _) in &files {
        side.files += 1;
        match mjr_frames(f, &conv) {
            Ok((v, au)) => {
                converted += 1;
                side.video_frames_file += v;
                side.audio_frames_file += au;
            }
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    let note = format!(
        ".mjr: {} files, {:.1} MiB at the end, grew {:.1} MiB in the window; {converted} converted by janus-pp-rec",
        files.len(),
        total as f64 / 1048576.0,
        mjr1.saturating_sub(mjr0) as f64 / 1048576.0
    );
    Ok((side, note))
}
