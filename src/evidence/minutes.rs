//! Minutes generated from the hearing log: case data, persons and their functions,
//! admissions and exclusions, identity checks, oaths, attestations, technical conditions
//! (device checks, gaps, degradation, interruptions, court mutes), markers and recorded
//! files. The judge signs the exact HTML (see docs/bundle-format.md §6).
//!
//! The minutes are written in the hearing's language (`hearing_opened.language`, one of
//! the six UN languages; English otherwise): the phrases and the rules for placing values
//! in them live in `minutes_text`.
//!
//! Renders only what the log says; it must never add facts the log does not hold, never
//! translate what people said, read or signed (quoted as logged, in its own language),
//! and must HTML-escape every value (names and labels come from people).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::minutes_text::{self as text, fill};
use crate::verify::entry::{self, Entry, EntryBody};

/// Why minutes could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MinutesError {
    /// A line of the log is not a valid entry.
    #[error("log line {line} is not a valid entry: {reason}")]
    BadEntry {
        /// Line number.
        line: u64,
        /// Why.
        reason: String,
    },
    /// The log has no hearing_opened entry first.
    #[error("log does not start with hearing_opened")]
    NotOpened,
}

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Person {
    role: String,
    name: String,
    events: Vec<String>,
}

/// Renders the minutes of the log whose `entries.jsonl` bytes are given, in the hearing's
/// language (`hearing_opened.language`: one of `ar en es fr ru zh`, otherwise English).
pub fn render_minutes(entries_jsonl: &[u8]) -> Result<String, MinutesError> {
    let body = entries_jsonl.strip_suffix(b"\n").unwrap_or(entries_jsonl);
    let mut entries: Vec<Entry> = Vec::new();
    if !body.is_empty() {
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let e = entry::decode(line).map_err(|e| MinutesError::BadEntry {
                line: i as u64,
                reason: e.to_string(),
            })?;
            entries.push(e);
        }
    }
    let Some(Entry {
        body:
            EntryBody::HearingOpened {
                case_ref,
                mla_ref,
                requesting_state,
                requested_state,
                language,
                time_stamping,
                requesting_authority,
                requesting_reference,
                requested_authority,
                requested_reference,
                request_date,
            },
        hearing,
        time: opened_at,
        ..
    }) = entries.first()
    else {
        return Err(MinutesError::NotOpened);
    };
    let x = text::for_language(language.as_deref());
    let v = |s: &str| x.value(s);
    let dash = |o: &Option<String>| o.as_deref().map(v).unwrap_or_else(|| "–".into());
    // A State is a code in new logs ("France (FR)"), free text in older ones (as is).
    let state = |o: &Option<String>| {
        o.as_deref()
            .map(|s| v(&crate::verify::countries::display(s)))
            .unwrap_or_else(|| "–".into())
    };
    let lang = match language.as_deref() {
        None => "–".into(),
        Some(code) => match x.language_name(code) {
            Some(name) => fill(x.language_value, &[&v(code), name]),
            None => v(code),
        },
    };
    let id = v(hearing);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"{html_lang}\"{dir}><head><meta charset=\"utf-8\">\
         <title>{title}</title></head><body>\n\
         <h1>{heading}</h1>\n<table>\n",
        html_lang = x.lang,
        dir = if x.rtl { " dir=\"rtl\"" } else { "" },
        title = fill(x.title, &[&esc(hearing)]),
        heading = x.heading,
    );
    for (label, value) in [
        (x.row_hearing, id.clone()),
        (x.row_case_ref, v(case_ref)),
        (x.row_mla_ref, dash(mla_ref)),
        (x.row_requesting_state, state(requesting_state)),
        (x.row_requested_state, state(requested_state)),
        (x.row_language, lang),
        (x.row_opened, v(opened_at)),
        (
            x.row_time_stamps,
            match time_stamping.as_deref() {
                Some("external") => x.stamps_external.into(),
                Some("builtin") => x.stamps_builtin.into(),
                _ => "–".into(),
            },
        ),
    ] {
        let _ = writeln!(h, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    for (label, value) in [
        (x.row_requesting_authority, requesting_authority),
        (x.row_its_reference, requesting_reference),
        (x.row_requested_authority, requested_authority),
        (x.row_its_reference, requested_reference),
        (x.row_request_date, request_date),
    ] {
        if let Some(value) = value {
            let _ = writeln!(h, "<tr><th>{label}</th><td>{}</td></tr>", v(value));
        }
    }
    let mut people: BTreeMap<String, Person> = BTreeMap::new();
    let mut identity = Vec::new();
    let mut oaths = Vec::new();
    let mut attest = Vec::new();
    let mut technical = Vec::new();
    let mut markers = Vec::new();
    let mut conduct: Vec<String> = Vec::new();
    let mut rights: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut closed = None;
    for e in &entries {
        let t = v(&e.time);
        // A dated line: the time, then the sentence.
        let at = |sentence: String| format!("{t}: {sentence}");
        let mut ev = |p: &str, what: String| {
            people
                .entry(p.to_string())
                .or_default()
                .events
                .push(format!("{t} {what}"));
        };
        match &e.body {
            EntryBody::ParticipantInvited {
                participant,
                role,
                display_name,
            } => {
                let p = people.entry(participant.clone()).or_default();
                p.role = role.clone();
                p.name = display_name.clone().unwrap_or_default();
            }
            EntryBody::ParticipantJoined { participant } => ev(participant, x.ev_joined.into()),
            EntryBody::ParticipantAdmitted { participant } => ev(participant, x.ev_admitted.into()),
            EntryBody::ParticipantDenied { participant } => ev(participant, x.ev_denied.into()),
            EntryBody::ParticipantRenamed {
                participant,
                display_name,
            } => ev(participant, fill(x.ev_renamed, &[&v(display_name)])),
            EntryBody::JoinRefused {
                participant,
                reason,
            } => ev(
                participant,
                fill(x.ev_join_refused, &[&x.term(reason, true)]),
            ),
            EntryBody::DeviceApproved { participant } => {
                ev(participant, x.ev_device_approved.into())
            }
            EntryBody::ParticipantRemoved { participant } => ev(participant, x.ev_removed.into()),
            EntryBody::ParticipantLeft {
                participant,
                reason,
            } => ev(participant, fill(x.ev_left, &[&x.term(reason, false)])),
            EntryBody::KeyBound { participant, .. } => ev(participant, x.ev_key_bound.into()),
            // The judge's confirmation of an official's attestation is an entry of its
            // own, method "confirmed", by the judge (whose invitation may predate the
            // log, so an unknown role is taken as the judge; no other role confirms).
            EntryBody::IdentityAttested {
                participant,
                by,
                method,
            } if method == "confirmed"
                && people
                    .get(by)
                    .is_none_or(|p| p.role.is_empty() || p.role == "judge") =>
            {
                identity.push(at(fill(x.identity_confirmed, &[&v(participant), &v(by)])))
            }
            EntryBody::IdentityAttested {
                participant,
                by,
                method,
            } => identity.push(at(fill(
                x.identity_attested,
                &[&v(participant), &v(by), &x.term(method, false)],
            ))),
            EntryBody::OathTaken {
                participant,
                form,
                language,
            } => {
                // The named forms' templates take the person and the language; any other
                // form is quoted as logged between them.
                let (plain, signed, named) = match form.as_str() {
                    "oath" => (x.oath, x.oath_in, true),
                    "affirmation" => (x.affirmation, x.affirmation_in, true),
                    _ => (x.oath_other, x.oath_other_in, false),
                };
                let (who, form) = (v(participant), v(form));
                let mut args = vec![who.as_str()];
                if !named {
                    args.push(&form);
                }
                let in_lang = language
                    .as_deref()
                    .map(|l| x.language_name(l).map_or_else(|| v(l), str::to_owned));
                oaths.push(at(match &in_lang {
                    Some(name) => {
                        args.push(name);
                        fill(signed, &args)
                    }
                    None => fill(plain, &args),
                }))
            }
            EntryBody::Attestation {
                kind, participant, ..
            } => attest.push(at(fill(
                x.attestation,
                &[&v(participant), &x.term(kind, false)],
            ))),
            EntryBody::Gap {
                participant,
                wall_start,
                wall_end,
                reason,
                ..
            } => technical.push(fill(
                x.gap,
                &[
                    &participant.as_deref().map_or("–".into(), v),
                    &v(wall_start),
                    &v(wall_end),
                    &v(reason),
                ],
            )),
            EntryBody::AudioOnlyFallback {
                participant,
                active,
            } => technical.push(at(fill(
                if *active {
                    x.audio_only_on
                } else {
                    x.audio_only_off
                },
                &[&v(participant)],
            ))),
            EntryBody::RecordingDegraded {
                participant,
                detail,
            } => technical.push(at(fill(
                x.degraded,
                &[&participant.as_deref().map_or("–".into(), v), &v(detail)],
            ))),
            EntryBody::DeviceCheck {
                participant,
                camera,
                microphone,
                speaker,
                rtt_ms,
                bitrate_kbps,
            } => technical.push(at(fill(
                x.device_check,
                &[
                    &v(participant),
                    &x.term(camera, true),
                    &x.term(microphone, true),
                    &x.term(speaker, true),
                    &rtt_ms.map_or(x.not_measured.into(), |n| {
                        fill(x.milliseconds, &[&n.to_string()])
                    }),
                    &bitrate_kbps.map_or(x.not_measured.into(), |n| {
                        fill(x.kbit_per_s, &[&n.to_string()])
                    }),
                ],
            ))),
            EntryBody::ServerStopped { reason, unsealed } => technical.push(at(if *unsealed > 0 {
                fill(
                    x.server_stopped_unsealed,
                    &[&x.term(reason, false), &unsealed.to_string()],
                )
            } else {
                fill(x.server_stopped, &[&x.term(reason, false)])
            })),
            EntryBody::NodeLost {
                node,
                resumed_on,
                restored_size,
            } => technical.push(at(fill(
                x.node_lost,
                &[
                    node.as_str(),
                    resumed_on.as_str(),
                    &restored_size.to_string(),
                ],
            ))),
            EntryBody::RecoveredAfterInterruption {
                from_seq, to_seq, ..
            } => technical.push(at(fill(
                x.recovered,
                &[&from_seq.to_string(), &to_seq.to_string()],
            ))),
            EntryBody::Mute {
                participant,
                muted,
                by_court: true,
            } => technical.push(at(fill(
                if *muted { x.muted } else { x.unmuted },
                &[&v(participant)],
            ))),
            EntryBody::HearingLocked { locked, by } => conduct.push(at(fill(
                if *locked { x.locked } else { x.unlocked },
                &[&v(by)],
            ))),
            EntryBody::Recess {
                started,
                reason,
                by,
            } => conduct.push(at(fill(
                if *started {
                    x.recess_started
                } else {
                    x.recess_ended
                },
                &[&v(by), &v(reason)],
            ))),
            EntryBody::Delegation {
                participant,
                active,
                by,
            } => conduct.push(at(fill(
                if *active {
                    x.delegated
                } else {
                    x.delegation_ended
                },
                &[&v(by), &v(participant)],
            ))),
            EntryBody::Exhibit {
                number,
                participant,
                stream,
                started,
            } => conduct.push(at(fill(
                if *started {
                    x.exhibit_shown
                } else {
                    x.exhibit_hidden
                },
                &[&number.to_string(), &v(participant), &v(stream)],
            ))),
            EntryBody::Interpretation {
                number,
                participant,
                stream,
                language,
                started,
            } => conduct.push(at(fill(
                if *started {
                    x.interp_started
                } else {
                    x.interp_stopped
                },
                &[
                    &number.to_string(),
                    &v(participant),
                    &x.language_name(language)
                        .map_or_else(|| v(language), str::to_owned),
                    &v(stream),
                ],
            ))),
            EntryBody::InterpretationOnAir { language, stream } => {
                let name = x
                    .language_name(language)
                    .map_or_else(|| v(language), str::to_owned);
                conduct.push(at(match stream {
                    Some(s) => fill(x.interp_on_air, &[&name, &v(s)]),
                    None => fill(x.interp_off_air, &[&name]),
                }))
            }
            EntryBody::Consultation {
                participants,
                started,
                asked_by,
                by,
            } => conduct.push(at(fill(
                if *started {
                    x.consultation_opened
                } else {
                    x.consultation_ended
                },
                &[&v(by), &v(asked_by), &v(&participants.join(", "))],
            ))),
            EntryBody::VideoStopped {
                participant,
                stopped,
                by,
            } => conduct.push(at(fill(
                if *stopped {
                    x.video_stopped
                } else {
                    x.video_allowed
                },
                &[&v(by), &v(participant)],
            ))),
            EntryBody::RightsExplained { .. }
            | EntryBody::PrivilegeClaimed { .. }
            | EntryBody::ObjectionRaised { .. }
            | EntryBody::Ruling { .. } => {
                rights.extend(super::minutes_rights::line(x, &t, &e.body))
            }
            EntryBody::Marker { label, by } => markers.push(at(match by {
                Some(by) => fill(x.marker_by, &[&v(label), &v(by)]),
                None => v(label),
            })),
            EntryBody::FileSealed {
                file,
                length,
                sha256,
            } => files.push(fill(x.file, &[&v(file), &length.to_string(), &v(sha256)])),
            EntryBody::HearingClosed { reason } => closed = Some((t, x.term(reason, false))),
            _ => {}
        }
    }
    if let Some((t, reason)) = &closed {
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td>{t} ({reason})</td></tr>",
            x.row_closed
        );
    }
    let _ = write!(
        h,
        "</table>\n<h2>{}</h2>\n<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
        x.persons, x.col_id, x.col_function, x.col_name, x.col_events
    );
    for (id, p) in &people {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            v(id),
            if p.role.is_empty() {
                String::new()
            } else {
                x.term(&p.role, false)
            },
            if p.name.is_empty() {
                String::new()
            } else {
                v(&p.name)
            },
            p.events.join("<br>")
        );
    }
    h.push_str("</table>\n");
    for (title, items) in [
        (x.s_identity, &identity),
        (x.s_oaths, &oaths),
        (x.s_statements, &attest),
        (x.s_conduct, &conduct),
        (x.s_rights, &rights),
        (x.s_technical, &technical),
        (x.s_markers, &markers),
        (x.s_files, &files),
    ] {
        let _ = writeln!(h, "<h2>{title}</h2>");
        if items.is_empty() {
            let _ = writeln!(h, "<p>{}</p>", x.none_recorded);
        } else {
            h.push_str("<ul>\n");
            for i in items.iter() {
                let _ = writeln!(h, "<li>{i}</li>");
            }
            h.push_str("</ul>\n");
        }
    }
    if let Some(svg) = super::quality_svg::timeline(&entries, &x.quality_words()) {
        let _ = writeln!(
            h,
            "<h2>{}</h2>\n<p>{}</p>\n<figure dir=\"ltr\">{svg}</figure>",
            x.s_quality, x.quality_note
        );
    }
    let _ = writeln!(
        h,
        "<p>{}</p>\n</body></html>",
        fill(x.footer, &[&entries.len().to_string(), &id])
    );
    Ok(h)
}
