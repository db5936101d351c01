//! ICE over TCP, passive side (RFC 6544): for a witness whose network blocks UDP, the
//! browser opens a TCP connection to the server's passive candidate and sends the same
//! STUN, DTLS and SRTP datagrams, each framed by a 2-byte length (RFC 4571).
//!
//! The media loop owns the listener and every stream (non-blocking, on its poller). A
//! stream carries at most one ICE candidate pair; its frames enter str0m exactly as UDP
//! datagrams do, with `Protocol::Tcp` and the peer's address as the source. Bounded:
//! streams in all, bytes buffered per stream, frame size; a stream that sends a
//! malformed frame, overflows its buffers or stays silent is closed.

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Tokens at and above this are TCP streams (below: UDP sockets and the listener).
pub(super) const STREAM_TOKEN_BASE: usize = 1 << 20;
/// Most TCP streams open at once.
const MAX_STREAMS: usize = 2048;
/// Largest frame accepted (a datagram's worth; RFC 4571 allows 65535).
const MAX_FRAME: usize = 2048;
/// Most bytes waiting to be sent on one stream before it is closed as stuck.
const MAX_OUT: usize = 1 << 20;
/// A stream that carried nothing for this long is closed (ICE consent checks every few s).
const IDLE: Duration = Duration::from_secs(30);

struct Stream {
    sock: TcpStream,
    peer: SocketAddr,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    last_rx: Instant,
}

/// The passive TCP candidate's listener and its streams.
pub(super) struct TcpStreams {
    listener: Option<TcpListener>,
    pub advertised: Option<SocketAddr>,
    streams: HashMap<usize, Stream>,
    by_peer: HashMap<SocketAddr, usize>,
    next: usize,
}

impl TcpStreams {
    pub fn new(listener: Option<(TcpListener, SocketAddr)>) -> TcpStreams {
        let (listener, advertised) = match listener {
            Some((l, a)) => (Some(l), Some(a)),
            None => (None, None),
        };
        TcpStreams {
            listener,
            advertised,
            streams: HashMap::new(),
            by_peer: HashMap::new(),
            next: 0,
        }
    }

    pub fn register_listener(&mut self, registry: &Registry, token: Token) -> std::io::Result<()> {
        match self.listener.as_mut() {
            Some(l) => registry.register(l, token, Interest::READABLE),
            None => Ok(()),
        }
    }

