//! Hostile bundle zips are refused before anything is read from them: entries that
//! overlap (two names for the same bytes, the "zip bomb by overlap"), data running into
//! the central directory, duplicate names, too many entries; and no file is read whole
//! past `MAX_WHOLE_FILE_BYTES` (`FileTooLarge`). Each zip is built byte by byte here.

use std::cell::Cell;

use sworn::verify::bundle::MAX_WHOLE_FILE_BYTES;
use sworn::verify::zip_index::{self, ZipError};
use sworn::verify::{BundleSource, MemorySource, VerifyOptions, verify_bundle};
use sworn::verify_cli::{OpenError, ZipSource};

/// One central directory record to write: `local` = index of the local header it points
/// at (several records may point at one header: the overlap attack).
struct Rec {
    name: &'static str,
    local: usize,
}

/// A stored zip: local headers + data for `files`, then a central directory of `recs`
/// (default: one per file), then the end record.
fn build(files: &[(&str, &[u8])], recs: Option<Vec<Rec>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut locals = Vec::new();
    for (name, data) in files {
        locals.push((out.len() as u32, data.len() as u32));
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date
        out.extend_from_slice(&0u32.to_le_bytes()); // crc (not checked)
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
    }
    let recs = recs.unwrap_or_else(|| {
        files
            .iter()
            .enumerate()
            .map(|(i, (n, _))| Rec {
                name: Box::leak(n.to_string().into_boxed_str()),
                local: i,
            })
            .collect()
    });
    let cd_start = out.len() as u32;
    for r in &recs {
        let (off, len) = locals[r.local];
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // versions, flags, method, time, date
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(r.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attrs
        out.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(r.name.as_bytes());
    }
    let cd_len = out.len() as u32 - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(recs.len() as u16).to_le_bytes());
    out.extend_from_slice(&(recs.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn index(bytes: &[u8]) -> Result<Vec<String>, ZipError> {
    zip_index::index(&mut &bytes[..], bytes.len() as u64).map(|m| m.into_keys().collect())
}

fn open_file(bytes: &[u8]) -> Result<ZipSource, OpenError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.zip");
    std::fs::write(&p, bytes).unwrap();
    ZipSource::open(&p)
}

#[test]
fn a_well_formed_stored_zip_is_indexed() {
    let z = build(
        &[("manifest.json", b"{}"), ("media/a.webm", b"abcdef")],
        None,
    );
    assert_eq!(index(&z).unwrap(), ["manifest.json", "media/a.webm"]);
    let src = open_file(&z).unwrap();
    assert_eq!(src.read("media/a.webm").unwrap(), b"abcdef");
    assert_eq!(src.read_range("media/a.webm", 2, 3).unwrap(), b"cde");
    assert!(src.read_range("media/a.webm", 4, 3).is_err());
}

#[test]
fn two_names_for_the_same_bytes_are_refused() {
    // Both central records point at one local header: the same bytes read twice.
    let z = build(
        &[("media/a.webm", b"payload")],
        Some(vec![
            Rec {
                name: "media/a.webm",
                local: 0,
            },
            Rec {
                name: "media/b.webm",
                local: 0,
            },
        ]),
    );
    assert!(
        matches!(index(&z), Err(ZipError::Overlap { .. })),
        "{:?}",
        index(&z)
    );
    let e = open_file(&z).err().unwrap();
    assert!(e.to_string().contains("overlap"), "{e}");
}

#[test]
fn data_reaching_into_the_next_entry_or_the_directory_is_refused() {
    // A record that claims more bytes than its entry holds covers the next local header.
    let mut z = build(&[("a.txt", b"aaaa"), ("b.txt", b"bbbb")], None);
    let cd = u32::from_le_bytes(z[z.len() - 6..z.len() - 2].try_into().unwrap()) as usize;
    // First central record: compressed size at +20, uncompressed at +24.
    z[cd + 20..cd + 24].copy_from_slice(&40u32.to_le_bytes());
    z[cd + 24..cd + 28].copy_from_slice(&40u32.to_le_bytes());
    assert!(matches!(index(&z), Err(ZipError::Overlap { .. })));
    // The last entry running into the central directory.
    let mut z = build(&[("a.txt", b"aaaa")], None);
    let cd = u32::from_le_bytes(z[z.len() - 6..z.len() - 2].try_into().unwrap()) as usize;
    z[cd + 20..cd + 24].copy_from_slice(&10u32.to_le_bytes());
    z[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
    assert!(matches!(index(&z), Err(ZipError::Overlap { .. })));
}

#[test]
fn duplicate_names_are_refused_even_with_distinct_bytes() {
    // The zip crate the verifier used before kept only one of two same-named entries.
    let z = build(
        &[("manifest.json", b"one"), ("manifest.json", b"two")],
        None,
    );
    assert_eq!(index(&z), Err(ZipError::Duplicate("manifest.json".into())));
    assert!(
        open_file(&z)
            .err()
            .unwrap()
            .to_string()
            .contains("duplicate")
    );
}

#[test]
fn unsafe_names_and_bad_headers_are_refused() {
    let z = build(&[("../x", b"x")], None);
    assert!(matches!(index(&z), Err(ZipError::UnsafeName(_))));
    let mut z = build(&[("a.txt", b"x")], None);
    z[0] ^= 0xff; // local header signature
    assert!(matches!(index(&z), Err(ZipError::BadLocalHeader(_))));
    assert_eq!(index(b"not a zip"), Err(ZipError::NoEndRecord));
    assert_eq!(index(b""), Err(ZipError::NoEndRecord));
}

#[test]
fn entry_count_is_capped_before_the_directory_is_read() {
    // A Zip64 end record claiming 200 000 entries in a 100-byte archive.
    let mut z = Vec::new();
    let rec_at = z.len() as u64;
    z.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    z.extend_from_slice(&44u64.to_le_bytes());
    z.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&200_000u64.to_le_bytes());
    z.extend_from_slice(&200_000u64.to_le_bytes());
    z.extend_from_slice(&0u64.to_le_bytes());
    z.extend_from_slice(&0u64.to_le_bytes());
    z.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&rec_at.to_le_bytes());
    z.extend_from_slice(&1u32.to_le_bytes());
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&[0xff; 4]);
    z.extend_from_slice(&[0xff; 8]);
    z.extend_from_slice(&0u16.to_le_bytes());
    assert_eq!(index(&z), Err(ZipError::TooManyEntries(200_000)));
    assert!(matches!(open_file(&z), Err(OpenError::TooMany)));
}

