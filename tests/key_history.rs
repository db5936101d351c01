//! Key history rules of the verifier (#15 point 3, docs/bundle-format.md §12), on
//! bundles made with the real producer API across a rotation: which pin vouches for which
//! bundle, a retired key used after its retirement (`KeyRetired`, from the pinned history
//! and from the bundle's own), a forked history (`KeyHistoryConflict`), a forged history
//! signature (`KeyHistoryInvalid`), and an interrupted rotation finished or discarded at
//! load. With `SWORN_KEYHISTORY_FIXTURES=<dir>` the cases are also written there (zips,
//! trust files, `cases.json`) for `tests/browser/keyhistory.test.mjs`, which checks the
//! in-browser verifier gives the same report as `sworn-verify`.
#![cfg(feature = "evidence")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sworn::evidence::key_rotation::{self, History};
use sworn::evidence::{HearingLog, ServerKey, write_bundle};
use sworn::verify::entry::EntryBody;
use time::OffsetDateTime;

const SERVER: &str = "court.example";
const T0_MS: i64 = 1_795_973_400_000; // 2026-11-29T17:30:00Z
/// The rotation happens one hour after T0.
const ROTATION_MS: i64 = T0_MS + 3_600_000;

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
}

fn sys(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

fn seed(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn server_key(n: u8, h: &History) -> ServerKey {
    ServerKey::from_seed([n; 32], SERVER)
        .with_history(h.clone())
        .unwrap()
}

struct Keys {
    h0: History,
    h01: History,
}

fn keys() -> Keys {
    let h0 = key_rotation::genesis(SERVER, &seed(1), sys(T0_MS - 86_400_000)).unwrap();
    let h01 = key_rotation::extend(&h0, &seed(1), &seed(2), sys(ROTATION_MS)).unwrap();
    Keys { h0, h01 }
}

/// A hearing whose first half (entries before `ROTATION_MS`) is checkpointed by
/// `first`, whose second half (entries from `second_from`) by `second`, sealed by
/// `second`. Returns the bundle directory.
fn hearing(tmp: &Path, first: &ServerKey, second: &ServerKey, second_from: i64) -> PathBuf {
    let dir = tmp.join("log");
    let origin = format!("{SERVER}/hearing/h-rot");
    let (mut log, _) = HearingLog::open(&dir, "h-rot", &origin, first, at(T0_MS)).unwrap();
    log.append(
        EntryBody::HearingOpened {
            case_ref: "2026/CR/0042".into(),
            mla_ref: None,
            requesting_state: None,
            requested_state: None,
            language: None,
            time_stamping: None,
            requesting_authority: None,
            requesting_reference: None,
            requested_authority: None,
            requested_reference: None,
            request_date: None,
        },
        at(T0_MS),
    )
    .unwrap();
    for i in 0..3 {
        log.append(
            EntryBody::Marker {
                label: format!("before {i}"),
                by: None,
            },
            at(T0_MS + 1000 * (i + 1)),
        )
        .unwrap();
        log.checkpoint(first).unwrap();
    }
    for i in 0..3 {
        log.append(
            EntryBody::Marker {
                label: format!("after {i}"),
                by: None,
            },
            at(second_from + 1000 * i),
        )
        .unwrap();
        log.checkpoint(second).unwrap();
    }
    log.append(
        EntryBody::HearingClosed {
            reason: "closed".into(),
        },
        at(second_from + 10_000),
    )
    .unwrap();
    log.checkpoint(second).unwrap();
    let media = tmp.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let out = tmp.join("bundle");
    write_bundle(&dir, &media, second, &[], &out).unwrap();
    out
}

fn verify(bundle: &Path, trust: Option<&Path>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sworn-verify"));
    cmd.arg("--json").arg(bundle);
    if let Some(t) = trust {
        cmd.arg("--trust").arg(t);
    }
    let out = cmd.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report)
}

fn codes(r: &Value) -> Vec<String> {
    r["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["error"]["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

struct Case {
    name: &'static str,
    bundle: PathBuf,
    trust: Option<PathBuf>,
    exit: i32,
    first_code: Option<&'static str>,
}

fn rewrite_manifest(bundle: &Path, key: &ServerKey) {
    // A forger holding the server key re-signs the index after changing a file.
    let mut man: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    for f in man["files"].as_array_mut().unwrap() {
        let p = bundle.join(f["path"].as_str().unwrap());
        let b = std::fs::read(p).unwrap();
        f["sha256"] = json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)));
        f["length"] = json!(b.len());
    }
    let bytes = sworn::verify::canonical::to_canonical(&man).unwrap();
    std::fs::write(bundle.join("manifest.json"), &bytes).unwrap();
    let sk = SigningKey::from_bytes(&[2; 32]);
    assert_eq!(sk.verifying_key(), key.verifying_key());
    use ed25519_dalek::Signer as _;
    std::fs::write(bundle.join("manifest.sig"), sk.sign(&bytes).to_bytes()).unwrap();
    let mut sums = String::new();
    let mut files: Vec<String> = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .chain(["manifest.json".into(), "manifest.sig".into()])
        .collect();
    files.sort();
    for f in files {
        let b = std::fs::read(bundle.join(&f)).unwrap();
        sums.push_str(&format!(
            "{}  {f}\n",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b))
        ));
    }
    std::fs::write(bundle.join("SHA256SUMS"), sums).unwrap();
}

