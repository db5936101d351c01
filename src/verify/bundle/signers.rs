//! Which server keys may have signed a bundle: the manifest's key, and when the bundle
//! carries a key history (`keys/history.json`) the earlier keys too, each only for
//! entries dated up to its retirement; and whether a pinned key or key history leads to
//! the bundle's key (`docs/bundle-format.md` §12).
//!
//! It must never trust a key that no signed rotation links to a pinned key, and never
//! accept a checkpoint by a key after that key's retirement.

use ed25519_dalek::VerifyingKey;

use super::Ctx;
use crate::verify::error::VerifyError;
use crate::verify::key_history::{self, KeyHistory, Pin, Trusted, Untrusted};
use crate::verify::keys::{self, NoteVerifier};
use crate::verify::{clock, note};

/// The bundle's key history.
pub const HISTORY_PATH: &str = "keys/history.json";
/// The key history at export time, in an export whose custody checkpoint a newer key
/// signed.
pub const CUSTODY_HISTORY_PATH: &str = "custody/history.json";

/// The keys a bundle's signatures are checked against.
#[derive(Debug, Clone)]
pub(crate) struct Signers {
    /// The bundle key: manifest, `keys/`, the final checkpoint.
    pub current: NoteVerifier,
    /// Every key that may have signed a checkpoint (the carried history's, else the
    /// bundle key alone), with when it was retired (carried or pinned history).
    pub ring: Vec<(NoteVerifier, Option<i64>)>,
    /// The carried history.
    pub carried: Option<KeyHistory>,
}

/// Reads and verifies `keys/history.json` if present: it must end with the bundle key.
pub(crate) fn read_carried(
    ctx: &Ctx<'_>,
    current: &NoteVerifier,
    errs: &mut Vec<VerifyError>,
) -> Option<KeyHistory> {
    if !ctx.paths.contains(HISTORY_PATH) {
        return None;
    }
    let bytes = ctx.read(HISTORY_PATH, errs)?;
    let h = parse_at(HISTORY_PATH, &bytes, errs)?;
    if h.server != current.name || h.current() != Some(&current.key) {
        errs.push(VerifyError::KeyMismatch {
            reason: "keys/history.json does not end with the bundle's server key".into(),
        });
        return None;
    }
    Some(h)
}

fn parse_at(path: &str, bytes: &[u8], errs: &mut Vec<VerifyError>) -> Option<KeyHistory> {
    key_history::parse(bytes)
        .map_err(|e| {
            errs.push(VerifyError::KeyHistoryInvalid {
                path: path.into(),
                reason: e.to_string(),
            })
        })
        .ok()
}

/// Decides trust in the bundle key under `pin`; the error to report if none.
pub(crate) fn trust(
    pin: &Pin,
    key: &VerifyingKey,
    carried: Option<&KeyHistory>,
) -> Result<Trusted, VerifyError> {
    key_history::decide(pin, key, carried).map_err(|e| match e {
        Untrusted::Unknown => VerifyError::UnknownKey {
            fingerprint: keys::fingerprint(key),
        },
        Untrusted::Conflict(index) => VerifyError::KeyHistoryConflict {
            path: HISTORY_PATH.into(),
            index: index as u64,
        },
    })
}

/// The signers of a bundle whose key checked out.
pub(crate) fn signers(
    current: NoteVerifier,
    carried: Option<KeyHistory>,
    pin: Option<&Pin>,
) -> Signers {
    let pinned_retired = |key: &VerifyingKey| match pin {
        Some(Pin::History(h)) => h.position(key).and_then(|i| h.retired_ms(i)),
        _ => None,
    };
    let ring = match &carried {
        Some(h) => h
            .ring()
            .into_iter()
            .map(|(v, r)| {
                let p = pinned_retired(&v.key);
                (v, r.into_iter().chain(p).min())
            })
            .collect(),
        None => {
            let p = pinned_retired(&current.key);
            vec![(current.clone(), p)]
        }
    };
    Signers {
        current,
        ring,
        carried,
    }
}

/// Verifies a checkpoint note against the ring; `last_entry_time` is the log time of
/// the last entry it covers. Returns the body or the failure to report.
pub(crate) fn verify_checkpoint<'a>(
    path: &str,
    bytes: &'a [u8],
    ring: &[(NoteVerifier, Option<i64>)],
    last_entry_time: impl FnOnce(&str) -> Option<String>,
) -> Result<&'a str, VerifyError> {
    let verifiers: Vec<NoteVerifier> = ring.iter().map(|(v, _)| v.clone()).collect();
    let (body, i) = note::verify_note_any(bytes, &verifiers).map_err(|e| match e {
        note::NoteError::Malformed(reason) => VerifyError::CheckpointMalformed {
            path: path.into(),
            reason,
        },
        e => VerifyError::CheckpointBadSignature {
            path: path.into(),
            reason: e.to_string(),
        },
    })?;
    let Some((v, Some(retired))) = ring.get(i) else {
        return Ok(body);
    };
    let Some(entry_time) = last_entry_time(body) else {
        return Ok(body);
    };
    if clock::parse_ms(&entry_time).is_some_and(|t| t > *retired) {
        return Err(VerifyError::KeyRetired {
            path: path.into(),
            fingerprint: keys::fingerprint(&v.key),
            retired: clock::format_ms(*retired),
            entry_time,
        });
    }
    Ok(body)
}

/// The keys that may sign an export's custody checkpoint: the bundle key, or with
/// `custody/history.json` (the history at export time) the bundle key and its
/// successors. Reports a malformed or forked history.
pub(crate) fn custody_ring(
    ctx: &Ctx<'_>,
    signers: &Signers,
    pin: Option<&Pin>,
    errs: &mut Vec<VerifyError>,
) -> Vec<NoteVerifier> {
    let own = vec![signers.current.clone()];
    if !ctx.paths.contains(CUSTODY_HISTORY_PATH) {
        return own;
    }
    let Some(bytes) = ctx.read(CUSTODY_HISTORY_PATH, errs) else {
        return Vec::new();
    };
    let Some(h) = parse_at(CUSTODY_HISTORY_PATH, &bytes, errs) else {
        return Vec::new();
    };
    let pinned = match pin {
        Some(Pin::History(p)) => Some(p),
        _ => None,
    };
    for other in signers.carried.iter().chain(pinned) {
        if let Some(index) = h.conflict_with(other) {
            errs.push(VerifyError::KeyHistoryConflict {
                path: CUSTODY_HISTORY_PATH.into(),
                index: index as u64,
            });
            return Vec::new();
        }
    }
    let Some(from) = h.position(&signers.current.key) else {
        errs.push(VerifyError::KeyHistoryInvalid {
            path: CUSTODY_HISTORY_PATH.into(),
            reason: "does not hold the bundle's server key".into(),
        });
        return Vec::new();
    };
    h.ring().into_iter().skip(from).map(|(v, _)| v).collect()
}
