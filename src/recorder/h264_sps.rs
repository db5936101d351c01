//! Frame size from an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1), which the
//! Matroska header needs. Reads only; never modifies the SPS.
//!
//! Panic-free on any input: a truncated or odd SPS yields `None`.

/// Bit reader over the RBSP (emulation prevention bytes removed).
struct Bits {
    rbsp: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn new(nal_payload: &[u8]) -> Self {
        let mut rbsp = Vec::with_capacity(nal_payload.len());
        let mut zeros = 0;
        for &b in nal_payload {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            rbsp.push(b);
        }
        Self { rbsp, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.rbsp.get(self.pos / 8)?;
        let v = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        ((1u64 << zeros) - 1 + u64::from(rest)).try_into().ok()
    }

    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

fn skip_scaling_list(b: &mut Bits, size: usize) -> Option<()> {
    let mut last = 8i64;
    let mut next = 8i64;
    for _ in 0..size {
        if next != 0 {
            next = (last + b.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// (width, height) in pixels after cropping, from an SPS NAL unit (with its header).
pub(crate) fn sps_dimensions(sps: &[u8]) -> Option<(u16, u16)> {
    let mut b = Bits::new(sps.get(1..)?);
    let profile = b.bits(8)?;
    b.bits(16)?; // constraint flags + level
    b.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    let mut separate_planes = 0;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = b.ue()?;
        if chroma_format == 3 {
            separate_planes = b.bit()?;
        }
        b.ue()?; // bit_depth_luma_minus8
        b.ue()?; // bit_depth_chroma_minus8
        b.bit()?; // qpprime_y_zero_transform_bypass_flag
        if b.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.bit()? == 1 {
                    skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            b.bit()?;
            b.se()?;
            b.se()?;
            let n = b.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                b.se()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(b.ue()?) + 1;
    let height_units = u64::from(b.ue()?) + 1;
    let frame_mbs_only = u64::from(b.bit()?);
    if frame_mbs_only == 0 {
        b.bit()?; // mb_adaptive_frame_field_flag
    }
    b.bit()?; // direct_8x8_inference_flag
    let (mut cl, mut cr, mut ct, mut cb) = (0u64, 0u64, 0u64, 0u64);
    if b.bit()? == 1 {
        cl = u64::from(b.ue()?);
        cr = u64::from(b.ue()?);
        ct = u64::from(b.ue()?);
        cb = u64::from(b.ue()?);
    }
    let array_type = if separate_planes == 1 {
        0
    } else {
        chroma_format
    };
    let (sub_w, sub_h) = match array_type {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let crop_x = if array_type == 0 { 1 } else { sub_w };
    let crop_y = (if array_type == 0 { 1 } else { sub_h }) * (2 - frame_mbs_only);
    let w = (width_mbs * 16).checked_sub(crop_x * (cl + cr))?;
    let h = ((2 - frame_mbs_only) * height_units * 16).checked_sub(crop_y * (ct + cb))?;
    Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cropped_size_of_baseline_sps() {
        // x264 baseline 640x360 (368 coded, 8 rows cropped).
        let sps = [
            0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
            0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48,
        ];
        assert_eq!(sps_dimensions(&sps), Some((640, 360)));
        assert_eq!(sps_dimensions(&sps[..4]), None);
        assert_eq!(sps_dimensions(&[]), None);
    }
}
