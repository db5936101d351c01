//! One composite participant's media as decoded frames on the common timeline: a
//! packet feed over the participant's files in order (peekable, so the composite can
//! merge participants by time), the decoders, and the black/silent frames that stand in
//! where the participant has no media (before joining, gaps, after leaving).
//!
//! Reads evidence files only; must never write them. A packet that does not decode is
//! skipped and counted, never fatal.

use ffmpeg_next as ffmpeg;

use super::DerivedError;
use super::scan::{FileScan, ff, to_ms};

/// Spacing (ms) of the black frames that fill a video gap.
pub(crate) const BLACK_STEP_MS: i64 = 200;
/// Length (ms) of one silent frame filling an audio gap.
pub(crate) const SILENCE_MS: i64 = 20;

/// A decoded frame ready for the filter graph (pts in the lane's source time base).
pub(crate) enum Decoded {
    Video(ffmpeg::frame::Video),
    Audio(ffmpeg::frame::Audio),
}

struct OpenFile {
    ictx: ffmpeg::format::context::Input,
    /// Timeline ms of this file's time 0.
    base_ms: i64,
    video: Option<(usize, ffmpeg::Rational, ffmpeg::decoder::Video)>,
    audio: Option<(usize, ffmpeg::Rational, ffmpeg::decoder::Audio)>,
}

/// Packets of a participant's files in order, mapped to the common timeline.
pub(crate) struct Feed {
    files: Vec<FileScan>,
    next_file: usize,
    /// Participant offset on the common timeline (ms).
    offset_ms: i64,
    cur: Option<OpenFile>,
    /// Next packet: (timeline ms, is video, packet).
    pending: Option<(i64, bool, ffmpeg::Packet)>,
    /// Frames flushed from a finished file's decoders.
    leftover: Vec<Decoded>,
    /// Packets that failed to decode.
    pub(crate) undecodable: u64,
}

fn open_file(f: &FileScan, base_ms: i64) -> Result<OpenFile, DerivedError> {
    let ictx = ffmpeg::format::input(&f.path).map_err(ff("open input"))?;
    let mut video = None;
    let mut audio = None;
    for s in ictx.streams() {
        let par = s.parameters();
        match par.medium() {
            ffmpeg::media::Type::Video if video.is_none() => {
                let dec = ffmpeg::codec::context::Context::from_parameters(par)
                    .and_then(|c| c.decoder().video())
                    .map_err(ff("open video decoder"))?;
                video = Some((s.index(), s.time_base(), dec));
            }
            ffmpeg::media::Type::Audio if audio.is_none() => {
                let dec = ffmpeg::codec::context::Context::from_parameters(par)
                    .and_then(|c| c.decoder().audio())
                    .map_err(ff("open audio decoder"))?;
                audio = Some((s.index(), s.time_base(), dec));
            }
            _ => {}
        }
    }
    Ok(OpenFile {
        ictx,
        base_ms,
        video,
        audio,
    })
}

impl Feed {
    pub(crate) fn new(files: Vec<FileScan>, offset_ms: i64) -> Self {
        Self {
            files,
            next_file: 0,
            offset_ms,
            cur: None,
            pending: None,
            leftover: Vec::new(),
            undecodable: 0,
        }
    }

