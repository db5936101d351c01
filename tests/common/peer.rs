//! A webrtc-rs client peer that speaks sworn's signalling protocol, publishes the
//! ffmpeg-made fixtures (VP8 IVF + Opus OGG) in real time and counts what it receives.

use super::inbox::Inbox;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::api::interceptor_registry::{configure_nack, configure_rtcp_reports, configure_twcc};
use webrtc::api::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::interceptor::registry::Registry;
use webrtc::media::Sample;
use webrtc::media::io::ivf_reader::IVFReader;
use webrtc::media::io::ogg_reader::OggReader;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

pub fn client_api() -> API {
    // rustls holds two crypto providers (ring; aws-lc-rs through object_store): webrtc-rs's
    // DTLS asks for the process default, so one is chosen here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut se = SettingEngine::default();
    se.set_include_loopback_candidate(true);
    se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    se.set_network_types(vec![NetworkType::Udp4]);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let mut m = MediaEngine::default();
    m.register_default_codecs().unwrap();
    // As a browser: NACK, RTCP reports, and transport-wide sequence numbers on what it
    // sends (so the server's congestion feedback has something to report on).
    let registry = configure_nack(Registry::new(), &mut m);
    let registry = configure_rtcp_reports(registry);
    let registry = configure_twcc(registry, &mut m).unwrap();
    APIBuilder::new()
        .with_media_engine(m)
        .with_interceptor_registry(registry)
        .with_setting_engine(se)
        .build()
}

fn is_closed(pc: &RTCPeerConnection) -> bool {
    use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
    pc.connection_state() == RTCPeerConnectionState::Closed
}

/// Applies a server offer and returns the answer's SDP; None if the test already closed
/// the peer (any other failure is a test failure).
async fn answer(pc: &RTCPeerConnection, offer: RTCSessionDescription) -> Option<String> {
    let result = async {
        pc.set_remote_description(offer).await?;
        let a = pc.create_answer(None).await?;
        pc.set_local_description(a.clone()).await?;
        Ok::<_, webrtc::Error>(a.sdp)
    }
    .await;
    match result {
        Ok(sdp) => Some(sdp),
        Err(e) => {
            assert!(is_closed(pc), "offer refused: {e}");
            None
        }
    }
}

/// A VP8 and an Opus sample track, as a browser publishes them.
pub fn vp8_opus_tracks() -> (Arc<TrackLocalStaticSample>, Arc<TrackLocalStaticSample>) {
    let track = |mime: &str, clock_rate, channels, id: &str| {
        Arc::new(TrackLocalStaticSample::new(
            RTCRtpCodecCapability {
                mime_type: mime.to_owned(),
                clock_rate,
                channels,
                ..Default::default()
            },
            id.to_owned(),
            "local-stream".to_owned(),
        ))
    };
    (
        track(MIME_TYPE_VP8, 90_000, 0, "video"),
        track(MIME_TYPE_OPUS, 48_000, 2, "audio"),
    )
}

pub fn fixtures() -> std::path::PathBuf {
    std::env::var("SWORN_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures-gen"))
        })
}

/// Received RTP packets per "<stream id>/<kind>".
pub type Counts = Arc<Mutex<HashMap<String, u64>>>;

/// A WebSocket handshake request for `url` as a page of the server would make it: with
/// the server's `Origin` (the server refuses upgrades without it) and the cookie.
pub fn ws_request(
    url: &str,
    cookie: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().unwrap();
    let origin = url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let origin = sworn::config::origin_of(&origin);
    req.headers_mut().insert("origin", origin.parse().unwrap());
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    req
}

