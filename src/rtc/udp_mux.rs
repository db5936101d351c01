//! The one UDP socket every peer shares (ICE UDP mux), read in batches off the runtime.
//!
//! webrtc-rs's `UDPMuxDefault` reads the socket on the async runtime: every datagram
//! wakes the runtime, is copied through an 8 KiB zeroed buffer with its source address
//! written out as text, and parsed back by the reader. While media flows, this mux
//! takes the socket off the runtime's poller and reads it every `coalesce` instead: what
//! arrived meanwhile is one batch (bounded latency, like interrupt coalescing on a
//! network card), handed to every peer through a channel, so the runtime wakes once per
//! batch for all peers instead of once per datagram (a context switch costs more than
//! the rest of a packet's way). When the socket falls quiet it is registered again and
//! the task sleeps until the next datagram. Sends go straight to the (non-blocking)
//! socket from the caller's task.
//!
//! Routing (the rules of pion's and webrtc-rs's muxes): a datagram from a remote address
//! goes to the connection that last sent to that address; otherwise a STUN message goes
//! to the connection named by the local ufrag in its USERNAME; anything else is dropped
//! (counted, never logged with its address).
//!
//! It must never block the runtime, log an address, or keep routing to a closed
//! connection.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use webrtc::ice::udp_mux::UDPMux;
use webrtc::stun::attributes::ATTR_USERNAME;
use webrtc::stun::message::{Message as StunMessage, is_message as is_stun};
use webrtc::util::{Conn, Error as ConnError};

/// Largest datagram taken (webrtc-ice's receive MTU).
const RECEIVE_MTU: usize = 8192;
/// Socket receive buffer asked for: about 4 s of 8 participants at 1 Mbit/s.
const RECV_BUFFER: usize = 4 << 20;
/// Datagrams taken per batch before the reader looks at the clock again.
const MAX_BATCH: usize = 1024;
/// Millisecond waits for room in a full send buffer before a send fails.
const SEND_RETRIES: u32 = 20;
/// How often the reader checks whether the mux was closed when nothing arrives.
const IDLE_POLL: Duration = Duration::from_millis(500);

type Datagram = (Vec<u8>, SocketAddr);

/// The shared UDP port. Cheap to clone behind an `Arc`; lives as long as the engine.
pub(super) struct BatchUdpMux {
    shared: Arc<Shared>,
}