#[test]
fn pins_rotations_retirement_and_forks() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let k = keys();
    let k0 = server_key(1, &k.h0);
    let k1 = server_key(2, &k.h01);
    let write = |name: &str, bytes: &[u8]| {
        let p = t.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let pem0 = write("k0.pem", k0.public_pem().as_bytes());
    let pem1 = write("k1.pem", k1.public_pem().as_bytes());
    let hist = write("history.json", &k.h01.bytes);

    // 1. A hearing across the rotation: k0 checkpoints before it, k1 after, sealed by k1.
    let rotated = hearing(&t.join("rotated"), &k0, &k1, ROTATION_MS + 60_000);
    // 2. A stolen retired key: k0 (with its one-key history) seals entries dated after
    //    the rotation.
    let stolen = hearing(&t.join("stolen"), &k0, &k0, ROTATION_MS + 60_000);
    // 3. A fork: whoever holds k0 signs another successor k1'.
    let h_fork = key_rotation::extend(&k.h0, &seed(1), &seed(3), sys(ROTATION_MS)).unwrap();
    let k1f = server_key(3, &h_fork);
    let fork = hearing(&t.join("fork"), &k0, &k1f, ROTATION_MS + 60_000);
    // 4. The old key checkpointing entries after its own retirement, in a bundle whose
    //    carried history says so.
    let late = hearing(&t.join("late"), &k0, &k1, ROTATION_MS + 60_000);
    {
        // Re-sign the checkpoint after "after 0" (size 6) with k0 instead of k1.
        let cp = late.join("log/checkpoints/000006.note");
        let text = String::from_utf8(std::fs::read(&cp).unwrap()).unwrap();
        let body = &text[..text.rfind("\n\n").unwrap() + 1];
        let note = sworn::verify::note::sign_note(body, SERVER, &seed(1));
        std::fs::write(&cp, note).unwrap();
        rewrite_manifest(&late, &k1);
    }
    // 5. A forged history: the predecessor's signature on key 1 replaced by garbage.
    let forged = hearing(&t.join("forged"), &k0, &k1, ROTATION_MS + 60_000);
    {
        let p = forged.join("keys/history.json");
        let mut doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let mut sig = doc["keys"][1]["signature_previous"]
            .as_str()
            .unwrap()
            .to_owned();
        let c = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, c);
        doc["keys"][1]["signature_previous"] = json!(sig);
        std::fs::write(&p, sworn::verify::canonical::to_canonical(&doc).unwrap()).unwrap();
        rewrite_manifest(&forged, &k1);
    }

    let cases = vec![
        Case {
            name: "rotated-pin-old",
            bundle: rotated.clone(),
            trust: Some(pem0.clone()),
            exit: 0,
            first_code: None,
        },
        Case {
            name: "rotated-pin-new",
            bundle: rotated.clone(),
            trust: Some(pem1.clone()),
            exit: 0,
            first_code: None,
        },
        Case {
            name: "rotated-pin-history",
            bundle: rotated.clone(),
            trust: Some(hist.clone()),
            exit: 0,
            first_code: None,
        },
        Case {
            name: "rotated-unpinned",
            bundle: rotated.clone(),
            trust: None,
            exit: 3,
            first_code: None,
        },
        Case {
            name: "stolen-pin-history",
            bundle: stolen.clone(),
            trust: Some(hist.clone()),
            exit: 1,
            first_code: Some("KeyRetired"),
        },
        // Pinning only the old key cannot tell (README: pin the history).
        Case {
            name: "stolen-pin-old",
            bundle: stolen.clone(),
            trust: Some(pem0.clone()),
            exit: 0,
            first_code: None,
        },
        Case {
            name: "fork-pin-history",
            bundle: fork.clone(),
            trust: Some(hist.clone()),
            exit: 1,
            first_code: Some("KeyHistoryConflict"),
        },
        Case {
            name: "fork-pin-new",
            bundle: fork.clone(),
            trust: Some(pem1.clone()),
            exit: 1,
            first_code: Some("UnknownKey"),
        },
        Case {
            name: "late-unpinned",
            bundle: late.clone(),
            trust: None,
            exit: 1,
            first_code: Some("KeyRetired"),
        },
        Case {
            name: "late-pin-history",
            bundle: late.clone(),
            trust: Some(hist.clone()),
            exit: 1,
            first_code: Some("KeyRetired"),
        },
        Case {
            name: "forged-history",
            bundle: forged.clone(),
            trust: Some(pem1.clone()),
            exit: 1,
            first_code: Some("KeyHistoryInvalid"),
        },
    ];
    for c in &cases {
        let (code, r) = verify(&c.bundle, c.trust.as_deref());
        assert_eq!(code, c.exit, "{}: {:?}", c.name, codes(&r));
        assert_eq!(
            codes(&r).first().map(String::as_str),
            c.first_code,
            "{}",
            c.name
        );
    }
    let (_, r) = verify(&rotated, Some(&pem0));
    let keys_check = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keys")
        .unwrap();
    assert!(
        keys_check["detail"]
            .as_str()
            .unwrap()
            .contains("succeeds the pinned key"),
        "{keys_check}"
    );

    if let Ok(out) = std::env::var("SWORN_KEYHISTORY_FIXTURES") {
        export_fixtures(Path::new(&out), &cases);
    }
}

