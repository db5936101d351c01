//! A raw HTTP/1.1 request over TCP: any method, target bytes (NUL, non-UTF-8, 10 KB
//! segments), headers and body, with `Connection: close`; the answer's status line.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longer than any request may take: past it, the request counts as a hang.
pub const HANG: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Req {
    pub method: String,
    pub target: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, target: impl Into<Vec<u8>>) -> Req {
        Req {
            method: method.to_owned(),
            target: target.into(),
            headers: vec![],
            body: vec![],
        }
    }

    pub fn header(mut self, k: &str, v: impl Into<Vec<u8>>) -> Req {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Req {
        self.body = b.into();
        self
    }

    /// A short description for failure messages (targets and bodies cut).
    pub fn describe(&self) -> String {
        let cut = |b: &[u8], n: usize| {
            let s = String::from_utf8_lossy(&b[..b.len().min(n)]).into_owned();
            format!("{s}{}", if b.len() > n { "…" } else { "" })
        };
        let hs: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", cut(v, 40)))
            .collect();
        format!(
            "{} {} {hs:?} body {} bytes: {}",
            self.method,
            cut(&self.target, 120),
            self.body.len(),
            cut(&self.body, 80)
        )
    }

    fn bytes_head(&self, addr: SocketAddr) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(self.method.as_bytes());
        h.push(b' ');
        h.extend_from_slice(&self.target);
        h.extend_from_slice(
            format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").as_bytes(),
        );
        for (k, v) in &self.headers {
            h.extend_from_slice(k.as_bytes());
            h.extend_from_slice(b": ");
            h.extend_from_slice(v);
            h.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            h.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    }
}

/// Sends `req` and returns the response status; Err if no status line came back (a
/// dropped connection) or nothing came within [`HANG`].
pub async fn send(addr: SocketAddr, req: &Req) -> Result<u16, String> {
    let head = req.bytes_head(addr);
    let body = req.body.clone();
    let exchange = async move {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut rd, mut wr) = stream.into_split();
        // Written while the answer is read: the server may answer (413) before it
        // takes the whole body. The write half lives until the answer is read.
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(&head).await;
            let _ = wr.write_all(&body).await;
            wr
        });
        let mut buf = Vec::new();
        let _ = rd.read_to_end(&mut buf).await;
        writer.abort();
        let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
        let text = String::from_utf8_lossy(line);
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|_| text.starts_with("HTTP/1.1 "))
            .ok_or_else(|| format!("no response ({} bytes)", buf.len()))
    };
    tokio::time::timeout(HANG, exchange)
        .await
        .map_err(|_| "no answer within 10 s".to_owned())?
}
