//! Custody under kill -9 (issue #5), against the real `sworn serve` process:
//! (a) the debug-build failpoint `SWORN_FAILPOINT=custody-after-append` kills the server
//!     right after a download's custody entry is durable and before any response: the
//!     client gets no byte, and after a restart the entry is there, `sworn custody verify`
//!     passes and the court's custody list shows it;
//! (b) black box: downloads and views in flight from several threads, SIGKILL at a seeded
//!     moment, restart, repeat: every request that received a body byte has its custody
//!     entry, and the log verifies after well over 100 retrievals across the restarts.
//!
//! Loopback TCP only (no WebRTC). Each test has its own data directory and ports.
#![cfg(feature = "server")]

#[path = "common/http.rs"]
mod http;

use http::Remote;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sworn");
const NAME: &str = "sworn.test";
const PROS: &str = "pros (prosecutor)";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(data: &Path, failpoint: bool) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("SWORN_DATA_DIR", data)
            .env("SWORN_SERVER_NAME", NAME)
            .env("SWORN_BIND", format!("127.0.0.1:{port}"))
            .env("SWORN_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("SWORN_LOOPBACK_ONLY", "1")
            .env("SWORN_LOG", "warn")
            .env_remove("SWORN_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if failpoint {
            cmd.env("SWORN_FAILPOINT", "custody-after-append");
        }
        let mut child = cmd.spawn().unwrap();
        for _ in 0..400 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server {
                    child,
                    addr: format!("127.0.0.1:{port}"),
                };
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("server exited at start: {st}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("server did not start");
    }

    fn remote(&self, user: &str) -> Remote {
        let mut r = Remote {
            addr: self.addr.clone(),
            cookie: None,
            csrf: None,
        };
        r.login(user, &format!("{user}-password-long"));
        r
    }

    /// SIGKILL and reap.
    fn kill(mut self) {
        self.child.kill().unwrap();
        let st = self.child.wait().unwrap();
        assert_eq!(st.signal(), Some(9), "{st}");
    }
}

fn add_user(data: &Path, name: &str, role: &str) {
    let mut add = Command::new(BIN)
        .args(["user", "add", "--username", name, "--role", role])
        .arg("--password-stdin")
        .env("SWORN_DATA_DIR", data)
        .env("SWORN_SERVER_NAME", NAME)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{name}-password-long").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());
}

