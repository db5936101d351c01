//! Filesystem/zip front end of the verifier shared by `sworn verify` and `sworn-verify`:
//! argument handling, reading a bundle directory or zip into a [`BundleSource`], exit
//! codes (see [`EXIT_CODES`]).
//!
//! The only verifier code that touches the filesystem; it must never decide validity
//! itself (that is `verify::verify_bundle`) and never follow symlinks or zip paths that
//! leave the bundle.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::verify::bundle::{MAX_WHOLE_FILE_BYTES, Rfc3161Checker};
use crate::verify::keys::{parse_public_key_pem, parse_vkey};
use crate::verify::zip_index::{self, EntrySpan as ZipEntry, ReadAt};
use crate::verify::{BundleSource, VerifyOptions, verify_bundle};

/// Exit code: the bundle is valid and signed by the pinned (`--trust`) key.
pub const EXIT_VALID: i32 = 0;
/// Exit code: the bundle is invalid.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: i32 = 2;
/// Exit code: every check passed against the bundle's *own* key, none was pinned. A
/// bundle forged with its own key and TSA gets this too: it is the court's only once its
/// key fingerprint matches the court's published one (then use `--trust`).
pub const EXIT_VALID_KEY_NOT_PINNED: i32 = 3;

/// Every exit code with its meaning, in the order documented (README, bundle-format §9).
pub const EXIT_CODES: [(i32, &str); 4] = [
    (EXIT_VALID, "valid, signed by the pinned server key"),
    (EXIT_INVALID, "invalid"),
    (
        EXIT_ERROR,
        "usage or I/O error, or a bundle that cannot be opened",
    ),
    (
        EXIT_VALID_KEY_NOT_PINNED,
        "valid, key not pinned: checked against the bundle's own key only",
    ),
];

/// Largest number of files accepted in a bundle.
const MAX_FILES: usize = 100_000;

#[derive(Parser, Debug)]
#[command(
    name = "sworn-verify",
    about = "Verify a sworn evidence bundle offline",
    after_help = "Exit codes: 0 valid (pinned key), 1 invalid, 2 error, \
                  3 valid but key not pinned (no --trust: checked against the bundle's own key)"
)]
struct Args {
    /// Bundle directory or .zip file.
    #[arg(required_unless_present = "list_codes")]
    bundle: Option<PathBuf>,
    /// Pinned server public key: SPKI PEM (keys/server.pub.pem), signed-note verifier key,
    /// or the court's key history (/.well-known/sworn/key-history.json).
    #[arg(long, value_name = "KEYFILE")]
    trust: Option<PathBuf>,
    /// Pinned TSA certificate(s), PEM, instead of the bundle's tsa/chain.pem.
    #[arg(long, value_name = "PEMFILE")]
    tsa_trust: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print every failure code the verifier can report and the exit codes, then exit 0
    /// (with --json: as JSON).
    #[arg(long, conflicts_with_all = ["trust", "tsa_trust"])]
    list_codes: bool,
}

/// `--list-codes`: one `CODE<TAB>description` line per failure code (the order of
/// [`crate::verify::CODES`]), then one `N<TAB>meaning` line per exit code, each block
/// after a `#` header line. Stable: lines are only ever added.
pub fn list_codes_text() -> String {
    let mut out = String::from("# failure codes: CODE<TAB>description\n");
    for (code, what) in crate::verify::CODES {
        out.push_str(&format!("{code}\t{what}\n"));
    }
    out.push_str("# exit codes: N<TAB>meaning\n");
    for (n, what) in EXIT_CODES {
        out.push_str(&format!("{n}\t{what}\n"));
    }
    out
}

/// `--list-codes --json`: `{"codes": [{"code", "description"}], "exit_codes": [{"exit",
/// "meaning"}]}`.
pub fn list_codes_json() -> String {
    let codes: Vec<serde_json::Value> = crate::verify::CODES
        .iter()
        .map(|(code, what)| serde_json::json!({"code": code, "description": what}))
        .collect();
    let exits: Vec<serde_json::Value> = EXIT_CODES
        .iter()
        .map(|(n, what)| serde_json::json!({"exit": n, "meaning": what}))
        .collect();
    let v = serde_json::json!({"codes": codes, "exit_codes": exits});
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// Why a bundle could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A symlink, device or other non-regular file in a bundle directory.
    #[error("{0}: not a regular file (symlinks are refused)")]
    NotRegular(String),
    /// A zip that cannot be read, or with unsafe or duplicate names.
    #[error("zip: {0}")]
    Zip(String),
    /// Too many files.
    #[error("bundle has too many files")]
    TooMany,
}

/// A bundle directory.
pub struct DirSource {
    root: PathBuf,
    paths: Vec<String>,
}

