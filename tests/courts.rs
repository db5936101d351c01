//! Who may act on which hearing (#12 scenario 12): hearings belong to a court; a judge
//! or clerk of another court can neither see nor act on them (404 `not_found`, as for a
//! hearing that does not exist, and the console socket is refused before the upgrade);
//! prosecutors and defence reach a hearing's record only through a grant made by the
//! hearing's own court; a database of the previous schema keeps its hearings visible to
//! its judges; every route of `router()` that takes a hearing id is in the matrix.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode};
use common::{Client, TestServer};
use serde_json::{Value, json};
use sworn::domain::StaffRole;

const A: &str = "Tribunal judiciaire de Paris";
const B: &str = "Tribunal judiciaire de Lyon";

/// Every route pattern of `router()` that names a hearing, and how it is reached here.
/// `every_hearing_route_is_covered` fails when `router()` gains one that is not listed.
const HEARING_ROUTES: &[(&str, &[Method])] = &[
    ("/api/hearings/{id}", &[Method::GET]),
    ("/api/hearings/{id}/open", &[Method::POST]),
    ("/api/hearings/{id}/close", &[Method::POST]),
    ("/api/hearings/{id}/participants", &[Method::POST]),
    (
        "/api/hearings/{id}/participants/{pid}/invite",
        &[Method::POST],
    ),
    (
        "/api/hearings/{id}/participants/{pid}/revoke",
        &[Method::POST],
    ),
    (
        "/api/hearings/{id}/participants/{pid}/{action}",
        &[Method::POST],
    ),
    ("/api/hearings/{id}/grants", &[Method::POST, Method::GET]),
    ("/api/hearings/{id}/grants/{gid}/revoke", &[Method::POST]),
    ("/api/portal/hearings/{id}", &[Method::GET]),
    ("/api/portal/hearings/{id}/minutes", &[Method::GET]),
    ("/api/portal/hearings/{id}/quality.svg", &[Method::GET]),
    ("/api/portal/hearings/{id}/bundle.zip", &[Method::GET]),
    ("/api/portal/hearings/{id}/exports/{file}", &[Method::GET]),
    ("/api/portal/hearings/{id}/files/{*path}", &[Method::GET]),
    ("/ws/hearings/{id}", &[Method::GET]),
];

/// Static pages whose path names a hearing: the same HTML for everyone, no hearing data
/// (the page's scripts call the API routes above).
const STATIC_PAGES: &[&str] = &["/console/hearings/{id}", "/portal/hearings/{id}"];

#[test]
fn every_hearing_route_is_covered() {
    let src = include_str!("../src/http/mod.rs");
    let routes: Vec<&str> = src
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|lit| lit.starts_with('/') && lit.contains("hearings/{id}"))
        .collect();
    assert!(routes.len() >= HEARING_ROUTES.len(), "{routes:?}");
    for r in &routes {
        assert!(
            HEARING_ROUTES.iter().any(|(p, _)| p == r) || STATIC_PAGES.contains(r),
            "route {r} takes a hearing id but is not in the court matrix"
        );
    }
}

/// The concrete path for a route pattern.
fn path(pattern: &str, h: &str, pid: &str, gid: &str) -> String {
    pattern
        .replace("{id}", h)
        .replace("{pid}", pid)
        .replace("{action}", "admit")
        .replace("{gid}", gid)
        .replace("{file}", "0123456789abcdef0123456789abcdef.zip")
        .replace("{*path}", "media/0.webm")
}

fn body_for(pattern: &str) -> Option<Value> {
    match pattern {
        "/api/hearings/{id}/participants" => {
            Some(json!({"display_name": "Witness X", "role": "witness"}))
        }
        "/api/hearings/{id}/grants" => Some(json!({"username": "pros_b"})),
        _ => Some(json!({})),
    }
}

async fn call(c: &Client, m: &Method, pattern: &str, p: &str) -> (StatusCode, Value) {
    let body = if *m == Method::POST {
        body_for(pattern)
    } else {
        None
    };
    c.call(m.clone(), p, body).await
}

/// The answer for a hearing of another court: that of a hearing that does not exist.
const NOT_FOUND: (StatusCode, Option<&str>) = (StatusCode::NOT_FOUND, Some("not_found"));

/// `m path` (an empty JSON body on POST) answers [`NOT_FOUND`].
async fn not_found(c: &Client, m: Method, path: &str) {
    let body = (m == Method::POST).then(|| json!({}));
    let (s, v) = c.call(m.clone(), path, body).await;
    assert_eq!((s, v["error"]["code"].as_str()), NOT_FOUND, "{m} {path}");
}

