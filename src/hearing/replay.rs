//! What a court console needs to show the hearing's attestations when it (re)connects,
//! derived from the evidence log: every signed statement, the number of co-signatures,
//! and each official's identity attestation with the judge's confirmation of it (read
//! from the judge's stored statement, whose `confirms` names the attestation).
//!
//! Pure: it reads the entries' bytes and the stored statements it is handed. It must
//! never write to the log, and never become a second copy of the state kept between
//! connections: the log is the truth, this is recomputed from it each time.

use super::actor_record::CONFIRMED;
use super::protocol::{Confirmation, IdentitySeen, ServerMsg, StatementSeen};
use crate::verify::entry::{Entry, EntryBody};
use sha2::{Digest, Sha256};

/// The attestation state of a hearing as its log records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AttestationState {
    pub statements: Vec<StatementSeen>,
    pub cosigns: u64,
    pub identities: Vec<IdentitySeen>,
}

impl From<AttestationState> for ServerMsg {
    fn from(s: AttestationState) -> ServerMsg {
        ServerMsg::Attestations {
            statements: s.statements,
            cosigns: s.cosigns,
            identities: s.identities,
        }
    }
}

/// Only these entries matter; any other line is skipped unparsed, so a long log of
/// media chunks costs little. Entries are canonical JSON (keys sorted, no spaces): in
/// these two types no key sorts after `type` but `v`, so each line ends like this (the
/// tests build their entries with the log's own encoder and would catch a change).
const ENDINGS: [&[u8]; 2] = [
    b"\"type\":\"attestation\",\"v\":1}",
    b"\"type\":\"identity_attested\",\"v\":1}",
];

/// The last `attestation` entry seen: a confirmation's statement is the one just before
/// its `identity_attested` entry.
struct LastStatement {
    seq: u64,
    /// 1-based position among the log's attestations (names its stored file).
    ordinal: u64,
    kind: String,
    participant: String,
    sha256: String,
}

/// Derives the state from `entries` (the log's `entries.jsonl`). `statement(ordinal,
/// kind)` returns the stored bytes of the `ordinal`-th attestation (1-based), if any.
/// A confirmation whose stored statement is missing, does not hash to its entry's
/// `statement_sha256`, or names no earlier attestation of that witness confirms nothing.
pub(crate) fn attestation_state(
    entries: &[u8],
    statement: impl Fn(u64, &str) -> Option<Vec<u8>>,
) -> AttestationState {
    let mut state = AttestationState::default();
    let mut ordinal = 0u64;
    let mut last: Option<LastStatement> = None;
    for line in entries.split(|b| *b == b'\n') {
        if !ENDINGS.iter().any(|e| line.ends_with(e)) {
            continue;
        }
        let Ok(entry) = serde_json::from_slice::<Entry>(line) else {
            continue;
        };
        match entry.body {
            EntryBody::Attestation {
                kind,
                participant,
                statement_sha256,
                ..
            } => {
                ordinal += 1;
                if kind == "cosign" {
                    state.cosigns += 1;
                } else {
                    state.statements.push(StatementSeen {
                        kind: kind.clone(),
                        participant: participant.clone(),
                        seq: entry.seq,
                        time: entry.time,
                    });
                }
                last = Some(LastStatement {
                    seq: entry.seq,
                    ordinal,
                    kind,
                    participant,
                    sha256: statement_sha256,
                });
            }
            EntryBody::IdentityAttested {
                participant,
                by,
                method,
            } if method == CONFIRMED => {
                let confirms = last
                    .as_ref()
                    .filter(|l| {
                        l.seq.checked_add(1) == Some(entry.seq)
                            && l.kind == "identity"
                            && l.participant == by
                    })
                    .and_then(|l| confirmed_seq(l, &participant, &statement));
                let target = state.identities.iter_mut().find(|i| {
                    Some(i.seq) == confirms
                        && i.subject == participant
                        && i.participant != by
                        && i.confirmed.is_none()
                });
                if let Some(item) = target {
                    item.confirmed = Some(Confirmation { by, seq: entry.seq });
                }
            }
            EntryBody::IdentityAttested {
                participant,
                by,
                method,
            } => state.identities.push(IdentitySeen {
                participant: by,
                subject: participant,
                method,
                seq: entry.seq,
                confirmed: None,
            }),
            _ => {}
        }
    }
    state
}