impl DirSource {
    /// Lists the regular files under `root`; refuses symlinks.
    pub fn open(root: &Path) -> Result<DirSource, OpenError> {
        let mut paths = Vec::new();
        walk(root, "", &mut paths)?;
        paths.sort();
        Ok(DirSource {
            root: root.to_path_buf(),
            paths,
        })
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), OpenError> {
    for ent in fs::read_dir(dir).map_err(io_err(dir))? {
        let ent = ent.map_err(io_err(dir))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ty = ent.file_type().map_err(io_err(dir))?;
        if ty.is_dir() {
            walk(&ent.path(), &rel, out)?;
        } else if ty.is_file() {
            out.push(rel);
            if out.len() > MAX_FILES {
                return Err(OpenError::TooMany);
            }
        } else {
            return Err(OpenError::NotRegular(rel));
        }
    }
    Ok(())
}

impl DirSource {
    fn path_of(&self, path: &str) -> Result<PathBuf, String> {
        if self
            .paths
            .binary_search_by(|p| p.as_str().cmp(path))
            .is_err()
        {
            return Err("not in bundle".into());
        }
        Ok(self.root.join(path))
    }
}

/// Reads exactly `len` bytes at `offset` of an open file.
fn read_at(f: &mut File, offset: u64, len: u64) -> Result<Vec<u8>, String> {
    use std::io::{Seek as _, SeekFrom};
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 26));
    f.take(len)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 != len {
        return Err("range past the end of the file".into());
    }
    Ok(out)
}

impl BundleSource for DirSource {
    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        // The verifier asked the length first; a file that grew since is not read past
        // the cap.
        let f = File::open(self.path_of(path)?).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        f.take(MAX_WHOLE_FILE_BYTES.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        if out.len() as u64 > MAX_WHOLE_FILE_BYTES {
            return Err("file grew past the size read whole".into());
        }
        Ok(out)
    }
    fn file_len(&self, path: &str) -> Result<u64, String> {
        fs::symlink_metadata(self.path_of(path)?)
            .map(|m| m.len())
            .map_err(|e| e.to_string())
    }
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let mut f = File::open(self.path_of(path)?).map_err(|e| e.to_string())?;
        read_at(&mut f, offset, len)
    }
}

/// A bundle zip. Entries must be stored (uncompressed): their bytes are read straight
/// from the archive, so large media files are hashed in blocks, never held whole. The
/// zip CRC is not checked; every byte is covered by SHA-256 in the manifest and log.
/// The index is `verify::zip_index`'s, which refuses overlapping entries.
pub struct ZipSource {
    file: RefCell<File>,
    index: BTreeMap<String, ZipEntry>,
}

struct FileAt<'a>(&'a mut File);

impl ReadAt for FileAt<'_> {
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        read_at(self.0, offset, len)
    }
}

impl ZipSource {
    /// Opens a zip and indexes its file entries; refuses unsafe or duplicate names,
    /// compressed entries, too many entries and entries that overlap.
    pub fn open(path: &Path) -> Result<ZipSource, OpenError> {
        let mut file = File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        let index = zip_index::index(&mut FileAt(&mut file), len).map_err(|e| match e {
            zip_index::ZipError::TooManyEntries(_) => OpenError::TooMany,
            e => OpenError::Zip(e.to_string()),
        })?;
        Ok(ZipSource {
            file: RefCell::new(file),
            index,
        })
    }

    fn entry(&self, path: &str) -> Result<ZipEntry, String> {
        self.index
            .get(path)
            .copied()
            .ok_or_else(|| "not in bundle".to_string())
    }
}

impl BundleSource for ZipSource {
    fn paths(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let e = self.entry(path)?;
        self.read_range(path, 0, e.size)
    }
    fn file_len(&self, path: &str) -> Result<u64, String> {
        self.entry(path).map(|e| e.size)
    }
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let e = self.entry(path)?;
        if offset.checked_add(len).is_none_or(|end| end > e.size) {
            return Err("range past the end of the file".into());
        }
        let mut f = self.file.borrow_mut();
        read_at(&mut f, e.data_start.saturating_add(offset), len)
    }
}

/// Opens a bundle directory or zip.
pub fn open_bundle(path: &Path) -> Result<Box<dyn BundleSource>, OpenError> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        Ok(Box::new(DirSource::open(path)?))
    } else {
        Ok(Box::new(ZipSource::open(path)?))
    }
}

/// Reads a `--trust` key file: SPKI PEM or signed-note verifier key.
pub fn read_trust_key(path: &Path) -> Result<ed25519_dalek::VerifyingKey, String> {
    match read_trust(path)? {
        Trust::Key(k) => Ok(k),
        Trust::History(_) => Err(format!("{}: a key history, not a key", path.display())),
    }
}