struct Shared {
    socket: UdpSocket,
    local_addr: SocketAddr,
    routes: Mutex<Routes>,
    closed: AtomicBool,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Routes {
    by_ufrag: HashMap<String, Arc<MuxConn>>,
    by_addr: HashMap<SocketAddr, Arc<MuxConn>>,
}

impl BatchUdpMux {
    /// Takes the bound media socket and starts its reader task (inside the runtime).
    pub(super) fn start(socket: UdpSocket, coalesce: Duration) -> std::io::Result<Arc<Self>> {
        socket.set_nonblocking(true)?;
        // Room for a stalled reader to catch up without loss (the kernel caps the
        // request at net.core.rmem_max; failing to enlarge it is not an error).
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RECV_BUFFER);
        let local_addr = socket.local_addr()?;
        let reader = socket.try_clone()?;
        let shared = Arc::new(Shared {
            socket,
            local_addr,
            routes: Mutex::new(Routes::default()),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(read_loop(Arc::clone(&shared), reader, coalesce));
        Ok(Arc::new(BatchUdpMux { shared }))
    }

    /// Datagrams dropped because no connection claimed them (or one was closed).
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A poisoned lock only means a panic elsewhere while holding it; the maps
        // themselves are always consistent (single inserts/removes).
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands one datagram to its connection.
    fn route(&self, data: &[u8], from: SocketAddr) {
        let conn = {
            let routes = self.routes();
            match routes.by_addr.get(&from) {
                Some(c) => Some(Arc::clone(c)),
                None if is_stun(data) => {
                    local_ufrag(data).and_then(|u| routes.by_ufrag.get(&u).cloned())
                }
                None => None,
            }
        };
        let delivered = conn.is_some_and(|c| c.deliver(data.to_vec(), from));
        if !delivered {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets every route to `conn` (only entries that still point to it).
    fn forget(&self, conn: &Arc<MuxConn>) {
        let mut routes = self.routes();
        if routes
            .by_ufrag
            .get(&conn.ufrag)
            .is_some_and(|c| Arc::ptr_eq(c, conn))
        {
            routes.by_ufrag.remove(&conn.ufrag);
        }
        routes.by_addr.retain(|_, c| !Arc::ptr_eq(c, conn));
    }
}

/// The local ufrag named by a STUN message's USERNAME ("local:remote").
fn local_ufrag(data: &[u8]) -> Option<String> {
    let mut m = StunMessage::new();
    m.unmarshal_binary(data).ok()?;
    let (attr, found) = m.attributes.get(ATTR_USERNAME);
    if !found {
        return None;
    }
    let username = String::from_utf8(attr.value).ok()?;
    username.split(':').next().map(str::to_owned)
}

/// The reader task; ends when the mux closes. Two modes:
/// - idle: the socket is registered with the runtime and the task waits for a datagram;
/// - streaming: the socket is taken off the runtime (arriving datagrams wake nothing) and
///   the task wakes every `coalesce` to take everything that arrived, until two batches
///   in a row come back empty.
///
/// While media flows the runtime thus wakes once per `coalesce` for all peers together
/// (rather than once per datagram), and an idle server does not wake at all.
async fn read_loop(shared: Arc<Shared>, mut socket: UdpSocket, coalesce: Duration) {
    let mut buf = vec![0u8; RECEIVE_MTU];
    while !shared.closed.load(Ordering::Relaxed) {
        let ready;
        (socket, ready) = match wait_readable(socket).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("media socket wait failed, no more media is received: {e}");
                return;
            }
        };
        if !ready {
            continue;
        }
        let mut empty = 0;
        while empty < 2 && !shared.closed.load(Ordering::Relaxed) {
            let mut taken = drain(&shared, &socket, &mut buf);
            while taken == MAX_BATCH {
                taken = drain(&shared, &socket, &mut buf);
            }
            empty = if taken == 0 { empty + 1 } else { 0 };
            tokio::time::sleep(coalesce).await;
        }
    }
}

/// Registers the socket with the runtime until a datagram is waiting (true) or
/// IDLE_POLL passes (false), then takes it off again.
async fn wait_readable(socket: UdpSocket) -> std::io::Result<(UdpSocket, bool)> {
    let registered = tokio::net::UdpSocket::from_std(socket)?;
    let ready = tokio::time::timeout(IDLE_POLL, registered.readable())
        .await
        .is_ok_and(|r| r.is_ok());
    Ok((registered.into_std()?, ready))
}

/// Takes every datagram waiting on the socket (at most MAX_BATCH) and routes it.
/// Returns how many it took.
fn drain(shared: &Shared, socket: &UdpSocket, buf: &mut [u8]) -> usize {
    let mut taken = 0;
    while taken < MAX_BATCH {
        match socket.recv_from(buf) {
            Ok((n, from)) => {
                taken += 1;
                shared.route(buf.get(..n).unwrap_or_default(), from);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            // E.g. an ICMP error reported on the socket: that datagram is gone, the next
            // one is not.
            Err(e) => {
                tracing::debug!("media socket receive error: {}", e.kind());
                break;
            }
        }
    }
    taken
}

#[async_trait::async_trait]
impl UDPMux for BatchUdpMux {
    async fn close(&self) -> Result<(), ConnError> {
        if self.shared.closed.swap(true, Ordering::Relaxed) {
            return Err(ConnError::ErrAlreadyClosed);
        }
        let conns: Vec<_> = {
            let mut routes = self.shared.routes();
            routes.by_addr.clear();
            routes.by_ufrag.drain().map(|(_, c)| c).collect()
        };
        for c in conns {
            c.shut();
        }
        Ok(())
    }

    async fn get_conn(
        self: Arc<Self>,
        ufrag: &str,
    ) -> Result<Arc<dyn Conn + Send + Sync>, ConnError> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return Err(ConnError::ErrUseClosedNetworkConn);
        }
        let mut routes = self.shared.routes();
        if let Some(c) = routes.by_ufrag.get(ufrag) {
            return Ok(Arc::new(ConnHandle(Arc::clone(c))));
        }
        let conn = MuxConn::new(ufrag, Arc::clone(&self.shared));
        routes.by_ufrag.insert(ufrag.to_owned(), Arc::clone(&conn));
        Ok(Arc::new(ConnHandle(conn)))
    }

