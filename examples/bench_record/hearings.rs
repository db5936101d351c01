//! Several hearings in one `sworn serve` (`--hearings H`): each opened by the judge and
//! given its own publishers, WHIP or the join WebSocket. In the hearing shape a
//! publisher receives only the others of its own hearing (the server forwards within a
//! hearing). Counts, per hearing, what its publishers sent, what its subscribers
//! received in the window, and what is in its files.

use crate::feed::{Media, Sent};
use crate::http::Remote;
use crate::peer::Peer;
use crate::report::HearingFrames;
use crate::sfu::{Ingest, add_tracks, invite, join_and_publish, media_files, open_hearing_ref};
use anyhow::bail;
use futures_util::StreamExt;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use webrtc::api::API;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::stats::StatsReportType;

/// Hearings whose publishers connect at the same time (each hearing's publishers
/// connect one after the other, as in a single hearing).
const PARALLEL_SETUP: usize = 4;

/// One publisher: its peer connection, the join WebSocket (hearing shape), what it sent,
/// and the tasks that feed it.
pub struct Publisher {
    pub pc: Arc<RTCPeerConnection>,
    pub peer: Option<Peer>,
    pub sent: Arc<Sent>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub struct Hearing {
    pub id: String,
    pub publishers: Vec<Publisher>,
}

/// What every publisher of every hearing shares while connecting.
pub struct Setup<'a> {
    pub api: &'a API,
    pub r: &'a Remote,
    pub port: u16,
    pub ingest: Ingest,
    pub media: &'a Media,
    /// Cleared to stop every feed.
    pub run: &'a Arc<AtomicBool>,
}

/// Opens `n` hearings (no one in them yet); their ids. The first is `BENCH-1`, as the
/// single-hearing benchmark names it.
pub fn open(r: &Remote, n: usize) -> anyhow::Result<Vec<String>> {
    (1..=n)
        .map(|k| open_hearing_ref(r, &format!("BENCH-{k}")))
        .collect()
}

/// Invites, connects and admits publisher `i` of hearing `h`; it sends once connected
/// (unless `BENCH_SILENT` is set).
async fn connect(s: &Setup<'_>, h: &str, i: usize) -> anyhow::Result<Publisher> {
    let (token, pid) = invite(s.r, h, &format!("Publisher {i}"))?;
    let sent = Arc::new(Sent::default());
    let go = Arc::new(AtomicBool::new(false));
    let (pc, peer, tasks) = match s.ingest {
        Ingest::Hearing => {
            let (p, tasks) = join_and_publish(
                s.api,
                s.r,
                s.port,
                (h, &token, &pid),
                s.media,
                (&go, s.run, &sent),
            )
            .await?;
            (p.pc.clone(), Some(p), tasks)
        }
        Ingest::Whip => {
            let pc = Arc::new(s.api.new_peer_connection(Default::default()).await?);
            let tasks = add_tracks(&pc, s.media, &go, s.run, &sent).await?;
            crate::whip::publish(&pc, &s.r.addr, &token).await?;
            s.r.post(
                &format!("/api/hearings/{h}/participants/{pid}/admit"),
                json!({}),
            );
            (pc, None, tasks)
        }
    };
    let until = Instant::now() + Duration::from_secs(20);
    while pc.connection_state() != RTCPeerConnectionState::Connected {
        if Instant::now() > until {
            bail!("publisher {i} not connected 20 s after the answer");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if std::env::var_os("BENCH_SILENT").is_none() {
        go.store(true, Ordering::Relaxed);
    }
    Ok(Publisher {
        pc,
        peer,
        sent,
        tasks,
    })
}

/// Fills hearing `id` with `n` publishers, one after the other.
async fn fill(s: &Setup<'_>, id: String, n: usize) -> anyhow::Result<Hearing> {
    let mut publishers = Vec::with_capacity(n);
    for i in 0..n {
        publishers.push(connect(s, &id, i).await?);
    }
    Ok(Hearing { id, publishers })
}

/// Fills every hearing with `n` publishers, a few hearings at a time (one at a time when
/// there is only one: the single-hearing benchmark's order).
pub async fn fill_all(s: &Setup<'_>, ids: Vec<String>, n: usize) -> anyhow::Result<Vec<Hearing>> {
    futures_util::stream::iter(ids)
        .map(|id| fill(s, id, n))
        .buffered(PARALLEL_SETUP)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// RTP packets of one peer connection so far: [received video, received audio, sent
/// video, sent audio].
async fn packets(pc: &RTCPeerConnection) -> [u64; 4] {
    let mut out = [0; 4];
    for s in pc.get_stats().await.reports.into_values() {
        match s {
            StatsReportType::InboundRTP(i) => {
                out[usize::from(i.kind != "video")] += i.packets_received
            }
            StatsReportType::OutboundRTP(o) => {
                out[2 + usize::from(o.kind != "video")] += o.packets_sent
            }
            _ => {}
        }
    }
    out
}

/// `packets` of every publisher of every hearing, in order.
pub async fn sample(hearings: &[Hearing]) -> Vec<Vec<[u64; 4]>> {
    let mut out = Vec::with_capacity(hearings.len());
    for h in hearings {
        let mut v = Vec::with_capacity(h.publishers.len());
        for p in &h.publishers {
            v.push(packets(&p.pc).await);
        }
        out.push(v);
    }
    out
}

/// Per hearing, from two `sample`s around the window: RTP its subscribers received, and
/// what they would have received had every packet its publishers sent reached each of
/// the others (0 when nobody subscribes: WHIP).
pub fn window_traffic(
    before: &[Vec<[u64; 4]>],
    after: &[Vec<[u64; 4]>],
    ingest: Ingest,
) -> Vec<HearingFrames> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let mut f = HearingFrames::default();
            let others = a.len().saturating_sub(1) as u64;
            for (b, a) in b.iter().zip(a) {
                let d: Vec<u64> = (0..4).map(|k| a[k].saturating_sub(b[k])).collect();
                f.received_video += d[0];
                f.received_audio += d[1];
                if ingest == Ingest::Hearing {
                    f.expected_video += d[2] * others;
                    f.expected_audio += d[3] * others;
                }
            }
            f
        })
        .collect()
}

