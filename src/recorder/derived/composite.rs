//! The side-by-side composite: every participant's recording decoded, placed on one
//! common timeline (each at its wall-clock start), tiled and labelled, audio mixed, a
//! UTC clock burnt in, encoded x264 + AAC into MP4 with progress reported.
//!
//! Participants are fed to the filter graph merged in timeline order, with black and
//! silent frames standing in where a participant has no media, so memory stays bounded
//! however late someone joins. Must never modify an input or replace an existing file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ffmpeg_next as ffmpeg;

use super::encode::{Mp4Out, Mp4Sink};
use super::graph::{self, AUDIO_RATE, FONT, FPS, TILE_H, TILE_W, TileSpec};
use super::lanes::{BLACK_STEP_MS, Decoded, Feed, black_frame, covered, silent_frame};
use super::scan::{FileScan, ff, presence, scan_sequence, sequence_end};
use super::{
    CompositeInput, DerivedError, DerivedInfo, MAX_TILES, PlacedInput, check_new, info, io_err,
    ms_since_epoch,
};

/// Longest composite timeline (ms); starts further apart are a caller error.
const MAX_TIMELINE_MS: i64 = 24 * 3600 * 1000;

/// Stand-ins are given at most this much timeline (ms) before the output is pulled.
const FILL_SLICE_MS: i64 = 1000;

/// Per participant: its packet feed and the stand-in state of its two sources.
struct Participant {
    feed: Feed,
    video_present: Vec<(i64, i64)>,
    /// Timeline ms of the last video frame given to the graph.
    video_last: Option<i64>,
    black: ffmpeg::frame::Video,
    audio: Option<AudioLane>,
}

struct AudioLane {
    present: Vec<(i64, i64)>,
    rate: u32,
    channels: u16,
    /// End (samples on the timeline) of the audio given to the graph.
    end: i64,
    silence: ffmpeg::frame::Audio,
}

/// A participant as the composite needs it: label, start (ms since the epoch) and files
/// with optional wanted offsets from that start.
struct Source {
    label: String,
    start_ms: i64,
    files: Vec<(PathBuf, Option<i64>)>,
}

fn first_video_size(files: &[FileScan]) -> Option<(u32, u32)> {
    files
        .iter()
        .flat_map(|f| f.streams.iter())
        .find(|s| s.medium == ffmpeg::media::Type::Video && s.size.0 > 0 && s.size.1 > 0)
        .map(|s| s.size)
}

fn first_audio(files: &[FileScan]) -> Option<(u32, u16)> {
    files
        .iter()
        .flat_map(|f| f.streams.iter())
        .find(|s| s.medium == ffmpeg::media::Type::Audio && s.audio.0 > 0 && s.audio.1 > 0)
        .map(|s| (s.audio.0, s.audio.1.min(2)))
}

