//! The index of a bundle zip: end of central directory (with Zip64), central directory,
//! local headers, into `name -> (data start, size)` for stored entries only.
//!
//! Pure: bytes come through [`ReadAt`], so the same code indexes a file (`verify_cli`)
//! and a byte slice (tests). It must refuse what `docs/bundle-format.md` §10 refuses —
//! unsafe or duplicate names, compressed entries, too many entries, entries whose bytes
//! overlap (the "zip bomb by overlap") or run into the central directory — and must
//! never allocate more than the archive's own size for what it reads.

use std::collections::BTreeMap;

use super::entry::is_safe_relative_path;

/// Largest number of entries accepted in a bundle zip.
pub const MAX_ENTRIES: u64 = 100_000;
/// Largest central directory read (100 000 entries of about 200 bytes fit easily).
pub const MAX_DIRECTORY_BYTES: u64 = 64 << 20;
/// Bytes at the end of a zip that can hold the end of central directory record: the
/// record (22), its longest comment, and the Zip64 locator before it (20).
pub const TAIL_LEN: u64 = 22 + 65535 + 20;

/// End of central directory record signature.
pub(crate) const SIG_EOCD: u32 = 0x0605_4b50;
/// Zip64 end of central directory locator signature.
pub(crate) const SIG_ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// Zip64 end of central directory record signature.
pub(crate) const SIG_ZIP64_EOCD: u32 = 0x0606_4b50;
/// Central directory record signature.
pub(crate) const SIG_CENTRAL: u32 = 0x0201_4b50;
/// Local file header signature.
pub(crate) const SIG_LOCAL: u32 = 0x0403_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const ZIP64_EOCD_LEN: usize = 56;

/// Why a zip was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    /// No end of central directory record.
    #[error("not a zip archive (no end of central directory)")]
    NoEndRecord,
    /// The end record asks for Zip64 and its locator or record is missing.
    #[error("Zip64 end record missing")]
    Zip64Missing,
    /// More entries than [`MAX_ENTRIES`].
    #[error("bundle has too many files ({0} entries)")]
    TooManyEntries(u64),
    /// The central directory lies outside the file or is larger than
    /// [`MAX_DIRECTORY_BYTES`].
    #[error("central directory outside the file or too large")]
    DirectoryOutside,
    /// A central directory record is truncated or has the wrong signature.
    #[error("bad central directory")]
    BadDirectory,
    /// An entry name is not UTF-8.
    #[error("entry name is not UTF-8")]
    NameNotUtf8,
    /// An entry name leaves the bundle.
    #[error("unsafe entry name {0:?}")]
    UnsafeName(String),
    /// Two entries with one name.
    #[error("duplicate entry {0:?}")]
    Duplicate(String),
    /// A compressed entry.
    #[error("entry {0:?} is compressed (bundles use stored entries)")]
    Compressed(String),
    /// An entry's local header is missing or runs past the central directory.
    #[error("bad local header for {0:?}")]
    BadLocalHeader(String),
    /// Two entries share bytes, or an entry runs into the central directory.
    #[error("entries {first:?} and {second:?} overlap")]
    Overlap {
        /// The entry that starts first.
        first: String,
        /// The entry whose header or data starts inside it.
        second: String,
    },
    /// Reading the archive failed.
    #[error("{0}")]
    Read(String),
}

/// Random access to the archive's bytes.
pub trait ReadAt {
    /// Exactly `len` bytes at `offset`, or an error (also when the range passes the end).
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, String>;
}

impl ReadAt for &[u8] {
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let start = usize::try_from(offset).map_err(|_| "offset too large")?;
        let len = usize::try_from(len).map_err(|_| "length too large")?;
        start
            .checked_add(len)
            .and_then(|end| self.get(start..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "range past the end of the file".to_string())
    }
}

/// Where a stored entry's bytes lie in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrySpan {
    /// Offset of the first data byte.
    pub data_start: u64,
    /// Data length (stored: compressed = uncompressed).
    pub size: u64,
}

