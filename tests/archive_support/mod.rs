//! Helpers shared by the `archive_*` tests (evidence records, RFC 4998): TSAs that
//! stamp a digest (the built-in TSA at a chosen time, an `openssl ts` TSA), an
//! independent DER walk of the record, `sworn-verify` runs and bundle copies.
#![allow(dead_code)]

use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sworn::evidence::archive::DigestStamper;
use sworn::evidence::tsa::{TsaError, TsaIdentity};
use sworn::verify::hash_alg::HashAlg;

use super::tsa_support::OpensslTsa;

/// The built-in TSA, stamping at `at` (tests move it to fake the time).
pub struct BuiltinAt {
    pub id: TsaIdentity,
    pub at: Cell<SystemTime>,
}

impl BuiltinAt {
    /// An identity made at `made` (its certificate runs 20 years from then), stamping
    /// at `made` until moved.
    pub fn new(dir: &Path, made: SystemTime) -> Self {
        Self {
            id: TsaIdentity::create(dir, made).unwrap(),
            at: Cell::new(made),
        }
    }
}

impl DigestStamper for BuiltinAt {
    fn stamp_digest(&self, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TsaError> {
        self.id.stamp_digest(alg, digest, self.at.get())
    }
    fn chain_pem(&self) -> String {
        self.id.chain_pem()
    }
}

/// An `openssl ts` TSA.
pub struct Openssl(pub OpensslTsa, pub Cell<usize>);

impl DigestStamper for Openssl {
    fn stamp_digest(&self, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TsaError> {
        self.1.set(self.1.get() + 1);
        Ok(self
            .0
            .digest_token(alg.name(), digest, &format!("ers{}", self.1.get())))
    }
    fn chain_pem(&self) -> String {
        String::from_utf8(self.0.chain_pem()).unwrap()
    }
}

/// A TSA that is down.
pub struct Down;

impl DigestStamper for Down {
    fn stamp_digest(&self, _: HashAlg, _: &[u8]) -> Result<Vec<u8>, TsaError> {
        Err(TsaError::Transport("connection refused".into()))
    }
    fn chain_pem(&self) -> String {
        String::new()
    }
}

/// Unix seconds as a SystemTime.
pub fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

/// Now, Unix seconds.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One DER element: tag, whole encoding, content, offset of the content in the input.
#[derive(Clone, Copy, Debug)]
pub struct El<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

/// The elements of `b`, written independently of sworn's parser.
pub fn elements(mut b: &[u8]) -> Vec<El<'_>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let tag = b[0];
        let (len, hl) = if b[1] < 0x80 {
            (usize::from(b[1]), 2)
        } else {
            let n = usize::from(b[1] & 0x7f);
            let len = b[2..2 + n]
                .iter()
                .fold(0usize, |a, x| (a << 8) | usize::from(*x));
            (len, 2 + n)
        };
        out.push(El {
            tag,
            raw: &b[..hl + len],
            content: &b[hl..hl + len],
        });
        b = &b[hl + len..];
    }
    out
}

/// The record's chains, each a list of archive time-stamps, each its fields.
pub fn chains(record: &[u8]) -> Vec<(El<'_>, Vec<Vec<El<'_>>>)> {
    let top = elements(record)[0];
    let fields = elements(top.content);
    assert_eq!(fields[0].content, [1], "version 1");
    elements(fields[2].content)
        .into_iter()
        .map(|chain| {
            let stamps = elements(chain.content)
                .into_iter()
                .map(|ats| elements(ats.content))
                .collect();
            (chain, stamps)
        })
        .collect()
}

/// The first list of an archive time-stamp's reduced hash tree.
pub fn first_list<'a>(fields: &[El<'a>]) -> Vec<&'a [u8]> {
    let tree = fields
        .iter()
        .find(|f| f.tag == 0xa2)
        .expect("reducedHashtree");
    let list = elements(tree.content)[0];
    elements(list.content).iter().map(|h| h.content).collect()
}

/// The token (last field) of an archive time-stamp.
pub fn token<'a>(fields: &[El<'a>]) -> &'a [u8] {
    fields.last().unwrap().raw
}

/// Every data object of a bundle directory (all files but archive/ and custody/),
/// sorted by path.
pub fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.retain(|(p, _)| !p.starts_with("archive/") && !p.starts_with("custody/"));
    out.sort();
    out
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let rel = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &format!("{rel}/"), out);
        } else {
            out.push((rel, std::fs::read(e.path()).unwrap()));
        }
    }
}

/// `openssl ts -verify -digest <hex> -in <token> -token_in -CAfile <chain>`: true when
/// OpenSSL accepts the token over that digest.
pub fn openssl_verifies(dir: &Path, token: &[u8], digest: &[u8], chain: &Path) -> bool {
    let tok = dir.join("check.tok");
    std::fs::write(&tok, token).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-digest", &hex, "-token_in", "-in"])
        .arg(&tok)
        .arg("-CAfile")
        .arg(chain)
        .output()
        .unwrap();
    let ok = out.status.success();
    if !ok {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    ok
}

/// `sworn-verify --json <target>` (the bundle's own key): (exit code, report).
pub fn sworn_verify(target: &Path) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(target)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// The `archive` checks of a report.
pub fn archive_checks(report: &Value) -> Vec<Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "archive")
        .cloned()
        .collect()
}

/// The codes of the `archive` check's failures.
pub fn archive_failures(report: &Value) -> Vec<String> {
    archive_checks(report)
        .iter()
        .filter_map(|c| c["error"]["code"].as_str().map(str::to_owned))
        .collect()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}
