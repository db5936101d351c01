//! Interpretation channels (#14): the hearing's floor is what its participants say, in
//! the hearing's language or any other; an interpreter publishes, on a second send-only
//! connection (`interpretation_offer`), their interpretation into one of the six UN
//! languages. The channel is its own stream (`<interpreter>-i<N>`, channel N of the
//! hearing): forwarded to everyone admitted except the interpreter, recorded as its own
//! file and logged (`interpretation`, with its language).
//!
//! Each language has one channel on air — the one its listeners hear — and at most one
//! more standing by: the second interpreter of a booth publishes before the handover, so
//! when they take over (`interpretation_take`) every page already receives their audio
//! and only changes which stream it plays; nothing is renegotiated and nothing is lost.
//! Every change of the stream on air is logged (`interpretation_on_air`), so the record
//! says which audio was each language's channel at any time. Listening is the page's
//! choice (floor or a language, by default the participant's own, an interpreter may
//! relay another interpreter's channel): every page receives every channel, which costs
//! one Opus stream (~32 kbit/s) per channel and makes switching instant.

use super::actor::Actor;
use super::actor_extra::{Extra, ExtraKind};
use super::protocol::{ChannelInfo, ServerMsg};
use crate::domain::{Action, ParticipantId, Presence, Subject, allows};
use crate::verify::entry::EntryBody;
use std::collections::BTreeMap;

/// Channels of one language at once: the one on air and one standing by.
const PER_LANGUAGE: usize = 2;
/// Channels a hearing carries at once.
const AT_ONCE: usize = 12;

impl Actor {
    /// The channels being published, with their language.
    fn channels(&self) -> impl Iterator<Item = (&Extra, &str)> {
        self.extras.values().filter_map(|e| match &e.kind {
            ExtraKind::Interpretation(l) => Some((e, l.as_str())),
            ExtraKind::Exhibit => None,
        })
    }

    pub(super) async fn interpretation_offer(
        &mut self,
        pid: &ParticipantId,
        sdp: String,
        language: String,
    ) {
        let Some(p) = self.people.get(pid) else {
            return;
        };
        if !allows(Subject::Participant(p.row.role), Action::Interpret) {
            return self.error(pid, "forbidden", "only an interpreter publishes a channel");
        }
        if p.presence != Presence::Admitted || p.in_consultation {
            return self.error(pid, "out_of_order", "channels are published in the hearing");
        }
        if self.record.is_none() {
            return self.error(pid, "out_of_order", "the hearing is not open");
        }
        if !super::rights_text::LANGUAGES.contains(&language.as_str()) {
            return self.error(
                pid,
                "bad_language",
                "a channel's language is one of ar, en, es, fr, ru, zh",
            );
        }
        let mine = self.channels().any(|(e, _)| e.owner == *pid);
        let same = self.channels().filter(|(_, l)| *l == language).count();
        if mine || same >= PER_LANGUAGE || self.channels().count() >= AT_ONCE {
            return self.error(
                pid,
                "too_many_channels",
                "stop the channel published first, or hand over",
            );
        }
        let number = self.channel_count + 1;
        let stream = ParticipantId::from_trusted(format!("{pid}-i{number}"));
        let Some((tag, session, answer)) = self.open_extra(pid, &stream, sdp).await else {
            return;
        };
        self.channel_count = number;
        self.extras.insert(
            tag,
            Extra {
                number,
                owner: pid.clone(),
                stream: stream.clone(),
                kind: ExtraKind::Interpretation(language.clone()),
                session: Some(session),
                track: None,
            },
        );
        self.log(EntryBody::Interpretation {
            number,
            participant: pid.to_string(),
            stream: stream.to_string(),
            language: language.clone(),
            started: true,
        });
        if !self.on_air.contains_key(&language) {
            self.put_on_air(&language, Some(stream));
        }
        self.send(pid, ServerMsg::InterpretationAnswer { sdp: answer });
        self.broadcast_interpretation();
    }

    /// Stops `pid`'s channel, if any.
    pub(super) async fn interpretation_stop(&mut self, pid: &ParticipantId) {
        self.end_extras_of(pid, |k| matches!(k, ExtraKind::Interpretation(_)))
            .await;
    }

