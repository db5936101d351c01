//! The HTTP API through the router: sign-in, CSRF, hearings, invite links and their
//! failures, the staff policy on every endpoint, bad input, pages and static files.
#![cfg(feature = "server")]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestServer;
use serde_json::json;
use sworn::domain::StaffRole;
use tower::ServiceExt;

async fn raw_get(server: &TestServer, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let resp = sworn::http::router(server.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn sign_in_session_and_csrf() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let anon = server.anonymous();

    let (s, v) = anon.call(Method::GET, "/api/me", None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let me = judge.get("/api/me").await;
    assert_eq!(me["user"]["role"], "judge");

    // Wrong password, unknown user: the same 401.
    for body in [
        json!({"username": "judge", "password": "wrong-password-xx"}),
        json!({"username": "nobody", "password": "x"}),
    ] {
        let (s, v) = anon.call(Method::POST, "/api/login", Some(body)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }

    // A cookie without the CSRF header cannot write.
    let mut no_csrf = server.anonymous();
    no_csrf.cookie = judge.cookie.clone();
    let (s, v) = no_csrf
        .call(Method::POST, "/api/hearings", Some(json!({})))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    no_csrf.csrf = Some("x".repeat(43));
    let (s, _) = no_csrf
        .call(Method::POST, "/api/hearings", Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Reading works with the cookie alone.
    assert_eq!(
        no_csrf.call(Method::GET, "/api/hearings", None).await.0,
        StatusCode::OK
    );

    // The session cookie is HttpOnly and SameSite=Strict.
    let (_, _, cookie) = anon
        .raw(
            Method::POST,
            "/api/login",
            Some(json!({"username": "judge", "password": "judge-password-long"})),
        )
        .await;
    assert!(cookie.is_some());

    // Sign out ends the session.
    let (s, _) = judge
        .call(Method::POST, "/api/logout", Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        judge.call(Method::GET, "/api/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        last = anon
            .call(
                Method::POST,
                "/api/login",
                Some(json!({"username": "mallory", "password": "guess-guess-guess"})),
            )
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn first_judge_from_the_one_time_link() {
    let server = TestServer::start().await;
    let link = sworn::http::auth::create_setup_link(&server.state, StaffRole::Judge)
        .await
        .unwrap();
    let token = link.rsplit('/').next().unwrap().to_owned();
    let (s, _, _) = raw_get(&server, &format!("/setup/{token}")).await;
    assert_eq!(s, StatusCode::OK);
    let anon = server.anonymous();
    let (s, v) = anon
        .call(
            Method::POST,
            "/api/setup",
            Some(json!({"token": token, "username": "presiding", "password": "short"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let body =
        json!({"token": token, "username": "presiding", "password": "a long enough passphrase"});
    let (s, v, cookie) = anon
        .raw(Method::POST, "/api/setup", Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["role"], "judge");
    assert!(cookie.is_some());
    // One time only.
    let body2 =
        json!({"token": token, "username": "second", "password": "a long enough passphrase"});
    let (s, v) = anon.call(Method::POST, "/api/setup", Some(body2)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("invite_invalid"))
    );
}

#[tokio::test]
async fn hearing_lifecycle_and_invites() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let list = judge.get("/api/hearings").await;
    assert_eq!(list["hearings"][0]["id"], h.as_str());
    assert_eq!(list["hearings"][0]["state"], "scheduled");

    let (pid, token) = judge.invite(&h, "W. Witness", "witness").await;
    assert_eq!(token.len(), 43, "256-bit token, base64url");
    // Only the hash is stored.
    let db = std::fs::read(server.dir.path().join("data/sworn.sqlite3")).unwrap();
    let wal = std::fs::read(server.dir.path().join("data/sworn.sqlite3-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "raw token stored"
        );
    }

    let info = server.anonymous().get(&format!("/api/join/{token}")).await;
    assert_eq!(info["participant"]["id"], pid.as_str());
    assert_eq!(info["participant"]["role"], "witness");
    assert_eq!(info["hearing"]["case_ref"], "CR-2026-001");
    let (s, _, page) = raw_get(&server, &format!("/join/{token}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<html"));

    // Re-issuing invalidates the old link.
    let v = judge
        .post(
            &format!("/api/hearings/{h}/participants/{pid}/invite"),
            json!({}),
        )
        .await;
    let new_token = v["invite_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (s, v) = server
        .anonymous()
        .call(Method::GET, &format!("/api/join/{token}"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("invite_invalid"))
    );
    server
        .anonymous()
        .get(&format!("/api/join/{new_token}"))
        .await;

    // Revoked: 410 with its own code, on the API and on the page.
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{pid}/revoke"),
            json!({}),
        )
        .await;
    let (s, v) = server
        .anonymous()
        .call(Method::GET, &format!("/api/join/{new_token}"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::GONE, Some("invite_revoked"))
    );
    let (s, _, page) = raw_get(&server, &format!("/join/{new_token}")).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(page.contains("withdrawn"));

    // Unknown and malformed tokens.
    for bad in [
        "x".repeat(43),
        "short".into(),
        "..%2F..%2Fetc%2Fpasswd".into(),
        "%00".into(),
    ] {
        let (s, _, page) = raw_get(&server, &format!("/join/{bad}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(page.contains("not valid"));
    }

    // Open, close; a closed hearing's links stop working; no way back.
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let (pid2, token2) = judge.invite(&h, "Interpreter I", "interpreter").await;
    assert!(!pid2.is_empty());
    judge
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    let (s, v) = server
        .anonymous()
        .call(Method::GET, &format!("/api/join/{token2}"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::GONE, Some("hearing_closed"))
    );
    let (s, v) = judge
        .call(
            Method::POST,
            &format!("/api/hearings/{h}/open"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let got = judge.get(&format!("/api/hearings/{h}")).await;
    assert_eq!(got["state"], "closed");
    assert!(got["opened_at"].is_string() && got["closed_at"].is_string());
}

#[tokio::test]
async fn expired_links_are_refused() {
    let server = TestServer::start_with(|c| c.invite_ttl = std::time::Duration::ZERO).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (_, token) = judge.invite(&h, "W", "witness").await;
    let (s, v) = server
        .anonymous()
        .call(Method::GET, &format!("/api/join/{token}"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::GONE, Some("invite_expired"))
    );
    let (s, _, page) = raw_get(&server, &format!("/join/{token}")).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(page.contains("expired"));
}

#[tokio::test]
async fn bad_input_gets_clear_4xx() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let good = json!({"case_ref": "C", "mla_ref": "M", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"});
    let mut cases = vec![];
    for (field, value) in [
        ("case_ref", json!("")),
        ("case_ref", json!("x".repeat(201))),
        ("scheduled_at", json!("tomorrow")),
        ("language", json!("english language")),
        ("case_ref", json!(42)),
        ("mla_ref", json!("line\u{0}break")),
    ] {
        let mut b = good.clone();
        b[field] = value;
        cases.push(b);
    }
    let mut extra = good.clone();
    extra["admin"] = json!(true);
    cases.push(extra);
    for body in cases {
        let (s, v) = judge
            .call(Method::POST, "/api/hearings", Some(body.clone()))
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{body}"
        );
    }
    // Not JSON at all, and an oversized body.
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/hearings")
        .header(header::COOKIE, judge.cookie.clone().unwrap())
        .header("x-csrf-token", judge.csrf.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let resp = sworn::http::router(server.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    req = Request::builder()
        .method(Method::POST)
        .uri("/api/hearings")
        .header(header::COOKIE, judge.cookie.clone().unwrap())
        .header("x-csrf-token", judge.csrf.clone().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; 2 << 20]))
        .unwrap();
    let resp = sworn::http::router(server.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());

    // Participants: unknown role, the judge by link, bad ids.
    for body in [
        json!({"display_name": "X", "role": "emperor"}),
        json!({"display_name": "X", "role": "judge"}),
        json!({"display_name": "", "role": "witness"}),
    ] {
        let (s, _) = judge
            .call(
                Method::POST,
                &format!("/api/hearings/{h}/participants"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    for path in [
        "/api/hearings/nothex".to_owned(),
        "/api/hearings/00000000000000000000000000000000".to_owned(),
        format!("/api/hearings/{h}/participants/00000000000000000000000000000000/admit"),
        format!("/api/hearings/{h}/participants/zz/mute"),
    ] {
        let (s, v) = judge
            .call(
                if path.ends_with("admit") || path.ends_with("mute") {
                    Method::POST
                } else {
                    Method::GET
                },
                &path,
                Some(json!({})),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    // A participant of another hearing cannot be moderated through this one.
    let h2 = judge.hearing().await;
    let (other, _) = judge.invite(&h2, "Other", "witness").await;
    let (s, _) = judge
        .call(
            Method::POST,
            &format!("/api/hearings/{h}/participants/{other}/remove"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Every staff role against every court endpoint: exactly what the policy table says.
#[tokio::test]
async fn staff_policy_on_every_endpoint() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (pid, _) = judge.invite(&h, "W", "witness").await;
    let new_hearing = json!({"case_ref": "C", "mla_ref": "M", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"});
    // (method, path, body, roles allowed)
    let endpoints: Vec<(Method, String, serde_json::Value, &[&str])> = vec![
        (
            Method::GET,
            "/api/hearings".into(),
            json!(null),
            &["judge", "clerk"],
        ),
        (
            Method::POST,
            "/api/hearings".into(),
            new_hearing,
            &["judge", "clerk"],
        ),
        (
            Method::GET,
            format!("/api/hearings/{h}"),
            json!(null),
            &["judge", "clerk"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants"),
            json!({"display_name": "P", "role": "defence"}),
            &["judge", "clerk"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants/{pid}/mute"),
            json!({}),
            &["judge"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants/{pid}/unmute"),
            json!({}),
            &["judge"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants/{pid}/admit"),
            json!({}),
            &["judge"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants/{pid}/invite"),
            json!({}),
            &["judge", "clerk"],
        ),
        (
            Method::POST,
            format!("/api/hearings/{h}/participants/{pid}/revoke"),
            json!({}),
            &["judge", "clerk"],
        ),
    ];
    let mut clients = vec![];
    for role in StaffRole::ALL {
        clients.push((
            role,
            server.staff(&format!("u-{}", role.as_str()), role).await,
        ));
    }
    for (method, path, body, allowed) in &endpoints {
        for (role, c) in &clients {
            let b = if body.is_null() {
                None
            } else {
                Some(body.clone())
            };
            let (s, v) = c.call(method.clone(), path, b).await;
            if allowed.contains(&role.as_str()) {
                assert!(s.is_success(), "{role} {method} {path}: {s} {v}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role} {method} {path}: {v}");
                assert_eq!(v["error"]["code"], "forbidden");
            }
        }
        // No credentials at all: 401.
        let b = if body.is_null() {
            None
        } else {
            Some(body.clone())
        };
        let (s, _) = server.anonymous().call(method.clone(), path, b).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // Open/close last (they change state): prosecutor, defence, clerk, admin refused.
    for (role, c) in &clients {
        let (s, _) = c
            .call(
                Method::POST,
                &format!("/api/hearings/{h}/open"),
                Some(json!({})),
            )
            .await;
        if *role == StaffRole::Judge {
            assert!(s.is_success());
        } else {
            assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        }
    }
}

#[tokio::test]
async fn pages_static_files_and_security_headers() {
    let server = TestServer::start().await;
    for page in [
        "/",
        "/signin",
        "/console",
        "/console/hearings/0123456789abcdef0123456789abcdef",
    ] {
        let (s, h, body) = raw_get(&server, page).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(body.contains("<html"), "{page}");
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    }
    let (s, h, _) = raw_get(&server, "/static/css/app.css").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    for bad in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%252e%252e/Cargo.toml",
        "/static//etc/passwd",
        "/static/css/../../src/main.rs",
        "/static/nope.js",
    ] {
        let (s, _, body) = raw_get(&server, bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(
            !body.contains("[package]") && !body.contains("fn main"),
            "{bad}"
        );
    }
    let (s, _, body) = raw_get(&server, "/no/such/page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("not_found"));
}

/// `tls.mode = "self_signed"`: a certificate is made at first start and HTTPS serves
/// (checked with curl, an independent client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_tls_serves_https() {
    let server = TestServer::start_with(|c| {
        c.tls = sworn::config::TlsMode::SelfSigned;
    })
    .await;
    let url = format!("https://{}/signin", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sk", "-D", "-", "-o", "/dev/null", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 200") || head.starts_with("http/2 200"),
        "{head}"
    );
    assert!(server.dir.path().join("data/tls/self-signed.crt").is_file());
    // Plain HTTP on the same port is refused.
    let plain = format!("http://{}/signin", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &plain])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_ne!(String::from_utf8_lossy(&out.stdout), "200");
}
