//! The media loop: one thread that owns the media UDP socket(s) and every connection
//! (str0m `Rtc`) of every hearing, and moves packets between them.
//!
//! Wake-ups, not the stack, dominate the cost of a media server on a small machine
//! (`notes/sans-io-media.md`: ~7.7 µs per wake-up here, against ~5 µs for str0m's work on
//! a packet). So the loop has two modes, like interrupt coalescing on a network card:
//! - idle: the sockets are registered with the poller; the thread sleeps until a
//!   datagram, a command from a hearing task, or the earliest str0m deadline;
//! - streaming: once datagrams flow, the sockets leave the poller and the thread wakes
//!   every `rx_batch` to take everything that arrived, for all connections, as one
//!   batch (at most `rx_batch` of added latency). Two empty batches: back to idle.
//!
//! Per packet: a datagram is read into one reused buffer, routed to its connection by
//! source address (`Rtc::accepts` only for an address not seen yet), handled by str0m,
//! and its outputs drained at once (str0m's rule: drain after every mutation). A
//! received RTP packet is handed to the recorder (bounded queue, never blocks) and, if
//! forwarding is on, written to each subscriber's stream with its payload shared
//! (`Arc<[u8]>`) and only the sequence number and timestamp rewritten. No lock, no task
//! hop, no allocation beyond what str0m does itself.
//!
//! One connection's panic inside str0m is caught: that connection is dropped and
//! reported failed; the others go on.

use super::RtcError;
use super::conn::{CONNECT_TIMEOUT, Conn, FAILED_AFTER, TxSub};
use super::drain::{DrainCtx, Forward, Queues, transmit};
use super::engine::{Command, EngineHandle, PeerState, SessionEventKind};
use super::forward::{MediaKind, OutletTable, Rewrite};
use super::tcp::{STREAM_TOKEN_BASE, TcpStreams};
use super::udp_batch::SendBatch;
use crate::config::MediaConfig;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use str0m::media::KeyframeRequestKind;
use str0m::net::{DatagramRecv, Protocol, Receive, TcpType};
use str0m::rtp::{ExtensionValues, RtpWrite};
use str0m::{Candidate, Input, Output};
use tracing::{debug, warn};

const WAKER: Token = Token(usize::MAX);
const LISTENER: Token = Token(usize::MAX - 1);
/// Largest datagram taken.
const MAX_DATAGRAM: usize = 2048;
/// Socket receive buffer asked for: about 4 s of 8 participants at 1 Mbit/s.
const RECV_BUFFER: usize = 4 << 20;
/// Datagrams taken from one socket per batch before the loop looks at the rest.
const MAX_BATCH: usize = 4096;
/// Fewest milliseconds between two keyframe requests to one publisher's track.
const MIN_PLI_INTERVAL: Duration = Duration::from_millis(300);
/// Longest sleep with nothing to do (connection failure checks run at least this often).
const MAX_IDLE: Duration = Duration::from_secs(1);

/// One socket and the address browsers reach it at (its ICE host candidate).
pub(super) struct MediaSocket {
    pub(super) sock: UdpSocket,
    pub(super) advertised: SocketAddr,
}

/// Binds the media socket(s) and starts the loop's thread.
pub(super) fn spawn(cfg: &MediaConfig) -> Result<(EngineHandle, u16), RtcError> {
    let media = MediaLoop::bind(cfg)?;
    let handle = media.handle.clone();
    let port = media.sockets.first().map_or(0, |s| s.advertised.port());
    std::thread::Builder::new()
        .name("sworn-media".into())
        .spawn(move || media.run())
        .map_err(|e| RtcError::Setup(format!("media thread: {e}")))?;
    Ok((handle, port))
}

