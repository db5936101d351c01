//! Appending files to a sealed bundle zip without copying it: an export is the sealed
//! zip's bytes up to its central directory, followed by a small per-export **tail** (new
//! stored local entries, the sealed central directory records verbatim plus records for
//! the new entries, and new end records; zip64 when the sealed zip used it or the sizes
//! need it). Local headers keep their offsets, so the sealed records stay valid.
//!
//! It must never write to the sealed zip, and never trust an end record it cannot check
//! against the file length.

use std::io::{Read, Seek, SeekFrom};

use super::ExtractFile;
use crate::verify::zip_index::{
    SIG_CENTRAL as CENTRAL_SIG, SIG_EOCD as EOCD_SIG, SIG_LOCAL as LOCAL_SIG,
    SIG_ZIP64_EOCD as EOCD64_SIG, SIG_ZIP64_LOCATOR as LOCATOR_SIG, u16_at, u32_at, u64_at,
};

const EOCD_LEN: u64 = 22;
const MAX_COMMENT: u64 = 0xFFFF;
/// Largest central directory we read back (the sealed zips have a few thousand entries).
const MAX_CD: u64 = 64 << 20;
/// Bit 11: names are UTF-8.
const FLAG_UTF8: u16 = 0x0800;

/// Why a tail could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipTailError {
    /// Reading the sealed zip failed.
    #[error("sealed zip: {0}")]
    Io(#[from] std::io::Error),
    /// The sealed zip's end records are not usable.
    #[error("sealed zip: {0}")]
    Malformed(String),
    /// A new file is too large or badly named for this writer.
    #[error("new entry {0}: unsupported")]
    Unsupported(String),
}

/// Where the sealed zip's central directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipEnd {
    /// Offset of the first central directory record.
    pub cd_offset: u64,
    /// Length of the central directory.
    pub cd_size: u64,
    /// Number of entries.
    pub entries: u64,
    /// The zip carries zip64 end records.
    pub zip64: bool,
}

/// An export's tail: the export is `sealed[0..base_len] ++ bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// Bytes of the sealed zip the export starts with (its central directory offset).
    pub base_len: u64,
    /// Everything after them.
    pub bytes: Vec<u8>,
}

