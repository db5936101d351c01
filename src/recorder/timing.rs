//! Media clock of one track: RTP timestamp -> server wall clock.
//!
//! Model. Each track has an *anchor* `(rtp_ts_ext, wall)`: at first the track's first
//! frame and its arrival time on the server. A frame's wall time is
//! `anchor.wall + (ts_ext - anchor.ts_ext) / clock_rate`, where `ts_ext` is the 32-bit
//! RTP timestamp unwrapped (wrap-around safe). File PTS is that wall time minus the
//! file's start wall time, in ms; so the audio and video of a participant line up by
//! arrival, and RTP timing (not arrival jitter) spaces the frames.
//!
//! RTCP sender reports give the sender's mapping NTP <-> RTP per track. The latest one
//! is kept. When a file starts, or when a track gets its first anchor while a file is
//! open, and the reference track (the first other track with a sender report) and this
//! track both have one, this track's anchor is moved so that the two keep the sender's
//! relative timing (lip sync from the sender's clock, the absolute position still from
//! the server's arrival clock). An anchor never moves once frames of it are in a file,
//! so PTS stay monotonic and bytes already written stay valid. The integrator must pass
//! only sender reports of the track's current SSRC.
//! An SSRC change re-anchors the track at its next frame.
//!
//! Pure: no clock reads. Must never produce a time that goes backwards within a file
//! (the caller clamps; this module only maps).

use std::time::{Duration, SystemTime};

/// NTP epoch (1900) to Unix epoch (1970), seconds.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A sender report: the sender's wall clock at an RTP timestamp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderReport {
    pub wall: SystemTime,
    pub rtp_ts_ext: i64,
}

/// RTP -> wall mapping for one track.
#[derive(Debug)]
pub(crate) struct MediaClock {
    clock_rate: u32,
    last_ts: Option<(u32, i64)>,
    anchor: Option<(i64, SystemTime)>,
    sr: Option<SenderReport>,
}

/// 64-bit NTP timestamp -> SystemTime (None before 1970).
pub(crate) fn ntp_to_system(ntp: u64) -> Option<SystemTime> {
    let secs = (ntp >> 32).checked_sub(NTP_UNIX_OFFSET)?;
    let frac = ntp & 0xffff_ffff;
    let nanos = (frac * 1_000_000_000) >> 32;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs) + Duration::from_nanos(nanos))
}

fn add_signed(t: SystemTime, micros: i64) -> SystemTime {
    let d = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        t.checked_add(d).unwrap_or(t)
    } else {
        t.checked_sub(d).unwrap_or(t)
    }
}

/// `a - b` in microseconds (negative when `a` is earlier).
pub(crate) fn diff_micros(a: SystemTime, b: SystemTime) -> i64 {
    match a.duration_since(b) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

impl MediaClock {
    pub(crate) fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            last_ts: None,
            anchor: None,
            sr: None,
        }
    }

    /// Unwraps a 32-bit RTP timestamp against the last one seen.
    pub(crate) fn unwrap(&mut self, ts: u32) -> i64 {
        let ext = match self.last_ts {
            None => i64::from(ts),
            Some((last, last_ext)) => last_ext + i64::from(ts.wrapping_sub(last) as i32),
        };
        self.last_ts = Some((ts, ext));
        ext
    }

    /// Unwraps without updating state (for sender reports).
    fn peek_unwrap(&self, ts: u32) -> i64 {
        match self.last_ts {
            None => i64::from(ts),
            Some((last, last_ext)) => last_ext + i64::from(ts.wrapping_sub(last) as i32),
        }
    }

    /// Forgets the timestamp space (SSRC change): the next frame re-anchors.
    pub(crate) fn reset(&mut self) {
        self.last_ts = None;
        self.anchor = None;
        self.sr = None;
    }

    /// Wall time of an unwrapped timestamp; anchors at `arrival` if unanchored.
    pub(crate) fn wall(&mut self, ts_ext: i64, arrival: SystemTime) -> SystemTime {
        let (a_ts, a_wall) = *self.anchor.get_or_insert((ts_ext, arrival));
        let micros = (ts_ext - a_ts).saturating_mul(1_000_000) / i64::from(self.clock_rate);
        add_signed(a_wall, micros)
    }

    /// Records an RTCP sender report.
    pub(crate) fn sender_report(&mut self, ntp: u64, rtp_ts: u32) {
        if let Some(wall) = ntp_to_system(ntp) {
            self.sr = Some(SenderReport {
                wall,
                rtp_ts_ext: self.peek_unwrap(rtp_ts),
            });
        }
    }

    /// Sender wall clock of an unwrapped timestamp, from the latest sender report.
    fn sender_wall(&self, ts_ext: i64) -> Option<SystemTime> {
        let sr = self.sr?;
        let micros =
            (ts_ext - sr.rtp_ts_ext).saturating_mul(1_000_000) / i64::from(self.clock_rate);
        Some(add_signed(sr.wall, micros))
    }

    /// Offset (µs) from the sender's clock to this track's server-side anchor clock.
    fn sender_to_server(&self) -> Option<i64> {
        let (a_ts, a_wall) = self.anchor?;
        Some(diff_micros(a_wall, self.sender_wall(a_ts)?))
    }

    /// Re-anchors this track so that it keeps the sender's timing relative to
    /// `reference` (see the module doc). Returns the shift applied in µs.
    pub(crate) fn align_to(&mut self, reference: &MediaClock) -> Option<i64> {
        let offset = reference.sender_to_server()?;
        let (a_ts, a_wall) = self.anchor?;
        let new_wall = add_signed(self.sender_wall(a_ts)?, offset);
        let shift = diff_micros(new_wall, a_wall);
        // Only correct plausible skews; a wild sender clock is ignored.
        if shift.abs() > 5_000_000 {
            return None;
        }
        self.anchor = Some((a_ts, new_wall));
        Some(shift)
    }

    /// True once the track has an anchor.
    pub(crate) fn is_anchored(&self) -> bool {
        self.anchor.is_some()
    }

    /// True when the track has a sender report and an anchor.
    pub(crate) fn has_sender_mapping(&self) -> bool {
        self.sr.is_some() && self.anchor.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_timestamps_across_wrap() {
        let mut c = MediaClock::new(90_000);
        let a = c.unwrap(u32::MAX - 1_500);
        let b = c.unwrap(1_500);
        assert_eq!(b - a, 3_001);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let w0 = c.wall(a, t0);
        let w1 = c.wall(b, t0 + Duration::from_secs(9));
        assert_eq!(
            w1.duration_since(w0).unwrap(),
            Duration::from_micros(33_344)
        );
    }

    #[test]
    fn aligns_audio_to_video_with_sender_reports() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ntp = |t: SystemTime| {
            let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
            ((d.as_secs() + NTP_UNIX_OFFSET) << 32)
                | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
        };
        let mut video = MediaClock::new(90_000);
        let mut audio = MediaClock::new(48_000);
        let v = video.unwrap(9_000);
        video.wall(v, t0);
        // audio captured at the same instant but arrived 80 ms later
        let a = audio.unwrap(4_800);
        audio.wall(a, t0 + Duration::from_millis(80));
        video.sender_report(ntp(t0), 9_000);
        audio.sender_report(ntp(t0), 4_800);
        let shift = audio.align_to(&video).unwrap();
        assert!((shift + 80_000).abs() < 10, "shift {shift}");
    }
}