impl MediaLoop {
    /// Binds the media socket(s) and the TCP listener, registered with a new poller.
    fn bind(cfg: &MediaConfig) -> Result<MediaLoop, RtcError> {
        let (bind, advertised_ip) = media_address(cfg)?;
        let std_sock = bind_socket(bind).map_err(RtcError::Bind)?;
        let local = std_sock.local_addr().map_err(RtcError::Bind)?;
        let advertised = SocketAddr::new(advertised_ip, local.port());
        let sock = UdpSocket::from_std(std_sock);
        let mut candidates = vec![
            Candidate::host(advertised, "udp")
                .map_err(|e| RtcError::Setup(format!("host candidate: {e}")))?,
        ];
        let tcp = match cfg.tcp_port {
            Some(port) => {
                let listener = std::net::TcpListener::bind(SocketAddr::new(bind.ip(), port))
                    .map_err(RtcError::Bind)?;
                listener.set_nonblocking(true).map_err(RtcError::Bind)?;
                let at = SocketAddr::new(
                    advertised_ip,
                    listener.local_addr().map_err(RtcError::Bind)?.port(),
                );
                candidates.push(
                    Candidate::builder()
                        .tcp()
                        .host(at)
                        .tcptype(TcpType::Passive)
                        .build()
                        .map_err(|e| RtcError::Setup(format!("TCP candidate: {e}")))?,
                );
                Some((mio::net::TcpListener::from_std(listener), at))
            }
            None => None,
        };
        let poll = Poll::new().map_err(|e| RtcError::Setup(format!("poller: {e}")))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|e| RtcError::Setup(format!("waker: {e}")))?,
        );
        let (tx, rx) = std_mpsc::channel();
        let handle = EngineHandle::new(tx, waker);
        let mut media = MediaLoop {
            poll,
            sockets: vec![MediaSocket { sock, advertised }],
            registered: false,
            commands: rx,
            handle,
            candidates,
            tcp: TcpStreams::new(tcp),
            udp_out: Vec::new(),
            send_batch: SendBatch::default(),
            ready: Vec::new(),
            tcp_frames: Vec::new(),
            tcp_spans: Vec::new(),
            candidates_policy: super::conn::CandidatePolicy {
                loopback_only: cfg.loopback_only,
                private: cfg.private_candidates,
            },
            rx_batch: cfg.rx_batch,
            conns: HashMap::new(),
            by_addr: HashMap::new(),
            outlets: OutletTable::default(),
            queues: Queues::default(),
            buf: vec![0; MAX_DATAGRAM],
            due: Vec::new(),
            dropped: 0,
            next_layer_tick: Instant::now(),
        };
        media.register(true)?;
        media
            .tcp
            .register_listener(media.poll.registry(), LISTENER)
            .map_err(|e| RtcError::Setup(format!("poller: {e}")))?;
        Ok(media)
    }
}

/// (address to bind, address advertised as the ICE host candidate).
fn media_address(cfg: &MediaConfig) -> Result<(SocketAddr, std::net::IpAddr), RtcError> {
    let bind = SocketAddr::new(cfg.bind_ip, cfg.udp_port);
    let advertised = if cfg.loopback_only {
        if cfg.bind_ip.is_loopback() {
            cfg.bind_ip
        } else {
            std::net::IpAddr::from([127, 0, 0, 1])
        }
    } else if let Some(ip) = cfg.public_ips.first() {
        *ip
    } else if !cfg.bind_ip.is_unspecified() {
        cfg.bind_ip
    } else {
        return Err(RtcError::Setup(
            "media.bind_ip is unspecified: set media.public_ips to the address browsers reach"
                .into(),
        ));
    };
    Ok((bind, advertised))
}

fn bind_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Linux caps this at net.core.rmem_max (README: "Media socket").
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// The drain context from the loop's fields other than `conns` (a macro, not a method,
/// so that a connection borrowed from `conns` can be drained with it).
macro_rules! drain_ctx {
    ($m:expr) => {
        DrainCtx {
            sockets: &$m.sockets,
            tcp: &mut $m.tcp,
            registry: $m.poll.registry(),
            udp_out: &mut $m.udp_out,
            outlets: &mut $m.outlets,
            queues: &mut $m.queues,
            handle: &$m.handle,
        }
    };
}