fn read_exact_at<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ZipTailError> {
    let n = usize::try_from(len).map_err(|_| ZipTailError::Malformed("length".into()))?;
    let mut buf = vec![0u8; n];
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Finds and checks the end records of a zip of `len` bytes.
pub fn read_end<R: Read + Seek>(r: &mut R, len: u64) -> Result<ZipEnd, ZipTailError> {
    let bad = |m: &str| ZipTailError::Malformed(m.to_string());
    if len < EOCD_LEN {
        return Err(bad("too short"));
    }
    let window = len.min(EOCD_LEN + MAX_COMMENT);
    let start = len - window;
    let buf = read_exact_at(r, start, window)?;
    // The last EOCD signature whose comment ends exactly at the end of the file.
    let pos = (0..=buf.len().saturating_sub(EOCD_LEN as usize))
        .rev()
        .find(|&i| {
            u32_at(&buf, i) == Some(EOCD_SIG)
                && u16_at(&buf, i + 20)
                    .is_some_and(|c| i as u64 + EOCD_LEN + u64::from(c) == window)
        })
        .ok_or_else(|| bad("no end of central directory record"))?;
    let eocd_at = start + pos as u64;
    let field = |at: usize| u16_at(&buf, pos + at).ok_or_else(|| bad("short end record"));
    let field32 = |at: usize| u32_at(&buf, pos + at).ok_or_else(|| bad("short end record"));
    if field(4)? != 0 || field(6)? != 0 {
        return Err(bad("multi-disk zip"));
    }
    let mut end = ZipEnd {
        entries: u64::from(field(10)?),
        cd_size: u64::from(field32(12)?),
        cd_offset: u64::from(field32(16)?),
        zip64: false,
    };
    let locator_at = eocd_at.checked_sub(20);
    let locator = match locator_at {
        Some(at) => Some(read_exact_at(r, at, 20)?),
        None => None,
    };
    if let Some(loc) = locator.filter(|l| u32_at(l, 0) == Some(LOCATOR_SIG)) {
        let rec_at = u64_at(&loc, 8).ok_or_else(|| bad("short zip64 locator"))?;
        if rec_at.checked_add(56).is_none_or(|e| e > eocd_at) {
            return Err(bad("zip64 end record out of range"));
        }
        let rec = read_exact_at(r, rec_at, 56)?;
        if u32_at(&rec, 0) != Some(EOCD64_SIG) {
            return Err(bad("no zip64 end record"));
        }
        end = ZipEnd {
            entries: u64_at(&rec, 32).ok_or_else(|| bad("short zip64 record"))?,
            cd_size: u64_at(&rec, 40).ok_or_else(|| bad("short zip64 record"))?,
            cd_offset: u64_at(&rec, 48).ok_or_else(|| bad("short zip64 record"))?,
            zip64: true,
        };
    }
    if end
        .cd_offset
        .checked_add(end.cd_size)
        .is_none_or(|e| e > eocd_at)
    {
        return Err(bad("central directory out of range"));
    }
    Ok(end)
}

/// CRC-32 (IEEE), as zip stores it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// MS-DOS date and time of `unix` seconds (UTC; 1980-01-01 for anything earlier).
fn dos_time(unix: i64) -> (u16, u16) {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return (0, 0x21);
    };
    if t.year() < 1980 || t.year() > 2107 {
        return (0, 0x21);
    }
    let time =
        (u16::from(t.hour()) << 11) | (u16::from(t.minute()) << 5) | u16::from(t.second() / 2);
    let year = u16::try_from(t.year() - 1980).unwrap_or(0);
    let date = (year << 9) | (u16::from(u8::from(t.month())) << 5) | u16::from(t.day());
    (time, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Builds the tail that adds `files` (stored) to the sealed zip `sealed` of `len` bytes.
/// `unix_time` dates the new entries.
pub fn build_tail<R: Read + Seek>(
    sealed: &mut R,
    len: u64,
    files: &[ExtractFile],
    unix_time: i64,
) -> Result<Tail, ZipTailError> {
    let end = read_end(sealed, len)?;
    if end.cd_size > MAX_CD {
        return Err(ZipTailError::Malformed(
            "central directory too large".into(),
        ));
    }
    let old_cd = read_exact_at(sealed, end.cd_offset, end.cd_size)?;
    if end.entries > 0 && u32_at(&old_cd, 0) != Some(CENTRAL_SIG) {
        return Err(ZipTailError::Malformed(
            "no central directory record at its offset".into(),
        ));
    }
    let (dtime, ddate) = dos_time(unix_time);
    let base = end.cd_offset;
    let mut tail = Vec::new();
    let mut central = Vec::new();
    for f in files {
        let unsupported = || ZipTailError::Unsupported(f.path.clone());
        let name = f.path.as_bytes();
        let name_len = u16::try_from(name.len()).map_err(|_| unsupported())?;
        let size = u32::try_from(f.bytes.len())
            .ok()
            .filter(|s| *s < u32::MAX)
            .ok_or_else(unsupported)?;
        let crc = crc32(&f.bytes);
        let offset = base + tail.len() as u64;
        // Local header.
        put32(&mut tail, LOCAL_SIG);
        put16(&mut tail, 20);
        put16(&mut tail, FLAG_UTF8);
        put16(&mut tail, 0); // stored
        put16(&mut tail, dtime);
        put16(&mut tail, ddate);
        put32(&mut tail, crc);
        put32(&mut tail, size);
        put32(&mut tail, size);
        put16(&mut tail, name_len);
        put16(&mut tail, 0);
        tail.extend_from_slice(name);
        tail.extend_from_slice(&f.bytes);
        // Central record; the offset goes to a zip64 extra field past 4 GiB.
        let big = offset >= u64::from(u32::MAX);
        put32(&mut central, CENTRAL_SIG);
        put16(&mut central, 0x031E); // made by: Unix, spec 3.0
        put16(&mut central, if big { 45 } else { 20 });
        put16(&mut central, FLAG_UTF8);
        put16(&mut central, 0);
        put16(&mut central, dtime);
        put16(&mut central, ddate);
        put32(&mut central, crc);
        put32(&mut central, size);
        put32(&mut central, size);
        put16(&mut central, name_len);
        put16(&mut central, if big { 12 } else { 0 });
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0o100_644 << 16);
        put32(&mut central, if big { u32::MAX } else { offset as u32 });
        central.extend_from_slice(name);
        if big {
            put16(&mut central, 0x0001);
            put16(&mut central, 8);
            put64(&mut central, offset);
        }
    }
    let cd_offset = base + tail.len() as u64;
    let cd_size = (old_cd.len() + central.len()) as u64;
    let entries = end.entries + files.len() as u64;
    tail.extend_from_slice(&old_cd);
    tail.extend_from_slice(&central);
    let zip64 = end.zip64
        || entries >= 0xFFFF
        || cd_offset >= u64::from(u32::MAX)
        || cd_size >= u64::from(u32::MAX);
    if zip64 {
        let rec_at = base + tail.len() as u64;
        put32(&mut tail, EOCD64_SIG);
        put64(&mut tail, 44);
        put16(&mut tail, 45);
        put16(&mut tail, 45);
        put32(&mut tail, 0);
        put32(&mut tail, 0);
        put64(&mut tail, entries);
        put64(&mut tail, entries);
        put64(&mut tail, cd_size);
        put64(&mut tail, cd_offset);
        put32(&mut tail, LOCATOR_SIG);
        put32(&mut tail, 0);
        put64(&mut tail, rec_at);
        put32(&mut tail, 1);
    }
    let clamp16 = |v: u64| if zip64 { 0xFFFF } else { v as u16 };
    let clamp32 = |v: u64| if zip64 { u32::MAX } else { v as u32 };
    put32(&mut tail, EOCD_SIG);
    put16(&mut tail, 0);
    put16(&mut tail, 0);
    put16(&mut tail, clamp16(entries));
    put16(&mut tail, clamp16(entries));
    put32(&mut tail, clamp32(cd_size));
    put32(&mut tail, clamp32(cd_offset));
    put16(&mut tail, 0);
    Ok(Tail {
        base_len: base,
        bytes: tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn dos_time_of_a_known_instant() {
        // 2026-11-29T20:30:10Z
        let (t, d) = dos_time(1_795_984_210);
        assert_eq!(t, (20 << 11) | (30 << 5) | 5);
        assert_eq!(d, (46 << 9) | (11 << 5) | 29);
    }
}
