//! Independent checks on recorded files and bundles: ffmpeg, ffprobe, sworn-verify.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `ffmpeg -v error` decodes the whole file without a single message.
pub fn assert_decodes(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{path:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (audio, video) stream start times of a file, in seconds (NaN when absent).
pub fn stream_starts(path: &Path) -> (f64, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,start_time",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let start = |kind: &str| {
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == kind)
            .and_then(|s| s["start_time"].as_str())
            .and_then(|t| t.parse().ok())
            .unwrap_or(f64::NAN)
    };
    (start("audio"), start("video"))
}

/// The streams of a file as `codec_type:codec_name` (ffprobe), in file order.
pub fn streams_of(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{}:{}",
                        s["codec_type"].as_str().unwrap_or("?"),
                        s["codec_name"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `sworn-verify BUNDLE` (no key pinned) exits 3, valid against the bundle's own key;
/// returns its text report. `bin` is
/// `env!("CARGO_BIN_EXE_sworn-verify")` (known only to integration tests, and this module
/// is also compiled into the benchmark examples).
pub fn assert_verifies(bin: &str, bundle: &Path) -> String {
    let out = Command::new(bin).arg(bundle).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{report}"
    );
    report
}

/// [`assert_verifies`] with `--json`: the report, parsed.
pub fn assert_verifies_json(bin: &str, bundle: &Path) -> Value {
    let out = Command::new(bin)
        .arg(bundle)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The minutes of a sealed bundle as the judge signs them: rendered from its log.
pub fn minutes_of(bundle: &Path) -> String {
    sworn::evidence::minutes::render_minutes(
        &std::fs::read(bundle.join("log/entries.jsonl")).unwrap(),
    )
    .unwrap()
}

/// The bundle's log entries, parsed.
pub fn log_entries(bundle: &Path) -> Vec<Value> {
    std::fs::read_to_string(bundle.join("log/entries.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Last packet time of a file (s), as ffprobe reads it.
pub fn last_pts(path: &std::path::Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .fold(0.0, f64::max)
}
