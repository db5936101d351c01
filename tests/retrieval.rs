//! Retrieval: grants, the portal endpoints for every staff role x hearing x grant state
//! (no unexpected 2xx, denied requests change nothing), downloads with ranges, the
//! custody entry committed before any byte, path traversal, and `sworn custody verify`.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode, header};
use common::{Client, TestServer};
use serde_json::json;
use sworn::domain::StaffRole;

async fn sealed_hearing(server: &TestServer, judge: &Client) -> String {
    server.sealed_hearing(judge).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_downloads_custody_and_traversal() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let clerk = server.staff("clerk", StaffRole::Clerk).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let def = server.staff("def", StaffRole::Defence).await;
    let pros2 = server.staff("pros2", StaffRole::Prosecutor).await;
    let admin = server.staff("admin", StaffRole::Admin).await;
    let anon = server.anonymous();

    let h1 = sealed_hearing(&server, &judge).await;
    let h2 = sealed_hearing(&server, &judge).await;
    let h3 = judge.hearing().await; // scheduled, nothing sealed

    // Grants: only the court grants, only to prosecutor/defence accounts.
    for c in [&pros, &def, &admin] {
        let (s, _) = c
            .call(
                Method::POST,
                &format!("/api/hearings/{h1}/grants"),
                Some(json!({"username": "pros"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = judge
        .call(
            Method::POST,
            &format!("/api/hearings/{h1}/grants"),
            Some(json!({"username": "clerk"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    judge
        .post(
            &format!("/api/hearings/{h1}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    judge
        .post(
            &format!("/api/hearings/{h3}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    clerk
        .post(
            &format!("/api/hearings/{h1}/grants"),
            json!({"username": "def", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await; // expired
    let g = judge
        .post(
            &format!("/api/hearings/{h1}/grants"),
            json!({"username": "pros2"}),
        )
        .await;
    judge
        .post(
            &format!(
                "/api/hearings/{h1}/grants/{}/revoke",
                g["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await; // revoked

    // One export of h1 by pros, so the matrix covers its URL too.
    let export_file = pros.export_file(&h1).await;

    let custody_before = server.state.custody.size();
    let users: Vec<(&str, &Client)> = vec![
        ("judge", &judge),
        ("clerk", &clerk),
        ("pros", &pros),
        ("def(expired)", &def),
        ("pros2(revoked)", &pros2),
        ("admin", &admin),
        ("anonymous", &anon),
    ];
    let mut allowed = 0;
    for (who, c) in &users {
        for h in [&h1, &h2, &h3] {
            for path in [
                format!("/api/portal/hearings/{h}"),
                format!("/api/portal/hearings/{h}/bundle.zip"),
                format!("/api/portal/hearings/{h}/files/log/entries.jsonl"),
                format!("/api/portal/hearings/{h}/exports/{export_file}"),
            ] {
                let (s, _, _) = c.get_bytes(&path, None).await;
                let expect_ok = *who == "pros" && h == &h1 && !path.contains("/files/");
                if expect_ok {
                    // bundle.zip makes an export and redirects to it (303).
                    assert!(
                        s.is_success()
                            || (s == StatusCode::SEE_OTHER && path.ends_with("bundle.zip")),
                        "{who} {path}: {s}"
                    );
                    allowed += 1;
                } else {
                    assert!(s.is_client_error(), "{who} {path}: {s}");
                    let want = match (*who, h == &h3) {
                        ("anonymous", _) => StatusCode::UNAUTHORIZED,
                        ("pros", true) => StatusCode::CONFLICT, // granted but not sealed
                        ("pros", false) if h == &h1 => StatusCode::NOT_FOUND, // a file outside media/
                        _ => StatusCode::FORBIDDEN,
                    };
                    assert_eq!(s, want, "{who} {path}");
                }
            }
        }
    }
    // Exactly the allowed requests were logged; denials changed nothing.
    assert_eq!(server.state.custody.size(), custody_before + allowed);

    // The portal lists only active grants.
    let mine = pros.get("/api/portal/hearings").await;
    let ids: Vec<&str> = mine["hearings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&h1.as_str()) && !ids.contains(&h2.as_str()));
    assert!(
        def.get("/api/portal/hearings").await["hearings"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The summary carries a valid verification report and the bundle fingerprint.
    let v = pros.get(&format!("/api/portal/hearings/{h1}")).await;
    assert_eq!(v["report"]["valid"], true, "{}", v["report"]);
    let zip_path = server
        .dir
        .path()
        .join(format!("data/hearings/{h1}/bundle.zip"));
    let zip = std::fs::read(&zip_path).unwrap();
    use sha2::Digest;
    let manifest = std::fs::read(
        server
            .dir
            .path()
            .join(format!("data/hearings/{h1}/bundle/manifest.json")),
    )
    .unwrap();
    assert_eq!(
        v["bundle_fingerprint"],
        hex::encode(sha2::Sha256::digest(&manifest))
    );

    // Download: an export (custody entry first, 303), then the export whole and resumed
    // with ranges; each request's custody entry is committed first.
    let before = server.state.custody.size();
    let (s, hd, _) = pros
        .get_bytes(&format!("/api/portal/hearings/{h1}/bundle.zip"), None)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let url = hd
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (s, hd, body) = pros.get_bytes(&url, None).await;
    assert_eq!(s, StatusCode::OK);
    // The export starts with the sealed zip up to its central directory.
    let end = sworn::custody_extract::zip_tail::read_end(
        &mut std::fs::File::open(&zip_path).unwrap(),
        zip.len() as u64,
    )
    .unwrap();
    let base = end.cd_offset as usize;
    assert_eq!(body[..base], zip[..base]);
    assert!(body.len() > zip.len());
    // It carries the evidence record sealing made (archive/, outside the manifest), and
    // verifies with it.
    let export_zip = server.dir.path().join("export.zip");
    std::fs::write(&export_zip, &body).unwrap();
    let src = sworn::verify_cli::ZipSource::open(&export_zip).unwrap();
    assert!(
        sworn::verify::BundleSource::paths(&src)
            .contains(&"archive/evidence-record.ers".to_owned())
    );
    let report = sworn::verify::verify_bundle(
        &src,
        &sworn::verify::VerifyOptions {
            trusted_key: None,
            trusted_history: None,
            timestamps: Some(&sworn::verify::bundle::Rfc3161Checker),
            trusted_tsa_chain: None,
        },
    );
    assert!(report.valid, "{}", report.to_text());
    assert!(report.archive.is_some(), "{}", report.to_text());
    assert_eq!(hd.get(header::ACCEPT_RANGES).unwrap(), "bytes");
    let (s, hd, part) = pros.get_bytes(&url, Some("bytes=10-99")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, body[10..100]);
    assert_eq!(
        hd.get(header::CONTENT_RANGE).unwrap().to_str().unwrap(),
        format!("bytes 10-99/{}", body.len())
    );
    let (s, _, tail) = pros.get_bytes(&url, Some("bytes=-20")).await;
    assert_eq!(
        (s, tail.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &body[body.len() - 20..])
    );
    let download = url;
    for bad in [
        "bytes=999999999-",
        "bytes=5-2",
        "bytes=0-1,5-6",
        "items=0-1",
    ] {
        let (s, _, _) = pros.get_bytes(&download, Some(bad)).await;
        assert!(
            s == StatusCode::RANGE_NOT_SATISFIABLE || s == StatusCode::BAD_REQUEST,
            "{bad}: {s}"
        );
    }
    // The export, the whole download, and one session for the two ranges (the second
    // is served under the first one's durable session entry; the session's closing
    // entry lists both).
    assert_eq!(server.state.custody.size(), before + 3);
    let entries =
        std::fs::read_to_string(server.dir.path().join("data/custody/entries.jsonl")).unwrap();
    assert!(
        entries.contains("\"export ")
            && entries.contains("download export ")
            && entries.contains("bytes 10-99")
            && entries.contains("pros (prosecutor)")
    );

    // Path traversal and planted symlinks: 404, and nothing from outside the bundle.
    let media = server
        .dir
        .path()
        .join(format!("data/hearings/{h1}/bundle/media"));
    std::fs::create_dir_all(&media).unwrap();
    std::os::unix::fs::symlink(
        server.dir.path().join("data/keys/server.key"),
        media.join("planted.webm"),
    )
    .unwrap();
    let key = std::fs::read(server.dir.path().join("data/keys/server.key")).unwrap();
    for p in [
        "media/planted.webm",
        "../../../keys/server.key",
        "media/../../../keys/server.key",
        "%2e%2e/%2e%2e/%2e%2e/keys/server.key",
        "media/%2e%2e/%2e%2e/%2e%2e/keys/server.key",
        "..%252f..%252f..%252fkeys%252fserver.key",
        "media/..%2f..%2f..%2fkeys%2fserver.key",
        "/etc/passwd",
        "manifest.json",
        "media/nope.webm",
    ] {
        let (s, _, body) = pros
            .get_bytes(&format!("/api/portal/hearings/{h1}/files/{p}"), None)
            .await;
        assert!(s.is_client_error(), "{p}: {s}");
        assert!(
            !body
                .windows(key.len().min(16))
                .any(|w| w == &key[..key.len().min(16)]),
            "{p} leaked the key"
        );
        assert!(!String::from_utf8_lossy(&body).contains("root:"), "{p}");
    }

    // Export ids: only 32 lowercase hex + ".zip"; anything else is a 4xx, never a file.
    for p in [
        "x.zip",
        "../../../keys/server.key",
        "..%2f..%2f..%2fkeys%2fserver.key",
        "%2e%2e%2f%2e%2e%2fkeys%2fserver.key.zip",
        "0123456789ABCDEF0123456789ABCDEF.zip",
        "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef.tail",
        "0123456789abcdef0123456789abcdef.json",
        "0123456789abcdef0123456789abcdef.zip",
    ] {
        let (s, _, body) = pros
            .get_bytes(&format!("/api/portal/hearings/{h1}/exports/{p}"), None)
            .await;
        assert!(s.is_client_error(), "{p}: {s}");
        assert!(
            !body
                .windows(key.len().min(16))
                .any(|w| w == &key[..key.len().min(16)]),
            "{p} leaked the key"
        );
    }

    // The court sees who retrieved what.
    let g = judge.get(&format!("/api/hearings/{h1}/grants")).await;
    assert!(
        g["custody"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"].as_str().unwrap().starts_with("download"))
    );

    // `sworn custody verify` checks the whole log (signed up to its last entry: the
    // writer coalesces checkpoints; a stopped server signs a final one).
    server.state.custody.flush().await.unwrap();
    let data = server_dir_path(&server);
    let _keep = &server.dir;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn"))
        .args(["custody", "verify"])
        .env("SWORN_DATA_DIR", &data)
        .env("SWORN_SERVER_NAME", "sworn.test")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // One byte changed in the custody log is caught.
    let path = data.join("custody/entries.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.iter().position(|b| *b == b'p').unwrap();
    bytes[i] = b'q';
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn"))
        .args(["custody", "verify"])
        .env("SWORN_DATA_DIR", &data)
        .env("SWORN_SERVER_NAME", "sworn.test")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn server_dir_path(server: &TestServer) -> std::path::PathBuf {
    server.dir.path().join("data")
}
