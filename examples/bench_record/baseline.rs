//! The baseline measured in the same run: N `ffmpeg -c copy` processes, each receiving
//! plain RTP (VP8 + Opus, two ports per stream, described by an SDP file) on 127.0.0.1
//! and writing WebM, fed by this process with the same fixtures at the same pace.
//! Measures the ffmpeg processes only (not the sender). Kills every ffmpeg it started.

use crate::feed::{Media, Sent, send_rtp};
use crate::procstat;
use crate::report::Side;
use crate::sfu::{ChildGuard, signal_and_wait};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn sdp(video_port: u16, audio_port: u16) -> String {
    format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bench-record baseline\r\nc=IN IP4 127.0.0.1\r\n\
         t=0 0\r\nm=video {video_port} RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n\
         m=audio {audio_port} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
    )
}

pub struct BaselineArgs<'a> {
    pub work: &'a Path,
    pub first_port: u16,
    pub streams: usize,
    pub warmup: Duration,
    pub window: Duration,
    pub media: &'a Media,
}

pub async fn run(a: BaselineArgs<'_>) -> anyhow::Result<Side> {
    let dir = a.work.join("baseline");
    std::fs::create_dir_all(&dir)?;
    let mut receivers = Vec::new();
    let mut ports = Vec::new();
    for i in 0..a.streams {
        // RTP on even ports, RTCP on the next one.
        let base = a
            .first_port
            .checked_add(u16::try_from(i * 4)?)
            .context("port range")?;
        let (vp, ap) = (base, base + 2);
        let sdp_path = dir.join(format!("stream-{i}.sdp"));
        std::fs::write(&sdp_path, sdp(vp, ap))?;
        let child = Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-v",
                "error",
                "-protocol_whitelist",
                "file,udp,rtp",
            ])
            .arg("-i")
            .arg(&sdp_path)
            .args(["-c", "copy", "-f", "webm", "-y"])
            .arg(dir.join(format!("stream-{i}.webm")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting ffmpeg")?;
        receivers.push(ChildGuard(child));
        ports.push((vp, ap));
    }
    // Let every receiver open its sockets before the first packet.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let run = Arc::new(AtomicBool::new(true));
    let video = Arc::new(a.media.video.clone());
    let audio = Arc::new(a.media.audio.clone());
    let mut senders = Vec::new();
    let mut sents = Vec::new();
    for (vp, ap) in ports {
        let sent = Arc::new(Sent::default());
        senders.push(tokio::spawn(send_rtp(
            vp,
            true,
            video.clone(),
            run.clone(),
            sent.clone(),
        )));
        senders.push(tokio::spawn(send_rtp(
            ap,
            false,
            audio.clone(),
            run.clone(),
            sent.clone(),
        )));
        sents.push(sent);
    }
    tokio::time::sleep(a.warmup).await;
    let pids: Vec<u32> = receivers.iter().map(|c| c.0.id()).collect();
    let cpu = |pids: &[u32]| -> anyhow::Result<f64> {
        pids.iter().map(|p| procstat::process_cpu(*p)).sum()
    };
    let cpu0 = cpu(&pids)?;
    let t0 = Instant::now();
    tokio::time::sleep(a.window).await;
    let cpu1 = cpu(&pids)?;
    let window = t0.elapsed();
    let mut rss = 0;
    let mut hwm = 0;
    for p in &pids {
        rss += procstat::status_kib(*p, "VmRSS")?;
        hwm += procstat::status_kib(*p, "VmHWM")?;
    }

    run.store(false, Ordering::Relaxed);
    for s in senders {
        s.await.context("sender task")??;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for r in receivers.iter_mut() {
        if !signal_and_wait(&mut r.0, "-INT", Duration::from_secs(15)) {
            bail!("an ffmpeg receiver did not finish within 15 s of SIGINT");
        }
    }
    drop(receivers);

    let mut side = Side::new("ffmpeg -c copy (RTP -> WebM)", a.streams, window);
    side.cpu_total = cpu1 - cpu0;
    side.rss_per_stream_kib = rss as f64 / a.streams as f64;
    side.rss_note = format!("resident, {} processes, peak sum {hwm} KiB", a.streams);
    for s in &sents {
        let [vf, af, vp, ap] = s.get();
        side.video_frames_sent += vf;
        side.audio_frames_sent += af;
        side.packets_sent += vp + ap;
    }
    for i in 0..a.streams {
        let (v, au) = procstat::count_packets(&dir.join(format!("stream-{i}.webm")))?;
        side.files += 1;
        side.video_frames_file += v;
        side.audio_frames_file += au;
    }
    Ok(side)
}
