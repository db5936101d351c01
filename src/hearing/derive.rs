//! Derived viewing copies made when a hearing closes, before its log is finalised: one
//! seekable copy per participant and a side-by-side composite with names, roles and a
//! UTC clock. They never replace the originals; each is committed to the log as a
//! `derived_file` naming the media files it was made from. Interpretation channels get
//! their own copy but stay out of the composite, which carries the floor and names the
//! channels recorded beside it in a caption.

use crate::recorder::derived::{self, DerivedInfo, PlacedFile, PlacedInput};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One derived file, ready to be logged and bundled.
#[derive(Debug)]
pub(crate) struct Derived {
    /// Path under `derived/`.
    pub file: String,
    pub info: DerivedInfo,
    /// Source media paths (under `media/`).
    pub from: Vec<String>,
    pub method: &'static str,
}

pub(crate) struct Job {
    media_dir: PathBuf,
    out_dir: PathBuf,
    /// participant id -> (label, files)
    people: BTreeMap<String, (String, Vec<(String, SystemTime)>)>,
    /// Streams that are interpretation channels -> how the caption names them.
    channels: BTreeMap<String, String>,
    start: SystemTime,
}

fn parse_wall(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let ms = u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

/// Plans the copies from the log: sealed files, their participant and wall-clock start.
/// `labels` names each stream; `channels` (stream -> caption name) are the
/// interpretation channels, kept out of the composite.
pub(crate) fn plan(
    log_dir: &Path,
    media_dir: &Path,
    out_dir: &Path,
    labels: &BTreeMap<String, String>,
    channels: BTreeMap<String, String>,
) -> Option<Job> {
    let bytes = std::fs::read(log_dir.join("entries.jsonl")).ok()?;
    let mut starts: BTreeMap<String, (String, SystemTime)> = BTreeMap::new();
    let mut sealed = std::collections::BTreeSet::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let file = v["file"].as_str().unwrap_or_default().to_owned();
        match v["type"].as_str() {
            Some("media_chunk") if !starts.contains_key(&file) => {
                let (Some(p), Some(wall)) = (
                    v["participant"].as_str(),
                    v["wall_start"].as_str().and_then(parse_wall),
                ) else {
                    continue;
                };
                let media_ms =
                    u64::try_from(v["media_start_ms"].as_i64().unwrap_or(0)).unwrap_or(0);
                starts.insert(
                    file,
                    (
                        p.to_owned(),
                        wall.checked_sub(Duration::from_millis(media_ms))
                            .unwrap_or(wall),
                    ),
                );
            }
            Some("file_sealed") => {
                sealed.insert(file);
            }
            _ => {}
        }
    }
    let mut people: BTreeMap<String, (String, Vec<(String, SystemTime)>)> = BTreeMap::new();
    for (file, (pid, start)) in starts.into_iter().filter(|(f, _)| sealed.contains(f)) {
        let label = labels.get(&pid).cloned().unwrap_or_else(|| pid.clone());
        people
            .entry(pid)
            .or_insert_with(|| (label, Vec::new()))
            .1
            .push((file, start));
    }
    let start = people
        .values()
        .flat_map(|(_, f)| f.iter().map(|(_, s)| *s))
        .min()?;
    for (_, files) in people.values_mut() {
        files.sort_by_key(|(_, s)| *s);
    }
    Some(Job {
        media_dir: media_dir.to_owned(),
        out_dir: out_dir.to_owned(),
        people,
        channels,
        start,
    })
}

/// Makes the copies (blocking: run on a blocking thread). `progress` is 0..=1000.
pub(crate) fn run(job: Job, progress: Arc<AtomicU32>) -> Vec<Derived> {
    let mut out = Vec::new();
    if std::fs::create_dir_all(&job.out_dir).is_err() {
        return out;
    }
    let placed = |files: &[(String, SystemTime)]| -> Vec<PlacedFile> {
        files
            .iter()
            .map(|(f, s)| PlacedFile {
                path: job.media_dir.join(f),
                start: *s,
            })
            .collect()
    };
    for (pid, (_, files)) in &job.people {
        let all_webm = files.iter().all(|(f, _)| f.ends_with(".webm"));
        let name = format!("{pid}.{}", if all_webm { "webm" } else { "mkv" });
        match derived::remux_seekable_placed(&placed(files), &job.out_dir.join(&name)) {
            Ok(info) => out.push(Derived {
                file: name,
                info,
                from: files.iter().map(|(f, _)| f.clone()).collect(),
                method: "seekable remux, no transcoding",
            }),
            Err(e) => tracing::warn!(error = %e, "seekable copy failed"),
        }
    }
    let floor = || {
        job.people
            .iter()
            .filter(|(pid, _)| !job.channels.contains_key(*pid))
            .map(|(_, v)| v)
    };
    let inputs: Vec<PlacedInput> = floor()
        .take(derived::MAX_TILES)
        .map(|(label, files)| PlacedInput {
            files: placed(files),
            label: label.clone(),
        })
        .collect();
    let mut report =
        |f: f32| progress.store((f.clamp(0.0, 1.0) * 1000.0) as u32, Ordering::Relaxed);
    let recorded: Vec<&str> = job
        .channels
        .iter()
        .filter(|(s, _)| job.people.contains_key(*s))
        .map(|(_, name)| name.as_str())
        .collect();
    let caption = if recorded.is_empty() {
        String::new()
    } else {
        format!(
            "Floor audio. Interpretation recorded separately: {}",
            recorded.join(", ")
        )
    };
    match derived::composite_placed(
        &inputs,
        job.start,
        &caption,
        &job.out_dir.join("composite.mp4"),
        &mut report,
    ) {
        Ok(info) => out.push(Derived {
            file: "composite.mp4".into(),
            info,
            from: floor()
                .flat_map(|(_, f)| f.iter().map(|(p, _)| p.clone()))
                .collect(),
            method: "side-by-side composite, x264 + AAC, labels and UTC clock",
        }),
        Err(e) => tracing::warn!(error = %e, "composite failed"),
    }
    progress.store(1000, Ordering::Relaxed);
    out
}
