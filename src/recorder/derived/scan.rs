//! Reading evidence recordings for derived copies: which streams a file holds, where
//! each stream's media ends, and when media is present (for gap handling), plus the
//! back-to-back placement of a participant's rotated files on one timeline.
//!
//! Only reads files; it must never write or modify an evidence file.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use super::DerivedError;

/// Two packets further apart than this (ms) split video presence into intervals.
const VIDEO_GAP_MS: i64 = 1000;
/// Two packets further apart than this (ms) split audio presence into intervals.
const AUDIO_GAP_MS: i64 = 500;

/// One stream of a scanned file.
#[derive(Debug, Clone)]
pub(crate) struct StreamScan {
    pub medium: ffmpeg::media::Type,
    pub codec: ffmpeg::codec::Id,
    /// End of the last packet (pts + duration), ms of file time.
    pub end_ms: i64,
    /// Media presence intervals `[start, end)`, ms of file time.
    pub present: Vec<(i64, i64)>,
    /// Video frame size as declared (0 if unknown or audio).
    pub size: (u32, u32),
    /// Audio sample rate and channel count as declared (0 if unknown or video).
    pub audio: (u32, u16),
}

/// A scanned file.
#[derive(Debug, Clone)]
pub(crate) struct FileScan {
    pub path: PathBuf,
    pub streams: Vec<StreamScan>,
    /// Where this file's time 0 sits on the participant's timeline (ms).
    pub offset_ms: i64,
}

impl FileScan {
    /// End of the file's media (ms of file time), 0 if it holds no packet.
    pub(crate) fn end_ms(&self) -> i64 {
        self.streams.iter().map(|s| s.end_ms).max().unwrap_or(0)
    }
}

pub(crate) fn ff(context: &'static str) -> impl Fn(ffmpeg::Error) -> DerivedError {
    move |e| DerivedError::Ffmpeg {
        context,
        message: e.to_string(),
    }
}

/// Rescales `v` from `tb` to milliseconds (rounding down); None if `tb` is unusable.
pub(crate) fn to_ms(v: i64, tb: ffmpeg::Rational) -> Option<i64> {
    let (num, den) = (i128::from(tb.numerator()), i128::from(tb.denominator()));
    if num <= 0 || den <= 0 {
        return None;
    }
    let ms = i128::from(v).checked_mul(num * 1000)?.div_euclid(den);
    i64::try_from(ms).ok()
}

/// Scans one file: streams, ends and presence intervals.
pub(crate) fn scan_file(path: &Path) -> Result<FileScan, DerivedError> {
    let mut ictx = ffmpeg::format::input(&path).map_err(ff("open input"))?;
    let mut streams: Vec<StreamScan> = Vec::new();
    let mut bases = Vec::new();
    for s in ictx.streams() {
        let par = s.parameters();
        let (medium, codec) = (par.medium(), par.id());
        let ctx = ffmpeg::codec::context::Context::from_parameters(par).ok();
        let (mut size, mut audio) = ((0, 0), (0, 0));
        match (medium, ctx) {
            (ffmpeg::media::Type::Video, Some(c)) => {
                size = c
                    .decoder()
                    .video()
                    .map_or((0, 0), |v| (v.width(), v.height()));
            }
            (ffmpeg::media::Type::Audio, Some(c)) => {
                audio = c
                    .decoder()
                    .audio()
                    .map_or((0, 0), |a| (a.rate(), a.channels()));
            }
            _ => {}
        }
        streams.push(StreamScan {
            medium,
            codec,
            end_ms: 0,
            present: Vec::new(),
            size,
            audio,
        });
        bases.push(s.time_base());
    }
    for (s, p) in ictx.packets() {
        let idx = s.index();
        let (Some(st), Some(tb)) = (streams.get_mut(idx), bases.get(idx).copied()) else {
            continue;
        };
        let Some(start) = p.pts().or(p.dts()).and_then(|v| to_ms(v, tb)) else {
            continue;
        };
        let dur = to_ms(p.duration(), tb).unwrap_or(0).max(1);
        let end = start.saturating_add(dur);
        st.end_ms = st.end_ms.max(end);
        let gap = if st.medium == ffmpeg::media::Type::Video {
            VIDEO_GAP_MS
        } else {
            AUDIO_GAP_MS
        };
        match st.present.last_mut() {
            Some(last) if start <= last.1.saturating_add(gap) => last.1 = last.1.max(end),
            _ => st.present.push((start, end)),
        }
    }
    Ok(FileScan {
        path: path.to_path_buf(),
        streams,
        offset_ms: 0,
    })
}

/// Scans a participant's files in order and places them on one timeline: a file with
/// a wanted offset (ms from the sequence's time 0) starts there, unless that would
/// overlap the previous file; a file without starts where the previous one's media
/// ended (rotation keeps media continuous).
pub(crate) fn scan_sequence(
    files: &[(PathBuf, Option<i64>)],
) -> Result<Vec<FileScan>, DerivedError> {
    let mut out: Vec<FileScan> = Vec::with_capacity(files.len());
    let mut next = 0i64;
    for (p, want) in files {
        let mut f = scan_file(p)?;
        f.offset_ms = want.map_or(next, |w| w.max(next));
        next = f.offset_ms.saturating_add(f.end_ms());
        out.push(f);
    }
    Ok(out)
}

/// Presence intervals of one medium over a sequence, on the sequence's timeline.
pub(crate) fn presence(files: &[FileScan], medium: ffmpeg::media::Type) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for f in files {
        for s in f.streams.iter().filter(|s| s.medium == medium) {
            for &(a, b) in &s.present {
                out.push((a.saturating_add(f.offset_ms), b.saturating_add(f.offset_ms)));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Total length of a sequence on its own timeline (ms).
pub(crate) fn sequence_end(files: &[FileScan]) -> i64 {
    files
        .iter()
        .map(|f| f.offset_ms.saturating_add(f.end_ms()))
        .max()
        .unwrap_or(0)
}
