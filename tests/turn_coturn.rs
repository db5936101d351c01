//! sworn's TURN credentials against a real TURN server: Debian's coturn (`turnserver`
//! with `use-auth-secret`) on 127.0.0.1, driven by the package's own client
//! `turnutils_uclient` (two clients allocate relays with the long-term credential
//! mechanism and send packets to each other through them).
//! - The credential sworn hands a connection (config loaded from a secret file, as
//!   `sworn serve` loads it) allocates, and packets flow through the relays.
//! - One made with another secret, and one whose expiry has passed, are refused: the
//!   client cannot allocate and coturn logs 401 for that username, never a success.
//!
//! Fixed ports: run inside the loopback-only network namespace (scripts/test). coturn's
//! log goes to `$SWORN_ARTIFACTS/turn-coturn.log`.
#![cfg(feature = "server")]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use sworn::config::Config;
use sworn::turn_credentials::TurnSecret;

const PORT: u16 = 34780;

struct Coturn {
    child: Child,
    log: PathBuf,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Coturn {
    /// `turnserver` on 127.0.0.1:PORT, relaying on 127.0.0.1 only, time-limited
    /// credentials from `secret`, no TLS/DTLS, no CLI, its own database and pid file.
    fn start(dir: &Path, secret: &str, log: PathBuf) -> Coturn {
        let _ = std::fs::remove_file(&log);
        let child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={PORT}"),
                "--min-port=49160",
                "--max-port=49200",
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=sworn.test",
                "--no-tls",
                "--no-dtls",
                "--allow-loopback-peers",
                "--no-cli",
                "--verbose",
                "--simple-log",
                "--no-stdout-log",
                &format!("--log-file={}", log.display()),
                &format!("--db={}", dir.join("turndb").display()),
                &format!("--pidfile={}", dir.join("turnserver.pid").display()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("turnserver (Debian coturn: scripts/install-deps --test) did not start: {e}")
            });
        let coturn = Coturn { child, log };
        coturn.wait_ready();
        coturn
    }

    /// Until coturn answers a STUN Binding request (bounded: 20 s).
    fn wait_ready(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(("127.0.0.1", PORT)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // Binding request: type 0x0001, length 0, magic cookie, transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        request.extend_from_slice(b"sworn-turn-t");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            if socket.send(&request).is_ok() {
                if let Ok(n) = socket.recv(&mut buf) {
                    if n >= 20 && buf[..2] == [0x01, 0x01] && buf[8..20] == request[8..20] {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "coturn did not answer STUN on 127.0.0.1:{PORT}; see {}",
            self.log.display()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Until coturn's log holds `needle` (it is written line by line; bounded: 20 s).
    fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("coturn's log never said {needle:?}: {}", self.log.display());
    }
}

/// Two `turnutils_uclient` clients allocating with `username`/`password` and sending 3
/// packets to each other through their relays. Returns whether it succeeded, and its
/// output.
fn uclient(username: &str, password: &str) -> (bool, String) {
    let port = PORT.to_string();
    let out = Command::new("timeout")
        .args([
            "60",
            "turnutils_uclient",
            "-p",
            &port,
            "-u",
            username,
            "-w",
            password,
            "-y",
            "-c",
            "-X",
            "-n",
            "3",
            "127.0.0.1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("turnutils_uclient (Debian coturn) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The last `tot_recv_msgs=N` uclient printed.
fn received_messages(output: &str) -> u64 {
    output
        .rsplit("tot_recv_msgs=")
        .next()
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0)
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("SWORN_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn now_unix() -> u64 {
    u64::try_from(sworn::secrets::now_unix()).unwrap()
}

#[test]
fn coturn_accepts_sworns_credentials_and_refuses_wrong_or_expired_ones() {
    let dir = tempfile::tempdir().unwrap();
    let secret = sworn::secrets::new_token();
    // As an operator writes it: a trailing newline, which is not part of the secret.
    let secret_file = dir.path().join("turn-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let coturn = Coturn::start(dir.path(), &secret, artifacts().join("turn-coturn.log"));

    let url = format!("turn:127.0.0.1:{PORT}?transport=udp");
    let file = secret_file.display().to_string();
    let env = |k: &str| match k {
        "SWORN_TURN_URLS" => Some(url.clone()),
        "SWORN_TURN_SECRET_FILE" => Some(file.clone()),
        _ => None,
    };
    let config = Config::load(None, &env).unwrap();
    let ttl = config.turn.as_ref().unwrap().ttl.as_secs();

    // What a participant connection is handed.
    let before = now_unix();
    let servers = config.ice_servers_now();
    let after = now_unix();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].urls, vec![url.clone()]);
    let username = servers[0].username.clone().unwrap();
    let password = servers[0].credential.clone().unwrap();
    let (expiry, id) = username.split_once(':').unwrap();
    let expiry: u64 = expiry.parse().unwrap();
    assert!((before + ttl..=after + ttl).contains(&expiry), "{username}");
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "opaque id: {id}"
    );

    let (ok, out) = uclient(&username, &password);
    assert!(ok, "sworn's credential was refused:\n{out}");
    assert!(
        received_messages(&out) > 0,
        "nothing came through the relays:\n{out}"
    );
    coturn.wait_log(&format!(
        "user <{username}>: incoming packet ALLOCATE processed, success"
    ));

    // The same kind of username, signed with another secret.
    let other = TurnSecret::new(b"not-the-secret-coturn-has-0123456789").unwrap();
    let wrong = other.credential(now_unix(), ttl, "0000000000000000000000000000000a");
    // A credential of the right secret whose expiry has passed.
    let expired = config.ice_servers_for(now_unix() - 2 * ttl, "0000000000000000000000000000000b");
    let expired_user = expired[0].username.clone().unwrap();
    let expired_pass = expired[0].credential.clone().unwrap();
    for (username, password) in [
        (wrong.username.as_str(), wrong.password.as_str()),
        (expired_user.as_str(), expired_pass.as_str()),
    ] {
        let (ok, out) = uclient(username, password);
        assert!(!ok, "{username} was accepted:\n{out}");
        coturn.wait_log(&format!(
            "user <{username}>: incoming packet message processed, error 401"
        ));
        assert!(
            !coturn.log_text().contains(&format!(
                "user <{username}>: incoming packet ALLOCATE processed, success"
            )),
            "{username} allocated"
        );
    }
}
