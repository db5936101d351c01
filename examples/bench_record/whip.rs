//! WHIP ingest (RFC 9725) for the benchmark: a publish-only peer connection that the
//! server records but sends nothing to, so the server's cost is receiving and recording
//! only — the same work as the `ffmpeg -c copy` baseline (plus SRTP, ICE and RTCP).

use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

/// Applies our offer or answer and waits until every candidate is gathered (for
/// signalling without trickle); the local SDP with the candidates.
pub async fn set_local_gathered(
    pc: &RTCPeerConnection,
    d: RTCSessionDescription,
) -> anyhow::Result<String> {
    let mut gathered = pc.gathering_complete_promise().await;
    pc.set_local_description(d).await?;
    let _ = gathered.recv().await;
    Ok(pc
        .local_description()
        .await
        .context("no local description")?
        .sdp)
}

/// Sends the peer's offer (every candidate gathered: WHIP has no trickle) to
/// `POST /whip` with the invite token and applies the answer.
pub async fn publish(pc: &RTCPeerConnection, addr: &str, token: &str) -> anyhow::Result<()> {
    let offer = pc.create_offer(None).await?;
    let sdp = set_local_gathered(pc, offer).await?;
    let (addr, token) = (addr.to_owned(), token.to_owned());
    let answer = tokio::task::spawn_blocking(move || post(&addr, &token, &sdp)).await??;
    pc.set_remote_description(RTCSessionDescription::answer(answer)?)
        .await?;
    Ok(())
}

fn post(addr: &str, token: &str, sdp: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr).context("server reachable")?;
    let req = format!(
        "POST /whip HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    s.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.1 201") {
        bail!(
            "WHIP POST: {}",
            head.lines().next().unwrap_or("no response")
        );
    }
    Ok(body.to_owned())
}