pub struct Peer {
    pub pc: Arc<RTCPeerConnection>,
    pub counts: Counts,
    /// RTCP the server sent about what this peer publishes, by kind (`rtcp_kind`).
    pub feedback: Arc<Mutex<HashMap<&'static str, u64>>>,
    out: mpsc::UnboundedSender<Message>,
    inbox: Arc<Inbox>,
    pub closed: Arc<Mutex<Option<(u16, String)>>>,
    /// ICE candidates gathered before the first offer went out: the server refuses
    /// candidates for a connection it has not been offered yet (`out_of_order`), and
    /// `set_local_description` starts gathering before the offer can be sent.
    early: EarlyCandidates,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

type EarlyCandidates = Arc<Mutex<Option<Vec<Message>>>>;

/// Sends what was held back and lets later candidates go straight out.
fn release(early: &EarlyCandidates, out: &mpsc::UnboundedSender<Message>) {
    for m in early.lock().unwrap().take().unwrap_or_default() {
        let _ = out.send(m);
    }
}

impl Peer {
    pub async fn connect(api: &API, url: &str, cookie: Option<&str>) -> Peer {
        Self::connect_req(api, ws_request(url, cookie)).await
    }

    /// [`Peer::connect`] to `url` as a page of `public` (another node of a cluster,
    /// whose pages have the cluster's public address as their origin).
    pub async fn connect_from(api: &API, url: &str, public: &str) -> Peer {
        let mut req = ws_request(url, None);
        req.headers_mut()
            .insert("origin", sworn::config::origin_of(public).parse().unwrap());
        Self::connect_req(api, req).await
    }