    async fn remove_conn_by_ufrag(&self, ufrag: &str) {
        let conn = self.shared.routes().by_ufrag.get(ufrag).cloned();
        if let Some(c) = conn {
            self.shared.forget(&c);
            c.shut();
        }
    }
}

/// One ICE agent's view of the shared socket.
struct MuxConn {
    ufrag: String,
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::UnboundedSender<Datagram>>>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Datagram>>,
    addresses: Mutex<HashSet<SocketAddr>>,
}

impl MuxConn {
    fn new(ufrag: &str, shared: Arc<Shared>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(MuxConn {
            ufrag: ufrag.to_owned(),
            shared,
            tx: Mutex::new(Some(tx)),
            rx: tokio::sync::Mutex::new(rx),
            addresses: Mutex::new(HashSet::new()),
        })
    }

    /// Queues a datagram for the agent; false once the connection is closed.
    fn deliver(&self, data: Vec<u8>, from: SocketAddr) -> bool {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.as_ref().is_some_and(|tx| tx.send((data, from)).is_ok())
    }

    /// Ends the agent's reads (they see the connection closed once drained).
    fn shut(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn is_shut(&self) -> bool {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }
}

/// What the agent holds (`Conn` needs its own `Arc` to register addresses).
struct ConnHandle(Arc<MuxConn>);

/// An IPv4 target on an IPv6 socket is written as its IPv4-mapped address.
fn normalize(target: SocketAddr, local: SocketAddr) -> SocketAddr {
    match (target, local) {
        (SocketAddr::V4(t), SocketAddr::V6(_)) => {
            SocketAddr::new(std::net::IpAddr::V6(t.ip().to_ipv6_mapped()), t.port())
        }
        _ => target,
    }
}

#[async_trait::async_trait]
impl Conn for ConnHandle {
    async fn connect(&self, _addr: SocketAddr) -> Result<(), ConnError> {
        Err(std::io::Error::other("not applicable to a muxed connection").into())
    }

    async fn recv(&self, _buf: &mut [u8]) -> Result<usize, ConnError> {
        Err(std::io::Error::other("not applicable to a muxed connection").into())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), ConnError> {
        let mut rx = self.0.rx.lock().await;
        let Some((data, from)) = rx.recv().await else {
            return Err(ConnError::ErrUseClosedNetworkConn);
        };
        let out = buf.get_mut(..data.len()).ok_or(ConnError::ErrBufferShort)?;
        out.copy_from_slice(&data);
        Ok((data.len(), from))
    }

