//! The hearing task's attestation duties: statements signed in participants' browsers
//! (oath or affirmation, identity and the judge's confirmation, co-signed checkpoints,
//! closing, minutes), checked against the policy and the bound keys before they reach
//! the log; administering the oath; drafting and signing the minutes; replaying the
//! attestation state, read back from the log, to a court console that (re)connects.

use super::actor::Actor;
use super::actor_record::CONFIRMED;
use super::oath;
use super::protocol::{OathForm, ServerMsg};
use crate::domain::{Action, ParticipantId, ParticipantRole, Presence, Subject, allows};
use crate::verify::attestation::attestation_paths;
use crate::verify::entry::EntryBody;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tracing::info;

impl Actor {
    /// A statement signed in a participant's browser.
    pub(super) fn attest(&mut self, pid: &ParticipantId, statement: String, signature: &str) {
        let Some((role, presence)) = self.people.get(pid).map(|p| (p.row.role, p.presence)) else {
            return;
        };
        if presence != Presence::Admitted {
            return self.error(
                pid,
                "not_admitted",
                "statements are taken once the court admits you",
            );
        }
        let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
            return self.error(pid, "bad_attestation", "the signature is not base64url");
        };
        let parsed: serde_json::Value = serde_json::from_str(&statement).unwrap_or_default();
        let kind = parsed["kind"].as_str().unwrap_or("").to_owned();
        let allowed = match kind.as_str() {
            "oath" => allows(Subject::Participant(role), Action::TakeOath),
            "identity" => {
                allows(Subject::Participant(role), Action::AttestIdentity)
                    || allows(Subject::Participant(role), Action::ConfirmIdentity)
            }
            "minutes" => allows(Subject::Participant(role), Action::SignMinutes),
            "cosign" | "closing" => true,
            _ => false,
        };
        if !allowed {
            return self.error(pid, "forbidden", "this statement is not yours to make");
        }
        if parsed["participant"].as_str() != Some(pid.as_str()) {
            return self.error(
                pid,
                "bad_attestation",
                "the statement names another participant",
            );
        }
        let confirming =
            kind == "identity" && !allows(Subject::Participant(role), Action::AttestIdentity);
        if confirming {
            if let Err(why) = self.check_confirmation(pid, &parsed) {
                return self.error(pid, "bad_attestation", why);
            }
        }
        let Some(rec) = self.record.as_mut() else {
            return self.error(pid, "not_recording", "the hearing is not open");
        };
        match rec.log.record_attestation(
            statement.as_bytes(),
            &sig,
            time::OffsetDateTime::now_utc(),
        ) {
            Ok(_) => {
                let mut identity = None;
                match kind.as_str() {
                    "oath" => {
                        let form = parsed["form"].as_str().unwrap_or("oath").to_owned();
                        // The language of the signed text, as the statement says it.
                        let language = parsed["language"]
                            .as_str()
                            .filter(|l| super::rights_text::LANGUAGES.contains(l))
                            .map(str::to_owned);
                        self.log(EntryBody::OathTaken {
                            participant: pid.to_string(),
                            form,
                            language,
                        });
                    }
                    "identity" => {
                        if let Some(subject) = parsed["subject"].as_str() {
                            // The judge's confirmation is its own identity_attested
                            // entry, method "confirmed" (its statement names the
                            // official's entry in `confirms`).
                            let method = if confirming {
                                CONFIRMED.to_owned()
                            } else {
                                parsed["method"].as_str().unwrap_or("document").to_owned()
                            };
                            self.log(EntryBody::IdentityAttested {
                                participant: subject.to_owned(),
                                by: pid.to_string(),
                                method: method.clone(),
                            });
                            let seq = self.record.as_ref().map(|r| r.log.size().saturating_sub(1));
                            identity = Some((subject.to_owned(), method, seq));
                        }
                    }
                    "minutes" => {
                        self.minutes_signer = Some(pid.clone());
                    }
                    _ => {}
                }
                self.send(pid, ServerMsg::Attested { kind: kind.clone() });
                info!(participant = %pid, kind = %kind, "attestation recorded");
                // The court sees that it happened.
                let by = pid.to_string();
                for p in self
                    .people
                    .values()
                    .filter(|p| allows(Subject::Participant(p.row.role), Action::Admit))
                {
                    if p.row.id != *pid {
                        let (subject, method, seq) = match identity.clone() {
                            Some((s, m, q)) => (Some(s), Some(m), q),
                            None => (None, None, None),
                        };
                        p.send(ServerMsg::AttestedBy {
                            kind: kind.clone(),
                            participant: by.clone(),
                            subject,
                            method,
                            seq,
                        });
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                self.error(pid, "bad_attestation", &msg);
            }
        }
    }

    /// What a court console shows of the attestations, derived from the log as it is
    /// now (a console that reconnects gets it again, never a cached copy).
    pub(super) fn attestations_replay(&self) -> Option<ServerMsg> {
        let dir = self.record.as_ref()?.log.dir();
        let entries = std::fs::read(dir.join("entries.jsonl")).ok()?;
        let state = super::replay::attestation_state(&entries, |ordinal, kind| {
            let [json, ..] = attestation_paths(ordinal, kind);
            std::fs::read(dir.join(json)).ok()
        });
        Some(state.into())
    }

    /// A judge's `identity` statement confirms an attestation already in the log: its
    /// `confirms` is the seq of an official's `identity_attested` entry (not itself a
    /// confirmation, not by the judge) about the statement's `subject`.
    fn check_confirmation(
        &self,
        pid: &ParticipantId,
        statement: &serde_json::Value,
    ) -> Result<(), &'static str> {
        let subject = statement["subject"]
            .as_str()
            .ok_or("a confirmation names the witness in \"subject\"")?;
        let seq = statement["confirms"]
            .as_u64()
            .ok_or("a confirmation names the attestation it confirms in \"confirms\"")?;
        let rec = self.record.as_ref().ok_or("the hearing is not open")?;
        if seq >= rec.log.size() {
            return Err("no such attestation to confirm");
        }
        let entries = std::fs::read(rec.dir.join("log").join("entries.jsonl"))
            .map_err(|_| "the log cannot be read")?;
        let entry = entries
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .find(|e| e["seq"].as_u64() == Some(seq))
            .ok_or("no such attestation to confirm")?;
        let is_attestation = entry["type"] == "identity_attested"
            && entry["participant"].as_str() == Some(subject)
            && entry["by"].as_str() != Some(pid.as_str())
            && entry["method"].as_str() != Some(CONFIRMED);
        if is_attestation {
            Ok(())
        } else {
            Err("the confirmation does not name an identity attestation of this witness")
        }
    }

