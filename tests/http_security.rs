//! Attacks on the HTTP layer (issue #12), each performed against a running server:
//! password hashing as a weapon, slow clients, foreign origins on sockets and exports,
//! sessions and accounts, plain HTTP off loopback, caching and CSP headers.
//! Attackers on other addresses use 127.0.0.x sources (all of 127/8 is loopback).
#![cfg(feature = "server")]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestServer;
use common::peer::ws_request;
use common::ws::WsClient;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use sworn::domain::StaffRole;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

/// A TCP connection to `server` from source address `from`.
async fn connect_from(server: SocketAddr, from: &str) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    sock.connect(server).await.unwrap()
}

struct Reply {
    status: u16,
    head: String,
    body: Value,
}

/// One HTTP/1.1 request over a fresh connection from `from` (Connection: close).
async fn request(
    server: SocketAddr,
    from: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut s = connect_from(server, from).await;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut resp))
        .await
        .expect("the server answers")
        .unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_owned(),
        body: serde_json::from_str(rest).unwrap_or(Value::Null),
    }
}

fn login_body(user: &str, password: &str) -> Value {
    json!({"username": user, "password": password})
}

/// A sign-in over a real connection from source address `from`.
async fn login_from(server: SocketAddr, from: &str, user: &str, password: &str) -> Reply {
    let body = login_body(user, password);
    request(server, from, "POST", "/api/login", &[], Some(&body)).await
}

/// The status of a sign-in through the router.
async fn login_status(c: &common::Client, user: &str, password: &str) -> StatusCode {
    c.call(Method::POST, "/api/login", Some(login_body(user, password)))
        .await
        .0
}

fn set_cookie(head: &str) -> Option<String> {
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .map(|l| l["set-cookie:".len()..].trim().to_owned())
}

// --- 3. Password hashing as a weapon -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_costs_no_hashes_and_does_not_lock_the_judge_out() {
    let server = TestServer::start_with(|c| c.sign_in.per_minute = 40).await;
    server.staff("judge", StaffRole::Judge).await;
    let addr = server.addr;
    let throttle = || server.state.sign_in.hashes_started();

    // Wrong passwords for the judge's name from one address: 5 are hashed, then 429.
    let before = throttle();
    let mut codes = Vec::new();
    for _ in 0..15 {
        let r = login_from(addr, "127.0.0.2", "judge", "guessing-guessing").await;
        codes.push(r.status);
    }
    assert_eq!(codes[..5], [401; 5], "{codes:?}");
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    assert_eq!(throttle() - before, 5, "refused attempts cost no hash");

    // The judge, from their own address, still signs in.
    let r = login_from(addr, "127.0.0.1", "judge", "judge-password-long").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Random usernames from one address: each costs a hash until the address's budget
    // (20 a minute; the 5 attempts above counted, the refused ones did not) is spent,
    // then none.
    let before = throttle();
    let mut codes = Vec::new();
    for i in 0..30 {
        let r = login_from(addr, "127.0.0.2", &format!("random-{i}"), "x").await;
        codes.push(r.status);
    }
    assert_eq!(codes[..15], [401; 15], "{codes:?}");
    assert!(codes[15..].iter().all(|c| *c == 429), "{codes:?}");
    assert_eq!(throttle() - before, 15);

    // Many addresses, one attempt each: the global budget (40 a minute here) stops
    // them; the judge's address (signed in before) is not held by it.
    let mut global = 0;
    for i in 3..60 {
        let r = login_from(addr, &format!("127.0.0.{i}"), &format!("someone-{i}"), "x").await;
        if r.status == 429 {
            global += 1;
        }
    }
    assert!(global > 0, "the global budget refused some");
    let r = login_from(addr, "127.0.0.1", "judge", "judge-password-long").await;
    assert_eq!(r.status, 200, "{}", r.body);
    server.stop().await;
}

