//! `sworn archive renew`: makes or renews the evidence record (RFC 4998) of a sealed
//! bundle directory (docs/bundle-format.md §14). With the record's last hash algorithm
//! it adds a time-stamp renewal, with another one a hash-tree renewal; a bundle without
//! a record gets its first archive time-stamp. Tokens come from an external TSA
//! (`--tsa-url` + `--tsa-chain`), a built-in TSA directory (`--builtin-tsa`), or, with
//! `--hearing`, the server's configured TSA (the binary resolves that).
//!
//! Exit codes: 0 done, 1 refused (the bundle or its record does not verify, or the last
//! token's TSA certificate has expired), 2 usage, I/O or TSA error. It must never write
//! outside `<bundle>/archive/` or print a TSA URL.

use std::path::{Path, PathBuf};

use crate::evidence::archive::{self, ArchiveError, DigestStamper, Outcome};
use crate::evidence::tsa::{ExternalTsa, TimeStamper, TsaIdentity};
use crate::verify::archive::RenewalKind;
use crate::verify::hash_alg::HashAlg;

/// Exit code: the record was made or renewed.
pub const EXIT_DONE: i32 = 0;
/// Exit code: refused (see [`ArchiveError::Expired`], [`ArchiveError::BundleInvalid`]).
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: usage, I/O or TSA error.
pub const EXIT_ERROR: i32 = 2;

/// Arguments of `sworn archive renew`.
#[derive(Debug, Clone, clap::Args)]
pub struct RenewArgs {
    /// The sealed bundle directory (its `archive/` is written).
    #[arg(required_unless_present = "hearing", conflicts_with = "hearing")]
    pub bundle: Option<PathBuf>,
    /// A hearing of this server's data directory instead (its sealed bundle; the
    /// configured TSA unless --tsa-url or --builtin-tsa is given).
    #[arg(long)]
    pub hearing: Option<String>,
    /// Hash algorithm: the record's last one makes a time-stamp renewal, another one a
    /// hash-tree renewal.
    #[arg(long, default_value = "sha256", value_parser = ["sha256", "sha384", "sha512"])]
    pub hash: String,
    /// An external RFC 3161 TSA (http or https URL).
    #[arg(long, requires = "tsa_chain", conflicts_with = "builtin_tsa")]
    pub tsa_url: Option<String>,
    /// The external TSA's PEM chain, root included (copied to archive/tsa-NN.pem).
    #[arg(long, requires = "tsa_url")]
    pub tsa_chain: Option<PathBuf>,
    /// A built-in TSA identity directory (e.g. `<data dir>/tsa`).
    #[arg(long)]
    pub builtin_tsa: Option<PathBuf>,
}

/// The TSA named by the flags, if any.
pub fn stamper_from_args(args: &RenewArgs) -> Result<Option<TimeStamper>, String> {
    if let (Some(url), Some(chain)) = (&args.tsa_url, &args.tsa_chain) {
        let pem =
            std::fs::read(chain).map_err(|e| format!("--tsa-chain {}: {e}", chain.display()))?;
        let tsa = ExternalTsa::standalone(url, &pem).map_err(|e| e.to_string())?;
        return Ok(Some(TimeStamper::External(tsa)));
    }
    if let Some(dir) = &args.builtin_tsa {
        let id = TsaIdentity::load(dir).map_err(|e| format!("--builtin-tsa: {e}"))?;
        return Ok(Some(TimeStamper::Builtin(Box::new(id))));
    }
    Ok(None)
}

/// Runs the renewal of `bundle` with `stamper`; prints what was done; returns the exit
/// code.
pub fn renew(bundle: &Path, hash: &str, stamper: &dyn DigestStamper) -> i32 {
    let Some(alg) = HashAlg::from_name(hash) else {
        eprintln!("error: unknown hash algorithm {hash}");
        return EXIT_ERROR;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match archive::renew(bundle, stamper, alg, now) {
        Ok(outcome) => {
            print_outcome(&outcome, now);
            EXIT_DONE
        }
        Err(e @ (ArchiveError::Expired { .. } | ArchiveError::BundleInvalid(_))) => {
            eprintln!("refused: {e}");
            EXIT_REFUSED
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn print_outcome(o: &Outcome, now: i64) {
    let what = match o.renewal {
        None => "first archive time-stamp made",
        Some(RenewalKind::Timestamp) => "time-stamp renewal made",
        Some(RenewalKind::HashTree) => "hash-tree renewal made",
    };
    println!("{what}");
    println!("archive   {}", o.summary.describe());
    for w in &o.warnings {
        eprintln!("warning: {w}");
    }
    let next = time::OffsetDateTime::parse(
        &o.summary.renew_before,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| t.unix_timestamp());
    if next.is_ok_and(|t| t - now < archive::NEAR_EXPIRY_SECS) {
        eprintln!(
            "warning: this TSA's certificate expires at {}: renew again, with another TSA, before then",
            o.summary.renew_before
        );
    }
}