    /// Timeline ms of the next packet, None when every file is read.
    pub(crate) fn peek_ms(&mut self) -> Result<Option<i64>, DerivedError> {
        while self.pending.is_none() {
            if self.cur.is_none() {
                let Some(f) = self.files.get(self.next_file) else {
                    return Ok(None);
                };
                self.cur = Some(open_file(f, self.offset_ms.saturating_add(f.offset_ms))?);
                self.next_file += 1;
            }
            let Some(cur) = self.cur.as_mut() else {
                continue;
            };
            let mut pkt = ffmpeg::Packet::empty();
            match pkt.read(&mut cur.ictx) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => {
                    self.finish_file();
                    continue;
                }
                Err(e) => return Err(ff("read packet")(e)),
            }
            let idx = pkt.stream();
            let (is_video, tb) = match (&cur.video, &cur.audio) {
                (Some((v, tb, _)), _) if *v == idx => (true, *tb),
                (_, Some((a, tb, _))) if *a == idx => (false, *tb),
                _ => continue,
            };
            let Some(ms) = pkt.pts().or(pkt.dts()).and_then(|v| to_ms(v, tb)) else {
                continue;
            };
            let t = cur.base_ms.saturating_add(ms);
            pkt.set_pts(Some(t));
            pkt.set_dts(Some(t));
            pkt.set_duration(to_ms(pkt.duration(), tb).unwrap_or(0));
            self.pending = Some((t, is_video, pkt));
        }
        Ok(self.pending.as_ref().map(|p| p.0))
    }

    /// Flushes the open file's decoders into `leftover` and closes it.
    fn finish_file(&mut self) {
        let Some(mut cur) = self.cur.take() else {
            return;
        };
        if let Some((_, _, dec)) = cur.video.as_mut() {
            let _ = dec.send_eof();
            drain_video(dec, &mut self.leftover);
        }
        if let Some((_, _, dec)) = cur.audio.as_mut() {
            let _ = dec.send_eof();
            drain_audio(dec, &mut self.leftover);
        }
    }

    /// Decodes the pending packet (and any frames left from a finished file) into
    /// `out`. Video pts are timeline ms; audio pts are timeline samples.
    pub(crate) fn decode_next(&mut self, out: &mut Vec<Decoded>) {
        out.append(&mut self.leftover);
        let Some((_, is_video, pkt)) = self.pending.take() else {
            return;
        };
        let Some(cur) = self.cur.as_mut() else {
            return;
        };
        let sent = if is_video {
            cur.video.as_mut().map(|(_, _, dec)| {
                let r = dec.send_packet(&pkt);
                drain_video(dec, out);
                r
            })
        } else {
            cur.audio.as_mut().map(|(_, _, dec)| {
                let r = dec.send_packet(&pkt);
                drain_audio(dec, out);
                r
            })
        };
        if let Some(Err(_)) = sent {
            self.undecodable += 1;
        }
    }

    /// Flushes the decoders at the end of input.
    pub(crate) fn finish(&mut self, out: &mut Vec<Decoded>) {
        self.finish_file();
        out.append(&mut self.leftover);
    }
}

fn drain_video(dec: &mut ffmpeg::decoder::Video, out: &mut Vec<Decoded>) {
    loop {
        let mut f = ffmpeg::frame::Video::empty();
        if dec.receive_frame(&mut f).is_err() {
            break;
        }
        let pts = f.pts().or(f.timestamp());
        f.set_pts(pts);
        f.set_kind(ffmpeg::picture::Type::None);
        out.push(Decoded::Video(f));
    }
}

fn drain_audio(dec: &mut ffmpeg::decoder::Audio, out: &mut Vec<Decoded>) {
    loop {
        let mut f = ffmpeg::frame::Audio::empty();
        if dec.receive_frame(&mut f).is_err() {
            break;
        }
        // Packet pts were set in ms; the audio source counts samples.
        let rate = i64::from(f.rate());
        let pts = f
            .pts()
            .or(f.timestamp())
            .map(|ms| ms.saturating_mul(rate) / 1000);
        f.set_pts(pts);
        out.push(Decoded::Audio(f));
    }
}

/// True if `t` lies in one of the sorted `[start, end)` intervals.
pub(crate) fn covered(present: &[(i64, i64)], t: i64) -> bool {
    let i = present.partition_point(|&(a, _)| a <= t);
    i > 0 && present.get(i - 1).is_some_and(|&(_, b)| t < b)
}

/// A black frame of the given size (yuv420p).
pub(crate) fn black_frame(width: u32, height: u32) -> ffmpeg::frame::Video {
    let mut f = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, width, height);
    // invariant: `data_mut` panics only for a plane index >= planes(); the loop stays below.
    for plane in 0..f.planes() {
        let v = if plane == 0 { 16 } else { 128 };
        f.data_mut(plane).fill(v);
    }
    f
}

/// A silent frame of `SILENCE_MS` (planar float).
pub(crate) fn silent_frame(rate: u32, channels: u16) -> ffmpeg::frame::Audio {
    let samples = usize::try_from(i64::from(rate) * SILENCE_MS / 1000).unwrap_or(960);
    let mut f = ffmpeg::frame::Audio::new(
        ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Planar),
        samples,
        ffmpeg::ChannelLayout::default(i32::from(channels.max(1))),
    );
    f.set_rate(rate);
    // invariant: `data_mut` panics only for a plane index >= planes(); the loop stays below.
    for plane in 0..f.planes() {
        f.data_mut(plane).fill(0);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn covered_is_half_open() {
        let p = [(0, 100), (500, 600)];
        assert!(covered(&p, 0));
        assert!(covered(&p, 99));
        assert!(!covered(&p, 100));
        assert!(!covered(&p, 499));
        assert!(covered(&p, 500));
        assert!(!covered(&p, 600));
        assert!(!covered(&p, -1));
        assert!(!covered(&[], 0));
    }
}
