//! Object storage (`[storage]`, `sworn::blobs`) against a real S3-compatible server:
//! Garage, which `scripts/test` starts in the tests' network namespace
//! (`scripts/test-garage`) and names in `SWORN_TEST_S3_*`. Without those the tests print
//! `SKIPPED:` and pass.
//!
//! A sealed hearing's files are in the bucket, byte for byte (SHA-256 read back with a
//! client of our own, not through `sworn::blobs`); with the local zip deleted, the
//! portal's export still serves it, ranges exact; an archived object is never
//! overwritten; refused credentials stop the server with a named error.
#![cfg(feature = "server")]

mod common;

use axum::http::{StatusCode, header};
use common::TestServer;
use common::garage::{garage, unique_prefix};
use futures_util::StreamExt as _;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use sworn::blobs::{BlobError, Blobs, Stored};
use sworn::config::StorageConfig;
use sworn::domain::StaffRole;

async fn object_sha256(client: &object_store::aws::AmazonS3, key: &str) -> Option<String> {
    let path = object_store::path::Path::parse(key).unwrap();
    let got = client.get(&path).await.ok()?;
    let mut stream = got.into_stream();
    let mut h = Sha256::new();
    while let Some(part) = stream.next().await {
        h.update(part.unwrap());
    }
    Some(hex::encode(h.finalize()))
}

