//! Attestations (`attestations/NNNN-<kind>.{json,sig,pub.pem}`) and the signed minutes
//! (`minutes/minutes.html` + `.sig`): exact statement bytes, hash as logged, signature by
//! the key bound to the signer earlier in the log (Ed25519 `verify_strict`, or ECDSA P-256
//! when the `key_bound` says `alg: "ES256"`), statement bound to a signed checkpoint.
//!
//! It must never accept a signature from a key the log did not bind first.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::checkpoints::Checkpoints;
use super::log::LogView;
use super::manifest::Manifest;
use super::{Ctx, sha256_hex};
use crate::verify::attestation::{KINDS, attestation_paths, parse_statement};
use crate::verify::entry::EntryBody;
use crate::verify::error::VerifyError;
use crate::verify::keys::ParticipantKey;

pub(crate) fn check_attestations(
    ctx: &mut Ctx<'_>,
    man: &Manifest,
    log: &LogView,
    cps: &Checkpoints,
) {
    let mut errs = Vec::new();
    let mut bound: BTreeMap<String, ParticipantKey> = BTreeMap::new();
    let mut expected_files = BTreeSet::new();
    let mut ordinal = 0u64;
    // (participant key, minutes_sha256) of the last minutes attestation.
    let mut minutes: Option<(ParticipantKey, String)> = None;
    for (seq, e) in log.iter() {
        match &e.body {
            EntryBody::KeyBound {
                participant,
                public_key,
                alg,
            } => match ParticipantKey::from_entry(alg.as_deref(), public_key) {
                // An unknown algorithm fails closed: reported here (and by the log
                // check), and no key of it is ever used.
                Ok(k) => {
                    bound.insert(participant.clone(), k);
                }
                Err(err) => errs.push(VerifyError::EntryMalformed {
                    line: seq,
                    reason: format!("key_bound: {err}"),
                }),
            },
            EntryBody::Attestation {
                kind,
                participant,
                statement_sha256,
                signature,
            } => {
                ordinal += 1;
                if !KINDS.contains(&kind.as_str()) {
                    errs.push(VerifyError::EntryMalformed {
                        line: seq,
                        reason: format!("unknown attestation kind {kind:?}"),
                    });
                    continue;
                }
                let [json_p, sig_p, pub_p] = attestation_paths(ordinal, kind);
                expected_files.extend([json_p.clone(), sig_p.clone(), pub_p.clone()]);
                let stmt_bytes = ctx.read(&json_p, &mut errs);
                let sig_file = ctx.read(&sig_p, &mut errs);
                let pub_file = ctx.read(&pub_p, &mut errs);
                let Some(key) = bound.get(participant).copied() else {
                    errs.push(VerifyError::KeyNotBound {
                        participant: participant.clone(),
                        seq,
                    });
                    continue;
                };
                let Some(stmt_bytes) = stmt_bytes else {
                    continue;
                };
                if sha256_hex(&stmt_bytes) != *statement_sha256 {
                    errs.push(VerifyError::AttestationHashMismatch {
                        path: json_p.clone(),
                    });
                }
                let bad_sig = |reason: String| VerifyError::AttestationBadSignature {
                    path: json_p.clone(),
                    reason,
                };
                match URL_SAFE_NO_PAD.decode(signature) {
                    Ok(sig) => {
                        if let Err(r) = key.verify(&stmt_bytes, &sig) {
                            errs.push(bad_sig(r));
                        }
                        if sig_file.as_deref().is_some_and(|f| f != sig.as_slice()) {
                            errs.push(bad_sig(format!(
                                "{sig_p} differs from the logged signature"
                            )));
                        }
                    }
                    Err(_) => errs.push(bad_sig("logged signature is not base64url".into())),
                }
                let pem_key =
                    pub_file.map(|b| ParticipantKey::from_pem(&String::from_utf8_lossy(&b)));
                if matches!(pem_key, Some(Ok(k)) if k != key) || matches!(pem_key, Some(Err(_))) {
                    errs.push(bad_sig(format!(
                        "{pub_p} is not the key bound to {participant}"
                    )));
                }
                match parse_statement(&stmt_bytes) {
                    Err(e) => errs.push(VerifyError::AttestationMalformed {
                        path: json_p.clone(),
                        reason: e.to_string(),
                    }),
                    Ok(st) => {
                        if st.kind != *kind
                            || st.participant != *participant
                            || st.hearing != man.hearing
                        {
                            errs.push(VerifyError::AttestationMalformed {
                                path: json_p.clone(),
                                reason: "kind, participant or hearing differ from the log entry"
                                    .into(),
                            });
                        }
                        let signed = cps.get(&st.checkpoint_size).map(|c| c.root);
                        if signed != Some(st.checkpoint_root) || st.checkpoint_size > seq {
                            errs.push(VerifyError::AttestationCheckpointUnknown {
                                path: json_p.clone(),
                            });
                        }
                        if let Some(m) = st.minutes_sha256.filter(|_| kind == "minutes") {
                            minutes = Some((key, m));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for p in ctx.paths.iter().filter(|p| p.starts_with("attestations/")) {
        if !expected_files.contains(p) {
            errs.push(VerifyError::ExtraFile { path: p.clone() });
        }
    }
    ctx.record(
        "attestations",
        errs,
        format!("{ordinal} attestations signed by keys bound in the log"),
    );
    check_minutes(ctx, minutes);
}

fn check_minutes(ctx: &mut Ctx<'_>, minutes: Option<(ParticipantKey, String)>) {
    let html_p = "minutes/minutes.html";
    let sig_p = "minutes/minutes.sig";
    let present = ctx.paths.contains(html_p) || ctx.paths.contains(sig_p);
    let Some((key, sha)) = minutes else {
        if present {
            ctx.record(
                "minutes",
                vec![VerifyError::MinutesBadSignature {
                    reason: "minutes present but no minutes attestation in the log".into(),
                }],
                String::new(),
            );
        } else {
            ctx.skip("minutes", "no minutes in this bundle".into());
        }
        return;
    };
    let mut errs = Vec::new();
    let html = ctx.read(html_p, &mut errs);
    let sig = ctx.read(sig_p, &mut errs);
    if let (Some(html), Some(sig)) = (html, sig) {
        if sha256_hex(&html) != sha {
            errs.push(VerifyError::MinutesHashMismatch);
        }
        if let Err(reason) = key.verify(&html, &sig) {
            errs.push(VerifyError::MinutesBadSignature { reason });
        }
    }
    ctx.record(
        "minutes",
        errs,
        "minutes signed by the key that made the minutes attestation".into(),
    );
}
