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
    use std::io::Write as _;
    let mut add = Command::new(bin)
        .args([
            "user",
            "add",
            "--username",
            "judge",
            "--role",
            "judge",
            "--password-stdin",
        ])
        .env("SWORN_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"judge-password-long")
        .unwrap();
    assert!(add.wait().unwrap().success());
}