    /// The judge administers the oath to a witness or interpreter.
    pub(super) fn start_oath(&mut self, by: &ParticipantId, target: &str, form: OathForm) {
        let Some(role) = self.people.get(by).map(|p| p.row.role) else {
            return;
        };
        if !allows(Subject::Participant(role), Action::AdministerOath) {
            return self.error(
                by,
                "forbidden",
                "only the presiding judge administers the oath",
            );
        }
        let Some(target) = ParticipantId::parse(target) else {
            return self.error(by, "unknown_participant", "no such participant");
        };
        let Some(t) = self.people.get(&target) else {
            return self.error(by, "unknown_participant", "no such participant");
        };
        if !allows(Subject::Participant(t.row.role), Action::TakeOath)
            || t.presence != Presence::Admitted
        {
            return self.error(
                by,
                "not_applicable",
                "this participant does not take an oath now",
            );
        }
        let witness = t.row.role == ParticipantRole::Witness;
        // In the language the participant reads: their page's, else their invitation's,
        // else the hearing's (English when no text exists in it).
        let wanted = t
            .page_language
            .map(str::to_owned)
            .or_else(|| t.row.language.clone())
            .unwrap_or_else(|| self.summary.language.clone());
        let language = super::rights_text::language(&wanted);
        self.checkpoint_now();
        let Some(checkpoint) = self.checkpoint_ref() else {
            return self.error(by, "not_recording", "open the hearing first");
        };
        let text = oath::text(language, form, witness);
        self.send(
            &target,
            ServerMsg::OathRequest {
                form,
                text,
                language: language.to_owned(),
                checkpoint,
            },
        );
        self.log(EntryBody::Marker {
            label: format!("oath administered to {target} ({})", form.as_str()),
            by: None,
        });
    }

    /// Sends the judge the minutes drafted from the log so far.
    pub(super) fn request_minutes(&mut self, by: &ParticipantId) {
        let Some(role) = self.people.get(by).map(|p| p.row.role) else {
            return;
        };
        if !allows(Subject::Participant(role), Action::SignMinutes) {
            return self.error(
                by,
                "forbidden",
                "only the presiding judge signs the minutes",
            );
        }
        self.checkpoint_now();
        let (Some(rec), Some(checkpoint)) = (self.record.as_ref(), self.checkpoint_ref()) else {
            return self.error(by, "not_recording", "the hearing is not open");
        };
        let entries = std::fs::read(rec.dir.join("log").join("entries.jsonl")).unwrap_or_default();
        match crate::evidence::minutes::render_minutes(&entries) {
            Ok(html) => {
                let sha256 = hex::encode(Sha256::digest(html.as_bytes()));
                self.minutes_draft = Some(html.clone().into_bytes());
                self.send(
                    by,
                    ServerMsg::MinutesDraft {
                        html,
                        sha256,
                        checkpoint,
                    },
                );
            }
            Err(e) => self.error(by, "minutes_failed", &e.to_string()),
        }
    }

    pub(super) fn minutes_signature(&mut self, by: &ParticipantId, signature: &str) {
        let (Some(html), Some(signer)) =
            (self.minutes_draft.as_ref(), self.minutes_signer.as_ref())
        else {
            return self.error(by, "out_of_order", "sign the minutes statement first");
        };
        if signer != by {
            return self.error(
                by,
                "forbidden",
                "the minutes statement was signed by someone else",
            );
        }
        let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
            return self.error(by, "bad_attestation", "the signature is not base64url");
        };
        let key = self
            .record
            .as_ref()
            .and_then(|r| r.log.bound_key(by.as_str()));
        let ok = key.is_some_and(|k| k.verify(html, &sig).is_ok());
        if !ok {
            return self.error(
                by,
                "bad_attestation",
                "the minutes signature does not verify",
            );
        }
        self.minutes = Some((html.clone(), sig));
        self.send(
            by,
            ServerMsg::Attested {
                kind: "minutes_html".into(),
            },
        );
    }
}
