//! The committed tamper corpus (`tests/vectors/tamper/`, docs/bundle-format.md §13)
//! against `expected.json`, through the library verifier and the `sworn-verify` binary:
//! every zip gives exactly its verdict, exit code and failures (check, code, fields less
//! the free-text `reason`), with the pinned `court.pub.pem` and, where stated, without
//! it; a zip missing from `expected.json` or an entry without its zip fails. The CLI's
//! output is locked by golden transcripts (`golden/`), and `--list-codes` by its golden
//! files, `verify::CODES` and the messages of `web/js/verify/errors.js`.
//!
//! The zips are never written here (`tests/tamper_corpus.rs` makes them). After a merge
//! that changes the checks, the report's wording or the CLI, re-bless with one command,
//! then review `git diff tests/vectors/tamper`:
//!
//! ```text
//! SWORN_BLESS=1 nice -n 10 cargo test --no-default-features --features evidence \
//!     --test verify_corpus
//! ```
//!
//! It recomputes the results in `expected.json` from the committed zips (keeping what
//! each is about and `made_for`; it fails if a zip no longer gives the codes it was made
//! for) and rewrites the golden transcripts.
//!
//! Transcripts run `sworn-verify` in `tests/vectors/tamper/` with relative paths (the
//! report itself prints no path and no current time), so they are the same everywhere.
#![cfg(feature = "evidence")]

#[path = "vectors/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use corpus::{corpus_dir, failures_of_report, outcome};
use serde_json::Value;

/// Codes no zip can trigger, and why (docs/bundle-format.md §13).
const NOT_IN_CORPUS: [(&str, &str); 7] = [
    (
        "ReadFailed",
        "an I/O error of the reader (exit 2), not a property of the bundle's bytes",
    ),
    (
        "FileTooLarge",
        "needs a file over 256 MiB, too large to commit; tests/verify_zip.rs and the browser suite cover it",
    ),
    (
        "KeyHistoryConflict",
        "needs a pinned key history, and the corpus pins one key (court.pub.pem); tests/key_history.rs and tests/browser/keyhistory.test.mjs cover it",
    ),
    (
        "ArchiveAlgorithmUnsupported",
        "needs a hand-built DER evidence record; tests/archive_record.rs and the browser verifier's archive fixtures cover it",
    ),
    (
        "ArchiveHashTreeMismatch",
        "needs a hand-built DER evidence record; tests/archive_record.rs and the browser verifier's archive fixtures cover it",
    ),
    (
        "ArchiveRenewalOutOfOrder",
        "needs renewals by TSAs with crafted times; tests/archive_record.rs and the browser verifier's archive fixtures cover it",
    ),
    (
        "ArchiveRenewalLate",
        "needs a renewal after a TSA certificate's expiry; tests/archive_record.rs and the browser verifier's archive fixtures cover it",
    ),
];

static BLESS_EXPECTED: std::sync::Once = std::sync::Once::new();

fn blessing() -> bool {
    std::env::var_os("SWORN_BLESS").is_some()
}

/// The committed `expected.json` (first recomputed from the zips when blessing).
fn expected() -> Value {
    if blessing() {
        BLESS_EXPECTED.call_once(|| corpus::write_expected(&corpus::committed_meta()));
    }
    let text = std::fs::read_to_string(corpus_dir().join("expected.json"))
        .expect("tests/vectors/tamper/expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

fn pinned_key() -> ed25519_dalek::VerifyingKey {
    sworn::verify_cli::read_trust_key(&corpus_dir().join("court.pub.pem")).expect("court.pub.pem")
}

fn zips_on_disk() -> BTreeSet<String> {
    std::fs::read_dir(corpus_dir())
        .expect("tests/vectors/tamper")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".zip"))
        .collect()
}

/// The part of an `expected.json` entry a run is compared with.
fn verdict_part(v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["exit", "verdict", "failures", "open_error"] {
        if let Some(x) = v.get(k) {
            out.insert(k.into(), x.clone());
        }
    }
    Value::Object(out)
}

#[test]
fn every_zip_is_in_expected_json_and_every_entry_has_its_zip() {
    let exp = expected();
    assert_eq!(exp["format"], "sworn-tamper-corpus/1");
    let listed: BTreeSet<String> = exp["bundles"]
        .as_object()
        .expect("bundles")
        .keys()
        .cloned()
        .collect();
    let on_disk = zips_on_disk();
    assert_eq!(
        on_disk.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "zips not in expected.json"
    );
    assert_eq!(
        listed.difference(&on_disk).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "expected.json entries without a zip"
    );
    assert!(listed.len() >= 60, "{} zips", listed.len());
    for (name, entry) in exp["bundles"].as_object().expect("bundles") {
        assert!(entry["made_for"].is_array(), "{name}: made_for");
        if let Err(e) = corpus::check_made_for(name, entry) {
            panic!("{e}");
        }
    }
    for must in ["clean.zip", "clean-export.zip"] {
        assert_eq!(exp["bundles"][must]["exit"], 0, "{must}");
    }
}