/// What `--trust` names: a key, or a key history (`sworn-key-history/1`, as published at
/// `/.well-known/sworn/key-history.json`).
#[derive(Debug, Clone)]
pub enum Trust {
    /// One server key.
    Key(ed25519_dalek::VerifyingKey),
    /// A verified key history.
    History(crate::verify::key_history::KeyHistory),
}

/// Reads a `--trust` file: SPKI PEM, signed-note verifier key, or key history JSON.
pub fn read_trust(path: &Path) -> Result<Trust, String> {
    use crate::verify::key_history;
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if key_history::looks_like_history(&bytes) {
        let trimmed = bytes.trim_ascii_end();
        return key_history::parse(trimmed)
            .map(Trust::History)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    read_trust_key_text(path, &String::from_utf8_lossy(&bytes)).map(Trust::Key)
}

fn read_trust_key_text(path: &Path, text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    if text.contains("-----BEGIN") {
        parse_public_key_pem(text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        parse_vkey(text)
            .map(|v| v.key)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Fix-it hints for the failure classes a person can act on (printed to stderr).
pub fn hints(report: &crate::verify::Report) -> Vec<String> {
    use crate::verify::VerifyError as E;
    let mut out: Vec<String> = Vec::new();
    let mut add = |h: String| {
        if !out.contains(&h) {
            out.push(h);
        }
    };
    if report.verdict == crate::verify::Verdict::ValidKeyNotPinned {
        if let Some(fp) = &report.key_fingerprint {
            add(format!(
                "no key was pinned: the bundle is consistent with its own key {fp}, which anyone \
                 can make; compare it with the court's published key and re-run with --trust"
            ));
        }
    }
    for e in report.failures() {
        match e {
            E::UnknownKey { fingerprint } => add(format!(
                "the bundle is signed by {fingerprint}, not by the key given with --trust; \
                 ask the court which key it publishes before trusting this bundle"
            )),
            E::ManifestHashMismatch { .. } | E::Sha256SumsMismatch { .. } => add(
                "a file changed after the bundle was made; `sha256sum -c SHA256SUMS` shows which"
                    .into(),
            ),
            E::MissingFile { .. } | E::ExtraFile { .. } => add(
                "the bundle's files differ from its manifest; unpack the zip again or get a fresh copy"
                    .into(),
            ),
            E::TimestampInvalid { .. } => add(
                "if the court's TSA certificate is known, pass it with --tsa-trust to check tokens against it"
                    .into(),
            ),
            E::ReadFailed { .. } => add("a file could not be read; check permissions and disk".into()),
            _ => {}
        }
    }
    out
}

/// Runs the verifier CLI with `args` (including the program name); returns the exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_VALID
            };
            let _ = e.print();
            return code;
        }
    };
    if args.list_codes {
        if args.json {
            println!("{}", list_codes_json());
        } else {
            print!("{}", list_codes_text());
        }
        return EXIT_VALID;
    }
    let Some(bundle) = args.bundle.as_deref() else {
        eprintln!("error: a bundle is required");
        return EXIT_ERROR;
    };
    let trust = match args.trust.as_deref().map(read_trust).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: --trust: {e}");
            return EXIT_ERROR;
        }
    };
    let trusted_tsa_chain = match args.tsa_trust.as_deref().map(fs::read).transpose() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: --tsa-trust: {e}");
            return EXIT_ERROR;
        }
    };
    let src = match open_bundle(bundle) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open bundle: {e}");
            return EXIT_ERROR;
        }
    };
    let checker = Rfc3161Checker;
    let (trusted_key, trusted_history) = match trust {
        Some(Trust::Key(k)) => (Some(k), None),
        Some(Trust::History(h)) => (None, Some(h)),
        None => (None, None),
    };
    let opts = VerifyOptions {
        trusted_key,
        trusted_history,
        timestamps: Some(&checker),
        trusted_tsa_chain,
    };
    let report = verify_bundle(src.as_ref(), &opts);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    for h in hints(&report) {
        eprintln!("hint: {h}");
    }
    exit_code(&report)
}

/// The exit code for a report (see [`EXIT_CODES`]).
pub fn exit_code(report: &crate::verify::Report) -> i32 {
    use crate::verify::Verdict;
    if report.io_failed() {
        return EXIT_ERROR;
    }
    match report.verdict {
        Verdict::Valid => EXIT_VALID,
        Verdict::ValidKeyNotPinned => EXIT_VALID_KEY_NOT_PINNED,
        Verdict::Invalid => EXIT_INVALID,
    }
}
