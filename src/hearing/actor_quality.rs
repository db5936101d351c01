//! Link quality (#11 point 6): each participant's connection, as the media loop measures
//! it every few seconds, goes live to the court consoles (`link_quality`) and into the
//! log (`connection_quality`) — every [`LOG_EVERY`], and at once when its class changes —
//! so that the minutes and the portal can show each participant's link as a timeline and a
//! court sees at a glance when the witness's link was poor. And the audio-only fallback
//! the media loop decides for a downlink that cannot hold video (`rtc::downlink`).

use super::actor::Actor;
use super::protocol::ServerMsg;
use crate::domain::ParticipantId;
use crate::domain::quality::{QualityLevel, classify};
use crate::rtc::LinkQuality;
use crate::verify::entry::EntryBody;
use std::time::Duration;
use tokio::time::Instant;

/// Longest time between two logged samples of one participant's link.
const LOG_EVERY: Duration = Duration::from_secs(10);

impl Actor {
    pub(super) fn link_quality(&mut self, pid: &ParticipantId, q: LinkQuality) {
        let level = classify(q.rtt_ms, q.loss_in_permille, q.loss_out_permille);
        let msg = ServerMsg::LinkQuality {
            participant: pid.to_string(),
            level,
            rtt_ms: q.rtt_ms,
            loss_in_permille: q.loss_in_permille,
            loss_out_permille: q.loss_out_permille,
            kbps_in: q.kbps_in,
            kbps_out: q.kbps_out,
            layers_sent: q.layers_sent,
            height_sent: q.height_sent,
            reduced: q.reduced,
        };
        self.to_court(msg);
        if self.record.is_none() {
            return;
        }
        let now = Instant::now();
        let due = match self.quality_logged.get(pid) {
            Some((at, last)) => *last != level || now.duration_since(*at) >= LOG_EVERY,
            None => true,
        };
        if !due {
            return;
        }
        self.quality_logged.insert(pid.clone(), (now, level));
        self.log(EntryBody::ConnectionQuality {
            participant: pid.to_string(),
            level: level.as_str().to_owned(),
            rtt_ms: q.rtt_ms.map(u64::from),
            loss_in_permille: q.loss_in_permille.map(u64::from),
            loss_out_permille: q.loss_out_permille.map(u64::from),
            kbps_in: u64::from(q.kbps_in),
            kbps_out: u64::from(q.kbps_out),
            layers_sent: q.layers_sent.map(u64::from),
            height_sent: q.height_sent.map(u64::from),
            reduced: q.reduced.map(u64::from),
        });
    }
}

impl Actor {
    /// The media loop stopped (or tried again) the video sent to `pid`: their downlink
    /// could not hold it. Their page says so, the consoles see it, the log keeps it.
    pub(super) fn audio_only(&mut self, pid: &ParticipantId, on: bool) {
        self.send(pid, ServerMsg::AudioOnly { active: on });
        self.to_court(ServerMsg::AudioOnlyOf {
            participant: pid.to_string(),
            active: on,
        });
        if self.record.is_some() {
            self.log(EntryBody::AudioOnlyFallback {
                participant: pid.to_string(),
                active: on,
            });
        }
    }
}

/// Kept per participant: when their link was last logged, and its class then.
pub(super) type QualityLogged = std::collections::HashMap<ParticipantId, (Instant, QualityLevel)>;