/// One central directory record, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Central {
    name: String,
    size: u64,
    local: u64,
}

/// Where the central directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directory {
    offset: u64,
    size: u64,
    count: u64,
}

/// Little-endian u16 at `at`, if inside `b`.
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
/// Little-endian u32 at `at`, if inside `b`.
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
/// Little-endian u64 at `at`, if inside `b`.
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
fn w16(b: &[u8], at: usize) -> Option<u64> {
    u16_at(b, at).map(u64::from)
}
fn w32(b: &[u8], at: usize) -> Option<u64> {
    u32_at(b, at).map(u64::from)
}

fn read(src: &mut dyn ReadAt, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
    src.read_at(offset, len).map_err(ZipError::Read)
}

/// Finds the central directory from the archive's tail (the last bytes, ending at the
/// end of the file, at most [`TAIL_LEN`]).
fn locate(src: &mut dyn ReadAt, file_len: u64) -> Result<Directory, ZipError> {
    let tail_len = file_len.min(TAIL_LEN);
    let tail_start = file_len - tail_len;
    let tail = read(src, tail_start, tail_len)?;
    let eocd = (0..=tail.len().saturating_sub(22))
        .rev()
        .find(|&i| tail.len() >= 22 && u32_at(&tail, i) == Some(SIG_EOCD))
        .ok_or(ZipError::NoEndRecord)?;
    let field = |o: usize, f: fn(&[u8], usize) -> Option<u64>| {
        f(&tail, eocd + o).ok_or(ZipError::NoEndRecord)
    };
    let mut dir = Directory {
        count: field(10, w16)?,
        size: field(12, w32)?,
        offset: field(16, w32)?,
    };
    if dir.count == 0xffff || dir.size == 0xffff_ffff || dir.offset == 0xffff_ffff {
        let loc = eocd.checked_sub(20).ok_or(ZipError::Zip64Missing)?;
        if u32_at(&tail, loc) != Some(SIG_ZIP64_LOCATOR) {
            return Err(ZipError::Zip64Missing);
        }
        let at = u64_at(&tail, loc + 8).ok_or(ZipError::Zip64Missing)?;
        let rec = read(src, at, ZIP64_EOCD_LEN as u64).map_err(|_| ZipError::Zip64Missing)?;
        let get = |o| u64_at(&rec, o).ok_or(ZipError::Zip64Missing);
        if u32_at(&rec, 0) != Some(SIG_ZIP64_EOCD) {
            return Err(ZipError::Zip64Missing);
        }
        dir = Directory {
            count: get(32)?,
            size: get(40)?,
            offset: get(48)?,
        };
    }
    if dir.count > MAX_ENTRIES {
        return Err(ZipError::TooManyEntries(dir.count));
    }
    if dir.size > MAX_DIRECTORY_BYTES
        || dir
            .offset
            .checked_add(dir.size)
            .is_none_or(|e| e > file_len)
    {
        return Err(ZipError::DirectoryOutside);
    }
    Ok(dir)
}