    async fn connect_req(
        api: &API,
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Peer {
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        let (mut sink, mut stream) = ws.split();
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .unwrap(),
        );
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let inbox: Arc<Inbox> = Arc::default();
        let closed: Arc<Mutex<Option<(u16, String)>>> = Arc::default();
        let counts: Counts = Arc::default();

        let early: EarlyCandidates = Arc::new(Mutex::new(Some(Vec::new())));
        let o = out.clone();
        let e = early.clone();
        pc.on_ice_candidate(Box::new(move |c| {
            if let Some(j) = c.and_then(|c| c.to_json().ok()) {
                let m = Message::Text(
                    json!({"type": "candidate", "candidate": j})
                        .to_string()
                        .into(),
                );
                match e.lock().unwrap().as_mut() {
                    Some(held) => held.push(m),
                    None => {
                        let _ = o.send(m);
                    }
                }
            }
            Box::pin(async {})
        }));
        let cts = counts.clone();
        pc.on_track(Box::new(move |track, _, _| {
            let cts = cts.clone();
            tokio::spawn(async move {
                let key = format!("{}/{}", track.stream_id(), track.kind());
                while track.read_rtp().await.is_ok() {
                    *cts.lock().unwrap().entry(key.clone()).or_default() += 1;
                }
            });
            Box::pin(async {})
        }));

        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (pc2, o2, in2, cl2) = (pc.clone(), out.clone(), inbox.clone(), closed.clone());
        let early2 = early.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Text(t) => {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap();
                        match v["type"].as_str().unwrap_or("") {
                            // A peer closed by the test while a message was in flight
                            // ignores it (no panic in a detached task at teardown).
                            "answer" => {
                                let d = RTCSessionDescription::answer(
                                    v["sdp"].as_str().unwrap().to_owned(),
                                )
                                .unwrap();
                                if let Err(e) = pc2.set_remote_description(d).await {
                                    assert!(is_closed(&pc2), "answer refused: {e}");
                                }
                            }
                            "offer" => {
                                let d = RTCSessionDescription::offer(
                                    v["sdp"].as_str().unwrap().to_owned(),
                                )
                                .unwrap();
                                if let Some(a) = answer(&pc2, d).await {
                                    let _ = o2.send(Message::Text(
                                        json!({"type": "answer", "sdp": a}).to_string().into(),
                                    ));
                                    release(&early2, &o2);
                                }
                            }
                            "candidate" => {
                                let c: RTCIceCandidateInit =
                                    serde_json::from_value(v["candidate"].clone()).unwrap();
                                let _ = pc2.add_ice_candidate(c).await;
                            }
                            _ => {}
                        }
                        in2.push(v);
                    }
                    Message::Close(f) => {
                        *cl2.lock().unwrap() = f.map(|f| (u16::from(f.code), f.reason.to_string()));
                        in2.wake();
                        break;
                    }
                    _ => {}
                }
            }
            in2.wake();
        });
        Peer {
            pc,
            counts,
            feedback: Arc::default(),
            out,
            inbox,
            closed,
            early,
            tasks: vec![writer, reader],
        }
    }

    pub fn send(&self, v: Value) {
        let _ = self.out.send(Message::Text(v.to_string().into()));
        if v["type"] == "offer" {
            release(&self.early, &self.out);
        }
    }

    pub fn send_raw(&self, m: Message) {
        let _ = self.out.send(m);
    }

    /// Waits until a received message satisfies `pred` (checks the whole history).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.inbox.wait_for(what, pred).await
    }

    pub async fn wait_type(&self, t: &str) -> Value {
        self.inbox.wait_type(t).await
    }

    /// Waits for the socket to be closed by the server; returns (code, reason).
    pub async fn wait_closed(&self) -> (u16, String) {
        self.inbox
            .wait_until("the socket closed", || self.closed.lock().unwrap().clone())
            .await
    }

    pub fn messages(&self) -> Vec<Value> {
        self.inbox.messages()
    }

    /// Adds VP8 + Opus tracks fed from the fixtures in real time, and sends the offer.
    pub async fn publish(&mut self) {
        let (video, audio) = vp8_opus_tracks();
        for t in [
            video.clone() as Arc<dyn TrackLocal + Send + Sync>,
            audio.clone() as Arc<dyn TrackLocal + Send + Sync>,
        ] {
            let sender = self.pc.add_track(t).await.unwrap();
            let feedback = self.feedback.clone();
            self.tasks.push(tokio::spawn(async move {
                while let Ok((packets, _)) = sender.read_rtcp().await {
                    let mut f = feedback.lock().unwrap();
                    for p in &packets {
                        *f.entry(rtcp_kind(p.as_ref())).or_default() += 1;
                    }
                }
            }));
        }
        self.tasks
            .push(tokio::spawn(feed_video(video, self.pc.clone())));
        self.tasks
            .push(tokio::spawn(feed_audio(audio, self.pc.clone())));
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer.clone()).await.unwrap();
        self.send(json!({"type": "offer", "sdp": offer.sdp}));
    }

    /// Shows an exhibit: a second, send-only peer connection with one VP8 track, offered
    /// with `exhibit_offer`; returns once the server's answer is applied. The connection
    /// lives as long as the peer (or until `exhibit_stop`).
    pub async fn show_exhibit(&mut self, api: &API) -> Arc<RTCPeerConnection> {
        self.send_extra(api, None).await
    }

    /// Interprets into `language`: a second, send-only peer connection with one Opus
    /// track, offered with `interpretation_offer`; returns once the answer is applied.
    pub async fn interpret(&mut self, api: &API, language: &str) -> Arc<RTCPeerConnection> {
        self.send_extra(api, Some(language)).await
    }

    /// An exhibit (`language` None) or an interpretation channel.
    async fn send_extra(&mut self, api: &API, language: Option<&str>) -> Arc<RTCPeerConnection> {
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .unwrap(),
        );
        let (video, audio) = vp8_opus_tracks();
        if language.is_some() {
            pc.add_track(audio.clone() as Arc<dyn TrackLocal + Send + Sync>)
                .await
                .unwrap();
            self.tasks.push(tokio::spawn(feed_audio(audio, pc.clone())));
        } else {
            pc.add_track(video.clone() as Arc<dyn TrackLocal + Send + Sync>)
                .await
                .unwrap();
            self.tasks.push(tokio::spawn(feed_video(video, pc.clone())));
        }
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer.clone()).await.unwrap();
        let answer_type = match language {
            Some(_) => "interpretation_answer",
            None => "exhibit_answer",
        };
        let before = self
            .messages()
            .iter()
            .filter(|m| m["type"] == answer_type)
            .count();
        match language {
            Some(l) => {
                self.send(json!({"type": "interpretation_offer", "sdp": offer.sdp, "language": l}))
            }
            None => self.send(json!({"type": "exhibit_offer", "sdp": offer.sdp})),
        }
        let answer = self.wait_nth_answer(answer_type, before + 1).await;
        let desc =
            webrtc::peer_connection::sdp::session_description::RTCSessionDescription::answer(
                answer,
            )
            .unwrap();
        pc.set_remote_description(desc).await.unwrap();
        pc
    }

    async fn wait_nth_answer(&self, answer_type: &str, n: usize) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answers: Vec<Value> = self
                .messages()
                .into_iter()
                .filter(|m| m["type"] == answer_type)
                .collect();
            if let Some(a) = answers.get(n - 1) {
                return a["sdp"].as_str().unwrap_or_default().to_owned();
            }
            assert!(tokio::time::Instant::now() < deadline, "no {answer_type}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sum of received packets for keys starting with `stream/kind`.
    pub fn received(&self, stream: &str, kind: &str) -> u64 {
        self.counts
            .lock()
            .unwrap()
            .get(&format!("{stream}/{kind}"))
            .copied()
            .unwrap_or(0)
    }

    /// Waits until at least `n` packets of `stream/kind` arrived.
    pub async fn wait_received(&self, stream: &str, kind: &str, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.received(stream, kind) < n {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "received only {} {kind} packets from {stream}: {:?}",
                    self.received(stream, kind),
                    self.counts.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.out.send(Message::Close(None));
        let _ = self.pc.close().await;
        for t in self.tasks {
            t.abort();
        }
    }
}

/// The kind of an RTCP packet the server sends a publisher (by packet type and format).
fn rtcp_kind(p: &(dyn webrtc::rtcp::packet::Packet + Send + Sync)) -> &'static str {
    use webrtc::rtcp::header::PacketType;
    let h = p.header();
    match (h.packet_type, h.count) {
        (PacketType::SenderReport, _) => "sender_report",
        (PacketType::ReceiverReport, _) => "receiver_report",
        (PacketType::TransportSpecificFeedback, 15) => "twcc",
        (PacketType::TransportSpecificFeedback, 1) => "nack",
        (PacketType::PayloadSpecificFeedback, 1) => "pli",
        (PacketType::PayloadSpecificFeedback, 4) => "fir",
        _ => "other",
    }
}