/// Makes the composite of `inputs` (1..=9 participants) into the MP4 `out`. The clock
/// shows UTC from the earlier of `hearing_start` and the first participant's start.
/// `progress` receives fractions in 0..=1, ending with 1.0. Blocking and CPU-bound.
/// A participant's files are placed back to back from its `start`.
pub fn composite(
    inputs: &[CompositeInput],
    hearing_start: SystemTime,
    out: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<DerivedInfo, DerivedError> {
    let sources: Vec<Source> = inputs
        .iter()
        .map(|i| Source {
            label: i.label.clone(),
            start_ms: ms_since_epoch(i.start),
            files: i.files.iter().map(|p| (p.clone(), None)).collect(),
        })
        .collect();
    composite_sources(&sources, hearing_start, "", out, progress)
}

/// Like [`composite`], but every file sits at its own wall-clock start, so a
/// participant who reconnected shows a black tile for the time in between. `caption`
/// (may be empty) is shown under the clock.
pub fn composite_placed(
    inputs: &[PlacedInput],
    hearing_start: SystemTime,
    caption: &str,
    out: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<DerivedInfo, DerivedError> {
    let sources: Vec<Source> = inputs
        .iter()
        .map(|i| {
            let start_ms = i
                .files
                .first()
                .map_or(ms_since_epoch(hearing_start), |f| ms_since_epoch(f.start));
            Source {
                label: i.label.clone(),
                start_ms,
                files: i
                    .files
                    .iter()
                    .map(|f| {
                        let at = ms_since_epoch(f.start).saturating_sub(start_ms);
                        (f.path.clone(), Some(at))
                    })
                    .collect(),
            }
        })
        .collect();
    composite_sources(&sources, hearing_start, caption, out, progress)
}

fn composite_sources(
    inputs: &[Source],
    hearing_start: SystemTime,
    caption: &str,
    out: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<DerivedInfo, DerivedError> {
    if inputs.is_empty() {
        return Err(DerivedError::NoInputs);
    }
    if inputs.len() > MAX_TILES {
        return Err(DerivedError::TooManyInputs(inputs.len()));
    }
    ffmpeg::init().map_err(ff("init"))?;
    check_new(out)?;
    if !Path::new(FONT).is_file() {
        return Err(DerivedError::Missing(
            "font DejaVuSans.ttf (fonts-dejavu-core)",
        ));
    }
    let origin = inputs
        .iter()
        .map(|i| i.start_ms)
        .chain([ms_since_epoch(hearing_start)])
        .min()
        .unwrap_or(0);
    let mut tiles = Vec::with_capacity(inputs.len());
    let mut people = Vec::with_capacity(inputs.len());
    let mut total_ms = 0i64;
    for input in inputs {
        let files = scan_sequence(&input.files)?;
        let offset = input.start_ms.saturating_sub(origin);
        total_ms = total_ms.max(offset.saturating_add(sequence_end(&files)));
        let shift = |v: Vec<(i64, i64)>| -> Vec<(i64, i64)> {
            v.into_iter()
                .map(|(a, b)| (a.saturating_add(offset), b.saturating_add(offset)))
                .collect()
        };
        let size = first_video_size(&files).unwrap_or((TILE_W, TILE_H));
        let audio = first_audio(&files);
        tiles.push(TileSpec {
            label: input.label.clone(),
            video_size: size,
            audio,
        });
        people.push(Participant {
            video_present: shift(presence(&files, ffmpeg::media::Type::Video)),
            audio: audio.map(|(rate, channels)| AudioLane {
                present: shift(presence(&files, ffmpeg::media::Type::Audio)),
                rate,
                channels,
                end: 0,
                silence: silent_frame(rate, channels),
            }),
            feed: Feed::new(files, offset),
            video_last: None,
            black: black_frame(size.0, size.1),
        });
    }
    if total_ms <= 0 {
        return Err(DerivedError::Incompatible("no media in any input"));
    }
    if total_ms > MAX_TIMELINE_MS {
        // A start time far from the others would make hours of black video.
        return Err(DerivedError::Incompatible("timeline longer than 24 h"));
    }
    File::options()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(io_err("create output"))?;
    let result = run(
        &tiles,
        &mut people,
        (origin, total_ms),
        caption,
        out,
        progress,
    );
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn run(
    tiles: &[TileSpec],
    people: &mut [Participant],
    (origin, total_ms): (i64, i64),
    caption: &str,
    out: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<DerivedInfo, DerivedError> {
    let mut graph = graph::build(tiles, total_ms, origin, caption)?;
    let has_audio = tiles.iter().any(|t| t.audio.is_some());
    let vtb = graph
        .get("vout")
        .map(|mut c| c.sink().time_base())
        .ok_or(DerivedError::Missing("video sink"))?;
    let (cols, rows) = graph::grid(tiles.len());
    let mut mp4 = Mp4Sink {
        out: Mp4Out::create(
            out,
            TILE_W * cols as u32,
            TILE_H * rows as u32,
            vtb,
            FPS,
            has_audio.then_some(AUDIO_RATE),
        )?,
        vtb,
        total_ms,
        reported: 0.0,
    };
    if let (Some(n), Some(mut sink)) = (mp4.out.audio_frame_size(), graph.get("aout")) {
        sink.sink().set_frame_size(n);
    }
    progress(0.0);
    let mut frames = Vec::new();
    let mut filled = 0i64;
    loop {
        // The participant whose next packet is earliest on the timeline.
        let mut next: Option<(usize, i64)> = None;
        for (i, p) in people.iter_mut().enumerate() {
            if let Some(t) = p.feed.peek_ms()? {
                if next.is_none_or(|(_, best)| t < best) {
                    next = Some((i, t));
                }
            }
        }
        let Some((who, t)) = next else { break };
        filled = fill_until(&mut graph, people, &mut mp4, filled, t, progress)?;
        if let Some(p) = people.get_mut(who) {
            p.feed.decode_next(&mut frames);
            push(&mut graph, who, p, &mut frames)?;
        }
        mp4.pull(&mut graph, progress)?;
    }
    for (i, p) in people.iter_mut().enumerate() {
        p.feed.finish(&mut frames);
        push(&mut graph, i, p, &mut frames)?;
    }
    fill_until(&mut graph, people, &mut mp4, filled, total_ms, progress)?;
    for (i, p) in people.iter_mut().enumerate() {
        if let Some(mut src) = graph.get(&format!("v{i}")) {
            src.source().flush().map_err(ff("end video source"))?;
        }
        if p.audio.is_some() {
            if let Some(mut src) = graph.get(&format!("a{i}")) {
                src.source().flush().map_err(ff("end audio source"))?;
            }
        }
        mp4.pull(&mut graph, progress)?;
    }
    mp4.pull(&mut graph, progress)?;
    mp4.out.finish()?;
    let skipped: u64 = people.iter().map(|p| p.feed.undecodable).sum();
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "composite: packets that did not decode were left out"
        );
    }
    progress(1.0);
    info(out, u64::try_from(total_ms).unwrap_or(0))
}

/// Stand-ins for everyone from `from` to `upto` (timeline ms), a second at a time with
/// the output pulled in between, so a long absence never piles up frames in memory.
fn fill_until(
    graph: &mut ffmpeg::filter::Graph,
    people: &mut [Participant],
    mp4: &mut Mp4Sink,
    from: i64,
    upto: i64,
    progress: &mut dyn FnMut(f32),
) -> Result<i64, DerivedError> {
    let mut at = from;
    loop {
        at = at.saturating_add(FILL_SLICE_MS).min(upto);
        for (i, p) in people.iter_mut().enumerate() {
            stand_in(graph, i, p, at)?;
        }
        if at >= upto {
            return Ok(at.max(from));
        }
        mp4.pull(graph, progress)?;
    }
}

/// Gives participant `i`'s sources black/silent frames up to timeline ms `upto`
/// wherever it has no media of its own.
fn stand_in(
    graph: &mut ffmpeg::filter::Graph,
    i: usize,
    p: &mut Participant,
    upto: i64,
) -> Result<(), DerivedError> {
    loop {
        let t = p.video_last.map_or(0, |l| l.saturating_add(BLACK_STEP_MS));
        if t > upto || covered(&p.video_present, t) {
            break;
        }
        // The source takes the frame's buffers: give it a new reference each time.
        let mut black = p.black.clone();
        black.set_pts(Some(t));
        add_video(graph, i, &black)?;
        p.video_last = Some(t);
    }
    if let Some(a) = p.audio.as_mut() {
        let rate = i64::from(a.rate);
        let len = i64::try_from(a.silence.samples()).unwrap_or(960);
        loop {
            let t = a.end.saturating_mul(1000) / rate.max(1);
            if t.saturating_add(len * 1000 / rate.max(1)) > upto || covered(&a.present, t) {
                break;
            }
            let mut silence = a.silence.clone();
            silence.set_pts(Some(a.end));
            add_audio(graph, i, &silence)?;
            a.end = a.end.saturating_add(len);
        }
    }
    Ok(())
}

fn add_video(
    graph: &mut ffmpeg::filter::Graph,
    i: usize,
    f: &ffmpeg::frame::Video,
) -> Result<(), DerivedError> {
    let mut src = graph
        .get(&format!("v{i}"))
        .ok_or(DerivedError::Missing("video source"))?;
    src.source().add(f).map_err(ff("feed video"))
}

fn add_audio(
    graph: &mut ffmpeg::filter::Graph,
    i: usize,
    f: &ffmpeg::frame::Audio,
) -> Result<(), DerivedError> {
    let mut src = graph
        .get(&format!("a{i}"))
        .ok_or(DerivedError::Missing("audio source"))?;
    src.source().add(f).map_err(ff("feed audio"))
}

/// Gives decoded frames to participant `i`'s sources.
fn push(
    graph: &mut ffmpeg::filter::Graph,
    i: usize,
    p: &mut Participant,
    frames: &mut Vec<Decoded>,
) -> Result<(), DerivedError> {
    for f in frames.drain(..) {
        match f {
            Decoded::Video(v) => {
                let Some(pts) = v.pts() else { continue };
                if p.video_last.is_some_and(|l| pts <= l) {
                    continue; // never step back in time on a source
                }
                add_video(graph, i, &v)?;
                p.video_last = Some(pts);
            }
            Decoded::Audio(a) => {
                let Some(lane) = p.audio.as_mut() else {
                    continue;
                };
                let fmt_ok = a.format()
                    == ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Planar)
                    && a.rate() == lane.rate
                    && a.channels() == lane.channels;
                let Some(pts) = a.pts() else { continue };
                if !fmt_ok {
                    p.feed.undecodable += 1;
                    continue;
                }
                add_audio(graph, i, &a)?;
                let n = i64::try_from(a.samples()).unwrap_or(0);
                lane.end = lane.end.max(pts.saturating_add(n));
            }
        }
    }
    Ok(())
}