fn ids(list: &Value) -> Vec<String> {
    list["hearings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_courts_staff_cannot_see_or_act_on_a_hearing() {
    let server = TestServer::start().await;
    let judge_a = server.staff_in("judge_a", StaffRole::Judge, A).await;
    let clerk_a = server.staff_in("clerk_a", StaffRole::Clerk, A).await;
    let judge_b = server.staff_in("judge_b", StaffRole::Judge, B).await;
    let clerk_b = server.staff_in("clerk_b", StaffRole::Clerk, B).await;
    server.staff_in("pros_b", StaffRole::Prosecutor, B).await;

    let h = judge_a.hearing().await;
    let h_b = judge_b.hearing().await;
    let (pid, _) = clerk_a.invite(&h, "Witness W", "witness").await;
    let g = judge_a
        .post(
            &format!("/api/hearings/{h}/grants"),
            json!({"username": "pros_b"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();

    // Listing: each court sees its own hearings only.
    for c in [&judge_a, &clerk_a] {
        assert_eq!(ids(&c.get("/api/hearings").await), vec![h.clone()]);
    }
    for c in [&judge_b, &clerk_b] {
        assert_eq!(ids(&c.get("/api/hearings").await), vec![h_b.clone()]);
    }

    // Every court route of A's hearing, by B's judge and clerk: 404 not_found, like a
    // hearing that does not exist. (Portal routes are for granted prosecutor/defence
    // accounts: 403 for any judge or clerk, whatever the court; they are covered by
    // `grants_come_from_the_hearings_own_court`.)
    let before = judge_a.get(&format!("/api/hearings/{h}")).await;
    let grants_before = judge_a.get(&format!("/api/hearings/{h}/grants")).await;
    // A clerk opens, closes and moderates rehearsals of their own court (never
    // hearings: tests/rehearsal.rs), so another court's hearing is 404 to them too.
    for (who, c) in [("judge", &judge_b), ("clerk", &clerk_b)] {
        for (pattern, methods) in HEARING_ROUTES {
            if !pattern.starts_with("/api/hearings/") {
                continue;
            }
            for m in *methods {
                let p = path(pattern, &h, &pid, &gid);
                let (s, v) = call(c, m, pattern, &p).await;
                assert_eq!((s, v["error"]["code"].as_str()), NOT_FOUND, "{who} {m} {p}");
            }
        }
    }
    // ...and nothing changed.
    assert_eq!(judge_a.get(&format!("/api/hearings/{h}")).await, before);
    let grants_after = judge_a.get(&format!("/api/hearings/{h}/grants")).await;
    assert_eq!(grants_after["grants"], grants_before["grants"]);
    assert_eq!(grants_after["grants"][0]["active"], true);

    // The console socket: refused before the upgrade for B, accepted for A.
    judge_a.open(&h).await;
    assert_eq!(
        server.console_status(judge_b.cookie.as_deref(), &h).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server.console_status(judge_a.cookie.as_deref(), &h).await,
        StatusCode::SWITCHING_PROTOCOLS
    );
    // An unknown hearing answers exactly the same to B.
    assert_eq!(
        server
            .console_status(
                judge_b.cookie.as_deref(),
                "0123456789abcdef0123456789abcdef"
            )
            .await,
        StatusCode::NOT_FOUND
    );

    // B cannot close it; A's own staff act on it.
    not_found(&judge_b, Method::POST, &format!("/api/hearings/{h}/close")).await;
    assert_eq!(
        judge_a.get(&format!("/api/hearings/{h}")).await["state"],
        "open"
    );
    clerk_a.get(&format!("/api/hearings/{h}")).await;
    let (pid2, _) = clerk_a.invite(&h, "Interpreter I", "interpreter").await;
    judge_a
        .post(
            &format!("/api/hearings/{h}/participants/{pid2}/revoke"),
            json!({}),
        )
        .await;
    judge_a
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    assert_eq!(
        judge_a.get(&format!("/api/hearings/{h}")).await["state"],
        "closed"
    );
    // B's own hearing is B's: A gets the same 404.
    not_found(&judge_a, Method::POST, &format!("/api/hearings/{h_b}/open")).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_come_from_the_hearings_own_court() {
    let server = TestServer::start().await;
    let judge_a = server.staff_in("judge_a", StaffRole::Judge, A).await;
    let judge_b = server.staff_in("judge_b", StaffRole::Judge, B).await;
    let clerk_b = server.staff_in("clerk_b", StaffRole::Clerk, B).await;
    let pros = server.staff_in("pros", StaffRole::Prosecutor, A).await;
    let pros2 = server.staff_in("pros2", StaffRole::Prosecutor, B).await;
    let def = server.staff_in("def", StaffRole::Defence, B).await;

    let h = server.sealed_hearing(&judge_a).await;
    // B's court cannot grant on A's hearing, to anyone.
    for (c, who) in [(&judge_b, "pros2"), (&clerk_b, "def"), (&judge_b, "pros")] {
        let (s, v) = c
            .call(
                Method::POST,
                &format!("/api/hearings/{h}/grants"),
                Some(json!({"username": who})),
            )
            .await;
        assert_eq!((s, v["error"]["code"].as_str()), NOT_FOUND);
    }
    // A's court grants `pros` (of any court: the grant names the account).
    judge_a
        .post(
            &format!("/api/hearings/{h}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    assert_eq!(
        judge_a.get(&format!("/api/hearings/{h}/grants")).await["grants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The granted prosecutor reads it; the others do not, and the court staff of either
    // court do not retrieve through the portal (policy: retrieval is by grant).
    let summary = format!("/api/portal/hearings/{h}");
    let bundle = format!("/api/portal/hearings/{h}/bundle.zip");
    let minutes = format!("/api/portal/hearings/{h}/minutes");
    let quality = format!("/api/portal/hearings/{h}/quality.svg");
    let v = pros.get(&summary).await;
    assert_eq!(v["hearing"]["id"], h.as_str());
    let export = pros.export_file(&h).await;
    let (s, _, zip) = pros
        .get_bytes(&format!("/api/portal/hearings/{h}/exports/{export}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(zip.starts_with(b"PK"));
    let (s, _, _) = pros.get_bytes(&minutes, None).await;
    assert!(s == StatusCode::OK || s == StatusCode::NOT_FOUND, "{s}");
    assert_eq!(
        ids(&pros.get("/api/portal/hearings").await),
        vec![h.clone()]
    );
    for c in [&pros2, &def, &judge_a, &judge_b, &clerk_b] {
        for p in [&summary, &bundle, &minutes, &quality] {
            let (s, _, _) = c.get_bytes(p, None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        }
    }
    for c in [&pros2, &def] {
        assert!(ids(&c.get("/api/portal/hearings").await).is_empty());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_keeps_its_hearings_with_its_judges() {
    const H: &str = "00112233445566778899aabbccddeeff";
    const J: &str = "ffeeddccbbaa99887766554433221100";
    let password = "the old judge's passphrase";
    let hash = sworn::http::auth::hash_password(password).unwrap();
    let server = TestServer::start_with(|config| {
        // The database as the previous release left it: schema version 3, one judge,
        // one scheduled hearing of theirs, no courts.
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let conn = rusqlite::Connection::open(config.data_dir.join("sworn.sqlite3")).unwrap();
        sworn::store::migrate_to(&conn, 3).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        conn.execute(
            "INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?1, 'old_judge', 'judge', ?2, 0)",
            rusqlite::params![J, hash],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO hearings (id, case_ref, mla_ref, requesting_state, requested_state, scheduled_at, language, state, created_by, created_at) \
             VALUES (?1, 'CR-OLD', 'MLA/1', 'Utopia', 'Erewhon', '2026-01-01T09:00:00Z', 'en', 'scheduled', ?2, 0)",
            rusqlite::params![H, J],
        )
        .unwrap();
    })
    .await;

    let judge = server.login("old_judge", password).await;
    let me = judge.get("/api/me").await;
    assert_eq!(me["user"]["court"], "Default court");
    assert_eq!(ids(&judge.get("/api/hearings").await), vec![H.to_owned()]);
    assert_eq!(
        judge.get(&format!("/api/hearings/{H}")).await["case_ref"],
        "CR-OLD"
    );
    judge.invite(H, "Witness W", "witness").await;
    // A clerk added later without a court goes to the only court, and sees it too.
    let clerk = server.staff("new_clerk", StaffRole::Clerk).await;
    assert_eq!(ids(&clerk.get("/api/hearings").await), vec![H.to_owned()]);
    // A new court's judge does not.
    let other = server.staff_in("judge_b", StaffRole::Judge, B).await;
    assert!(ids(&other.get("/api/hearings").await).is_empty());
    not_found(&other, Method::GET, &format!("/api/hearings/{H}")).await;
    // The upgraded judge still schedules and opens.
    let h2 = judge.hearing().await;
    judge.open(&h2).await;
    assert_eq!(
        judge.get("/api/hearings").await["hearings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn setup_links_carry_their_court() {
    let server = TestServer::start().await;
    // The first judge (`scripts/run`'s one-time link): the default court, where the
    // hearings of an upgraded server are.
    let first = sworn::http::auth::create_setup_link(&server.state, StaffRole::Judge)
        .await
        .unwrap();
    let (b, _) = server.state.store.ensure_court(B, 0).await.unwrap();
    let other = sworn::http::auth::create_setup_link_in(&server.state, StaffRole::Judge, &b.id)
        .await
        .unwrap();
    let mut clients = vec![];
    for (link, name) in [(&first, "first_judge"), (&other, "lyon_judge")] {
        let token = link.rsplit('/').next().unwrap();
        let mut c = server.anonymous();
        let (s, v, cookie) = c
            .raw(
                Method::POST,
                "/api/setup",
                Some(json!({"token": token, "username": name, "password": "a long enough passphrase"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        c.cookie = cookie;
        c.csrf = v["csrf"].as_str().map(str::to_owned);
        clients.push(c);
    }
    assert_eq!(
        clients[0].get("/api/me").await["user"]["court"],
        "Default court"
    );
    assert_eq!(clients[1].get("/api/me").await["user"]["court"], B);
    let h = clients[0].hearing().await;
    not_found(&clients[1], Method::GET, &format!("/api/hearings/{h}")).await;
    clients[0].get(&format!("/api/hearings/{h}")).await;
}
