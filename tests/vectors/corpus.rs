//! Test support shared by the tamper-corpus generator (`tests/tamper_corpus.rs`) and its
//! test (`tests/verify_corpus.rs`): where the corpus is and what the library verifier
//! gives for one of its zips, in the shape `expected.json` states it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// `tests/vectors/tamper/`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/tamper")
}

/// One failure as `expected.json` lists it: `{check, code, fields}`, `fields` being the
/// failure's JSON fields less `code` and the free-text `reason`.
pub fn failure(check: &str, error: &Value) -> Value {
    let mut fields = error.clone();
    if let Some(obj) = fields.as_object_mut() {
        obj.remove("code");
        obj.remove("reason");
    }
    json!({"check": check, "code": error["code"], "fields": fields})
}

/// The failures of a JSON report (`sworn-verify --json`), in report order.
pub fn failures_of_report(report: &Value) -> Vec<Value> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|c| !c["error"].is_null())
                .map(|c| failure(c["name"].as_str().unwrap_or_default(), &c["error"]))
                .collect()
        })
        .unwrap_or_default()
}

/// What the library verifier (through `verify_cli`'s zip reader) gives for `path`:
/// `{exit, verdict, failures}`, or `{exit: 2, verdict: null, open_error: true, failures: []}`
/// when the zip cannot be opened.
pub fn outcome(path: &Path, key: Option<ed25519_dalek::VerifyingKey>) -> Value {
    let src = match sworn::verify_cli::open_bundle(path) {
        Ok(s) => s,
        Err(_) => {
            return json!({"exit": 2, "verdict": null, "open_error": true, "failures": []});
        }
    };
    let checker = sworn::verify::bundle::Rfc3161Checker;
    let opts = sworn::verify::VerifyOptions {
        trusted_key: key,
        trusted_history: None,
        timestamps: Some(&checker),
        trusted_tsa_chain: None,
    };
    let report = sworn::verify::verify_bundle(src.as_ref(), &opts);
    let json: Value = serde_json::from_str(&report.to_json()).unwrap_or(Value::Null);
    json!({
        "exit": sworn::verify_cli::exit_code(&report),
        "verdict": json["verdict"],
        "failures": failures_of_report(&json),
    })
}

/// What `expected.json` says of a zip besides its results: what was done to it, the
/// codes it was made to give (`made_for`), and whether it is also run unpinned.
#[derive(Debug, Clone)]
pub struct Meta {
    pub about: String,
    pub made_for: Vec<String>,
    pub unpinned: bool,
}

/// The metadata of every entry of the committed `expected.json` (empty if none).
pub fn committed_meta() -> std::collections::BTreeMap<String, Meta> {
    let Ok(text) = std::fs::read_to_string(corpus_dir().join("expected.json")) else {
        return Default::default();
    };
    let v: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    v["bundles"]
        .as_object()
        .expect("bundles")
        .iter()
        .map(|(name, b)| {
            let made_for = b["made_for"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let meta = Meta {
                about: b["about"].as_str().unwrap_or_default().to_string(),
                made_for,
                unpinned: b.get("unpinned").is_some(),
            };
            (name.clone(), meta)
        })
        .collect()
}

/// Checks an entry's results against what it was made for: its `made_for` codes are
/// among its failures, an unopenable `zip-*` exits 2, a zip made for nothing exits 0.
pub fn check_made_for(name: &str, entry: &Value) -> Result<(), String> {
    let codes: Vec<&str> = entry["failures"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["code"].as_str()).collect())
        .unwrap_or_default();
    let made_for: Vec<&str> = entry["made_for"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(m) = made_for.iter().find(|m| !codes.contains(m)) {
        return Err(format!("{name}: made for {m}, gives {codes:?}"));
    }
    let want_exit = if name.starts_with("zip-") {
        2
    } else if made_for.is_empty() {
        0
    } else {
        1
    };
    if entry["exit"] != want_exit {
        return Err(format!(
            "{name}: exit {} (made to give {want_exit})",
            entry["exit"]
        ));
    }
    Ok(())
}

/// Recomputes `expected.json` from the zips on disk with the library verifier: every
/// zip must have its `meta`. Panics (blessing fails) if a zip no longer gives the codes
/// it was made for. Written whole, then renamed into place.
pub fn write_expected(meta: &std::collections::BTreeMap<String, Meta>) {
    let dir = corpus_dir();
    let key = sworn::verify_cli::read_trust_key(&dir.join("court.pub.pem")).expect("court.pub.pem");
    let mut bundles = serde_json::Map::new();
    let mut zips: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zip"))
        .collect();
    zips.sort();
    for name in zips {
        let m = meta
            .get(&name)
            .unwrap_or_else(|| panic!("{name}: not made by tests/tamper_corpus.rs"));
        let path = dir.join(&name);
        let mut entry = outcome(&path, Some(key));
        let obj = entry.as_object_mut().expect("object");
        obj.insert("about".into(), json!(m.about));
        obj.insert("made_for".into(), json!(m.made_for));
        if m.unpinned {
            obj.insert("unpinned".into(), outcome(&path, None));
        }
        if let Err(e) = check_made_for(&name, &entry) {
            panic!("{e}: {entry:#}");
        }
        bundles.insert(name, entry);
    }
    let expected = json!({
        "format": "sworn-tamper-corpus/1",
        "trust": "court.pub.pem",
        "bundles": bundles,
    });
    let mut text = serde_json::to_string_pretty(&expected).expect("JSON");
    text.push('\n');
    let tmp = dir.join("expected.json.tmp");
    std::fs::write(&tmp, text).expect("write expected.json");
    std::fs::rename(&tmp, dir.join("expected.json")).expect("rename expected.json");
}