struct MediaLoop {
    poll: Poll,
    sockets: Vec<MediaSocket>,
    registered: bool,
    commands: std_mpsc::Receiver<Command>,
    handle: EngineHandle,
    candidates: Vec<Candidate>,
    tcp: TcpStreams,
    /// UDP datagrams to send at the end of this wake-up (socket index, datagram).
    udp_out: Vec<(usize, str0m::net::Transmit)>,
    send_batch: SendBatch,
    /// Poll events of one wake-up (token, readable, writable); reused.
    ready: Vec<(Token, bool, bool)>,
    /// Frames read from a TCP stream, before they enter str0m; reused.
    tcp_frames: Vec<u8>,
    tcp_spans: Vec<(SocketAddr, usize, usize)>,
    candidates_policy: super::conn::CandidatePolicy,
    rx_batch: Duration,
    conns: HashMap<u64, Conn>,
    by_addr: HashMap<SocketAddr, u64>,
    outlets: OutletTable,
    queues: Queues,
    buf: Vec<u8>,
    /// Connections whose deadline passed (reused by `timeouts`).
    due: Vec<u64>,
    dropped: u64,
    /// When simulcast layers are measured and subscribers' layers chosen next.
    next_layer_tick: Instant,
}

impl MediaLoop {
    fn register(&mut self, on: bool) -> Result<(), RtcError> {
        if on == self.registered {
            return Ok(());
        }
        for (i, s) in self.sockets.iter_mut().enumerate() {
            let r = if on {
                self.poll
                    .registry()
                    .register(&mut s.sock, Token(i), Interest::READABLE)
            } else {
                self.poll.registry().deregister(&mut s.sock)
            };
            r.map_err(|e| RtcError::Setup(format!("poller: {e}")))?;
        }
        self.registered = on;
        Ok(())
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(64);
        let mut streaming = false;
        let mut empty_batches = 0u32;
        let mut next_batch = Instant::now();
        loop {
            let now = Instant::now();
            let mut wait = self.next_deadline(now).saturating_duration_since(now);
            if streaming {
                wait = wait.min(next_batch.saturating_duration_since(now));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != ErrorKind::Interrupted {
                    warn!(error = %e, "media poller failed; the media loop stops");
                    return;
                }
            }
            self.ready.clear();
            for ev in events.iter() {
                self.ready
                    .push((ev.token(), ev.is_readable(), ev.is_writable()));
            }
            self.tcp_events();
            if !self.take_commands() {
                debug!("media loop: every handle is gone");
                return;
            }
            let now = Instant::now();
            if !streaming || now >= next_batch {
                let got = self.read_sockets();
                if streaming {
                    next_batch = now + self.rx_batch;
                    if got == 0 {
                        empty_batches += 1;
                        if empty_batches >= 2 {
                            streaming = false;
                            if self.register(true).is_err() {
                                return;
                            }
                            // What arrived while off the poller raises no event.
                            self.read_sockets();
                        }
                    } else {
                        empty_batches = 0;
                    }
                } else if got > 0 {
                    streaming = true;
                    empty_batches = 0;
                    next_batch = now + self.rx_batch;
                    if self.register(false).is_err() {
                        return;
                    }
                }
            }
            self.timeouts(Instant::now());
            self.send_udp();
        }
    }

    /// Sends what this wake-up queued, one `sendmmsg` per socket and 64 datagrams.
    fn send_udp(&mut self) {
        if self.udp_out.is_empty() {
            return;
        }
        for (i, s) in self.sockets.iter().enumerate() {
            let mine = self
                .udp_out
                .iter()
                .filter(|(at, _)| *at == i)
                .map(|(_, t)| (t.destination, &t.contents[..]));
            self.send_batch.send(&s.sock, mine);
        }
        self.udp_out.clear();
    }

