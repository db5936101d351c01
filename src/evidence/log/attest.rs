//! Recording a participant's signed statement into the log.
//!
//! It must never store or log a statement whose signature does not verify under the
//! key bound to its signer, or that names a checkpoint this log did not sign.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{HearingLog, LogError};
use crate::evidence::fsutil::write_durable;
use crate::verify::attestation::{attestation_paths, parse_statement};
use crate::verify::entry::EntryBody;

impl HearingLog {
    /// Records a participant's signed statement: checks it (canonical, this hearing, a
    /// key bound to the signer, a checkpoint of this log, `verify_strict`), stores
    /// `attestations/NNNN-<kind>.{json,sig,pub.pem}` and appends the `attestation` entry.
    pub fn record_attestation(
        &mut self,
        statement: &[u8],
        signature: &[u8],
        time: OffsetDateTime,
    ) -> Result<u64, LogError> {
        let refuse = |m: &str| LogError::Attestation(m.to_string());
        if self.closed {
            return Err(LogError::Closed);
        }
        let st = parse_statement(statement).map_err(|e| LogError::Attestation(e.to_string()))?;
        if st.hearing != self.log_id {
            return Err(refuse("statement is for another hearing"));
        }
        let key = *self
            .keys
            .get(&st.participant)
            .ok_or_else(|| refuse("no key bound to the participant"))?;
        if self.checkpoints.get(&st.checkpoint_size) != Some(&st.checkpoint_root) {
            return Err(refuse("statement names a checkpoint this log did not sign"));
        }
        let sig: [u8; 64] = signature
            .try_into()
            .map_err(|_| refuse("signature is not 64 bytes"))?;
        key.verify(statement, &sig)
            .map_err(|_| refuse("signature does not verify"))?;
        let [json_p, sig_p, pub_p] = attestation_paths(self.attestations + 1, &st.kind);
        for (p, b) in [
            (json_p, statement.to_vec()),
            (sig_p, sig.to_vec()),
            (pub_p, key.to_pem().into_bytes()),
        ] {
            write_durable(&self.dir.join(p), &b)?;
        }
        self.append_inner(
            EntryBody::Attestation {
                kind: st.kind,
                participant: st.participant,
                statement_sha256: hex::encode(Sha256::digest(statement)),
                signature: URL_SAFE_NO_PAD.encode(sig),
            },
            time,
        )
    }
}
