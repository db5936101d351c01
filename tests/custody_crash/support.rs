//! Support for tests/custody_crash.rs: a real `sworn serve` child process on a free
//! loopback port, accounts made with `sworn user add`, a sealed hearing granted to a
//! prosecutor, raw HTTP GETs that report what arrived, and the custody log on disk.
//! Test support only: it must never touch anything outside its own data directory.

use super::http::Remote;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sworn");
pub const NAME: &str = "sworn.test";
pub const PROS: &str = "pros (prosecutor)";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(data: &Path, failpoint: bool) -> Server {
        let port = free_port();
        // This test is about durability under kill -9, not quotas: the load threads
        // make far more requests than a person would.
        let config = data.with_file_name("crash-test.toml");
        std::fs::write(
            &config,
            "[retrieval]\nrequests_per_minute = 1000000\nexports_per_hour = 10000\n",
        )
        .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&config)
            .arg("serve")
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

    pub fn remote(&self, user: &str) -> Remote {
        let mut r = Remote {
            addr: self.addr.clone(),
            cookie: None,
            csrf: None,
        };
        r.login(user, &format!("{user}-password-long"));
        r
    }

    /// SIGKILL and reap.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let st = self.child.wait().unwrap();
        assert_eq!(st.signal(), Some(9), "{st}");
    }
}

pub fn add_user(data: &Path, name: &str, role: &str) {
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
pub fn sealed_and_granted(data: &Path) -> String {
    add_user(data, "judge", "judge");
    add_user(data, "pros", "prosecutor");
    let server = Server::start(data, false);
    let judge = server.remote("judge");
    let h = judge.post("/api/hearings", json!({"case_ref": "CR-9", "mla_ref": "MLA/9", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}))["id"]
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
pub struct Got {
    pub any: bool,
    pub status: u16,
    pub body_bytes: usize,
    /// The Location header of a redirect.
    pub location: Option<String>,
}

/// GET over a fresh connection; never fails (a dead server gives `any == false`).
pub fn raw_get(addr: &str, cookie: &str, path: &str, range: Option<&str>) -> Option<Got> {
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
        got.location = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("location:"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned());
    }
    Some(got)
}

/// The complete (newline-terminated, parseable) entries of the custody log on disk.
pub fn custody_entries(data: &Path) -> Vec<Value> {
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

pub fn custody_verify(data: &Path) -> String {
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

pub fn pros_retrievals(data: &Path, h: &str) -> Vec<Value> {
    custody_entries(data)
        .into_iter()
        .filter(|e| e["type"] == "retrieval" && e["user"] == PROS && e["retrieved_hearing"] == h)
        .collect()
}
