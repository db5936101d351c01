//! A minimal HTTP/1.1 client over a TCP socket, for tests that talk to a separately
//! started `sworn serve` process (no HTTP client crate needed).

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;

pub struct Remote {
    pub addr: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Remote {
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value, Option<String>) {
        let mut s = TcpStream::connect(&self.addr).expect("server reachable");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        if let Some(c) = &self.cookie {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if let Some(t) = &self.csrf {
            req.push_str(&format!("x-csrf-token: {t}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let text = String::from_utf8_lossy(&resp).into_owned();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let cookie = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .and_then(|l| l.split_once(':'))
            .and_then(|(_, v)| v.trim().split(';').next())
            .map(str::to_owned);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::Null),
            cookie,
        )
    }

    pub fn login(&mut self, user: &str, password: &str) {
        let (s, v, cookie) = self.request(
            "POST",
            "/api/login",
            Some(&serde_json::json!({"username": user, "password": password})),
        );
        assert_eq!(s, 200, "{v}");
        self.cookie = cookie;
        self.csrf = v["csrf"].as_str().map(str::to_owned);
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let (s, v, _) = self.request("POST", path, Some(&body));
        assert!((200..300).contains(&s), "POST {path}: {s} {v}");
        v
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
