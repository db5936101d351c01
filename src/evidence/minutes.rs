//! Minutes generated from the hearing log: case data, persons and their functions,
//! admissions and exclusions, identity checks, oaths, attestations, technical conditions
//! (device checks, gaps, degradation, interruptions, court mutes), markers and recorded
//! files. The
//! judge signs the exact HTML (see docs/bundle-format.md §6).
//!
//! Renders only what the log says; it must never add facts the log does not hold, and
//! must HTML-escape every value (names and labels come from people).

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// Renders the minutes of the log whose `entries.jsonl` bytes are given.
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
    let dash = |o: &Option<String>| o.as_deref().map(esc).unwrap_or_else(|| "–".into());
    // A State is a code in new logs ("France (FR)"), free text in older ones (as is).
    let state = |o: &Option<String>| {
        o.as_deref()
            .map(|s| esc(&crate::verify::countries::display(s)))
            .unwrap_or_else(|| "–".into())
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Minutes of hearing {id}</title></head><body>\n\
         <h1>Minutes of a hearing by video link</h1>\n<table>\n\
         <tr><th>Hearing</th><td>{id}</td></tr>\n\
         <tr><th>Case reference</th><td>{case}</td></tr>\n\
         <tr><th>MLA request</th><td>{mla}</td></tr>\n\
         <tr><th>Requesting State</th><td>{rq}</td></tr>\n\
         <tr><th>Requested State</th><td>{rd}</td></tr>\n\
         <tr><th>Language</th><td>{lang}</td></tr>\n\
         <tr><th>Opened</th><td>{opened}</td></tr>\n\
         <tr><th>Time-stamps</th><td>{stamps}</td></tr>\n",
        id = esc(hearing),
        case = esc(case_ref),
        mla = dash(mla_ref),
        rq = state(requesting_state),
        rd = state(requested_state),
        lang = dash(language),
        opened = esc(opened_at),
        stamps = match time_stamping.as_deref() {
            Some("external") => "an external time-stamping authority (RFC 3161)",
            Some("builtin") =>
                "the server's built-in time-stamping authority, kept by the same operator as this record: it orders the record but does not prove its time against the operator (production hearings use an external authority)",
            _ => "–",
        },
    );
    for (label, value) in [
        (
            "Central authority of the requesting State",
            requesting_authority,
        ),
        ("Its reference", requesting_reference),
        (
            "Central authority of the requested State",
            requested_authority,
        ),
        ("Its reference", requested_reference),
        ("Date of the request", request_date),
    ] {
        if let Some(v) = value {
            let _ = writeln!(h, "<tr><th>{label}</th><td>{}</td></tr>", esc(v));
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
        let t = esc(&e.time);
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
            EntryBody::ParticipantJoined { participant } => ev(participant, "connected".into()),
            EntryBody::ParticipantAdmitted { participant } => ev(participant, "admitted".into()),
            EntryBody::ParticipantDenied { participant } => ev(participant, "refused admission".into()),
            EntryBody::ParticipantRenamed { participant, display_name } => ev(participant, format!("now named {display_name}")),
            EntryBody::JoinRefused { participant, reason } => ev(participant, format!("a connection was turned away ({})", reason.replace('_', " "))),
            EntryBody::DeviceApproved { participant } => ev(participant, "the court accepted another device".into()),
            EntryBody::ParticipantRemoved { participant } => ev(participant, "removed by the court".into()),
            EntryBody::ParticipantLeft { participant, reason } => {
                ev(participant, format!("left ({})", esc(reason)))
            }
            EntryBody::KeyBound { participant, .. } => ev(participant, "signing key bound".into()),
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
                identity.push(format!(
                    "{t}: identity of {} confirmed by the judge ({})",
                    esc(participant),
                    esc(by)
                ))
            }
            EntryBody::IdentityAttested {
                participant,
                by,
                method,
            } => identity.push(format!(
                "{t}: identity of {} attested by {} ({})",
                esc(participant),
                esc(by),
                esc(method)
            )),
            EntryBody::OathTaken {
                participant,
                form,
                language,
            } => oaths.push(format!(
                "{t}: {} took the {}{}",
                esc(participant),
                esc(form),
                language
                    .as_deref()
                    .map(|l| format!(", signing its text in {}", language_name(l)))
                    .unwrap_or_default()
            )),
            EntryBody::Attestation {
                kind, participant, ..
            } => attest.push(format!("{t}: {} signed a {} statement", esc(participant), esc(kind))),
            EntryBody::Gap {
                participant,
                wall_start,
                wall_end,
                reason,
                ..
            } => technical.push(format!(
                "gap in the media of {} from {} to {} ({})",
                esc(participant.as_deref().unwrap_or("–")),
                esc(wall_start),
                esc(wall_end),
                esc(reason)
            )),
            EntryBody::RecordingDegraded {
                participant,
                detail,
            } => technical.push(format!(
                "{t}: recording degraded for {}: {}",
                esc(participant.as_deref().unwrap_or("–")),
                esc(detail)
            )),
            EntryBody::DeviceCheck {
                participant,
                camera,
                microphone,
                speaker,
                rtt_ms,
                bitrate_kbps,
            } => technical.push(format!(
                "{t}: device check of {}: camera {}, microphone {}, speaker {}, round trip {}, bitrate {}",
                esc(participant),
                esc(&camera.replace('_', " ")),
                esc(&microphone.replace('_', " ")),
                esc(&speaker.replace('_', " ")),
                rtt_ms.map_or("not measured".into(), |v| format!("{v} ms")),
                bitrate_kbps.map_or("not measured".into(), |v| format!("{v} kbit/s")),
            )),
            EntryBody::ServerStopped { reason, unsealed } => technical.push(format!(
                "{t}: the server was stopped ({}): connections closed, recordings sealed{}; the hearing resumed when it was back",
                esc(reason),
                if *unsealed > 0 {
                    format!(" except {unsealed}, sealed at their last committed byte on restart")
                } else {
                    String::new()
                }
            )),
            EntryBody::RecoveredAfterInterruption {
                from_seq, to_seq, ..
            } => technical.push(format!(
                "{t}: the server was interrupted; log entries {from_seq}..{to_seq} were committed after restart"
            )),
            EntryBody::Mute {
                participant,
                muted,
                by_court: true,
            } => technical.push(format!(
                "{t}: {} {} by the court",
                esc(participant),
                if *muted { "muted" } else { "unmuted" }
            )),
            EntryBody::HearingLocked { locked, by } => conduct.push(format!(
                "{t}: the waiting room {} by {}",
                if *locked { "was locked (newcomers turned away)" } else { "was unlocked" },
                esc(by)
            )),
            EntryBody::Recess {
                started,
                reason,
                by,
            } => conduct.push(format!(
                "{t}: {} by {}: {} (recording continued)",
                if *started { "recess declared" } else { "hearing resumed" },
                esc(by),
                esc(reason)
            )),
            EntryBody::Delegation {
                participant,
                active,
                by,
            } => conduct.push(format!(
                "{t}: {} {} {}",
                esc(by),
                if *active { "delegated the conduct of the hearing to" } else { "ended the delegation of the conduct to" },
                esc(participant)
            )),
            EntryBody::Exhibit {
                number,
                participant,
                stream,
                started,
            } => conduct.push(format!(
                "{t}: exhibit {number} {} by {} (recorded as stream {})",
                if *started { "shown" } else { "no longer shown" },
                esc(participant),
                esc(stream)
            )),
            EntryBody::Consultation {
                participants,
                started,
                asked_by,
                by,
            } => conduct.push(format!(
                "{t}: {} {} (asked by {}): {}",
                esc(by),
                if *started {
                    "opened a private consultation, neither forwarded to the others nor recorded"
                } else {
                    "ended the private consultation; recording resumed"
                },
                esc(asked_by),
                esc(&participants.join(", "))
            )),
            EntryBody::VideoStopped {
                participant,
                stopped,
                by,
            } => conduct.push(format!(
                "{t}: {} {} the video of {}",
                esc(by),
                if *stopped { "stopped" } else { "allowed again" },
                esc(participant)
            )),
            EntryBody::RightsExplained { .. }
            | EntryBody::PrivilegeClaimed { .. }
            | EntryBody::ObjectionRaised { .. }
            | EntryBody::Ruling { .. } => rights.extend(super::minutes_rights::line(&t, &e.body)),
            EntryBody::Marker { label, by } => markers.push(match by {
                Some(by) => format!("{t}: {} (marked by {})", esc(label), esc(by)),
                None => format!("{t}: {}", esc(label)),
            }),
            EntryBody::FileSealed {
                file,
                length,
                sha256,
            } => files.push(format!("{} — {length} bytes — SHA-256 {}", esc(file), esc(sha256))),
            EntryBody::HearingClosed { reason } => closed = Some((t, esc(reason))),
            _ => {}
        }
    }
    if let Some((t, reason)) = &closed {
        let _ = writeln!(h, "<tr><th>Closed</th><td>{t} ({reason})</td></tr>");
    }
    h.push_str("</table>\n<h2>Persons present and their functions</h2>\n<table>\n<tr><th>id</th><th>function</th><th>name</th><th>events</th></tr>\n");
    for (id, p) in &people {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(id),
            esc(&p.role),
            esc(&p.name),
            p.events.join("<br>")
        );
    }
    h.push_str("</table>\n");
    for (title, items) in [
        ("Identity checks", &identity),
        ("Oaths and affirmations", &oaths),
        ("Signed statements", &attest),
        ("Conduct of the hearing", &conduct),
        ("Rights of the witness, privileges and objections", &rights),
        ("Technical conditions", &technical),
        ("Marked moments", &markers),
        ("Recorded files", &files),
    ] {
        let _ = writeln!(h, "<h2>{title}</h2>");
        if items.is_empty() {
            h.push_str("<p>None recorded.</p>\n");
        } else {
            h.push_str("<ul>\n");
            for i in items.iter() {
                let _ = writeln!(h, "<li>{i}</li>");
            }
            h.push_str("</ul>\n");
        }
    }
    let _ = writeln!(
        h,
        "<p>Generated from evidence log entries 0..{} of hearing {}.</p>\n</body></html>",
        entries.len(),
        esc(hearing)
    );
    Ok(h)
}

/// The English name of a page language code (the minutes are in English).
fn language_name(code: &str) -> String {
    match code {
        "ar" => "Arabic".into(),
        "en" => "English".into(),
        "es" => "Spanish".into(),
        "fr" => "French".into(),
        "ru" => "Russian".into(),
        "zh" => "Chinese".into(),
        other => esc(other),
    }
}