/// Media starts once the transport is up (like a person who starts talking when they
/// see the court): samples written before would be dropped, and this client cannot
/// answer a keyframe request.
async fn wait_connected(pc: &RTCPeerConnection) {
    use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState as S;
    for _ in 0..3000 {
        if matches!(pc.connection_state(), S::Connected | S::Failed | S::Closed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn feed_video(track: Arc<TrackLocalStaticSample>, pc: Arc<RTCPeerConnection>) {
    wait_connected(&pc).await;
    drop(pc);
    let path = fixtures().join("video.ivf");
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let file = std::fs::File::open(&path).expect("fixtures: run scripts/make-fixtures");
        let (mut ivf, _) = IVFReader::new(std::io::BufReader::new(file)).unwrap();
        while let Ok((frame, _)) = ivf.parse_next_frame() {
            tick.tick().await;
            if track
                .write_sample(&Sample {
                    data: frame.freeze(),
                    duration: Duration::from_millis(50),
                    ..Default::default()
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

async fn feed_audio(track: Arc<TrackLocalStaticSample>, pc: Arc<RTCPeerConnection>) {
    wait_connected(&pc).await;
    drop(pc);
    let path = fixtures().join("audio.ogg");
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        let file = std::fs::File::open(&path).expect("fixtures: run scripts/make-fixtures");
        let (mut ogg, _) = OggReader::new(std::io::BufReader::new(file), true).unwrap();
        while let Ok((page, header)) = ogg.parse_next_page() {
            if header.granule_position == 0 {
                continue; // OpusTags page
            }
            tick.tick().await;
            if track
                .write_sample(&Sample {
                    data: page.freeze(),
                    duration: Duration::from_millis(20),
                    ..Default::default()
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