    async fn send(&self, _buf: &[u8]) -> Result<usize, ConnError> {
        Err(std::io::Error::other("not applicable to a muxed connection").into())
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> Result<usize, ConnError> {
        let conn = &self.0;
        if conn.is_shut() {
            return Err(ConnError::ErrUseClosedNetworkConn);
        }
        let shared = &conn.shared;
        let target = normalize(target, shared.local_addr);
        let new_address = conn
            .addresses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target);
        if new_address {
            // First send to this address: datagrams from it are now ours.
            shared.routes().by_addr.insert(target, Arc::clone(conn));
        }
        // The socket is non-blocking; a full send buffer (rare for UDP) is waited out
        // in 1 ms steps rather than blocking the runtime thread.
        let mut attempts = 0;
        loop {
            match shared.socket.send_to(buf, target) {
                Ok(sent) => return Ok(sent),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock && attempts < SEND_RETRIES => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn local_addr(&self) -> Result<SocketAddr, ConnError> {
        Ok(self.0.shared.local_addr)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> Result<(), ConnError> {
        self.0.shared.forget(&self.0);
        self.0.shut();
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    //! Real UDP sockets on 127.0.0.1 (no WebRTC): routing by STUN ufrag, by address once
    //! the connection has sent there, dropping strangers, and closing.
    use super::*;
    use webrtc::stun::agent::TransactionId;
    use webrtc::stun::message::{BINDING_REQUEST, Setter};
    use webrtc::stun::textattrs::TextAttribute;

    fn binding_request(username: &str) -> Vec<u8> {
        let mut m = StunMessage::new();
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId::new()),
            Box::new(TextAttribute::new(ATTR_USERNAME, username.to_owned())),
        ];
        m.build(&setters).unwrap();
        m.raw
    }

    async fn recv(conn: &Arc<dyn Conn + Send + Sync>) -> (Vec<u8>, SocketAddr) {
        let mut buf = vec![0u8; 1500];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), conn.recv_from(&mut buf))
            .await
            .expect("a datagram within 5 s")
            .unwrap();
        buf.truncate(n);
        (buf, from)
    }

    async fn nothing_for(conn: &Arc<dyn Conn + Send + Sync>, ms: u64) {
        let mut buf = vec![0u8; 1500];
        let r = tokio::time::timeout(Duration::from_millis(ms), conn.recv_from(&mut buf)).await;
        assert!(r.is_err(), "expected no datagram, got {r:?}");
    }

    async fn wait_dropped(mux: &BatchUdpMux, n: u64) {
        for _ in 0..500 {
            if mux.dropped() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} dropped datagrams, saw {}", mux.dropped());
    }

    #[tokio::test]
    async fn routes_by_ufrag_then_by_address_and_drops_strangers() {
        for coalesce in [Duration::from_millis(1), Duration::from_millis(5)] {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = socket.local_addr().unwrap();
            let mux = BatchUdpMux::start(socket, coalesce).unwrap();
            let a = Arc::clone(&mux).get_conn("ufragA").await.unwrap();
            let b = Arc::clone(&mux).get_conn("ufragB").await.unwrap();
            let peer_a = UdpSocket::bind("127.0.0.1:0").unwrap();
            let peer_b = UdpSocket::bind("127.0.0.1:0").unwrap();

            // Strangers: not STUN, and STUN for a ufrag nobody holds.
            peer_a.send_to(b"\x80\x60media", port).unwrap();
            peer_a.send_to(&binding_request("nobody:x"), port).unwrap();
            wait_dropped(&mux, 2).await;

            // STUN finds its connection by the local ufrag.
            let req = binding_request("ufragA:remote");
            peer_a.send_to(&req, port).unwrap();
            let (got, from) = recv(&a).await;
            assert_eq!(got, req);
            assert_eq!(from, peer_a.local_addr().unwrap());

            // Media from an address is routed only once the connection sent there.
            peer_b.send_to(b"\x80\x60before", port).unwrap();
            wait_dropped(&mux, 3).await;
            b.send_to(b"hello", peer_b.local_addr().unwrap())
                .await
                .unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = peer_b.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], port));
            // A burst arrives whole and in order, and only at b.
            for i in 0..50u8 {
                peer_b.send_to(&[0x80, 0x60, i], port).unwrap();
            }
            for i in 0..50u8 {
                let (got, _) = recv(&b).await;
                assert_eq!(got, [0x80, 0x60, i]);
            }
            nothing_for(&a, 50).await;
            assert_eq!(mux.dropped(), 3);

            // Closing b: its reads end, its address is no longer routed, a's still work.
            b.close().await.unwrap();
            let mut buf = [0u8; 16];
            assert!(b.recv_from(&mut buf).await.is_err());
            assert!(b.send_to(b"x", peer_b.local_addr().unwrap()).await.is_err());
            peer_b.send_to(b"\x80\x60after", port).unwrap();
            wait_dropped(&mux, 4).await;
            peer_a.send_to(&req, port).unwrap();
            assert_eq!(recv(&a).await.0, req);

            // Closing the mux ends every connection.
            mux.close().await.unwrap();
            assert!(a.recv_from(&mut buf).await.is_err());
            assert!(Arc::clone(&mux).get_conn("ufragC").await.is_err());
        }
    }

    #[tokio::test]
    async fn the_same_ufrag_is_one_connection() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap();
        let mux = BatchUdpMux::start(socket, Duration::from_millis(2)).unwrap();
        let first = Arc::clone(&mux).get_conn("u1").await.unwrap();
        let second = Arc::clone(&mux).get_conn("u1").await.unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        second
            .send_to(b"hi", peer.local_addr().unwrap())
            .await
            .unwrap();
        peer.send_to(b"\x80\x60back", port).unwrap();
        assert_eq!(recv(&first).await.0, b"\x80\x60back");
        mux.remove_conn_by_ufrag("u1").await;
        let mut buf = [0u8; 16];
        assert!(first.recv_from(&mut buf).await.is_err());
    }
}