    /// The earliest str0m deadline (at most `MAX_IDLE` away).
    fn next_deadline(&self, now: Instant) -> Instant {
        let first = (now + MAX_IDLE).min(self.next_layer_tick);
        self.conns
            .values()
            .map(|c| c.deadline)
            .fold(first, Instant::min)
    }

    /// Handles every queued command; false when no handle is left.
    fn take_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(cmd) => self.command(cmd),
                Err(std_mpsc::TryRecvError::Empty) => return true,
                Err(std_mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Open {
                tag,
                hearing,
                stream_id,
                events,
                forwarding_initially,
                reply,
            } => {
                let mut conn = Conn::new(
                    tag,
                    hearing,
                    stream_id,
                    events,
                    forwarding_initially,
                    &self.candidates,
                    now,
                );
                conn.room = self.outlets.room_of(hearing, &conn.participant);
                if let Some(old) = self.conns.insert(tag, conn) {
                    drop(old);
                    self.forget(tag);
                }
                self.drain(tag);
                let _ = reply.send(Ok(()));
            }
            Command::AcceptOffer { tag, sdp, reply } => {
                let r = self.with_conn(tag, |c, _| c.accept_offer(&sdp));
                let _ = reply.send(r);
            }
            Command::CreateOffer { tag, reply } => {
                let r = self.with_conn(tag, |c, o| c.create_offer(o));
                let _ = reply.send(r);
            }
            Command::AcceptAnswer { tag, sdp, reply } => {
                let r = self.with_conn(tag, |c, o| c.accept_answer(&sdp, o));
                if r.is_ok() {
                    // The new media lines want a keyframe from their sources.
                    self.keyframes_for(tag);
                }
                let _ = reply.send(r);
            }
            Command::AddCandidate {
                tag,
                candidate,
                reply,
            } => {
                let policy = self.candidates_policy;
                let r = self.with_conn(tag, |c, _| c.add_remote_candidate(&candidate, policy));
                let _ = reply.send(r);
            }
            Command::Subscribe { tag, outlet } => {
                let Some(conn) = self.conns.get_mut(&tag) else {
                    return;
                };
                let Some(o) = self.outlets.by_id.get_mut(&outlet) else {
                    return;
                };
                if conn.tx.iter().any(|s| s.outlet == outlet) {
                    return;
                }
                conn.tx.push(TxSub {
                    outlet,
                    mid: None,
                    pt: None,
                    rewrite: Rewrite::default(),
                    choice: Default::default(),
                });
                o.subscribers.push(tag);
            }
            Command::RecordSink { tag, sink } => {
                if let Some(c) = self.conns.get_mut(&tag) {
                    c.record = sink;
                }
            }
            Command::Keyframe { outlet } => {
                self.queues.keyframe.push((outlet, None));
                self.flush();
            }
            Command::Close { tag } => self.close(tag),
            Command::Room {
                hearing,
                participant,
                room,
            } => {
                self.outlets.set_room(hearing, &participant, room);
                for c in self.conns.values_mut() {
                    if c.hearing == hearing && c.participant == participant {
                        c.room = room;
                    }
                }
                // New receivers of this video start on a keyframe.
                for (id, o) in &self.outlets.by_id {
                    if o.hearing == hearing
                        && o.participant == participant
                        && o.kind == MediaKind::Video
                    {
                        self.queues.keyframe.push((*id, None));
                    }
                }
                self.flush();
            }
        }
    }

    /// Runs a mutation on one connection (caught if str0m panics), then drains it.
    fn with_conn<T>(
        &mut self,
        tag: u64,
        f: impl FnOnce(&mut Conn, &OutletTable) -> Result<T, RtcError>,
    ) -> Result<T, RtcError> {
        let Some(conn) = self.conns.get_mut(&tag) else {
            return Err(RtcError::Closed);
        };
        let outlets = &self.outlets;
        let r = match catch_unwind(AssertUnwindSafe(|| f(conn, outlets))) {
            Ok(r) => r,
            Err(_) => {
                self.crashed(tag);
                return Err(RtcError::Closed);
            }
        };
        self.drain(tag);
        self.flush();
        r
    }

    /// Requests a keyframe for every outlet a connection receives.
    fn keyframes_for(&mut self, tag: u64) {
        if let Some(c) = self.conns.get(&tag) {
            for s in &c.tx {
                self.queues
                    .keyframe
                    .push((s.outlet, s.choice.want.or(s.choice.current)));
            }
        }
        self.flush();
    }

    /// Accepts TCP connections, reads and writes TCP streams that are ready.
    fn tcp_events(&mut self) {
        let ready = std::mem::take(&mut self.ready);
        for &(token, readable, writable) in &ready {
            if token == LISTENER {
                self.tcp.accept(self.poll.registry());
            } else if token.0 >= STREAM_TOKEN_BASE && token != WAKER && token != LISTENER {
                if writable {
                    self.tcp.writable(token, self.poll.registry());
                }
                if readable {
                    self.read_tcp(token);
                }
            }
        }
        self.ready = ready;
    }

    fn read_tcp(&mut self, token: Token) {
        let mut frames = std::mem::take(&mut self.tcp_frames);
        let mut spans = std::mem::take(&mut self.tcp_spans);
        self.tcp.read(token, self.poll.registry(), |peer, f| {
            let start = frames.len();
            frames.extend_from_slice(f);
            spans.push((peer, start, frames.len()));
        });
        if let Some(destination) = self.tcp.advertised {
            let now = Instant::now();
            for &(peer, a, b) in &spans {
                if let Some(data) = frames.get(a..b) {
                    self.datagram(now, Protocol::Tcp, peer, destination, data);
                }
            }
        }
        frames.clear();
        spans.clear();
        self.tcp_frames = frames;
        self.tcp_spans = spans;
        self.flush();
    }

    fn read_sockets(&mut self) -> usize {
        let mut buf = std::mem::take(&mut self.buf);
        let mut total = 0;
        for i in 0..self.sockets.len() {
            let mut n_here = 0;
            while n_here < MAX_BATCH {
                let (n, source) = match self.sockets[i].sock.recv_from(&mut buf) {
                    Ok(r) => r,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // ICMP errors (a peer gone) surface here; nothing to do.
                        n_here += 1;
                        continue;
                    }
                };
                n_here += 1;
                let now = Instant::now();
                let destination = self.sockets[i].advertised;
                let Some(data) = buf.get(..n) else { continue };
                self.datagram(now, Protocol::Udp, source, destination, data);
            }
            total += n_here;
        }
        self.buf = buf;
        self.flush();
        total
    }

    fn datagram(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        let Ok(contents) = DatagramRecv::try_from(data) else {
            self.dropped += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        let tag = match self.by_addr.get(&source) {
            Some(t) if self.conns.contains_key(t) => *t,
            _ => {
                let found = self
                    .conns
                    .iter()
                    .find(|(_, c)| !c.failed && c.rtc.accepts(&input))
                    .map(|(t, _)| *t);
                match found {
                    Some(t) => {
                        self.by_addr.insert(source, t);
                        t
                    }
                    None => {
                        self.dropped += 1;
                        return;
                    }
                }
            }
        };
        let Some(conn) = self.conns.get_mut(&tag) else {
            return;
        };
        match catch_unwind(AssertUnwindSafe(|| conn.rtc.handle_input(input))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(conn = tag, error = %e, "input refused"),
            Err(_) => {
                self.crashed(tag);
                return;
            }
        }
        self.drain(tag);
    }

    /// Feeds the time to every connection whose deadline passed; fails connections
    /// that stayed disconnected (or never connected) too long.
    fn timeouts(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.due);
        due.extend(
            self.conns
                .iter()
                .filter(|(_, c)| c.deadline <= now)
                .map(|(t, _)| *t),
        );
        for &tag in &due {
            let Some(conn) = self.conns.get_mut(&tag) else {
                continue;
            };
            match catch_unwind(AssertUnwindSafe(|| {
                conn.rtc.handle_input(Input::Timeout(now))
            })) {
                Ok(_) => self.drain(tag),
                Err(_) => self.crashed(tag),
            }
        }
        due.clear();
        self.due = due;
        if now >= self.next_layer_tick {
            self.next_layer_tick = now + layer_tick::EVERY;
            self.layer_tick(now);
        }
        self.tcp.expire(now, self.poll.registry());
        for c in self.conns.values_mut() {
            if c.failed {
                continue;
            }
            let stuck = c
                .disconnected_since
                .is_some_and(|t| now.saturating_duration_since(t) >= FAILED_AFTER)
                || (!c.ever_connected
                    && now.saturating_duration_since(c.opened_at) >= CONNECT_TIMEOUT)
                || !c.rtc.is_alive();
            if stuck {
                c.failed = true;
                c.set_state(PeerState::Failed);
            }
        }
        self.flush();
    }

    /// Drains one connection's output (str0m's rule after every mutation).
    fn drain(&mut self, tag: u64) {
        let Some(conn) = self.conns.get_mut(&tag) else {
            return;
        };
        let mut ctx = drain_ctx!(self);
        if catch_unwind(AssertUnwindSafe(|| ctx.drain(conn))).is_err() {
            self.crashed(tag);
        }
    }

    /// Writes queued packets to their subscribers and passes on keyframe requests,
    /// until nothing is left (draining a subscriber can queue more).
    fn flush(&mut self) {
        while !self.queues.forward.is_empty() || !self.queues.keyframe.is_empty() {
            // Two vectors take turns, so the steady state allocates nothing.
            let spare = std::mem::take(&mut self.queues.spare);
            let mut batch = std::mem::replace(&mut self.queues.forward, spare);
            for f in batch.drain(..) {
                self.forward(f);
            }
            self.queues.spare = batch;
            let spare = std::mem::take(&mut self.queues.spare_keyframe);
            let mut keyframes = std::mem::replace(&mut self.queues.keyframe, spare);
            for (outlet, layer) in keyframes.drain(..) {
                self.keyframe(outlet, layer);
            }
            self.queues.spare_keyframe = keyframes;
        }
    }

    fn forward(&mut self, f: Forward) {
        let now = Instant::now();
        let mut i = 0;
        loop {
            let Some((sub_tag, room)) = self
                .outlets
                .by_id
                .get(&f.outlet)
                .and_then(|o| o.subscribers.get(i).map(|t| (*t, o.room)))
            else {
                return;
            };
            i += 1;
            if sub_tag == f.source.0 {
                continue;
            }
            let Some(conn) = self.conns.get_mut(&sub_tag) else {
                continue;
            };
            // A private consultation: nothing crosses between rooms. A downlink that
            // cannot hold video gets audio only.
            if conn.failed || conn.room != room || (f.video && conn.downlink.audio_only()) {
                continue;
            }
            let Some(sub) = conn.tx.iter_mut().find(|s| s.outlet == f.outlet) else {
                continue;
            };
            let (Some(mid), Some(pt)) = (sub.mid, sub.pt) else {
                continue;
            };
            // One layer of a simulcast publisher per subscriber, changed at a keyframe.
            if f.layered && !sub.choice.admit(f.source.1, f.keyframe) {
                continue;
            }
            let Some((seq, ts)) = sub.rewrite.apply(
                f.source,
                *f.pkt.seq_no,
                f.pkt.header.timestamp,
                f.clock_rate,
                now,
            ) else {
                continue;
            };
            let ext = ExtensionValues {
                audio_level: f.pkt.header.ext_vals.audio_level,
                voice_activity: f.pkt.header.ext_vals.voice_activity,
                video_orientation: f.pkt.header.ext_vals.video_orientation,
                ..Default::default()
            };
            let write = RtpWrite::new(pt, seq.into(), ts, f.pkt.timestamp, f.pkt.payload.clone())
                .marker(f.pkt.header.marker)
                .nackable(f.video)
                .ext_vals(ext);
            let mut ctx = drain_ctx!(self);
            let ok = catch_unwind(AssertUnwindSafe(|| {
                if let Some(stream) = conn.rtc.direct_api().stream_tx_by_mid(mid, None) {
                    stream.write_rtp(write);
                    ctx.drain(conn);
                }
            }));
            if ok.is_err() {
                self.crashed(sub_tag);
            }
        }
    }

    /// Asks an outlet's publisher for a keyframe: of `layer` (an SSRC) when it is
    /// simulcast (None: the recorded layer), rate-limited per layer.
    fn keyframe(&mut self, outlet: u64, layer: Option<u32>) {
        let Some((tag, mid)) = self.outlets.by_id.get(&outlet).and_then(|o| o.source) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(&tag) else {
            return;
        };
        let now = Instant::now();
        let Some(rx) = conn.rx.iter_mut().find(|r| r.mid == mid) else {
            return;
        };
        if rx.kind != MediaKind::Video {
            return;
        }
        let ssrc = if rx.simulcast {
            let Some(s) = layer.or(rx.layers.recorded()).or(rx.layers.best(now)) else {
                return;
            };
            Some(s)
        } else {
            None
        };
        let last = match ssrc {
            Some(s) => match rx.layers.last_pli(s) {
                Some(l) => l,
                None => return,
            },
            None => &mut rx.last_pli,
        };
        if last.is_some_and(|t| now.saturating_duration_since(t) < MIN_PLI_INTERVAL) {
            return;
        }
        *last = Some(now);
        let asked = catch_unwind(AssertUnwindSafe(|| {
            let mut api = conn.rtc.direct_api();
            let stream = match ssrc {
                Some(s) => api.stream_rx(&s.into()),
                None => api.stream_rx_by_mid(mid, None),
            };
            if let Some(s) = stream {
                s.request_keyframe(KeyframeRequestKind::Pli);
            }
        }));
        match asked {
            Ok(()) => self.drain(tag),
            Err(_) => self.crashed(tag),
        }
    }

    /// A panic inside str0m: this connection is dropped, the hearing told it failed.
    fn crashed(&mut self, tag: u64) {
        warn!(
            conn = tag,
            "a media connection failed inside the WebRTC stack; dropped"
        );
        if let Some(c) = self.conns.remove(&tag) {
            c.emit(SessionEventKind::State(PeerState::Failed));
            let hearing = c.hearing;
            self.forget(tag);
            self.drop_hearing_if_empty(hearing);
        }
    }

    fn close(&mut self, tag: u64) {
        let Some(mut conn) = self.conns.remove(&tag) else {
            return;
        };
        let hearing = conn.hearing;
        let sockets = &self.sockets;
        let tcp = &mut self.tcp;
        let registry = self.poll.registry();
        let udp_out = &mut self.udp_out;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if conn.rtc.close().is_ok() {
                // Send the BYE and close_notify that close() queued.
                for _ in 0..64 {
                    match conn.rtc.poll_output() {
                        Ok(Output::Transmit(t)) => transmit(sockets, tcp, registry, udp_out, t),
                        Ok(Output::Event(_)) => {}
                        Ok(Output::Timeout(_)) | Err(_) => break,
                    }
                }
            }
        }));
        self.forget(tag);
        self.drop_hearing_if_empty(hearing);
    }

    fn forget(&mut self, tag: u64) {
        self.outlets.forget_conn(tag);
        self.by_addr.retain(|_, t| *t != tag);
    }

    fn drop_hearing_if_empty(&mut self, hearing: super::Outlets) {
        if !self.conns.values().any(|c| c.hearing == hearing) {
            self.outlets.drop_hearing(hearing);
        }
    }
}

#[path = "layer_tick.rs"]
mod layer_tick;

#[cfg(test)]
#[path = "media_loop_tests.rs"]
mod tests;