/// Frames the publishers of `h` sent (read once they have stopped).
pub fn add_sent(f: &mut HearingFrames, h: &Hearing) {
    for p in &h.publishers {
        let [vf, af, _, _] = p.sent.get();
        f.video_sent += vf;
        f.audio_sent += af;
    }
}

/// Closes every hearing (the judge), then every publisher's connection.
pub async fn close(r: &Remote, hearings: Vec<Hearing>) {
    for h in &hearings {
        r.post(&format!("/api/hearings/{}/close", h.id), json!({}));
    }
    for h in hearings {
        for p in h.publishers {
            match p.peer {
                Some(peer) => peer.close().await,
                None => {
                    let _ = p.pc.close().await;
                }
            }
            for t in p.tasks {
                t.abort();
            }
        }
    }
}

/// When the gaps the recorder logged for hearing `id` began: how many before `from`,
/// between `from` and `to`, and after `to` (or with no readable start).
pub fn gaps_by_time(data: &Path, id: &str, (from, to): (SystemTime, SystemTime)) -> [usize; 3] {
    use time::format_description::well_known::Rfc3339;
    let p = data.join("hearings").join(id).join("log/entries.jsonl");
    let mut out = [0; 3];
    for l in std::fs::read_to_string(p).unwrap_or_default().lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        if e["type"] != "gap" {
            continue;
        }
        let start = e["wall_start"]
            .as_str()
            .and_then(|s| time::OffsetDateTime::parse(s, &Rfc3339).ok())
            .map(SystemTime::from);
        out[match start {
            Some(t) if t < from => 0,
            Some(t) if t <= to => 1,
            _ => 2,
        }] += 1;
    }
    out
}

/// Frames in hearing `id`'s files (the server has sealed them).
pub fn add_files(f: &mut HearingFrames, data: &Path, id: &str) -> anyhow::Result<()> {
    for file in media_files(data, id)? {
        let (v, a) = crate::procstat::count_packets(&file)?;
        f.files += 1;
        f.video_file += v;
        f.audio_file += a;
    }
    Ok(())
}
