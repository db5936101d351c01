//! H.264 depacketizer (RFC 6184: single NAL unit, STAP-A, FU-A) producing access units
//! in AVCC form (4-byte big-endian length before each NAL), plus the `avcC` record built
//! from the latest SPS/PPS for the Matroska header.
//!
//! Pure and panic-free on any payload; NAL bytes are kept exactly as sent (in-band
//! SPS/PPS stay in the access unit). Must never rewrite a NAL.

use std::time::SystemTime;

use super::depack::Frame;
use super::jitter::Ordered;

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Access unit being assembled.
#[derive(Debug, Default)]
pub(crate) struct H264Depack {
    nals: Vec<Vec<u8>>,
    fu: Option<Vec<u8>>,
    ts: Option<u32>,
    arrival: Option<SystemTime>,
    broken: bool,
    /// Latest SPS seen.
    pub sps: Option<Vec<u8>>,
    /// Latest PPS seen.
    pub pps: Option<Vec<u8>>,
}

impl H264Depack {
    pub(crate) fn push(&mut self, p: &Ordered, dropped: &mut u64) -> Option<Frame> {
        let mut done = None;
        if self.ts.is_some_and(|t| t != p.pkt.timestamp) {
            // A new timestamp closes the previous access unit (its marker was lost).
            done = self.finish(dropped);
        }
        if p.after_loss {
            if !self.nals.is_empty() || self.fu.is_some() {
                self.broken = true;
            }
            self.fu = None;
        }
        if self.ts.is_none() {
            self.ts = Some(p.pkt.timestamp);
            self.arrival = Some(p.pkt.arrival);
        }
        if self.parse(&p.pkt.payload).is_none() {
            self.broken = true;
        }
        if p.pkt.marker {
            // At most one of `done` and this can be Some in a well-formed stream; a
            // stream that closes two units in one packet loses the older one.
            let now = self.finish(dropped);
            if done.is_some() && now.is_some() {
                *dropped += 1;
            }
            return now.or(done);
        }
        done
    }

    fn parse(&mut self, payload: &[u8]) -> Option<()> {
        let hdr = *payload.first()?;
        match hdr & 0x1f {
            1..=23 => {
                self.fu = None;
                self.add_nal(payload.to_vec());
            }
            STAP_A => {
                let mut rest = payload.get(1..)?;
                while !rest.is_empty() {
                    let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                    let nal = rest.get(2..2 + len)?;
                    if nal.is_empty() {
                        return None;
                    }
                    self.add_nal(nal.to_vec());
                    rest = rest.get(2 + len..)?;
                }
            }
            FU_A => {
                let fu_hdr = *payload.get(1)?;
                let body = payload.get(2..)?;
                if fu_hdr & 0x80 != 0 {
                    let mut nal = vec![(hdr & 0xe0) | (fu_hdr & 0x1f)];
                    nal.extend_from_slice(body);
                    self.fu = Some(nal);
                } else {
                    self.fu.as_mut()?.extend_from_slice(body);
                }
                if fu_hdr & 0x40 != 0 {
                    let nal = self.fu.take()?;
                    self.add_nal(nal);
                }
            }
            _ => return None, // STAP-B, MTAP, FU-B: not used by WebRTC
        }
        Some(())
    }

    fn add_nal(&mut self, nal: Vec<u8>) {
        match nal.first().map(|b| b & 0x1f) {
            Some(NAL_SPS) => self.sps = Some(nal.clone()),
            Some(NAL_PPS) => self.pps = Some(nal.clone()),
            _ => {}
        }
        self.nals.push(nal);
    }

    fn finish(&mut self, dropped: &mut u64) -> Option<Frame> {
        let nals = std::mem::take(&mut self.nals);
        let ts = self.ts.take();
        let arrival = self.arrival.take();
        let broken = std::mem::take(&mut self.broken) || self.fu.take().is_some();
        if nals.is_empty() {
            return None;
        }
        if broken {
            *dropped += 1;
            return None;
        }
        let key = nals
            .iter()
            .any(|n| n.first().is_some_and(|b| b & 0x1f == NAL_IDR));
        let mut data = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
        for n in &nals {
            let len = u32::try_from(n.len()).ok()?;
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(n);
        }
        Some(Frame {
            data,
            rtp_ts: ts?,
            key,
            arrival: arrival?,
        })
    }

    /// The `avcC` decoder configuration record (ISO 14496-15) from the latest SPS/PPS.
    pub(crate) fn avcc(&self) -> Option<Vec<u8>> {
        let sps = self.sps.as_ref()?;
        let pps = self.pps.as_ref()?;
        let profile = sps.get(1..4)?;
        let mut out = vec![1];
        out.extend_from_slice(profile);
        out.push(0xff); // 4-byte NAL lengths
        out.push(0xe1); // one SPS
        out.extend_from_slice(&u16::try_from(sps.len()).ok()?.to_be_bytes());
        out.extend_from_slice(sps);
        out.push(1); // one PPS
        out.extend_from_slice(&u16::try_from(pps.len()).ok()?.to_be_bytes());
        out.extend_from_slice(pps);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::types::RtpIn;
    use std::time::Duration;

    fn ord(payload: Vec<u8>, marker: bool) -> Ordered {
        Ordered {
            pkt: RtpIn {
                seq: 0,
                timestamp: 90,
                marker,
                ssrc: 1,
                payload,
                arrival: SystemTime::UNIX_EPOCH + Duration::from_millis(1),
            },
            after_loss: false,
        }
    }

    #[test]
    fn stap_a_and_fu_a_make_one_access_unit() {
        let mut d = H264Depack::default();
        let mut dropped = 0;
        let stap = vec![0x78, 0, 4, 0x67, 0x42, 0x1f, 0x1e, 0, 2, 0x68, 0xce];
        assert!(d.push(&ord(stap, false), &mut dropped).is_none());
        assert!(
            d.push(&ord(vec![0x7c, 0x85, 1, 2], false), &mut dropped)
                .is_none()
        );
        let f = d
            .push(&ord(vec![0x7c, 0x45, 3], true), &mut dropped)
            .unwrap();
        assert!(f.key);
        assert_eq!(
            f.data,
            vec![
                0, 0, 0, 4, 0x67, 0x42, 0x1f, 0x1e, 0, 0, 0, 2, 0x68, 0xce, 0, 0, 0, 4, 0x65, 1, 2,
                3
            ]
        );
        assert_eq!(d.avcc().unwrap()[..6], [1, 0x42, 0x1f, 0x1e, 0xff, 0xe1]);
        assert_eq!(dropped, 0);
    }

    #[test]
    fn truncated_stap_a_is_dropped() {
        let mut d = H264Depack::default();
        let mut dropped = 0;
        assert!(
            d.push(&ord(vec![0x78, 0, 9, 1], true), &mut dropped)
                .is_none()
        );
        assert_eq!(dropped, 0); // nothing was assembled
        assert!(
            d.push(&ord(vec![0x78, 0, 1, 0x41, 0, 9], true), &mut dropped)
                .is_none()
        );
        assert_eq!(dropped, 1);
    }
}