/// Sealing archives in the background: waits for the hearing's marker.
async fn wait_archived(hearing_dir: &Path) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !hearing_dir.join("objects.json").is_file() {
        assert!(tokio::time::Instant::now() < deadline, "not archived");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            files_under(&e.path(), out);
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_files_are_archived_verified_and_served_with_ranges_when_local_copy_is_gone() {
    let Some(g) = garage("sealed_files_are_archived…") else {
        return;
    };
    let prefix = unique_prefix("seal");
    let storage = g.storage(&prefix);
    let server = TestServer::start_with(|c| c.storage = storage).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = server.sealed_hearing_granted(&judge, "pros").await;

    // Every sealed file of the hearing is in the bucket with the local bytes' SHA-256
    // (the RFC 4998 archive/ directory and the report cache still change: not archived).
    let data = server.dir.path().join("data");
    let hearing_dir = data.join("hearings").join(&h);
    wait_archived(&hearing_dir).await;
    let mut files = Vec::new();
    files_under(&hearing_dir, &mut files);
    let client = g.client();
    let mut checked = 0;
    for f in &files {
        let rel = f.strip_prefix(&data).unwrap().to_str().unwrap().to_owned();
        // Left out too: the live shipments' notes (`.segments.json`: a hidden name).
        let hidden = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if rel.contains("/bundle/archive/")
            || rel.ends_with("bundle.report.json")
            || rel.ends_with("objects.json")
            || hidden
        {
            continue;
        }
        let local = hex::encode(Sha256::digest(std::fs::read(f).unwrap()));
        let remote = object_sha256(&client, &format!("{prefix}/{rel}")).await;
        assert_eq!(remote.as_deref(), Some(local.as_str()), "{rel}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} files");
    for must in ["log/entries.jsonl", "bundle/manifest.json", "bundle.zip"] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} among the archived files"
        );
    }

    // The local zip goes; the portal's export is built from and served from Garage.
    let zip = hearing_dir.join("bundle.zip");
    let original = std::fs::read(&zip).unwrap();
    std::fs::remove_file(&zip).unwrap();
    let export = pros.export_file(&h).await;
    let url = format!("/api/portal/hearings/{h}/exports/{export}");
    let (s, _, whole) = pros.get_bytes(&url, None).await;
    assert_eq!(s, StatusCode::OK);
    // The export is the sealed zip up to its central directory, then the custody tail.
    let (s, hd, part) = pros.get_bytes(&url, Some("bytes=100-1099")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        hd.get(header::CONTENT_RANGE).unwrap().to_str().unwrap(),
        format!("bytes 100-1099/{}", whole.len())
    );
    assert_eq!(part, original[100..1100].to_vec());
    assert_eq!(part, whole[100..1100].to_vec());
    let (s, _, last) = pros.get_bytes(&url, Some("bytes=-64")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(last, whole[whole.len() - 64..].to_vec());
    // The served export is a bundle that verifies.
    let out = server.dir.path().join("export.zip");
    std::fs::write(&out, &whole).unwrap();
    let report = common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &out);
    assert!(report.contains("CUSTODY"), "{report}");
    assert!(!zip.exists(), "nothing restored the local copy");

    // The custody log (grants, the export, its downloads) is shipped as append-only
    // segments at its checkpoints: their concatenation is the local log's prefix.
    server.state.custody.flush().await.unwrap();
    let local = std::fs::read(data.join("custody/entries.jsonl")).unwrap();
    let lines = local.iter().filter(|b| **b == b'\n').count();
    let seg_prefix = object_store::path::Path::parse(format!("{prefix}/custody/segments")).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let (names, joined) = loop {
        let mut metas: Vec<_> = client
            .list(Some(&seg_prefix))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        metas.sort();
        let mut joined = Vec::new();
        for m in &metas {
            let got = client
                .get(&object_store::path::Path::parse(m).unwrap())
                .await
                .unwrap();
            joined.extend_from_slice(&got.bytes().await.unwrap());
        }
        if joined.iter().filter(|b| **b == b'\n').count() == lines {
            break (metas, joined);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "custody not shipped: {metas:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(joined, local, "segments = the custody log");
    assert!(names.len() >= 2, "{names:?}");
    // Rewriting a shipped custody segment is refused, whatever writes it.
    let first = names[0]
        .strip_prefix(&format!("{prefix}/"))
        .unwrap()
        .to_owned();
    let forged = bytes::Bytes::from_static(b"{\"forged\":true}\n");
    assert!(matches!(
        server.state.blobs.put_bytes(&first, forged).await,
        Err(BlobError::Conflict { .. })
    ));
    let note = format!("{prefix}/custody/checkpoints/{lines:06}.note");
    assert_eq!(
        object_sha256(&client, &note).await,
        Some(hex::encode(Sha256::digest(
            std::fs::read(data.join(format!("custody/checkpoints/{lines:06}.note"))).unwrap()
        ))),
        "{note}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_object_is_never_overwritten() {
    let Some(g) = garage("an_archived_object_is_never_overwritten") else {
        return;
    };
    let prefix = unique_prefix("append");
    let dir = tempfile::tempdir().unwrap();
    let paths = sworn::paths::DataPaths::new(dir.path());
    let blobs = Blobs::open(&g.storage(&prefix), &paths).unwrap();
    blobs.check().await.unwrap();
    let key = "custody/entries/000000-000003.jsonl";
    let first = bytes::Bytes::from_static(b"{\"seq\":0}\n{\"seq\":1}\n{\"seq\":2}\n");
    assert_eq!(
        blobs.put_bytes(key, first.clone()).await.unwrap(),
        Stored::Uploaded
    );
    // The same bytes again: idempotent, nothing written.
    assert_eq!(
        blobs.put_bytes(key, first.clone()).await.unwrap(),
        Stored::AlreadyPresent
    );
    // Other bytes under the same key: refused, and the object is unchanged.
    let rewritten = bytes::Bytes::from_static(b"{\"seq\":0}\n{\"seq\":1}\n{\"seq\":9}\n");
    match blobs.put_bytes(key, rewritten).await {
        Err(BlobError::Conflict { key: k }) => assert!(k.ends_with(key), "{k}"),
        other => panic!("overwrite not refused: {other:?}"),
    }
    let stored = object_sha256(&g.client(), &format!("{prefix}/{key}")).await;
    assert_eq!(stored, Some(hex::encode(Sha256::digest(&first))));

    // A file of the data directory: uploaded once; a local copy that changed since is
    // refused rather than replacing the archived one.
    let media = dir.path().join("hearings/h1/media/a.webm");
    std::fs::create_dir_all(media.parent().unwrap()).unwrap();
    // Over one part (8 MiB): the multipart path.
    let big: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&media, &big).unwrap();
    assert_eq!(blobs.put_file(&media).await.unwrap(), Stored::Uploaded);
    assert_eq!(
        blobs.put_file(&media).await.unwrap(),
        Stored::AlreadyPresent
    );
    let mut changed = big.clone();
    changed[4_000_000] ^= 1;
    std::fs::write(&media, &changed).unwrap();
    assert!(matches!(
        blobs.put_file(&media).await,
        Err(BlobError::Conflict { .. })
    ));
    let stored = object_sha256(&g.client(), &format!("{prefix}/hearings/h1/media/a.webm")).await;
    assert_eq!(stored, Some(hex::encode(Sha256::digest(&big))));
    // Ranges come back exact.
    let mut got = Vec::new();
    let mut s = blobs.range(&media, 8_388_600, 8_388_700).await.unwrap();
    while let Some(p) = s.next().await {
        got.extend_from_slice(&p.unwrap());
    }
    assert_eq!(got, big[8_388_600..=8_388_700].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_server_with_a_named_error() {
    let Some(g) = garage("refused_credentials_stop_the_server…") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = sworn::config::Config::for_tests(dir.path().join("data"));
    config.storage = StorageConfig::S3(g.settings(
        "creds",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ));
    let err = match sworn::app::App::build(config).await {
        Ok(_) => panic!("a server started with a wrong secret key"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("refused the credentials") && err.contains("storage.access_key_id"),
        "{err}"
    );
    assert!(!err.contains(&g.secret), "the message holds no secret");
    // A bucket that does not exist: named too.
    let mut config = sworn::config::Config::for_tests(dir.path().join("data2"));
    let mut s = g.settings("x", &g.secret);
    s.bucket = "no-such-bucket-here".into();
    config.storage = StorageConfig::S3(s);
    let err = match sworn::app::App::build(config).await {
        Ok(_) => panic!("a server started on a missing bucket"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("not found") || err.contains("refused"),
        "{err}"
    );
}

/// With WebRTC (the loopback-only namespace `scripts/test` runs the tests in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_played_from_object_storage_once_its_local_copies_are_gone() {
    let Some(g) = garage("a_recording_is_played_from_object_storage…") else {
        return;
    };
    let storage = g.storage(&unique_prefix("media"));
    let server = TestServer::start_with(|c| c.storage = storage).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = judge.hearing().await;
    let api = common::peer::client_api();
    let j = common::scene::judge_console(&server, &api, &judge, &h).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    j.close().await;
    server.close_and_seal(&judge, &h).await;
    judge
        .post(
            &format!("/api/hearings/{h}/grants"),
            serde_json::json!({"username": "pros"}),
        )
        .await;
    let summary = pros.get(&format!("/api/portal/hearings/{h}")).await;
    let media = summary["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_owned())
        .find(|p| p.starts_with("media/"))
        .expect("a recording in the bundle");
    let hearing_dir = server.dir.path().join("data/hearings").join(&h);
    wait_archived(&hearing_dir).await;
    let in_bundle = hearing_dir.join("bundle").join(&media);
    let original = std::fs::read(&in_bundle).unwrap();
    assert!(original.len() > 10_000, "{} bytes", original.len());
    std::fs::remove_file(&in_bundle).unwrap();
    std::fs::remove_file(hearing_dir.join(&media)).unwrap();

    let url = format!("/api/portal/hearings/{h}/files/{media}");
    let (s, hd, whole) = pros.get_bytes(&url, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(whole, original);
    assert_eq!(
        hd.get(header::CONTENT_LENGTH).unwrap().to_str().unwrap(),
        original.len().to_string()
    );
    let (a, b) = (1000usize, original.len() - 7);
    let (s, hd, part) = pros.get_bytes(&url, Some(&format!("bytes={a}-{b}"))).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        hd.get(header::CONTENT_RANGE).unwrap().to_str().unwrap(),
        format!("bytes {a}-{b}/{}", original.len())
    );
    assert_eq!(part, original[a..=b].to_vec());
    // Past the end: 416, as for a local file.
    let (s, _, _) = pros
        .get_bytes(&url, Some(&format!("bytes={}-", original.len())))
        .await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hearing_sealed_without_the_store_is_archived_at_the_next_start() {
    let Some(g) = garage("a_hearing_sealed_without_the_store…") else {
        return;
    };
    let prefix = unique_prefix("late");
    // Sealed while the server had no object store (or it was down).
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = server.sealed_hearing(&judge).await;
    let hearing_dir = server.dir.path().join("data/hearings").join(&h);
    assert!(!hearing_dir.join("objects.json").exists());
    let storage = g.storage(&prefix);
    let server = server.restart_with(|_| {}, |c| c.storage = storage).await;
    wait_archived(&hearing_dir).await;
    let zip = std::fs::read(hearing_dir.join("bundle.zip")).unwrap();
    assert_eq!(
        object_sha256(&g.client(), &format!("{prefix}/hearings/{h}/bundle.zip")).await,
        Some(hex::encode(Sha256::digest(&zip)))
    );
    server.stop().await;
}

/// Upload (with its read-back check) and ranged reads of a 128 MiB file:
/// `scripts/test-garage run cargo test --test objstore measure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn measure_archive_throughput() {
    let Some(g) = garage("measure_archive_throughput") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::open(
        &g.storage(&unique_prefix("measure")),
        &sworn::paths::DataPaths::new(dir.path()),
    )
    .unwrap();
    let file = dir.path().join("hearings/h/media/big.webm");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let len = 128usize << 20;
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &bytes).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(blobs.put_file(&file).await.unwrap(), Stored::Uploaded);
    let up = t.elapsed();
    let t = std::time::Instant::now();
    assert_eq!(blobs.put_file(&file).await.unwrap(), Stored::AlreadyPresent);
    let again = t.elapsed();
    let t = std::time::Instant::now();
    for i in 0..100u64 {
        let start = i * 1_000_003 % (len as u64 - 65_536);
        let mut s = blobs.range(&file, start, start + 65_535).await.unwrap();
        let mut n = 0;
        while let Some(p) = s.next().await {
            n += p.unwrap().len();
        }
        assert_eq!(n, 65_536);
    }
    let ranges = t.elapsed();
    println!(
        "128 MiB: upload + read-back check {:.2} s ({:.1} MiB/s); again (already present: local hash + read-back) {:.2} s; 100 ranged reads of 64 KiB {:.1} ms each",
        up.as_secs_f64(),
        128.0 / up.as_secs_f64(),
        again.as_secs_f64(),
        ranges.as_secs_f64() * 10.0
    );
}
