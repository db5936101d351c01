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