/// A fresh data directory with a judge and a prosecutor, one hearing opened, closed and
/// sealed, and retrieval granted to the prosecutor. Returns the hearing id.
fn sealed_and_granted(data: &Path) -> String {
    add_user(data, "judge", "judge");
    add_user(data, "pros", "prosecutor");
    let server = Server::start(data, false);
    let judge = server.remote("judge");
    let h = judge.post("/api/hearings", json!({"case_ref": "CR-9", "mla_ref": "MLA/9", "requesting_state": "Utopia", "requested_state": "Erewhon", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    judge.post(
        &format!("/api/hearings/{h}/participants"),
        json!({"display_name": "Witness W", "role": "witness"}),
    );
    judge.post(&format!("/api/hearings/{h}/open"), json!({}));
    judge.post(&format!("/api/hearings/{h}/close"), json!({}));
    let hdir = data.join("hearings").join(&h);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(hdir.join("bundle.zip").is_file() && hdir.join("bundle/manifest.json").is_file()) {
        assert!(Instant::now() < deadline, "hearing not sealed in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The zip is renamed into place last; give the seal a moment to finish its state.
    let (s, _, _) = judge.request("GET", &format!("/api/hearings/{h}"), None);
    assert_eq!(s, 200);
    let mut granted = false;
    for _ in 0..100 {
        let (s, _, _) = judge.request(
            "POST",
            &format!("/api/hearings/{h}/grants"),
            Some(&json!({"username": "pros"})),
        );
        if s == 201 {
            granted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(granted, "grant refused");
    server.kill();
    h
}

/// What one raw GET received: the bytes before the blank line and after it.
#[derive(Debug, Default)]
struct Got {
    any: bool,
    status: u16,
    body_bytes: usize,
}

/// GET over a fresh connection; never fails (a dead server gives `any == false`).
fn raw_get(addr: &str, cookie: &str, path: &str, range: Option<&str>) -> Option<Got> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n");
    if let Some(r) = range {
        req.push_str(&format!("Range: {r}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return Some(Got::default());
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut got = Got {
        any: !buf.is_empty(),
        ..Got::default()
    };
    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..end]);
        got.status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        got.body_bytes = buf.len() - end - 4;
    }
    Some(got)
}

/// The complete (newline-terminated, parseable) entries of the custody log on disk.
fn custody_entries(data: &Path) -> Vec<Value> {
    let bytes = std::fs::read(data.join("custody/entries.jsonl")).unwrap_or_default();
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => &bytes[..i],
        None => &[][..],
    };
    complete
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn custody_verify(data: &Path) -> String {
    let out = Command::new(BIN)
        .args(["custody", "verify"])
        .env("SWORN_DATA_DIR", data)
        .env("SWORN_SERVER_NAME", NAME)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "custody verify: {text}");
    text
}

fn pros_retrievals(data: &Path, h: &str) -> Vec<Value> {
    custody_entries(data)
        .into_iter()
        .filter(|e| e["type"] == "retrieval" && e["user"] == PROS && e["retrieved_hearing"] == h)
        .collect()
}

#[test]
fn failpoint_after_custody_append_entry_survives_no_byte_served() {
    let tmp = tempfile::tempdir().unwrap();
    let data: PathBuf = tmp.path().join("data");
    let h = sealed_and_granted(&data);
    let before = custody_entries(&data).len();

    // The armed server dies at its first custody append: the download.
    let server = Server::start(&data, true);
    let pros = server.remote("pros");
    let cookie = pros.cookie.clone().unwrap();
    let got = raw_get(
        &server.addr,
        &cookie,
        &format!("/api/portal/hearings/{h}/bundle.zip"),
        None,
    )
    .expect("connected");
    assert!(!got.any, "the killed server sent something: {got:?}");
    let mut child = server.child;
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "died by SIGKILL: {st}");

    // The entry was durable before the kill.
    let after = custody_entries(&data);
    assert_eq!(after.len(), before + 1);
    let e = after.last().unwrap();
    assert_eq!(e["type"], "retrieval");
    assert_eq!(e["user"], PROS);
    assert_eq!(e["retrieved_hearing"], h.as_str());
    assert!(
        e["what"]
            .as_str()
            .unwrap()
            .starts_with("download bundle.zip"),
        "{e}"
    );
    let seq = e["seq"].clone();
    println!("crashed state: {}", custody_verify(&data).trim());

    // Restarted (unarmed): the log verifies and the court's custody list shows the entry.
    let server = Server::start(&data, false);
    let judge = server.remote("judge");
    let (s, v, _) = judge.request("GET", &format!("/api/hearings/{h}/grants"), None);
    assert_eq!(s, 200, "{v}");
    let listed = v["custody"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["seq"] == seq && c["user"] == PROS);
    assert!(listed, "custody list lacks entry {seq}: {v}");
    server.kill();
    println!("after restart: {}", custody_verify(&data).trim());
}

/// One request a load thread made.
#[derive(Debug)]
enum Req {
    /// `Range: bytes=<start>-` of bundle.zip; the start is unique in the whole test.
    Download { start: u64, body: bool },
    /// The portal summary.
    Summary { body: bool },
}

/// Tiny seeded generator (xorshift) for the kill moments and request mix.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn sigkill_under_load_every_served_request_has_a_custody_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let data: PathBuf = tmp.path().join("data");
    let h = sealed_and_granted(&data);
    let zip_len = std::fs::metadata(data.join("hearings").join(&h).join("bundle.zip"))
        .unwrap()
        .len();
    assert!(zip_len > 1000, "bundle.zip is {zip_len} bytes");
    let counter = Arc::new(AtomicU64::new(1));
    let mut all: Vec<Req> = Vec::new();
    let mut rounds = 0;
    for seed in [11u64, 23, 37, 41, 59, 61, 73, 89, 97, 101, 103, 107] {
        let served = all
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Req::Download { body: true, .. } | Req::Summary { body: true }
                )
            })
            .count();
        if rounds >= 4 && served >= 120 {
            break;
        }
        rounds += 1;
        let server = Server::start(&data, false);
        let cookie = server.remote("pros").cookie.clone().unwrap();
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let kill_after = Duration::from_millis(400 + next(&mut x) % 2600);
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (addr, cookie, h, counter) = (
                    server.addr.clone(),
                    cookie.clone(),
                    h.clone(),
                    counter.clone(),
                );
                let mut y = (seed << 8 | t).wrapping_mul(0xd129_0b5f) | 1;
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    // Bounded: stops when the server is gone, or after 200 requests.
                    for _ in 0..200 {
                        let res = if next(&mut y) % 5 == 0 {
                            raw_get(&addr, &cookie, &format!("/api/portal/hearings/{h}"), None).map(
                                |g| Req::Summary {
                                    body: g.status == 200 && g.body_bytes > 0,
                                },
                            )
                        } else {
                            let start = counter.fetch_add(1, Ordering::SeqCst);
                            assert!(start < zip_len, "ran out of unique range starts");
                            raw_get(
                                &addr,
                                &cookie,
                                &format!("/api/portal/hearings/{h}/bundle.zip"),
                                Some(&format!("bytes={start}-")),
                            )
                            .map(|g| {
                                assert!(
                                    !g.any || g.status == 206 || g.status == 0,
                                    "unexpected status {g:?}"
                                );
                                Req::Download {
                                    start,
                                    body: g.body_bytes > 0,
                                }
                            })
                        };
                        match res {
                            Some(r) => out.push(r),
                            None => break, // connection refused: the server is dead
                        }
                    }
                    out
                })
            })
            .collect();
        std::thread::sleep(kill_after);
        server.kill();
        let mut round: Vec<Req> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        println!(
            "seed {seed}: killed after {} ms, {} requests in this round ({} with a body byte)",
            kill_after.as_millis(),
            round.len(),
            round
                .iter()
                .filter(|r| matches!(
                    r,
                    Req::Download { body: true, .. } | Req::Summary { body: true }
                ))
                .count()
        );
        all.append(&mut round);
    }

    // Restart once more: the server recovers the log; then it must verify.
    let server = Server::start(&data, false);
    let _ = server.remote("judge");
    server.kill();
    println!("{}", custody_verify(&data).trim());

    let entries = pros_retrievals(&data, &h);
    let whats: Vec<&str> = entries.iter().filter_map(|e| e["what"].as_str()).collect();
    let mut served = 0;
    let mut summaries_served = 0;
    for r in &all {
        match r {
            Req::Download { start, body: true } => {
                served += 1;
                let tag = format!(" bytes {start}-");
                assert!(
                    whats
                        .iter()
                        .any(|w| w.starts_with("download bundle.zip") && w.contains(&tag)),
                    "download from byte {start} was served without a custody entry"
                );
            }
            Req::Summary { body: true } => {
                served += 1;
                summaries_served += 1;
            }
            _ => {}
        }
    }
    let summary_entries = whats.iter().filter(|w| **w == "view summary").count();
    assert!(
        summary_entries >= summaries_served,
        "{summaries_served} summaries served, {summary_entries} custody entries"
    );
    println!(
        "{rounds} kill -9 rounds: {} requests, {served} served a body byte, {} custody entries for the prosecutor",
        all.len(),
        entries.len()
    );
    assert!(rounds >= 4, "{rounds} rounds");
    assert!(
        entries.len() >= 100,
        "only {} retrievals logged",
        entries.len()
    );
    assert!(served >= 100, "only {served} requests served");
}
