//! Seekable copy of a participant's recording: every packet stream-copied (no
//! transcoding, payloads byte-identical) from one or more rotated files into one
//! WebM/Matroska file written in normal (non-live) mode, so the muxer adds a duration
//! and cues (a seek index). Rotated files are placed back to back on one timeline.
//!
//! Must never modify an input, never change a payload, never reorder a stream's
//! packets, never overwrite an existing output.

use std::fs::File;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use super::scan::{FileScan, ff, scan_sequence, sequence_end};
use super::{DerivedError, DerivedInfo, PlacedFile, check_new, ffi, info, io_err, ms_since_epoch};

/// Codecs a WebM file may hold; anything else needs Matroska.
fn webm_ok(id: ffmpeg::codec::Id) -> bool {
    use ffmpeg::codec::Id;
    matches!(id, Id::VP8 | Id::VP9 | Id::AV1 | Id::OPUS | Id::VORBIS)
}

/// An output stream: medium, codec, and the (file, stream) whose parameters it copies.
type OutStream = (ffmpeg::media::Type, ffmpeg::codec::Id, usize, usize);

/// Output streams: one per (medium, codec) as many times as one file needs it, in
/// order of first appearance. Returns the per-file map input index -> output index.
fn plan(files: &[FileScan]) -> (Vec<OutStream>, Vec<Vec<Option<usize>>>) {
    // (medium, codec, file index of the template, stream index in that file)
    let mut outs: Vec<OutStream> = Vec::new();
    let mut maps = Vec::with_capacity(files.len());
    for (fi, f) in files.iter().enumerate() {
        let mut used = vec![false; outs.len()];
        let mut map = Vec::with_capacity(f.streams.len());
        for (si, s) in f.streams.iter().enumerate() {
            let usable = matches!(
                s.medium,
                ffmpeg::media::Type::Video | ffmpeg::media::Type::Audio
            );
            if !usable {
                map.push(None);
                continue;
            }
            let found = outs.iter().enumerate().position(|(oi, o)| {
                o.0 == s.medium && o.1 == s.codec && !used.get(oi).copied().unwrap_or(true)
            });
            let oi = match found {
                Some(oi) => oi,
                None => {
                    outs.push((s.medium, s.codec, fi, si));
                    used.push(false);
                    outs.len() - 1
                }
            };
            if let Some(u) = used.get_mut(oi) {
                *u = true;
            }
            map.push(Some(oi));
        }
        maps.push(map);
    }
    (outs, maps)
}

/// Remuxes `inputs` (one participant's files, in order) into the seekable file `out`.
/// The container is WebM when every codec allows it, else Matroska.
/// Files are placed back to back (right for rotations within one connection).
pub fn remux_seekable(inputs: &[PathBuf], out: &Path) -> Result<DerivedInfo, DerivedError> {
    let seq: Vec<(PathBuf, Option<i64>)> = inputs.iter().map(|p| (p.clone(), None)).collect();
    remux_sequence(&seq, out)
}

/// Like [`remux_seekable`], but each file starts at its wall-clock start relative to
/// the first file's (never overlapping the previous file), so a gap between two
/// connections stays a gap in the copy's timestamps.
pub fn remux_seekable_placed(
    inputs: &[PlacedFile],
    out: &Path,
) -> Result<DerivedInfo, DerivedError> {
    let first = inputs.first().map_or(0, |f| ms_since_epoch(f.start));
    let seq: Vec<(PathBuf, Option<i64>)> = inputs
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                Some(ms_since_epoch(f.start).saturating_sub(first)),
            )
        })
        .collect();
    remux_sequence(&seq, out)
}

fn remux_sequence(
    inputs: &[(PathBuf, Option<i64>)],
    out: &Path,
) -> Result<DerivedInfo, DerivedError> {
    if inputs.is_empty() {
        return Err(DerivedError::NoInputs);
    }
    ffmpeg::init().map_err(ff("init"))?;
    check_new(out)?;
    let files = scan_sequence(inputs)?;
    let (outs, maps) = plan(&files);
    if outs.is_empty() {
        return Err(DerivedError::Incompatible("no audio or video stream"));
    }
    let container = if outs.iter().all(|o| webm_ok(o.1)) {
        "webm"
    } else {
        "matroska"
    };
    File::options()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(io_err("create output"))?;
    let result = write_copy(&files, &outs, &maps, container, out);
    if result.is_err() {
        // Our own partial output: nothing refers to it yet.
        let _ = std::fs::remove_file(out);
    }
    result
}

fn write_copy(
    files: &[FileScan],
    outs: &[OutStream],
    maps: &[Vec<Option<usize>>],
    container: &'static str,
    out: &Path,
) -> Result<DerivedInfo, DerivedError> {
    let mut octx = ffmpeg::format::output_as(&out, container).map_err(ff("open output"))?;
    for &(_, _, fi, si) in outs {
        let Some(f) = files.get(fi) else {
            return Err(DerivedError::Incompatible("stream plan out of range"));
        };
        let ictx = ffmpeg::format::input(&f.path).map_err(ff("open input"))?;
        let Some(ist) = ictx.stream(si) else {
            return Err(DerivedError::Incompatible("input changed while copying"));
        };
        let mut ost = octx
            .add_stream(Option::<ffmpeg::Codec>::None)
            .map_err(ff("add stream"))?;
        ost.set_parameters(ist.parameters());
        ost.set_time_base(ist.time_base());
        ffi::clear_codec_tag(&mut ost);
    }
    octx.write_header().map_err(ff("write header"))?;
    let out_tb: Vec<ffmpeg::Rational> = (0..outs.len())
        .map(|i| {
            octx.stream(i)
                .map_or(ffmpeg::Rational::new(1, 1000), |s| s.time_base())
        })
        .collect();
    for (f, map) in files.iter().zip(maps) {
        let mut ictx = ffmpeg::format::input(&f.path).map_err(ff("open input"))?;
        let in_tb: Vec<ffmpeg::Rational> = ictx.streams().map(|s| s.time_base()).collect();
        for (s, mut pkt) in ictx.packets() {
            let idx = s.index();
            let (Some(Some(oi)), Some(itb)) = (map.get(idx).copied(), in_tb.get(idx).copied())
            else {
                continue;
            };
            let Some(otb) = out_tb.get(oi).copied() else {
                continue;
            };
            pkt.rescale_ts(itb, otb);
            let offset = ms_in(f.offset_ms, otb);
            pkt.set_pts(pkt.pts().map(|v| v.saturating_add(offset)));
            pkt.set_dts(pkt.dts().map(|v| v.saturating_add(offset)));
            pkt.set_position(-1);
            pkt.set_stream(oi);
            pkt.write_interleaved(&mut octx)
                .map_err(ff("write packet"))?;
        }
    }
    octx.write_trailer().map_err(ff("write trailer"))?;
    drop(octx);
    let duration = u64::try_from(sequence_end(files)).unwrap_or(0);
    info(out, duration)
}

/// `ms` in time base `tb` (rounded down).
fn ms_in(ms: i64, tb: ffmpeg::Rational) -> i64 {
    let (num, den) = (i128::from(tb.numerator()), i128::from(tb.denominator()));
    if num <= 0 || den <= 0 {
        return ms;
    }
    i64::try_from(i128::from(ms) * den / (num * 1000)).unwrap_or(i64::MAX)
}
