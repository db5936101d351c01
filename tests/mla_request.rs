//! The request on record (#13 point 1): the States are ISO 3166-1 alpha-2 codes (an
//! unknown one is refused with `unknown_country`), shown by name on the API, the join
//! API and the minutes; the central authorities, their references and the date of the
//! request go into `hearing_opened`. A hearing scheduled before (free-text States, no
//! authorities) keeps working after the upgrade and its entry has no new field.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode};
use common::TestServer;
use serde_json::{Value, json};
use sworn::domain::StaffRole;
use sworn::evidence::minutes::render_minutes;
use sworn::verify::entry::{self, EntryBody};

fn request() -> Value {
    json!({"case_ref": "CR-7", "mla_ref": "MLA/7", "requesting_state": " fr", "requested_state": "ES",
           "scheduled_at": "2026-12-01T09:00:00Z", "language": "fr",
           "requesting_authority": "Ministère de la Justice (BEPI)", "requesting_reference": "BEPI-2026-118",
           "requested_authority": "Ministerio de Justicia", "requested_reference": "MJ/CJI/77",
           "request_date": "2026-11-02"})
}

/// The log's bytes once the hearing task has written its first entry (it opens the log
/// after the API answered).
async fn log_bytes(server: &TestServer, h: &str) -> Vec<u8> {
    let path = server
        .dir
        .path()
        .join("data/hearings")
        .join(h)
        .join("log/entries.jsonl");
    for _ in 0..1000 {
        if let Ok(b) = std::fs::read(&path)
            && b.ends_with(b"\n")
        {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the log of {h} was not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_is_on_record_by_code_and_shown_by_name() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.post("/api/hearings", request()).await;
    assert_eq!(
        h["requesting_state"], "FR",
        "stored as the code, upper case"
    );
    assert_eq!(h["requesting_state_name"], "France");
    assert_eq!(h["requested_state_name"], "Spain");
    assert_eq!(h["requesting_authority"], "Ministère de la Justice (BEPI)");
    assert_eq!(h["requested_reference"], "MJ/CJI/77");
    assert_eq!(h["request_date"], "2026-11-02");
    assert_eq!(h["rehearsal"], false);
    let id = h["id"].as_str().unwrap().to_owned();

    // The table the schedule form offers: every assigned code, public.
    let c = server.anonymous().get("/api/countries").await;
    let all = c["countries"].as_array().unwrap();
    assert_eq!(all.len(), 249);
    assert!(all.contains(&json!({"code": "FR", "name": "France"})));

    // The witness's join page gets the same facts.
    let (_, tok) = judge.invite(&id, "Witness W", "witness").await;
    let info = server.anonymous().get(&format!("/api/join/{tok}")).await;
    assert_eq!(info["hearing"]["requesting_state_name"], "France");
    assert_eq!(
        info["hearing"]["requested_authority"],
        "Ministerio de Justicia"
    );
    assert_eq!(info["hearing"]["request_date"], "2026-11-02");

    judge.open(&id).await;
    let html = render_minutes(&log_bytes(&server, &id).await).unwrap();
    let opened = &server.log_entries(&id)[0];
    assert_eq!(opened["type"], "hearing_opened");
    for (k, v) in [
        ("requesting_state", "FR"),
        ("requested_state", "ES"),
        ("requesting_authority", "Ministère de la Justice (BEPI)"),
        ("requesting_reference", "BEPI-2026-118"),
        ("requested_authority", "Ministerio de Justicia"),
        ("requested_reference", "MJ/CJI/77"),
        ("request_date", "2026-11-02"),
    ] {
        assert_eq!(opened[k], v, "{k}");
    }
    for needle in [
        // The hearing is in French, so are its minutes (names beyond ASCII isolated).
        "<tr><th>État requérant</th><td>France (FR)</td></tr>",
        "<tr><th>État requis</th><td>Spain (ES)</td></tr>",
        "<tr><th>Autorité centrale de l'État requérant</th><td><bdi>Ministère de la Justice (BEPI)</bdi></td></tr>",
        "<td>BEPI-2026-118</td>",
        "<tr><th>Autorité centrale de l'État requis</th><td>Ministerio de Justicia</td></tr>",
        "<td>MJ/CJI/77</td>",
        "<tr><th>Date de la demande</th><td>2026-11-02</td></tr>",
    ] {
        assert!(html.contains(needle), "missing {needle:?}:\n{html}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_states_and_bad_dates_are_refused_with_stable_codes() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let cases = [
        ("requesting_state", json!("France"), "unknown_country"),
        ("requesting_state", json!("XX"), "unknown_country"),
        ("requested_state", json!(""), "unknown_country"),
        ("requested_state", json!("E S"), "unknown_country"),
        ("request_date", json!("2026-02-30"), "bad_request"),
        ("request_date", json!("02/11/2026"), "bad_request"),
        ("request_date", json!("2026-11-02T00:00:00Z"), "bad_request"),
        ("requesting_authority", json!("a\u{0}b"), "bad_request"),
        ("requested_reference", json!("x".repeat(201)), "bad_request"),
        ("rehearsal", json!("yes"), "bad_request"),
    ];
    for (field, value, code) in cases {
        let mut b = request();
        b[field] = value.clone();
        let (s, v) = judge.call(Method::POST, "/api/hearings", Some(b)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{field} = {value}: {v}"
        );
        if code == "unknown_country" {
            assert!(v["error"]["message"].as_str().unwrap().starts_with(field));
        }
    }
    assert!(
        judge.get("/api/hearings").await["hearings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Everything new is optional: blank authorities are simply absent.
    let mut b = request();
    for k in [
        "requesting_authority",
        "requesting_reference",
        "requested_authority",
        "requested_reference",
        "request_date",
    ] {
        b[k] = json!(" ");
    }
    let h = judge.post("/api/hearings", b).await;
    assert_eq!(h["requesting_authority"], Value::Null);
    assert_eq!(h["request_date"], Value::Null);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hearing_scheduled_before_keeps_its_free_text_states() {
    const H: &str = "00112233445566778899aabbccddeeff";
    const J: &str = "ffeeddccbbaa99887766554433221100";
    let password = "the old judge's passphrase";
    let hash = sworn::http::auth::hash_password(password).unwrap();
    let server = TestServer::start_with(|config| {
        // The database as the previous release left it (schema 4): free-text States.
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let conn = rusqlite::Connection::open(config.data_dir.join("sworn.sqlite3")).unwrap();
        sworn::store::migrate_to(&conn, 4).unwrap();
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
    let h = judge.get(&format!("/api/hearings/{H}")).await;
    assert_eq!(h["requesting_state"], "Utopia");
    assert_eq!(
        h["requesting_state_name"],
        Value::Null,
        "pages show the text"
    );
    assert_eq!(h["requesting_authority"], Value::Null);
    assert_eq!(h["rehearsal"], false);
    judge.open(H).await;
    let bytes = log_bytes(&server, H).await;
    let first = bytes.split(|b| *b == b'\n').next().unwrap();
    let e = entry::decode(first).unwrap();
    let EntryBody::HearingOpened {
        requesting_state,
        requesting_authority,
        request_date,
        ..
    } = &e.body
    else {
        panic!("not hearing_opened: {e:?}");
    };
    assert_eq!(requesting_state.as_deref(), Some("Utopia"));
    assert_eq!((requesting_authority, request_date), (&None, &None));
    assert!(
        !String::from_utf8_lossy(first).contains("authority"),
        "no new key"
    );
    let html = render_minutes(&bytes).unwrap();
    assert!(
        html.contains("<tr><th>Requesting State</th><td>Utopia</td></tr>"),
        "{html}"
    );
    assert!(!html.contains("Central authority"), "{html}");
    server.stop().await;
}

#[test]
fn both_verifiers_rules_for_the_request_date() {
    let line = |d: &str| {
        format!(
            r#"{{"case_ref":"c","hearing":"h","request_date":"{d}","seq":0,"time":"2026-11-29T17:30:00.000Z","type":"hearing_opened","v":1}}"#
        )
    };
    let ok = entry::decode(line("2028-02-29").as_bytes()).unwrap();
    assert_eq!(entry::check_fields(&ok.body), Ok(()));
    for bad in ["2027-02-29", "2026-13-01", "2026-1-01", "26-01-01x"] {
        let e = entry::decode(line(bad).as_bytes()).unwrap();
        assert!(entry::check_fields(&e.body).is_err(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_shows_the_states_by_name() {
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
    let v = pros.get(&format!("/api/portal/hearings/{h}")).await;
    assert_eq!(v["hearing"]["requesting_state"], "FR");
    assert_eq!(v["hearing"]["requesting_state_name"], "France");
    assert_eq!(v["hearing"]["requested_state_name"], "Spain");
    assert_eq!(v["hearing"]["requesting_authority"], Value::Null);
    server.stop().await;
}