#[test]
fn the_library_gives_exactly_what_expected_json_says() {
    let exp = expected();
    let key = pinned_key();
    let mut wrong = Vec::new();
    for (name, want) in exp["bundles"].as_object().expect("bundles") {
        let path = corpus_dir().join(name);
        let got = outcome(&path, Some(key));
        if got != verdict_part(want) {
            wrong.push(format!(
                "{name}: want {:#}\ngot {got:#}",
                verdict_part(want)
            ));
        }
        if let Some(u) = want.get("unpinned") {
            let got = outcome(&path, None);
            if got != verdict_part(u) {
                wrong.push(format!("{name} (unpinned): want {u:#}\ngot {got:#}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// Runs `sworn-verify` in the corpus directory: (exit code, stdout, stderr).
fn sworn_verify(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .args(args)
        .current_dir(corpus_dir())
        .output()
        .expect("run sworn-verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

#[test]
fn sworn_verify_gives_exactly_what_expected_json_says() {
    let exp = expected();
    let mut wrong = Vec::new();
    for (name, want) in exp["bundles"].as_object().expect("bundles") {
        let mut runs = vec![(vec!["--json", "--trust", "court.pub.pem", name], want)];
        if let Some(u) = want.get("unpinned") {
            runs.push((vec!["--json", name], u));
        }
        for (args, want) in runs {
            let (code, stdout, stderr) = sworn_verify(&args);
            let got = if code == 2 {
                assert!(stdout.is_empty(), "{name}: {stdout}");
                assert!(
                    stderr.starts_with("error: cannot open bundle"),
                    "{name}: {stderr}"
                );
                serde_json::json!({"exit": 2, "verdict": null, "open_error": true, "failures": []})
            } else {
                let report: Value = serde_json::from_str(&stdout).expect("JSON report");
                serde_json::json!({
                    "exit": code,
                    "verdict": report["verdict"],
                    "failures": failures_of_report(&report),
                })
            };
            if got != verdict_part(want) {
                wrong.push(format!(
                    "{args:?}: want {:#}\ngot {got:#}",
                    verdict_part(want)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn every_code_a_bundle_can_trigger_is_in_the_corpus() {
    let exp = expected();
    let mut seen = BTreeSet::new();
    for want in exp["bundles"].as_object().expect("bundles").values() {
        for f in want["failures"].as_array().expect("failures") {
            seen.insert(f["code"].as_str().expect("code").to_string());
        }
    }
    let missing: Vec<&str> = sworn::verify::CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !seen.contains(*c) && !NOT_IN_CORPUS.iter().any(|(n, _)| n == c))
        .collect();
    assert!(
        missing.is_empty(),
        "failure codes no corpus zip gives: {missing:?}; add a case to tests/tamper_corpus.rs \
         (and bless), or to NOT_IN_CORPUS with the reason"
    );
    for (c, _) in NOT_IN_CORPUS {
        assert!(sworn::verify::CODES.iter().any(|(n, _)| *n == c), "{c}");
    }
}

/// The keys of `MESSAGES` in `web/js/verify/errors.js`, in order.
fn js_message_codes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/js/verify/errors.js");
    let js = std::fs::read_to_string(path).expect("errors.js");
    let start = js.find("const MESSAGES = {").expect("MESSAGES");
    let body = &js[start..];
    let end = body.find("\n};").expect("end of MESSAGES");
    body[..end]
        .lines()
        .skip(1)
        .filter_map(|l| {
            let name: String = l
                .strip_prefix("  ")?
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            (!name.is_empty() && l.trim_start()[name.len()..].starts_with(':')).then_some(name)
        })
        .collect()
}

#[test]
fn list_codes_equals_the_enum_and_the_browser_messages() {
    let codes: Vec<String> = sworn::verify::CODES
        .iter()
        .map(|(c, _)| c.to_string())
        .collect();
    let js = js_message_codes();
    let only_rust: Vec<&String> = codes.iter().filter(|c| !js.contains(c)).collect();
    let only_js: Vec<&String> = js.iter().filter(|c| !codes.contains(c)).collect();
    assert!(
        only_rust.is_empty() && only_js.is_empty(),
        "codes without a browser message: {only_rust:?}; browser messages of no code: {only_js:?}"
    );
    assert_eq!(js.len(), codes.len(), "a code twice in errors.js");

    let (code, stdout, stderr) = sworn_verify(&["--list-codes", "--json"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let v: Value = serde_json::from_str(&stdout).expect("JSON");
    let listed: Vec<String> = v["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(listed, codes);
    let exits: Vec<i64> = v["exit_codes"]
        .as_array()
        .expect("exit_codes")
        .iter()
        .map(|e| e["exit"].as_i64().expect("exit"))
        .collect();
    assert_eq!(exits, [0, 1, 2, 3]);
    let (code, text, _) = sworn_verify(&["--list-codes"]);
    assert_eq!(code, 0);
    let text_codes: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(text_codes, codes);
}

/// `(golden file stem, sworn-verify arguments)`: the transcripts locked byte for byte.
const GOLDEN: [(&str, &[&str]); 13] = [
    ("clean", &["--trust", "court.pub.pem", "clean.zip"]),
    ("clean-unpinned", &["clean.zip"]),
    (
        "clean-export",
        &["--trust", "court.pub.pem", "clean-export.zip"],
    ),
    (
        "forged-other-key",
        &["--trust", "court.pub.pem", "forged-other-key.zip"],
    ),
    (
        "missing-file",
        &["--trust", "court.pub.pem", "missing-file.zip"],
    ),
    (
        "media-byte-flipped",
        &["--trust", "court.pub.pem", "media-byte-flipped.zip"],
    ),
    (
        "checkpoint-other-key",
        &["--trust", "court.pub.pem", "checkpoint-other-key.zip"],
    ),
    (
        "timestamp-signature-flipped",
        &[
            "--trust",
            "court.pub.pem",
            "timestamp-signature-flipped.zip",
        ],
    ),
    (
        "es256-attestation-signature-flipped",
        &[
            "--trust",
            "court.pub.pem",
            "es256-attestation-signature-flipped.zip",
        ],
    ),
    (
        "custody-entry-edited",
        &["--trust", "court.pub.pem", "custody-entry-edited.zip"],
    ),
    (
        "zip-compressed-entry",
        &["--trust", "court.pub.pem", "zip-compressed-entry.zip"],
    ),
    ("list-codes", &["--list-codes"]),
    ("list-codes-json", &["--list-codes", "--json"]),
];

/// `$ sworn-verify ARGS`, stdout, `[stderr]` and its lines if any, `[exit N]`.
fn transcript(args: &[&str]) -> String {
    let (code, stdout, stderr) = sworn_verify(args);
    let mut t = format!("$ sworn-verify {}\n{stdout}", args.join(" "));
    if !t.ends_with('\n') {
        t.push('\n');
    }
    if !stderr.is_empty() {
        t.push_str("[stderr]\n");
        t.push_str(&stderr);
        if !stderr.ends_with('\n') {
            t.push('\n');
        }
    }
    t.push_str(&format!("[exit {code}]\n"));
    t
}

#[test]
fn sworn_verify_output_matches_the_golden_transcripts() {
    let dir = corpus_dir().join("golden");
    let bless = blessing();
    let mut files = Vec::new();
    for (stem, args) in GOLDEN {
        files.push((format!("{stem}.txt"), transcript(args)));
        // The JSON report of each bundle run, as is.
        if !args.contains(&"--list-codes") {
            let mut json_args = vec!["--json"];
            json_args.extend_from_slice(args);
            files.push((format!("{stem}.json"), sworn_verify(&json_args).1));
        }
    }
    if bless {
        std::fs::create_dir_all(&dir).expect("golden dir");
        for e in std::fs::read_dir(&dir).expect("golden dir") {
            std::fs::remove_file(e.expect("entry").path()).expect("remove old golden");
        }
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).expect("write golden");
        }
        return;
    }
    let mut wrong = Vec::new();
    for (name, text) in &files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(want) if &want == text => {}
            Ok(want) => wrong.push(format!(
                "{name} differs:\n--- golden\n{want}\n--- now\n{text}"
            )),
            Err(e) => wrong.push(format!("{name}: {e}")),
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let made: BTreeSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
    for stale in on_disk.difference(&made) {
        wrong.push(format!("{stale}: golden file of no transcript"));
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nre-bless with SWORN_BLESS=1 cargo test --no-default-features --features evidence \
         --test verify_corpus, then review git diff tests/vectors/tamper",
        wrong.join("\n\n")
    );
}