/// A source that claims one file is huge and counts whole reads of it.
struct Lying {
    inner: MemorySource,
    huge: &'static str,
    whole_reads: Cell<u32>,
}

impl BundleSource for Lying {
    fn paths(&self) -> Vec<String> {
        self.inner.paths()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        if path == self.huge {
            self.whole_reads.set(self.whole_reads.get() + 1);
        }
        self.inner.read(path)
    }
    fn file_len(&self, path: &str) -> Result<u64, String> {
        if path == self.huge {
            return Ok(MAX_WHOLE_FILE_BYTES + 1);
        }
        self.inner.file_len(path)
    }
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        self.inner.read_range(path, offset, len)
    }
}

#[test]
fn a_file_larger_than_the_cap_is_never_read_whole() {
    let mut inner = MemorySource::default();
    inner.files.insert("manifest.json".into(), b"{}".to_vec());
    let src = Lying {
        inner,
        huge: "manifest.json",
        whole_reads: Cell::new(0),
    };
    let r = verify_bundle(&src, &VerifyOptions::default());
    assert!(!r.valid);
    assert_eq!(
        src.whole_reads.get(),
        0,
        "the oversized file was read whole"
    );
    let codes: Vec<String> = r.failures().map(|e| e.code()).collect();
    assert_eq!(codes, ["FileTooLarge"], "{}", r.to_text());
    assert!(r.to_text().contains(&format!(
        "manifest.json: {} bytes, more than the {MAX_WHOLE_FILE_BYTES} read whole",
        MAX_WHOLE_FILE_BYTES + 1
    )));
}