/// Writes each case's bundle as a zip plus its trust file and `cases.json`.
fn export_fixtures(out: &Path, cases: &[Case]) {
    std::fs::create_dir_all(out).unwrap();
    let mut list = Vec::new();
    for c in cases {
        let zip = out.join(format!("{}.zip", c.name));
        let st = Command::new("zip")
            .current_dir(&c.bundle)
            .args(["-q", "-r", "-0", "-X", "-D"])
            .arg(&zip)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        let trust = c.trust.as_ref().map(|t| {
            let name = format!("{}.trust", c.name);
            std::fs::copy(t, out.join(&name)).unwrap();
            name
        });
        list.push(json!({"name": c.name, "zip": format!("{}.zip", c.name), "trust": trust, "exit": c.exit}));
    }
    std::fs::write(
        out.join("cases.json"),
        serde_json::to_vec_pretty(&list).unwrap(),
    )
    .unwrap();
}

#[test]
fn interrupted_rotation_is_finished_or_discarded_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let key_path = tmp.path().join("keys/server.key");
    let k0 = ServerKey::load_or_create(&key_path, SERVER).unwrap();
    let h0 = k0.history().unwrap().clone();
    assert_eq!(h0.parsed.keys.len(), 1);

    // A full rotation, keeping a copy of the old key to stage crashes with.
    std::fs::copy(&key_path, tmp.path().join("keys/server.key.bak")).unwrap();
    let r = key_rotation::rotate(&key_path, SERVER, SystemTime::now()).unwrap();
    let k1 = ServerKey::load_or_create(&key_path, SERVER).unwrap();
    assert_eq!(k1.fingerprint(), r.new);
    // Simulate the state between steps 2 and 3: history names the new key, server.key
    // still holds the old one, server.key.next the new one.
    std::fs::rename(&key_path, tmp.path().join("keys/server.key.next")).unwrap();
    std::fs::copy(tmp.path().join("keys/server.key.bak"), &key_path).unwrap();
    let again = ServerKey::load_or_create(&key_path, SERVER).unwrap();
    assert_eq!(again.fingerprint(), r.new, "step 3 finished at load");
    assert!(!tmp.path().join("keys/server.key.next").exists());

    // A leftover next key the history does not name is a rotation that never happened.
    std::fs::copy(
        tmp.path().join("keys/server.key.bak"),
        tmp.path().join("keys/server.key.next"),
    )
    .unwrap();
    let same = ServerKey::load_or_create(&key_path, SERVER).unwrap();
    assert_eq!(same.fingerprint(), r.new);
    assert!(!tmp.path().join("keys/server.key.next").exists());
    assert_eq!(same.history().unwrap().parsed.keys.len(), 2);

    // A history that does not end with the key is refused, not silently replaced.
    std::fs::write(tmp.path().join("keys/history.json"), &h0.bytes).unwrap();
    let err = ServerKey::load_or_create(&key_path, SERVER).unwrap_err();
    assert!(err.to_string().contains("newest key is not"), "{err}");
}
