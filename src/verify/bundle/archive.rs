//! The `archive` check: the bundle's evidence record (`archive/evidence-record.ers`,
//! RFC 4998) over every file of the sealed bundle, each archive time-stamp's token
//! checked under its chain (`archive/tsa-NN.pem`, or the pinned `--tsa-trust` chain).
//! `archive/**` is outside the manifest like `custody/**`: the record proves itself
//! through its tokens. A bundle without `archive/` passes as "not present".
//!
//! Must never accept any other file under `archive/`, or a record whose data objects are
//! not exactly the sealed bundle's files.

use super::{Ctx, TimestampFailure, TimestampVerifier};
use crate::verify::archive::{
    self, ArchiveSummary, DataObject, RECORD_PATH, StampTime, chain_number, chain_path, is_archive,
    is_data_object,
};
use crate::verify::error::VerifyError;
use crate::verify::hash_alg::HashAlg;

/// Check name.
const CHECK: &str = "archive";

/// Runs the check; returns what the record proves when it passed.
pub(crate) fn check_archive(
    ctx: &mut Ctx<'_>,
    timestamps: Option<&dyn TimestampVerifier>,
    pinned_chain: Option<&[u8]>,
) -> Option<ArchiveSummary> {
    let files: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| is_archive(p))
        .cloned()
        .collect();
    if files.is_empty() {
        ctx.record(CHECK, Vec::new(), "not present".into());
        return None;
    }
    let mut errs = Vec::new();
    for f in &files {
        if f != RECORD_PATH && chain_number(f).is_none() {
            errs.push(VerifyError::ArchiveRecordMalformed {
                reason: format!("unexpected file {f}"),
            });
        }
    }
    let Some(bytes) = ctx.read(RECORD_PATH, &mut errs) else {
        ctx.record(CHECK, errs, String::new());
        return None;
    };
    let rec = match archive::parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            errs.push(e);
            ctx.record(CHECK, errs, String::new());
            return None;
        }
    };
    let count = rec.stamp_count();
    let chains = files.iter().filter_map(|f| chain_number(f)).count();
    let all_numbered = (1..=count).all(|n| ctx.paths.contains(&chain_path(n)));
    if chains != count || !all_numbered {
        errs.push(VerifyError::ArchiveRecordMalformed {
            reason: format!(
                "{count} archive time-stamps need archive/tsa-01.pem … {}, found {chains} chain files",
                chain_path(count)
            ),
        });
    }
    let Some(verifier) = timestamps else {
        if errs.is_empty() {
            ctx.skip(CHECK, "no time-stamp checker available".into());
        } else {
            ctx.record(CHECK, errs, String::new());
        }
        return None;
    };
    let objects = data_objects(ctx, &rec.digest_algorithms, &mut errs);
    let mut chain_errs = Vec::new();
    let mut verify = |n: usize, token: &[u8], alg: HashAlg, root: &[u8]| {
        let chain = match pinned_chain {
            Some(p) => p.to_vec(),
            None => ctx
                .read(&chain_path(n), &mut chain_errs)
                .ok_or_else(|| TimestampFailure::Invalid(format!("{} missing", chain_path(n))))?,
        };
        verifier.verify_digest(token, alg, root, &chain)
    };
    let summary = match archive::verify_record(&rec, &objects, &mut verify) {
        Ok(s) => Some(s),
        Err(e) => {
            errs.extend(e);
            None
        }
    };
    errs.extend(chain_errs);
    let trust = if pinned_chain.is_some() {
        "pinned TSA chain"
    } else {
        "TSA chains archive/tsa-NN.pem"
    };
    let detail = summary
        .as_ref()
        .map(|s| format!("{} ({count} archive time-stamps, {trust})", s.describe()))
        .unwrap_or_default();
    let ok = errs.is_empty();
    ctx.record(CHECK, errs, detail);
    summary.filter(|_| ok)
}

/// Every data object with its digest under each of `algs` (SHA-256 from the manifest
/// check's digests, the others read in blocks).
fn data_objects(ctx: &Ctx<'_>, algs: &[HashAlg], errs: &mut Vec<VerifyError>) -> Vec<DataObject> {
    let paths: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| is_data_object(p))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for path in paths {
        let mut digests = Vec::new();
        for alg in algs {
            let known = (*alg == HashAlg::Sha256)
                .then(|| ctx.digests.get(&path))
                .flatten()
                .and_then(|(hex_sha, _)| hex::decode(hex_sha).ok());
            let digest = match known {
                Some(d) => Some(d),
                None => hash_file(ctx, &path, *alg, errs),
            };
            if let Some(d) = digest {
                digests.push((*alg, d));
            }
        }
        out.push(DataObject { path, digests });
    }
    out
}

fn hash_file(
    ctx: &Ctx<'_>,
    path: &str,
    alg: HashAlg,
    errs: &mut Vec<VerifyError>,
) -> Option<Vec<u8>> {
    let len = ctx.file_len(path, errs)?;
    ctx.digest_range(path, 0, len, alg, errs)
}

/// A token check result as the archive check wants it.
pub(crate) fn stamp_time(
    gen_time: String,
    gen_time_unix: i64,
    not_after: String,
    not_after_unix: i64,
) -> StampTime {
    StampTime {
        gen_time,
        gen_time_unix,
        not_after,
        not_after_unix,
    }
}
