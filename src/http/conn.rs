//! Connections: the accept path in front of the router. Caps open connections (over all
//! clients and per client address), closes a connection that stays silent in both
//! directions for `idle_timeout`, gives a request head (and a TLS handshake)
//! `header_timeout` to arrive, then hands the connection to hyper.
//!
//! Owns: the accept loop and its limits. Must never: log a client address, or keep a
//! connection past its limits because a handler is slow to notice.

use super::AppState;
use super::throttle::ClientKey;
use crate::config::HttpLimits;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::collections::HashMap;
use std::future::{Future, Ready};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// How long a graceful shutdown waits for open requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `state`'s router on `listener` (over TLS with `tls`) until `shutdown`.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = state.config.http.clone();
    let app = super::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let h2 = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h2.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let guard = GuardAcceptor {
        limiter: Arc::new(ConnLimiter::new(&limits)),
        idle: limits.idle_timeout,
    };
    let listener = listener.into_std()?;
    match tls {
        None => {
            let mut server = axum_server::from_tcp(listener).acceptor(guard);
            configure(server.http_builder(), &limits);
            server.handle(handle).serve(app).await
        }
        Some(tls) => {
            let acceptor = RustlsAcceptor::new(tls)
                .handshake_timeout(limits.header_timeout)
                .acceptor(guard);
            let mut server = axum_server::from_tcp(listener).acceptor(acceptor);
            configure(server.http_builder(), &limits);
            server.handle(handle).serve(app).await
        }
    }
}

fn configure(builder: &mut Builder<TokioExecutor>, limits: &HttpLimits) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
}

/// Counts open connections.
struct ConnLimiter {
    max: usize,
    per_address: Option<usize>,
    open: Mutex<(usize, HashMap<ClientKey, usize>)>,
}

impl ConnLimiter {
    fn new(limits: &HttpLimits) -> ConnLimiter {
        ConnLimiter {
            max: limits.max_connections,
            per_address: limits.max_connections_per_address,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    fn admit(self: &Arc<Self>, key: ClientKey) -> Option<ConnPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.0 >= self.max {
            return None;
        }
        let mine = open.1.entry(key).or_insert(0);
        if self.per_address.is_some_and(|cap| *mine >= cap) {
            return None;
        }
        *mine += 1;
        open.0 += 1;
        Some(ConnPermit {
            limiter: self.clone(),
            key,
        })
    }
}

/// One open connection; counted until dropped.
struct ConnPermit {
    limiter: Arc<ConnLimiter>,
    key: ClientKey,
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

/// Admits a TCP connection within the caps (closing it otherwise) and puts the idle
/// timeout around it.
#[derive(Clone)]
struct GuardAcceptor {
    limiter: Arc<ConnLimiter>,
    idle: Duration,
}

impl<S> Accept<TcpStream, S> for GuardAcceptor {
    type Stream = Guarded<TcpStream>;
    type Service = S;
    type Future = Ready<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream
            .peer_addr()
            .ok()
            .and_then(|peer| self.limiter.admit(ClientKey::of(peer.ip())));
        std::future::ready(match admitted {
            Some(permit) => Ok((Guarded::new(stream, self.idle, permit), service)),
            None => {
                tracing::debug!("connection refused: connection limit");
                Err(io::Error::other("connection limit"))
            }
        })
    }
}

/// A connection that fails with `TimedOut` once nothing was read or written for
/// `idle`.
struct Guarded<IO> {
    io: IO,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _permit: ConnPermit,
}

impl<IO> Guarded<IO> {
    fn new(io: IO, idle: Duration, permit: ConnPermit) -> Self {
        Guarded {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            _permit: permit,
        }
    }

    fn progressed(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// The inner I/O's answer, watched: progress moves the deadline; `Pending` past
    /// the deadline becomes a `TimedOut` error (the timer wakes the task when it passes).
    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.progressed();
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        this.watch(cx, r)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, r)
    }
}
