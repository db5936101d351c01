//! A real `sworn serve` process on 127.0.0.1 (for kill -9 and SIGTERM tests).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `sworn serve` on `data` and `port`; returns once it accepts connections.
pub fn start(bin: &str, data: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(bin)
        .arg("serve")
        .env("SWORN_DATA_DIR", data)
        .env("SWORN_BIND", format!("127.0.0.1:{port}"))
        .env("SWORN_LOOPBACK_ONLY", "1")
        .env("SWORN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

/// Adds a judge account `judge` / `judge-password-long` to `data`.
pub fn add_judge(bin: &str, data: &std::path::Path) {
    add_judge_with(bin, data, &[]);
}

/// [`add_judge`] with more environment (`SWORN_DATABASE_URL`, say).
pub fn add_judge_with(bin: &str, data: &std::path::Path, env: &[(&str, &str)]) {
    add_user_with(bin, data, env, "judge", "judge");
}

/// Adds the account `name` / `NAME-password-long` with `role` to `data`.
pub fn add_user_with(
    bin: &str,
    data: &std::path::Path,
    env: &[(&str, &str)],
    name: &str,
    role: &str,
) {
    use std::io::Write as _;
    let mut add = Command::new(bin)
        .envs(env.iter().copied())
        .args(["user", "add", "--username", name, "--role", role])
        .arg("--password-stdin")
        .env("SWORN_DATA_DIR", data)
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

/// A participant invited through `r` (a judge's session on a `sworn serve`), joined
/// from `ws_base` (`ws://127.0.0.1:PORT`) and admitted: the peer, its invitation token
/// and its id. The peer has seen `lobby`; it sees `admitted` next.
pub async fn invite_join_admit(
    r: &super::http::Remote,
    api: &webrtc::api::API,
    h: &str,
    ws_base: &str,
    name: &str,
    role: &str,
) -> (super::peer::Peer, String, String) {
    use serde_json::json;
    let v = r.post(
        &format!("/api/hearings/{h}/participants"),
        json!({"display_name": name, "role": role}),
    );
    let token = v["invite_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let pid = v["participant"]["id"].as_str().unwrap().to_owned();
    let p = super::peer::Peer::connect(api, &format!("{ws_base}/ws/join/{token}"), None).await;
    p.wait_type("lobby").await;
    r.post(
        &format!("/api/hearings/{h}/participants/{pid}/admit"),
        json!({}),
    );
    (p, token, pid)
}