    /// Takes every pending connection.
    pub fn accept(&mut self, registry: &Registry) {
        let Some(listener) = self.listener.as_ref() else {
            return;
        };
        loop {
            let (mut sock, peer) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return, // e.g. out of file descriptors: try at the next event
            };
            if self.streams.len() >= MAX_STREAMS {
                continue; // dropped: closes it
            }
            let _ = sock.set_nodelay(true);
            self.next = self.next.wrapping_add(1) % (usize::MAX - STREAM_TOKEN_BASE);
            let id = self.next;
            let token = Token(STREAM_TOKEN_BASE + id);
            if registry
                .register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                continue;
            }
            if let Some(old) = self.by_peer.insert(peer, id) {
                self.streams.remove(&old);
            }
            self.streams.insert(
                id,
                Stream {
                    sock,
                    peer,
                    inbuf: Vec::with_capacity(4096),
                    out: Vec::new(),
                    last_rx: Instant::now(),
                },
            );
        }
    }

    /// Reads what a stream has; calls `frame(peer, bytes)` for each complete frame.
    /// Returns the number of frames, and closes the stream on EOF, error or a bad frame.
    pub fn read(
        &mut self,
        token: Token,
        registry: &Registry,
        mut frame: impl FnMut(SocketAddr, &[u8]),
    ) -> usize {
        let id = token.0.wrapping_sub(STREAM_TOKEN_BASE);
        let Some(s) = self.streams.get_mut(&id) else {
            return 0;
        };
        let mut chunk = [0u8; 4096];
        let mut frames = 0;
        let mut close = false;
        loop {
            match s.sock.read(&mut chunk) {
                Ok(0) => {
                    close = true;
                    break;
                }
                Ok(n) => {
                    s.last_rx = Instant::now();
                    s.inbuf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    match take_frames(&mut s.inbuf, |f| frame(s.peer, f)) {
                        Ok(k) => frames += k,
                        Err(()) => {
                            close = true;
                            break;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    close = true;
                    break;
                }
            }
        }
        if close {
            self.close(id, registry);
        }
        frames
    }

    /// Sends one datagram to `peer` on its stream (framed); false if there is none.
    pub fn send(&mut self, peer: SocketAddr, data: &[u8], registry: &Registry) -> bool {
        let Some(&id) = self.by_peer.get(&peer) else {
            return false;
        };
        let Ok(len) = u16::try_from(data.len()) else {
            return false;
        };
        let Some(s) = self.streams.get_mut(&id) else {
            return false;
        };
        if s.out.len() + data.len() + 2 > MAX_OUT {
            self.close(id, registry);
            return false;
        }
        s.out.extend_from_slice(&len.to_be_bytes());
        s.out.extend_from_slice(data);
        if !flush(s) {
            self.close(id, registry);
        }
        true
    }

    /// A stream became writable: sends what waits.
    pub fn writable(&mut self, token: Token, registry: &Registry) {
        let id = token.0.wrapping_sub(STREAM_TOKEN_BASE);
        if let Some(s) = self.streams.get_mut(&id) {
            if !flush(s) {
                self.close(id, registry);
            }
        }
    }

    /// Closes streams silent for too long.
    pub fn expire(&mut self, now: Instant, registry: &Registry) {
        let idle: Vec<usize> = self
            .streams
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_rx) >= IDLE)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            self.close(id, registry);
        }
    }

    fn close(&mut self, id: usize, registry: &Registry) {
        if let Some(mut s) = self.streams.remove(&id) {
            let _ = registry.deregister(&mut s.sock);
            if self.by_peer.get(&s.peer) == Some(&id) {
                self.by_peer.remove(&s.peer);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.streams.len()
    }
}

/// Writes what waits on a stream; false on a hard error.
fn flush(s: &mut Stream) -> bool {
    while !s.out.is_empty() {
        match s.sock.write(&s.out) {
            Ok(0) => return false,
            Ok(n) => {
                s.out.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

/// Takes the complete RFC 4571 frames at the front of `buf`, calling `f` for each;
/// keeps a partial frame. Err on an empty or oversized frame.
fn take_frames(buf: &mut Vec<u8>, mut f: impl FnMut(&[u8])) -> Result<usize, ()> {
    let mut at = 0;
    let mut n = 0;
    while let Some(head) = buf.get(at..at + 2) {
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if len == 0 || len > MAX_FRAME {
            return Err(());
        }
        let Some(frame) = buf.get(at + 2..at + 2 + len) else {
            break;
        };
        f(frame);
        n += 1;
        at += 2 + len;
    }
    buf.drain(..at);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let frames: Vec<Vec<u8>> = (1..20u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        let mut wire = Vec::new();
        for f in &frames {
            wire.extend_from_slice(&(f.len() as u16).to_be_bytes());
            wire.extend_from_slice(f);
        }
        for step in [1, 2, 3, 5, 64, wire.len()] {
            let mut buf = Vec::new();
            let mut got: Vec<Vec<u8>> = Vec::new();
            for chunk in wire.chunks(step) {
                buf.extend_from_slice(chunk);
                take_frames(&mut buf, |f| got.push(f.to_vec())).unwrap();
            }
            assert_eq!(got, frames, "chunks of {step}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn empty_and_oversized_frames_are_refused() {
        let mut buf = vec![0, 0, 1];
        assert!(take_frames(&mut buf, |_| {}).is_err());
        let mut buf = vec![0xff, 0xff];
        assert!(take_frames(&mut buf, |_| {}).is_err());
    }

    #[test]
    fn a_stream_delivers_frames_and_answers() {
        use std::io::{Read as _, Write as _};
        let poll = mio::Poll::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut t = TcpStreams::new(Some((listener, addr)));
        t.register_listener(poll.registry(), Token(1)).unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(&[0, 3, b'a', b'b', b'c', 0, 1]).unwrap();
        client.write_all(b"d").unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < 2 && Instant::now() < deadline {
            t.accept(poll.registry());
            let tokens: Vec<usize> = t.streams.keys().copied().collect();
            for id in tokens {
                t.read(Token(STREAM_TOKEN_BASE + id), poll.registry(), |_, f| {
                    got.push(f.to_vec())
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got, vec![b"abc".to_vec(), b"d".to_vec()]);
        let peer = client.local_addr().unwrap();
        assert!(t.send(peer, b"xyz", poll.registry()));
        let mut back = [0u8; 5];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, &[0, 3, b'x', b'y', b'z']);
        // A malformed frame closes the stream.
        client.write_all(&[0, 0]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while t.len() > 0 && Instant::now() < deadline {
            let tokens: Vec<usize> = t.streams.keys().copied().collect();
            for id in tokens {
                t.read(Token(STREAM_TOKEN_BASE + id), poll.registry(), |_, _| {});
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(t.len(), 0);
    }
}