    /// Puts `pid`'s channel on air for its language (a handover).
    pub(super) fn interpretation_take(&mut self, pid: &ParticipantId) {
        let Some((stream, language)) = self
            .channels()
            .find(|(e, _)| e.owner == *pid)
            .map(|(e, l)| (e.stream.clone(), l.to_owned()))
        else {
            return self.error(pid, "out_of_order", "publish a channel first");
        };
        if self.on_air.get(&language) == Some(&stream) {
            return;
        }
        self.put_on_air(&language, Some(stream));
        self.broadcast_interpretation();
    }

    pub(super) async fn end_channel(&mut self, tag: u64) {
        let Some(e) = self.close_extra(tag).await else {
            return;
        };
        let ExtraKind::Interpretation(language) = e.kind else {
            return;
        };
        self.log(EntryBody::Interpretation {
            number: e.number,
            participant: e.owner.to_string(),
            stream: e.stream.to_string(),
            language: language.clone(),
            started: false,
        });
        if self.on_air.get(&language) == Some(&e.stream) {
            // The one standing by, if any, takes over.
            let next = self
                .channels()
                .filter(|(_, l)| *l == language)
                .min_by_key(|(c, _)| c.number)
                .map(|(c, _)| c.stream.clone());
            self.put_on_air(&language, next);
        }
        self.broadcast_interpretation();
    }

    /// A channel follows its interpreter's microphone as the court sets it: muted by
    /// the court (or no longer admitted), the channel is not forwarded either (it is
    /// still recorded, as a muted microphone is).
    pub(super) fn apply_forwarding(&self, pid: &ParticipantId) {
        let Some(p) = self.people.get(pid) else {
            return;
        };
        p.apply_forwarding();
        let on = p.forwards(crate::rtc::MediaKind::Audio);
        for (e, _) in self.channels().filter(|(e, _)| e.owner == *pid) {
            if let Some(t) = &e.track {
                t.set_forwarding(on);
            }
        }
    }

    fn put_on_air(&mut self, language: &str, stream: Option<ParticipantId>) {
        match &stream {
            Some(s) => self.on_air.insert(language.to_owned(), s.clone()),
            None => self.on_air.remove(language),
        };
        self.log(EntryBody::InterpretationOnAir {
            language: language.to_owned(),
            stream: stream.map(|s| s.to_string()),
        });
    }

    pub(super) fn interpretation_msg(&self) -> ServerMsg {
        let mut channels: Vec<ChannelInfo> = self
            .channels()
            .map(|(e, l)| ChannelInfo {
                number: e.number,
                participant: e.owner.to_string(),
                stream: e.stream.to_string(),
                language: l.to_owned(),
                on_air: self.on_air.get(l) == Some(&e.stream),
            })
            .collect();
        channels.sort_by_key(|c| c.number);
        ServerMsg::Interpretation {
            floor: Some(self.summary.language.clone()).filter(|l| !l.is_empty()),
            channels,
        }
    }

    fn broadcast_interpretation(&self) {
        self.to_admitted(self.interpretation_msg());
    }

    /// `labels` (participant id -> label) with "Interpretation into French (channel N), by
    /// …" for every channel in the log, for the derived copies; and the channels (stream
    /// -> "French (channel N)"), which the composite leaves out and names in its caption.
    pub(super) fn with_channel_labels(
        log: &[serde_json::Value],
        mut labels: BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut channels = BTreeMap::new();
        for v in log {
            if v["type"] != "interpretation" || v["started"] != true {
                continue;
            }
            let (Some(stream), Some(lang), Some(who), Some(n)) = (
                v["stream"].as_str(),
                v["language"].as_str(),
                v["participant"].as_str(),
                v["number"].as_u64(),
            ) else {
                continue;
            };
            let name = super::rights_text::english_name(lang).unwrap_or(lang);
            let by = labels.get(who).cloned().unwrap_or_else(|| who.to_owned());
            labels.insert(
                stream.to_owned(),
                format!("Interpretation into {name} (channel {n}), by {by}"),
            );
            channels.insert(stream.to_owned(), format!("{name} (channel {n})"));
        }
        (labels, channels)
    }
}
