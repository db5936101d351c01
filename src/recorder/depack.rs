//! Depacketizers: ordered RTP payloads -> whole codec frames, byte for byte as the
//! sender encoded them. VP8 (RFC 7741) and Opus (RFC 7587) live here, H.264 (RFC 6184)
//! in `h264.rs`.
//!
//! Pure and panic-free on any payload: a malformed or incomplete frame is dropped (and
//! counted), never repaired or re-encoded.

use std::time::SystemTime;

use super::h264::H264Depack;
use super::jitter::Ordered;
use super::types::Codec;

/// One complete encoded frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The encoded bytes (VP8 frame, Opus packet, H.264 access unit in AVCC form).
    pub data: Vec<u8>,
    /// RTP timestamp of the frame (not unwrapped).
    pub rtp_ts: u32,
    /// Decodable on its own (VP8 keyframe, H.264 IDR; always true for audio).
    pub key: bool,
    /// Arrival of the frame's first packet.
    pub arrival: SystemTime,
}

/// A depacketizer for one track.
#[derive(Debug)]
pub(crate) enum Depack {
    Vp8(Vp8Depack),
    Opus,
    H264(H264Depack),
}

impl Depack {
    pub(crate) fn new(codec: Codec) -> Self {
        match codec {
            Codec::Vp8 => Depack::Vp8(Vp8Depack::default()),
            Codec::Opus => Depack::Opus,
            Codec::H264 => Depack::H264(H264Depack::default()),
        }
    }

    /// Feeds one in-order packet; returns a frame when one completes. `dropped` is
    /// incremented for each partial frame thrown away.
    pub(crate) fn push(&mut self, p: &Ordered, dropped: &mut u64) -> Option<Frame> {
        match self {
            Depack::Vp8(d) => d.push(p, dropped),
            Depack::Opus => {
                if p.pkt.payload.is_empty() {
                    return None;
                }
                Some(Frame {
                    data: p.pkt.payload.clone(),
                    rtp_ts: p.pkt.timestamp,
                    key: true,
                    arrival: p.pkt.arrival,
                })
            }
            Depack::H264(d) => d.push(p, dropped),
        }
    }
}

/// Partial VP8 frame being assembled.
#[derive(Debug, Default)]
pub(crate) struct Vp8Depack {
    frame: Vec<u8>,
    ts: u32,
    arrival: Option<SystemTime>,
    in_frame: bool,
}

/// Splits an RFC 7741 payload into (starts partition 0 of a frame, VP8 bytes).
pub(crate) fn vp8_descriptor(payload: &[u8]) -> Option<(bool, &[u8])> {
    let first = *payload.first()?;
    let mut at = 1usize;
    if first & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            let pid = *payload.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            at += 1; // TID / Y / KEYIDX
        }
    }
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    let rest = payload.get(at..)?;
    if rest.is_empty() {
        return None;
    }
    Some((start, rest))
}

impl Vp8Depack {
    fn push(&mut self, p: &Ordered, dropped: &mut u64) -> Option<Frame> {
        if p.after_loss && self.in_frame {
            self.abandon(dropped);
        }
        let Some((start, bytes)) = vp8_descriptor(&p.pkt.payload) else {
            if self.in_frame {
                self.abandon(dropped);
            }
            return None;
        };
        if start {
            if self.in_frame {
                // The previous frame never saw its marker.
                self.abandon(dropped);
            }
            self.in_frame = true;
            self.ts = p.pkt.timestamp;
            self.arrival = Some(p.pkt.arrival);
        } else if !self.in_frame {
            return None; // middle of a frame whose start was lost
        } else if p.pkt.timestamp != self.ts {
            self.abandon(dropped);
            return None;
        }
        self.frame.extend_from_slice(bytes);
        if !p.pkt.marker {
            return None;
        }
        self.in_frame = false;
        let data = std::mem::take(&mut self.frame);
        let key = data.first().is_some_and(|b| b & 0x01 == 0);
        Some(Frame {
            data,
            rtp_ts: self.ts,
            key,
            arrival: self.arrival.take().unwrap_or(p.pkt.arrival),
        })
    }

    fn abandon(&mut self, dropped: &mut u64) {
        self.frame.clear();
        self.in_frame = false;
        self.arrival = None;
        *dropped += 1;
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 §9.1).
pub(crate) fn vp8_dimensions(frame: &[u8]) -> Option<(u16, u16)> {
    let hdr = frame.get(0..10)?;
    if hdr.first()? & 0x01 != 0 || hdr.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([*hdr.get(6)?, *hdr.get(7)?]) & 0x3fff;
    let h = u16::from_le_bytes([*hdr.get(8)?, *hdr.get(9)?]) & 0x3fff;
    (w > 0 && h > 0).then_some((w, h))
}

/// The 19-byte OpusHead WebM/Matroska require as Opus extradata (RFC 7845 §5.1).
pub(crate) fn opus_head(channels: u16, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(u8::try_from(channels.clamp(1, 2)).unwrap_or(2));
    h.extend_from_slice(&312u16.to_le_bytes()); // pre-skip: libopus default at 48 kHz
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // channel mapping family 0
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::types::RtpIn;
    use std::time::Duration;

    fn ord(payload: Vec<u8>, marker: bool, ts: u32, after_loss: bool) -> Ordered {
        Ordered {
            pkt: RtpIn {
                seq: 0,
                timestamp: ts,
                marker,
                ssrc: 1,
                payload,
                arrival: SystemTime::UNIX_EPOCH + Duration::from_millis(1),
            },
            after_loss,
        }
    }

    #[test]
    fn vp8_descriptor_variants() {
        assert_eq!(vp8_descriptor(&[0x10, 7]), Some((true, &[7u8][..])));
        // X, I with 15-bit picture id, L, T
        assert_eq!(
            vp8_descriptor(&[0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 9]),
            Some((true, &[9u8][..]))
        );
        assert_eq!(vp8_descriptor(&[0x00, 3]), Some((false, &[3u8][..])));
        assert_eq!(vp8_descriptor(&[0x90, 0x80]), None);
        assert_eq!(vp8_descriptor(&[]), None);
    }

    #[test]
    fn vp8_frame_across_packets_and_loss() {
        let mut d = Vp8Depack::default();
        let mut dropped = 0;
        assert!(
            d.push(&ord(vec![0x10, 0x00, 1], false, 9, false), &mut dropped)
                .is_none()
        );
        let f = d
            .push(&ord(vec![0x00, 2, 3], true, 9, false), &mut dropped)
            .unwrap();
        assert_eq!(f.data, vec![0x00, 1, 2, 3]);
        assert!(f.key);
        // loss inside a frame drops it
        assert!(
            d.push(&ord(vec![0x10, 0x01, 1], false, 10, false), &mut dropped)
                .is_none()
        );
        assert!(
            d.push(&ord(vec![0x00, 2], true, 10, true), &mut dropped)
                .is_none()
        );
        assert_eq!(dropped, 1);
    }
}