/// The `confirms` of the judge's stored statement, if it is the one its entry signed
/// and it is about `subject`.
fn confirmed_seq(
    last: &LastStatement,
    subject: &str,
    statement: &impl Fn(u64, &str) -> Option<Vec<u8>>,
) -> Option<u64> {
    let bytes = statement(last.ordinal, &last.kind)?;
    if hex::encode(Sha256::digest(&bytes)) != last.sha256 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    (v["subject"].as_str() == Some(subject))
        .then(|| v["confirms"].as_u64())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::entry::{ENTRY_VERSION, encode};
    use std::collections::HashMap;

    /// A log under construction: entries plus the statements stored beside them.
    #[derive(Default)]
    struct Log {
        entries: Vec<u8>,
        seq: u64,
        statements: HashMap<u64, Vec<u8>>,
    }

    impl Log {
        fn push(&mut self, body: EntryBody) -> u64 {
            let seq = self.seq;
            let e = Entry {
                v: ENTRY_VERSION,
                hearing: "h1".into(),
                seq,
                time: format!("2026-11-29T17:30:{:02}.000Z", seq % 60),
                body,
            };
            self.entries.extend(encode(&e).unwrap());
            self.entries.push(b'\n');
            self.seq += 1;
            seq
        }

        /// A statement by `who`, stored and logged; returns the attestation's seq.
        fn sign(&mut self, kind: &str, who: &str, statement: serde_json::Value) -> u64 {
            let bytes = serde_json::to_vec(&statement).unwrap();
            let sha256 = hex::encode(Sha256::digest(&bytes));
            self.statements
                .insert(self.statements.len() as u64 + 1, bytes);
            self.push(EntryBody::Attestation {
                kind: kind.into(),
                participant: who.into(),
                statement_sha256: sha256,
                signature: "c2ln".into(),
            })
        }

        fn attest(&mut self, official: &str, witness: &str, method: &str) -> u64 {
            self.sign(
                "identity",
                official,
                serde_json::json!({"subject": witness}),
            );
            self.push(EntryBody::IdentityAttested {
                participant: witness.into(),
                by: official.into(),
                method: method.into(),
            })
        }

        fn confirm(&mut self, judge: &str, witness: &str, confirms: u64) -> u64 {
            self.sign(
                "identity",
                judge,
                serde_json::json!({"subject": witness, "confirms": confirms}),
            );
            self.push(EntryBody::IdentityAttested {
                participant: witness.into(),
                by: judge.into(),
                method: CONFIRMED.into(),
            })
        }

        fn state(&self) -> AttestationState {
            attestation_state(&self.entries, |n, _| self.statements.get(&n).cloned())
        }
    }

    fn opened() -> Log {
        let mut log = Log::default();
        log.push(EntryBody::Marker {
            label: "a label ending \"type\":\"attestation\",\"v\":1}".into(),
            by: None,
        });
        log.push(EntryBody::KeyBound {
            participant: "j".into(),
            public_key: "k".into(),
            alg: None,
        });
        log
    }

    #[test]
    fn an_attestation_is_open_until_the_judge_confirms_it() {
        let mut log = opened();
        let seq = log.attest("o", "w", "passport");
        let s = log.state();
        assert_eq!(s.identities.len(), 1);
        let i = &s.identities[0];
        assert_eq!((i.participant.as_str(), i.subject.as_str()), ("o", "w"));
        assert_eq!(
            (i.method.as_str(), i.seq, &i.confirmed),
            ("passport", seq, &None)
        );

        let c = log.confirm("j", "w", seq);
        let s = log.state();
        assert_eq!(
            s.identities.len(),
            1,
            "a confirmation is not an attestation"
        );
        assert_eq!(
            s.identities[0].confirmed,
            Some(Confirmation {
                by: "j".into(),
                seq: c
            })
        );
        let kinds: Vec<(&str, &str)> = s
            .statements
            .iter()
            .map(|s| (s.kind.as_str(), s.participant.as_str()))
            .collect();
        assert_eq!(kinds, [("identity", "o"), ("identity", "j")]);
    }

    #[test]
    fn the_confirmation_names_which_attestation() {
        let mut log = opened();
        let first = log.attest("o1", "w", "passport");
        let second = log.attest("o2", "w", "id_card");
        log.confirm("j", "w", second);
        let s = log.state();
        let confirmed: Vec<(u64, bool)> = s
            .identities
            .iter()
            .map(|i| (i.seq, i.confirmed.is_some()))
            .collect();
        assert_eq!(confirmed, [(first, false), (second, true)]);
    }

    #[test]
    fn a_statement_that_does_not_match_its_entry_confirms_nothing() {
        let mut log = opened();
        let seq = log.attest("o", "w", "passport");
        log.confirm("j", "w", seq);
        let n = log.statements.len() as u64;
        // The stored statement changed after it was logged.
        log.statements.insert(
            n,
            serde_json::to_vec(&serde_json::json!({"subject": "w", "confirms": seq, "x": 1}))
                .unwrap(),
        );
        assert_eq!(log.state().identities[0].confirmed, None);
        // Missing altogether.
        log.statements.remove(&n);
        assert_eq!(log.state().identities[0].confirmed, None);
    }

    #[test]
    fn a_confirmation_of_another_witness_or_entry_confirms_nothing() {
        let mut log = opened();
        let seq = log.attest("o", "w", "passport");
        log.confirm("j", "other", seq);
        log.confirm("j", "w", seq + 100);
        assert_eq!(log.state().identities[0].confirmed, None);
    }

    #[test]
    fn cosignatures_are_counted_other_statements_listed() {
        let mut log = opened();
        for _ in 0..3 {
            log.sign("cosign", "w", serde_json::json!({}));
        }
        let oath = log.sign("oath", "w", serde_json::json!({"form": "oath"}));
        log.push(EntryBody::OathTaken {
            participant: "w".into(),
            form: "oath".into(),
            language: None,
        });
        let s = log.state();
        assert_eq!(s.cosigns, 3);
        assert_eq!(s.statements.len(), 1);
        assert_eq!(
            (
                s.statements[0].kind.as_str(),
                s.statements[0].participant.as_str(),
                s.statements[0].seq
            ),
            ("oath", "w", oath)
        );
        assert!(s.statements[0].time.starts_with("2026-11-29T"));
    }

    #[test]
    fn garbage_and_torn_lines_are_skipped() {
        let mut log = opened();
        let seq = log.attest("o", "w", "passport");
        // Lines that end like the entries read, but are not entries; a torn last line.
        log.entries
            .extend_from_slice(b"not json \"type\":\"attestation\",\"v\":1}\n");
        log.entries
            .extend_from_slice(b"{\"type\":\"identity_attested\",\"v\":1}\n");
        log.entries.extend_from_slice(b"{\"type\":\"attestation\",");
        let s = log.state();
        assert_eq!(s.identities.len(), 1);
        assert_eq!(s.identities[0].seq, seq);
        assert_eq!(
            attestation_state(b"", |_, _| None),
            AttestationState::default()
        );
    }
}