/// Parses `count` central directory records (Zip64 extra fields included); refuses
/// non-UTF-8, unsafe and duplicate names and compressed entries. Directories (names
/// ending in `/`) are left out.
fn parse_directory(cd: &[u8], count: u64) -> Result<Vec<Central>, ZipError> {
    let mut out = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut p = 0usize;
    for _ in 0..count {
        let at = |o: usize, f: fn(&[u8], usize) -> Option<u64>| {
            p.checked_add(o)
                .and_then(|i| f(cd, i))
                .ok_or(ZipError::BadDirectory)
        };
        if at(0, w32)? != u64::from(SIG_CENTRAL) || p + CENTRAL_LEN > cd.len() {
            return Err(ZipError::BadDirectory);
        }
        let method = at(10, w16)?;
        let mut csize = at(20, w32)?;
        let mut usize_ = at(24, w32)?;
        let name_len = at(28, w16)? as usize;
        let extra_len = at(30, w16)? as usize;
        let comment_len = at(32, w16)? as usize;
        let mut local = at(42, w32)?;
        let name_start = p + CENTRAL_LEN;
        let extra_start = name_start + name_len;
        let extra_end = extra_start + extra_len;
        let next = extra_end + comment_len;
        let name_bytes = cd
            .get(name_start..extra_start)
            .ok_or(ZipError::BadDirectory)?;
        let extra = cd
            .get(extra_start..extra_end)
            .ok_or(ZipError::BadDirectory)?;
        if next > cd.len() {
            return Err(ZipError::BadDirectory);
        }
        let name = std::str::from_utf8(name_bytes)
            .map_err(|_| ZipError::NameNotUtf8)?
            .to_string();
        // Zip64 extended information: the 8-byte values for the fields set to all ones,
        // in this order.
        let mut x = 0usize;
        while x + 4 <= extra.len() {
            let id = w16(extra, x).ok_or(ZipError::BadDirectory)?;
            let len = w16(extra, x + 2).ok_or(ZipError::BadDirectory)? as usize;
            let body = extra
                .get(x + 4..x + 4 + len)
                .ok_or(ZipError::BadDirectory)?;
            if id == 1 {
                let mut q = 0usize;
                for v in [&mut usize_, &mut csize, &mut local] {
                    if *v == 0xffff_ffff {
                        *v = u64_at(body, q).ok_or(ZipError::BadDirectory)?;
                        q += 8;
                    }
                }
            }
            x += 4 + len;
        }
        p = next;
        if name.ends_with('/') {
            continue;
        }
        if !is_safe_relative_path(&name) {
            return Err(ZipError::UnsafeName(name));
        }
        if !names.insert(name.clone()) {
            return Err(ZipError::Duplicate(name));
        }
        if method != 0 || csize != usize_ {
            return Err(ZipError::Compressed(name));
        }
        out.push(Central {
            name,
            size: usize_,
            local,
        });
    }
    Ok(out)
}

/// Refuses spans `(start, end, name)` that share a byte or end past `limit` (the
/// central directory's offset).
fn check_disjoint(mut spans: Vec<(u64, u64, String)>, limit: u64) -> Result<(), ZipError> {
    spans.sort();
    let mut prev: Option<&(u64, u64, String)> = None;
    for s in &spans {
        if s.1 > limit {
            return Err(ZipError::Overlap {
                first: s.2.clone(),
                second: "(central directory)".into(),
            });
        }
        if let Some(p) = prev.filter(|p| s.0 < p.1) {
            return Err(ZipError::Overlap {
                first: p.2.clone(),
                second: s.2.clone(),
            });
        }
        prev = Some(s);
    }
    Ok(())
}

/// Indexes a bundle zip of `file_len` bytes: every stored file entry's name and bytes.
pub fn index(src: &mut dyn ReadAt, file_len: u64) -> Result<BTreeMap<String, EntrySpan>, ZipError> {
    let dir = locate(src, file_len)?;
    let cd = read(src, dir.offset, dir.size)?;
    let entries = parse_directory(&cd, dir.count)?;
    let mut spans = Vec::with_capacity(entries.len());
    let mut out = BTreeMap::new();
    for e in entries {
        let bad = || ZipError::BadLocalHeader(e.name.clone());
        if e.local
            .checked_add(LOCAL_LEN as u64)
            .is_none_or(|end| end > dir.offset)
        {
            return Err(bad());
        }
        let h = read(src, e.local, LOCAL_LEN as u64)?;
        if u32_at(&h, 0) != Some(SIG_LOCAL) {
            return Err(bad());
        }
        let n = w16(&h, 26).ok_or_else(bad)?;
        let m = w16(&h, 28).ok_or_else(bad)?;
        let data_start = e.local + LOCAL_LEN as u64 + n + m;
        let end = data_start.checked_add(e.size).ok_or_else(bad)?;
        spans.push((e.local, end, e.name.clone()));
        out.insert(
            e.name,
            EntrySpan {
                data_start,
                size: e.size,
            },
        );
    }
    check_disjoint(spans, dir.offset)?;
    Ok(out)
}