#[tokio::test]
async fn setup_checks_its_token_before_hashing() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let before = server.state.sign_in.hashes_started();
    let (s, v) = anon
        .call(
            Method::POST,
            "/api/setup",
            Some(json!({"token": "x".repeat(43), "username": "judge", "password": "a long enough passphrase"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("invite_invalid"))
    );
    assert_eq!(server.state.sign_in.hashes_started(), before);
    // The real link still works (and hashes once).
    let link = sworn::http::auth::create_setup_link(&server.state, StaffRole::Judge)
        .await
        .unwrap();
    let token = link.rsplit('/').next().unwrap();
    let (s, _) = anon
        .call(
            Method::POST,
            "/api/setup",
            Some(json!({"token": token, "username": "judge", "password": "a long enough passphrase"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(server.state.sign_in.hashes_started(), before + 1);
}

// --- 4. Slow clients ------------------------------------------------------------------

/// Sends a request head on `s` one byte at a time and never ends it; returns once the
/// server closes the connection.
async fn slowloris(s: TcpStream) {
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        let head = b"GET / HTTP/1.1\r\nHost: court\r\nX-Slow: ";
        for b in head.iter().chain(std::iter::repeat(&b'a')) {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut buf = [0u8; 1024];
    while let Ok(n) = rd.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
    writer.abort();
}

/// Sends nothing on `s`; returns once the server closes the connection.
async fn silent(mut s: TcpStream) {
    let mut buf = [0u8; 64];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_and_hearings_go_on() {
    let server = TestServer::start_with(|c| {
        c.http.header_timeout = Duration::from_secs(2);
        c.http.body_timeout = Duration::from_secs(2);
        c.http.idle_timeout = Duration::from_secs(3);
        c.http.max_connections_per_address = Some(100);
    })
    .await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let addr = server.addr;

    // 300 connections trickling headers from one address (100 are admitted, the rest
    // closed at once), 100 silent ones from another. Connected one after another: a
    // burst of SYNs makes the kernel answer with SYN cookies, and a cookie connection
    // whose ACK finds the accept queue full is forgotten by the server while the
    // client, silent, never learns it.
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let s = connect_from(addr, "127.0.0.2").await;
        attackers.spawn(async move {
            slowloris(s).await;
            "slow"
        });
    }
    for _ in 0..100 {
        let s = connect_from(addr, "127.0.0.3").await;
        attackers.spawn(async move {
            silent(s).await;
            "silent"
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Meanwhile the court works: a page, the API, a hearing with a participant.
    let r = request(addr, "127.0.0.1", "GET", "/signin", &[], None).await;
    assert_eq!(r.status, 200);
    let cookie = judge.cookie.clone().unwrap();
    let csrf = judge.csrf.clone().unwrap();
    let auth = [("Cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let r = request(
        addr,
        "127.0.0.1",
        "POST",
        "/api/hearings",
        &auth,
        Some(&json!({"case_ref": "CR-1", "mla_ref": "MLA/1", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let h = r.body["id"].as_str().unwrap().to_owned();
    let r = request(
        addr,
        "127.0.0.1",
        "POST",
        &format!("/api/hearings/{h}/participants"),
        &auth,
        Some(&json!({"display_name": "Witness W", "role": "witness"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let wid = r.body["participant"]["id"].as_str().unwrap().to_owned();
    let wtok = r.body["invite_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let r = request(
        addr,
        "127.0.0.1",
        "POST",
        &format!("/api/hearings/{h}/open"),
        &auth,
        Some(&json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = WsClient::connect(&server.ws_url(&format!("/ws/hearings/{h}")), Some(&cookie)).await;
    j.wait_type("welcome").await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.send(json!({"type": "hello", "display_name": "Witness W"}));
    w.wait_type("lobby").await;
    let r = request(
        addr,
        "127.0.0.1",
        "POST",
        &format!("/api/hearings/{h}/participants/{wid}/admit"),
        &auth,
        Some(&json!({})),
    )
    .await;
    assert!((200..300).contains(&r.status), "{}", r.body);
    w.wait_type("admitted").await;

    // Every slow connection is closed by the server (header or idle timeout), none
    // lingers: a generous bound, only to detect a hang.
    let mut closed = std::collections::HashMap::<&str, usize>::new();
    let all_closed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(kind) = attackers.join_next().await {
            *closed.entry(kind.unwrap()).or_default() += 1;
        }
    })
    .await;
    assert!(
        all_closed.is_ok(),
        "slow connections still open; closed: {closed:?}"
    );

    // A body that never finishes: 408 after the body timeout.
    let mut s = connect_from(addr, "127.0.0.1").await;
    s.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: court\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let mut resp = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut resp))
        .await
        .expect("an answer, not a hang")
        .unwrap();
    let text = String::from_utf8_lossy(&resp[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");

    let r = request(
        addr,
        "127.0.0.1",
        "GET",
        &format!("/api/hearings/{h}"),
        &auth,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    j.close().await;
    w.close().await;
    server.stop().await;
}

// --- 5. Origin ------------------------------------------------------------------------

/// The status and error code of a refused WebSocket handshake.
fn ws_refusal(e: tokio_tungstenite::tungstenite::Error) -> (u16, String) {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => {
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default())
                .unwrap_or(Value::Null);
            (
                resp.status().as_u16(),
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_refuse_foreign_and_missing_origins() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (_, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let cookie = judge.cookie.clone().unwrap();
    for path in [format!("/ws/hearings/{h}"), format!("/ws/join/{wtok}")] {
        let url = server.ws_url(&path);
        for origin in [
            Some("http://evil.example"),
            Some("null"),
            Some("https://127.0.0.1"),
            None,
        ] {
            let mut req = ws_request(&url, Some(&cookie));
            match origin {
                Some(o) => {
                    req.headers_mut().insert("origin", o.parse().unwrap());
                }
                None => {
                    req.headers_mut().remove("origin");
                }
            }
            let e = tokio_tungstenite::connect_async(req).await.unwrap_err();
            assert_eq!(
                ws_refusal(e),
                (403, "origin_mismatch".to_owned()),
                "{path} {origin:?}"
            );
        }
        // Our own origin is let in.
        let (ws, _) = tokio_tungstenite::connect_async(ws_request(&url, Some(&cookie)))
            .await
            .unwrap();
        drop(ws);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_foreign_page_cannot_make_an_export() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = server.sealed_hearing(&judge).await;
    judge
        .post(
            &format!("/api/hearings/{h}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    let path = format!("/api/portal/hearings/{h}/bundle.zip");
    let get = |extra: Vec<(&'static str, String)>| {
        let mut req = Request::builder()
            .uri(path.clone())
            .header(header::COOKIE, pros.cookie.clone().unwrap());
        for (k, v) in extra {
            req = req.header(k, v);
        }
        let state = server.state.clone();
        async move {
            let resp = sworn::http::router(state)
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let s = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            (
                s,
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }
    };
    let custody = server.state.custody.size();
    for extra in [
        vec![("origin", "http://evil.example".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
    ] {
        let (s, v) = get(extra.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("origin_mismatch")),
            "{extra:?}"
        );
    }
    assert_eq!(
        server.state.custody.size(),
        custody,
        "no export was recorded"
    );
    // A link on our own page (no Origin on a same-origin navigation), or our Origin.
    let own = server.state.config.public_origin();
    for extra in [
        vec![],
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("origin", own)],
    ] {
        let (s, _) = get(extra.clone()).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{extra:?}");
    }
}

// --- 10. Sessions and accounts ------------------------------------------------------------

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    // Every call here comes from one (in-process) address: room for them all.
    let server = TestServer::start_with(|c| c.sign_in.per_user_per_address_per_minute = 20).await;
    let a = server.staff("judge", StaffRole::Judge).await;
    let mut b = server.anonymous();
    let (s, v, cookie) = b
        .raw(
            Method::POST,
            "/api/login",
            Some(login_body("judge", "judge-password-long")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    b.cookie = cookie;
    b.csrf = v["csrf"].as_str().map(str::to_owned);
    let change = |current: &str| json!({"current_password": current, "new_password": "a brand new passphrase"});

    // Without CSRF, or with the wrong current password: refused, nothing changes.
    let mut no_csrf = server.anonymous();
    no_csrf.cookie = a.cookie.clone();
    let (s, v) = no_csrf
        .call(
            Method::POST,
            "/api/me/password",
            Some(change("judge-password-long")),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let (s, v) = a
        .call(
            Method::POST,
            "/api/me/password",
            Some(change("not-my-password")),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_password"))
    );
    assert_eq!(b.call(Method::GET, "/api/me", None).await.0, StatusCode::OK);

    // B's console socket is open on a hearing when A changes the password.
    let h = a.hearing().await;
    let console = common::ws::WsClient::connect(
        &server.ws_url(&format!("/ws/hearings/{h}")),
        b.cookie.as_deref(),
    )
    .await;
    console.wait_type("welcome").await;
    let v = a
        .post("/api/me/password", change("judge-password-long"))
        .await;
    assert_eq!(v["other_sessions_ended"], 1);
    // The open socket of the ended session is closed too, not only new requests.
    assert_eq!(
        console.wait_closed().await.0,
        sworn::hearing::protocol::close::UNAUTHORIZED
    );
    assert_eq!(
        b.call(Method::GET, "/api/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(a.call(Method::GET, "/api/me", None).await.0, StatusCode::OK);
    let anon = server.anonymous();
    assert_eq!(
        login_status(&anon, "judge", "judge-password-long").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&anon, "judge", "a brand new passphrase").await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_is_out_at_once() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let data = server.dir.path().join("data");
    let sworn = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn"))
            .args(["--data-dir", data.to_str().unwrap(), "user"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    sworn(&["disable", "--username", "judge"]);
    assert_eq!(
        judge.call(Method::GET, "/api/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(sworn(&["list"]).contains("judge\tjudge\tDefault court\tdisabled"));
    let anon = server.anonymous();
    assert_eq!(
        login_status(&anon, "judge", "judge-password-long").await,
        StatusCode::UNAUTHORIZED
    );
    sworn(&["enable", "--username", "judge"]);
    assert_eq!(
        login_status(&anon, "judge", "judge-password-long").await,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn expired_sessions_are_purged_at_sign_in() {
    let server = TestServer::start().await;
    server.staff("judge", StaffRole::Judge).await;
    let judge = server
        .state
        .store
        .user_by_name("judge")
        .await
        .unwrap()
        .unwrap();
    let now = sworn::secrets::now_unix();
    for i in 0..3 {
        server
            .state
            .store
            .create_session(&format!("expired-{i}"), &judge.id, "csrf", now - 1)
            .await
            .unwrap();
    }
    let db = server.dir.path().join("data/sworn.sqlite3");
    let expired = || {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE expires_at <= ?1",
                [sworn::secrets::now_unix()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
    };
    assert_eq!(expired(), 3);
    let anon = server.anonymous();
    assert_eq!(
        login_status(&anon, "judge", "judge-password-long").await,
        StatusCode::OK
    );
    assert_eq!(expired(), 0);
    assert_eq!(
        server
            .state
            .store
            .purge_expired_sessions(now + 1)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn https_uses_a_host_prefixed_secure_cookie() {
    let server = TestServer::start_with(|c| c.public_url = "https://court.example".into()).await;
    server.staff("judge", StaffRole::Judge).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            login_body("judge", "judge-password-long").to_string(),
        ))
        .unwrap();
    let resp = sworn::http::router(server.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set.starts_with("__Host-sworn_session="), "{set}");
    for part in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Strict"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let pair = set.split(';').next().unwrap().to_owned();
    let token = pair.split_once('=').unwrap().1.to_owned();
    let mut c = server.anonymous();
    c.cookie = Some(pair);
    assert_eq!(c.call(Method::GET, "/api/me", None).await.0, StatusCode::OK);
    // The unprefixed name is not read on an HTTPS server.
    c.cookie = Some(format!("sworn_session={token}"));
    assert_eq!(
        c.call(Method::GET, "/api/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

// --- 11. Plain HTTP off loopback ---------------------------------------------------------

#[tokio::test]
async fn plain_http_off_loopback_is_refused() {
    use sworn::config::{Config, ConfigError, TlsMode};
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data"));
    let lan: IpAddr = "0.0.0.0".parse().unwrap();
    assert!(matches!(
        config.plain_http_check(lan),
        Err(ConfigError::Invalid {
            key: "tls.mode",
            ..
        })
    ));
    assert_eq!(
        config
            .plain_http_check("127.0.0.1".parse().unwrap())
            .unwrap(),
        None
    );
    assert_eq!(
        config.plain_http_check("::1".parse().unwrap()).unwrap(),
        None
    );
    let mut tls = config.clone();
    tls.tls = TlsMode::SelfSigned;
    assert_eq!(tls.plain_http_check(lan).unwrap(), None);

    // `serve` itself refuses before answering anything.
    let app = sworn::app::App::build(config.clone()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let run = tokio::time::timeout(
        Duration::from_secs(10),
        app.run(listener, std::future::pending()),
    )
    .await
    .expect("refused at once, not served");
    let message = run.unwrap_err().to_string();
    assert!(message.contains("dangerous_plain_http"), "{message}");

    // With the dangerous setting (a TLS-terminating proxy in front) it serves, warned.
    config.dangerous_plain_http = true;
    assert!(
        config
            .plain_http_check(lan)
            .unwrap()
            .unwrap()
            .contains("plain HTTP")
    );
    let app = sworn::app::App::build(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run(listener, async {
        let _ = rx.await;
    }));
    let r = request(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "127.0.0.1",
        "GET",
        "/signin",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let _ = tx.send(());
    task.await.unwrap().unwrap();

    // The key, from a file and from the environment.
    let path = dir.path().join("sworn.toml");
    std::fs::write(&path, "[server]\ndangerous_plain_http = true\n").unwrap();
    assert!(
        Config::load(Some(&path), &|_| None)
            .unwrap()
            .dangerous_plain_http
    );
    let env = |k: &str| (k == "SWORN_DANGEROUS_PLAIN_HTTP").then(|| "1".to_owned());
    assert!(Config::load(None, &env).unwrap().dangerous_plain_http);
    assert!(!Config::load(None, &|_| None).unwrap().dangerous_plain_http);
}

// --- 15. Headers ------------------------------------------------------------------------------

#[tokio::test]
async fn csp_names_only_this_server_and_api_responses_are_not_stored() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (_, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let addr = server.addr;

    let r = request(addr, "127.0.0.1", "GET", "/console", &[], None).await;
    let csp = r
        .head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .unwrap()
        .to_owned();
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .unwrap();
    assert_eq!(connect, format!("connect-src 'self' ws://{addr}"));

    let https =
        TestServer::start_with(|c| c.public_url = "https://court.example:8443/".into()).await;
    let r = request(https.addr, "127.0.0.1", "GET", "/", &[], None).await;
    assert!(
        r.head
            .contains("connect-src 'self' wss://court.example:8443;"),
        "{}",
        r.head
    );

    // Every API answer that can carry a token, a cookie or credentials: no-store,
    // failures included.
    let cookie = judge.cookie.clone().unwrap();
    let csrf = judge.csrf.clone().unwrap();
    let signed_in = [("Cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Option<Value>);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/login".into(),
            vec![],
            Some(login_body("judge", "judge-password-long")),
        ),
        (
            "POST",
            "/api/login".into(),
            vec![],
            Some(login_body("judge", "wrong-password")),
        ),
        ("GET", "/api/me".into(), signed_in.to_vec(), None),
        ("GET", "/api/me".into(), vec![], None),
        ("GET", format!("/api/join/{wtok}"), vec![], None),
        (
            "GET",
            format!("/api/hearings/{h}"),
            signed_in.to_vec(),
            None,
        ),
        (
            "POST",
            "/api/setup".into(),
            vec![],
            Some(json!({"token": "x", "username": "a", "password": "b"})),
        ),
        ("GET", "/api/nothing-here".into(), vec![], None),
        ("GET", format!("/ws/join/{wtok}"), vec![], None),
    ];
    for (method, path, headers, body) in cases {
        let r = request(addr, "127.0.0.1", method, &path, &headers, body.as_ref()).await;
        assert!(
            r.head.lines().any(|l| l == "cache-control: no-store"),
            "{method} {path}: {}",
            r.head
        );
        if path == "/api/login" && r.status == 200 {
            assert!(set_cookie(&r.head).is_some());
        }
    }
    https.stop().await;
    server.stop().await;
}
