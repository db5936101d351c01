//! Does one RTP payload start a keyframe, and of what picture size? The media loop asks
//! this of every video packet of a simulcast publisher: a receiver (a subscriber's
//! decoder, or the recording) can change from one layer to another only at a keyframe.
//! Pure, allocation-free, reads only the first bytes.

use super::depack::{vp8_descriptor, vp8_dimensions};
use super::h264_sps::sps_dimensions;

/// The video codecs whose keyframes this knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
    /// Anything else: never a recognised keyframe (layers of it are not switched).
    Other,
}

impl VideoCodec {
    /// From a MIME type such as `video/VP8`.
    pub fn from_mime(mime: &str) -> VideoCodec {
        let name = mime.rsplit('/').next().unwrap_or(mime);
        if name.eq_ignore_ascii_case("vp8") {
            VideoCodec::Vp8
        } else if name.eq_ignore_ascii_case("h264") {
            VideoCodec::H264
        } else {
            VideoCodec::Other
        }
    }
}

/// A packet that starts a keyframe: `Some((width, height))` when this packet carries
/// them, `Some((0, 0))` when not; `None` for any other packet.
pub fn keyframe_start(codec: VideoCodec, payload: &[u8]) -> Option<(u16, u16)> {
    match codec {
        VideoCodec::Vp8 => {
            let (start, bytes) = vp8_descriptor(payload)?;
            // Partition 0's first byte: bit 0 clear = keyframe (RFC 6386 §9.1).
            if !start || bytes.first()? & 0x01 != 0 {
                return None;
            }
            Some(vp8_dimensions(bytes).unwrap_or((0, 0)))
        }
        VideoCodec::H264 => h264_keyframe_start(payload),
        VideoCodec::Other => None,
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// An access unit of a keyframe starts with its SPS (WebRTC senders put SPS and PPS
/// before every IDR), or with the IDR slice itself.
fn h264_keyframe_start(payload: &[u8]) -> Option<(u16, u16)> {
    let first = *payload.first()?;
    let nal = match first & 0x1f {
        STAP_A => payload.get(3..)?, // STAP-A header, then the first NAL's 16-bit size
        FU_A => {
            let fu = *payload.get(1)?;
            return (fu & 0x80 != 0 && fu & 0x1f == NAL_IDR).then_some((0, 0));
        }
        _ => payload,
    };
    match *nal.first()? & 0x1f {
        NAL_SPS => Some(sps_dimensions(nal).unwrap_or((0, 0))),
        NAL_IDR => Some((0, 0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 keyframe's first packet: descriptor (X, S, PictureID 15 bits), frame tag,
    /// start code, 640x360.
    fn vp8_key() -> Vec<u8> {
        let mut p = vec![0x90, 0x80, 0x81, 0x23];
        p.extend_from_slice(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a]);
        p.extend_from_slice(&640u16.to_le_bytes());
        p.extend_from_slice(&360u16.to_le_bytes());
        p
    }

    #[test]
    fn vp8_keyframes_and_their_size() {
        assert_eq!(
            keyframe_start(VideoCodec::Vp8, &vp8_key()),
            Some((640, 360))
        );
        let mut delta = vp8_key();
        delta[4] |= 0x01; // inter frame
        assert_eq!(keyframe_start(VideoCodec::Vp8, &delta), None);
        let mut middle = vp8_key();
        middle[0] &= !0x10; // not the start of the frame
        assert_eq!(keyframe_start(VideoCodec::Vp8, &middle), None);
        assert_eq!(keyframe_start(VideoCodec::Vp8, &[]), None);
        assert_eq!(keyframe_start(VideoCodec::Other, &vp8_key()), None);
    }

    #[test]
    fn h264_keyframes_in_each_packetisation() {
        // x264 baseline 640x360 (the SPS of the recorder's own SPS test).
        let sps = [
            0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
            0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48,
        ];
        let single = keyframe_start(VideoCodec::H264, &sps);
        assert_eq!(single, Some((640, 360)));
        let mut stap = vec![0x78, 0x00, sps.len() as u8];
        stap.extend_from_slice(&sps);
        assert_eq!(keyframe_start(VideoCodec::H264, &stap), single);
        assert_eq!(
            keyframe_start(VideoCodec::H264, &[0x65, 0x88]),
            Some((0, 0))
        );
        assert_eq!(
            keyframe_start(VideoCodec::H264, &[0x7c, 0x85, 0x00]),
            Some((0, 0))
        );
        assert_eq!(keyframe_start(VideoCodec::H264, &[0x7c, 0x05, 0x00]), None); // FU-A middle
        assert_eq!(keyframe_start(VideoCodec::H264, &[0x41, 0x9a]), None); // P slice
    }

    #[test]
    fn codec_names() {
        assert_eq!(VideoCodec::from_mime("video/VP8"), VideoCodec::Vp8);
        assert_eq!(VideoCodec::from_mime("video/h264"), VideoCodec::H264);
        assert_eq!(VideoCodec::from_mime("video/AV1"), VideoCodec::Other);
    }
}
