//! The hearing task: owns every live participant of one hearing and handles commands,
//! signalling and media events in one loop. Its duties are split by subject:
//! `actor_conn` (connections), `actor_court` (moderation, hearing state), `actor_media`
//! (negotiation), `actor_record` (evidence log, recorders, sealing), `actor_attest`
//! (browser-signed statements, oath, minutes).

use super::actor_court::needed_for;
use super::actor_device::DeviceKey;
use super::live::Live;
use super::protocol::{ClientMsg, HearingSummary, RosterEntry, ServerMsg, close};
use super::record::{HearingRecord, Stamped};
use super::recording::RecorderReport;
use super::{Command, ConnId, HearingDeps, HearingError, HearingStats, Moderator};
use crate::domain::{
    Action, ConnectionState, HearingId, HearingState, ParticipantId, Presence, Subject, allows,
};
use crate::rtc::SessionEvent;
use crate::verify::entry::EntryBody;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

pub(super) struct Actor {
    pub(super) id: HearingId,
    pub(super) deps: HearingDeps,
    pub(super) summary: HearingSummary,
    pub(super) people: HashMap<ParticipantId, Live>,
    pub(super) conns: HashMap<ConnId, ParticipantId>,
    /// Sockets challenged to prove their device (see `actor_device`).
    pub(super) pending: HashMap<ConnId, super::actor_device::Pending>,
    /// Sockets of other devices waiting for the court's decision.
    pub(super) side: HashMap<ConnId, ParticipantId>,
    pub(super) rtc_tx: mpsc::UnboundedSender<SessionEvent>,
    /// Each participant's outgoing tracks, kept across their reconnections.
    pub(super) outlets: crate::rtc::Outlets,
    // --- evidence (see actor_record.rs) ---
    pub(super) record: Option<HearingRecord>,
    pub(super) interrupted: bool,
    pub(super) stamp_tx: mpsc::UnboundedSender<Stamped>,
    pub(super) rec_tx: mpsc::UnboundedSender<RecorderReport>,
    pub(super) recorders: usize,
    /// The last recording state told to court consoles, per participant (replayed to a
    /// console that (re)connects: "degraded" is live state the log cannot tell).
    pub(super) recording_states: HashMap<ParticipantId, &'static str>,
    pub(super) closing: Option<Instant>,
    /// A checkpoint was asked for while the rate cap held it back.
    pub(super) checkpoint_due: bool,
    /// Shipments of the record to object storage (`actor_ship`).
    pub(super) shipping: super::actor_ship::Shipping,
    pub(super) sealing:
        Option<tokio::task::JoinHandle<Result<crate::evidence::BundleInfo, String>>>,
    pub(super) sealed: Option<std::path::PathBuf>,
    /// A rehearsal that closed: its scratch log is deleted (`actor_record`).
    pub(super) discarded: bool,
    pub(super) minutes_draft: Option<Vec<u8>>,
    pub(super) minutes_signer: Option<ParticipantId>,
    pub(super) minutes: Option<(Vec<u8>, Vec<u8>)>,
    pub(super) deriving: Option<tokio::task::JoinHandle<Vec<super::derive::Derived>>>,
    pub(super) derived: Option<Vec<super::derive::Derived>>,
    pub(super) derive_progress: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// A server stop in progress (see `actor_stop`).
    pub(super) stopping: Option<super::actor_stop::Stopping>,
    /// The server stopped this task: it takes no new connection.
    pub(super) stopped: bool,
    /// Lock, recess, delegation (see `actor_controls`, `domain::court`).
    pub(super) court: crate::domain::court::CourtState,
    /// The witness's rights: claims, objections, rulings (see `actor_rights`).
    pub(super) rights: crate::domain::rights::RightsState,
    /// Exhibits and interpretation channels being sent, by their peer connection's tag
    /// (see `actor_extra`).
    pub(super) extras: HashMap<u64, super::actor_extra::Extra>,
    /// Exhibits shown so far in the hearing (the next is number + 1).
    pub(super) exhibit_count: u64,
    /// Interpretation channels published so far in the hearing (the next is number + 1).
    pub(super) channel_count: u64,
    /// When each participant's link quality was last logged (see `actor_quality`).
    pub(super) quality_logged: super::actor_quality::QualityLogged,
    /// The channel each language's listeners hear (see `actor_interpret`).
    pub(super) on_air: std::collections::BTreeMap<String, ParticipantId>,
}

pub(super) async fn run(
    id: HearingId,
    deps: HearingDeps,
    mut rx: mpsc::Receiver<Command>,
    restarted: bool,
) {
    let Ok(Some(row)) = deps.store.hearing(&id).await else {
        warn!(hearing = %id, "hearing task started for a hearing that cannot be loaded");
        return;
    };
    let summary = HearingSummary {
        id: id.to_string(),
        case_ref: row.fields.case_ref.clone(),
        language: row.fields.language.clone(),
        state: row.state,
        requesting_state: row.fields.requesting_state.clone(),
        requested_state: row.fields.requested_state.clone(),
        rehearsal: row.fields.rehearsal,
    };
    let (rtc_tx, mut rtc_rx) = mpsc::unbounded_channel();
    let (stamp_tx, mut stamp_rx) = mpsc::unbounded_channel();
    let (rec_tx, mut rec_rx) = mpsc::unbounded_channel();
    let state = summary.state;
    let sealed_dir = crate::paths::DataPaths::new(&deps.config.data_dir)
        .hearing(&id)
        .bundle();
    let checkpoint_every = deps.config.checkpoint_interval;
    let mut actor = Actor {
        id,
        deps,
        summary,
        people: HashMap::new(),
        conns: HashMap::new(),
        pending: HashMap::new(),
        side: HashMap::new(),
        rtc_tx,
        outlets: Default::default(),
        record: None,
        interrupted: false,
        stamp_tx,
        rec_tx,
        recorders: 0,
        closing: None,
        checkpoint_due: false,
        shipping: Default::default(),
        sealing: None,
        sealed: sealed_dir.is_dir().then_some(sealed_dir),
        discarded: false,
        minutes_draft: None,
        recording_states: HashMap::new(),
        minutes_signer: None,
        minutes: None,
        deriving: None,
        derived: None,
        derive_progress: Default::default(),
        stopping: None,
        stopped: false,
        court: Default::default(),
        rights: Default::default(),
        extras: HashMap::new(),
        exhibit_count: 0,
        channel_count: 0,
        on_air: Default::default(),
        quality_logged: Default::default(),
    };
    match state {
        // A restart while the hearing was open: recover the log and go on recording.
        HearingState::Open => {
            actor.open_record(false).await;
            if restarted {
                actor.log(EntryBody::RecordingDegraded {
                    participant: None,
                    detail: "the hearing task stopped on an internal error and was restarted: participants reconnected".into(),
                });
            }
        }
        // A crash between closing and sealing: recover, then seal.
        HearingState::Closed
            if actor.sealed.is_none()
                && super::record::hearing_dir(&actor.deps.config.data_dir, &actor.id)
                    .join("log")
                    .is_dir() =>
        {
            actor.open_record(false).await;
            actor.begin_close().await;
        }
        _ => {}
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut checkpoints = tokio::time::interval(checkpoint_every);
    let span = tracing::info_span!("hearing", hearing = %actor.id);
    let _enter = span.enter();
    info!("hearing task started");
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => actor.command(cmd).await,
                None => break,
            },
            Some(ev) = rtc_rx.recv() => actor.media_event(ev).await,
            Some(report) = rec_rx.recv() => actor.recorder_report(report).await,
            Some(stamp) = stamp_rx.recv() => actor.stamped(stamp),
            _ = checkpoints.tick() => actor.checkpoint_now(),
            _ = tick.tick() => {
                actor.expire_grace().await;
                actor.expire_proofs();
                if actor.checkpoint_due {
                    actor.checkpoint_now();
                }
                actor.ship_pending();
                if actor.closing.is_some_and(|t| t <= Instant::now()) {
                    actor.finish_close().await;
                }
                actor.poll_derive().await;
                actor.poll_seal().await;
                actor.poll_stop();
            }
        }
    }
    actor.shutdown().await;
    info!("hearing task ended");
}

impl Actor {
    async fn command(&mut self, cmd: Command) {
        match cmd {
            // After a stop, dropping `reply` refuses the socket (the server is going).
            Command::Connect { .. } if self.stopped || self.stopping.is_some() => {}
            Command::Connect {
                participant,
                outbound,
                reply,
            } => {
                let conn = self.connect(participant, Some(outbound)).await;
                let _ = reply.send(conn);
            }
            Command::Stop {
                reason,
                within,
                reply,
            } => self.begin_stop(reason, within, reply).await,
            Command::Client { conn, msg } => self.client(conn, msg).await,
            Command::Disconnected { conn } => self.disconnected(conn).await,
            Command::Moderate {
                by,
                action,
                target,
                reply,
            } => {
                let r = self.moderate(by, action, &target).await;
                let _ = reply.send(r);
            }
            Command::Revoked { target } => {
                let fresh = self.deps.store.participant(&target).await.ok().flatten();
                if let Some(p) = self.people.get_mut(&target) {
                    p.close_socket(close::REVOKED, "invite revoked");
                    if let Some(old) = p.drop_contender(close::REVOKED, "invite revoked") {
                        self.side.remove(&old);
                    }
                    p.presence = Presence::Absent;
                    // A reissued link starts unbound and not denied (the store says so).
                    if let Some(row) = fresh {
                        p.public_key = row.device_key.clone();
                        p.row = row;
                    }
                }
                self.drop_conn(&target, ConnectionState::None).await;
                self.log(EntryBody::ParticipantLeft {
                    participant: target.to_string(),
                    reason: "invite_revoked".into(),
                });
                self.broadcast_roster().await;
            }
            Command::Invited { participant } => {
                self.log(EntryBody::ParticipantInvited {
                    participant: participant.id.to_string(),
                    role: participant.role.as_str().into(),
                    display_name: Some(participant.display_name),
                });
                self.broadcast_roster().await;
            }
            Command::Sealed { reply } => {
                let _ = reply.send(self.sealed.clone());
            }
            Command::SealStatus { reply } => {
                let _ = reply.send(self.seal_status());
            }
            Command::StateChanged { state } => self.state_changed(state).await,
            Command::Status { reply } => {
                let _ = reply.send(
                    self.people
                        .iter()
                        .map(|(k, v)| (k.clone(), v.status()))
                        .collect(),
                );
            }
            Command::WhipOffer {
                participant,
                sdp,
                reply,
            } => {
                let _ = reply.send(self.whip_offer(participant, sdp).await);
            }
            Command::WhipEnd { conn } => self.disconnected(conn).await,
            #[cfg(debug_assertions)]
            Command::PanicForTest => panic!("a test asked the hearing task to panic"),
            Command::Stats { reply } => {
                let _ = reply.send(HearingStats {
                    connections: self.conns.len(),
                    sessions: self
                        .people
                        .values()
                        .filter(|p| p.conn.as_ref().is_some_and(|c| c.session.is_some()))
                        .count(),
                    published_tracks: self.people.values().map(|p| p.published.len()).sum(),
                });
            }
        }
    }

    async fn client(&mut self, conn: ConnId, msg: ClientMsg) {
        if self.is_side_conn(conn) {
            return self.side_message(conn, msg).await;
        }
        let Some(pid) = self.conns.get(&conn).cloned() else {
            return;
        };
        match msg {
            ClientMsg::Ping {} => self.send(&pid, ServerMsg::Pong),
            ClientMsg::DeviceCheck {
                camera,
                microphone,
                speaker,
                rtt_ms,
                bitrate_kbps,
            } => self.device_check(
                &pid,
                conn,
                [camera, microphone, speaker],
                rtt_ms,
                bitrate_kbps,
            ),
            ClientMsg::Hello {
                display_name,
                public_key,
                alg,
                proof: _,
            } => {
                let key = public_key.map(|k| DeviceKey::from_hello(&k, alg.as_deref()));
                self.hello(&pid, display_name, key).await
            }
            ClientMsg::Language { language } => {
                let known = super::rights_text::LANGUAGES
                    .into_iter()
                    .find(|l| *l == language);
                match (known, self.people.get_mut(&pid)) {
                    (Some(l), Some(p)) => {
                        let changed = p.page_language != Some(l);
                        p.page_language = Some(l);
                        // The court sees it (and reads the rights in it by default).
                        if changed {
                            self.broadcast_roster().await;
                        }
                    }
                    (None, _) => self.error(&pid, "bad_language", "not a language of the pages"),
                    (_, None) => {}
                }
            }
            ClientMsg::MediaState { audio, video } => {
                let was = self.people.get(&pid).map(|p| p.audio_muted);
                if let Some(p) = self.people.get_mut(&pid) {
                    p.audio_muted = !audio;
                    p.video_muted = !video;
                }
                if was.is_some_and(|w| w == audio) {
                    self.log(EntryBody::Mute {
                        participant: pid.to_string(),
                        muted: !audio,
                        by_court: false,
                    });
                }
                self.broadcast_roster().await;
            }
            ClientMsg::Attest {
                statement,
                signature,
            } => self.attest(&pid, statement, &signature),
            ClientMsg::RequestMinutes {} => self.request_minutes(&pid),
            ClientMsg::MinutesSignature { signature } => self.minutes_signature(&pid, &signature),
            ClientMsg::StartOath { participant, form } => self.start_oath(&pid, &participant, form),
            ClientMsg::Offer { sdp } => self.client_offer(&pid, sdp).await,
            ClientMsg::Answer { sdp } => self.client_answer(&pid, sdp).await,
            ClientMsg::Candidate { candidate } => {
                let session = self
                    .people
                    .get_mut(&pid)
                    .and_then(|p| p.conn.as_mut())
                    .and_then(|c| c.session.as_mut());
                match session {
                    Some(s) => {
                        if s.add_remote_candidate(candidate).await.is_err() {
                            self.error(&pid, "bad_candidate", "the ICE candidate was rejected");
                        }
                    }
                    None => self.error(&pid, "out_of_order", "send an offer before candidates"),
                }
            }
            ClientMsg::ExhibitOffer { sdp } => self.exhibit_offer(&pid, sdp).await,
            ClientMsg::ExhibitStop {} => self.exhibit_stop(&pid).await,
            ClientMsg::InterpretationOffer { sdp, language } => {
                self.interpretation_offer(&pid, sdp, language).await
            }
            ClientMsg::InterpretationStop {} => self.interpretation_stop(&pid).await,
            ClientMsg::InterpretationTake {} => self.interpretation_take(&pid),
            ClientMsg::Court {
                control,
                text,
                participant,
                participants,
            } => {
                self.court_control(&pid, control, text, participant, participants)
                    .await
            }
            ClientMsg::Rights {
                act,
                text,
                number,
                upheld,
                language,
            } => self.rights_request(
                &pid,
                super::actor_rights::RightsAsk {
                    act,
                    text,
                    number,
                    upheld,
                    language,
                },
            ),
            ClientMsg::Action {
                action,
                participant,
            } => {
                let Some(role) = self.people.get(&pid).map(|p| p.row.role) else {
                    return;
                };
                let result = match ParticipantId::parse(&participant) {
                    Some(target) => {
                        self.moderate(Moderator::Participant(role), action, &target)
                            .await
                    }
                    None if !allows(Subject::Participant(role), needed_for(action)) => {
                        Err(HearingError::Forbidden)
                    }
                    None => Err(HearingError::UnknownParticipant),
                };
                if let Err(e) = result {
                    let code = match e {
                        HearingError::Forbidden => "forbidden",
                        HearingError::UnknownParticipant => "unknown_participant",
                        HearingError::Closed => "hearing_closed",
                        _ => "failed",
                    };
                    self.error(&pid, code, &e.to_string());
                }
            }
        }
    }

    async fn roster(&self, for_moderator: bool) -> Vec<RosterEntry> {
        let mut all: Vec<RosterEntry> = match self.deps.store.participants(&self.id).await {
            Ok(rows) => rows
                .into_iter()
                .map(|row| match self.people.get(&row.id) {
                    Some(p) => p.roster_entry(),
                    None => Live::new(row).roster_entry(),
                })
                .collect(),
            Err(_) => self.people.values().map(Live::roster_entry).collect(),
        };
        if !for_moderator {
            all.retain(|e| e.presence == Presence::Admitted);
        }
        all
    }

    pub(super) async fn broadcast_roster(&self) {
        let full = self.roster(true).await;
        let admitted: Vec<RosterEntry> = full
            .iter()
            .filter(|e| e.presence == Presence::Admitted)
            .cloned()
            .collect();
        for p in self.people.values().filter(|p| p.conn.is_some()) {
            let moderator = allows(Subject::Participant(p.row.role), Action::Admit);
            if moderator {
                p.send(ServerMsg::Roster {
                    participants: full.clone(),
                });
            } else if p.presence == Presence::Admitted {
                p.send(ServerMsg::Roster {
                    participants: admitted.clone(),
                });
            }
        }
    }

    pub(super) fn send(&self, pid: &ParticipantId, msg: ServerMsg) {
        if let Some(p) = self.people.get(pid) {
            p.send(msg);
        }
    }

    /// Sends `msg` to everyone admitted to the hearing.
    pub(super) fn to_admitted(&self, msg: ServerMsg) {
        for p in self.people.values() {
            if p.presence == Presence::Admitted {
                p.send(msg.clone());
            }
        }
    }

    /// Sends `msg` to every court console (whoever may admit: the judge, clerks).
    pub(super) fn to_court(&self, msg: ServerMsg) {
        for p in self
            .people
            .values()
            .filter(|p| allows(Subject::Participant(p.row.role), Action::Admit))
        {
            p.send(msg.clone());
        }
    }

    pub(super) fn error(&self, pid: &ParticipantId, code: &'static str, message: &str) {
        self.send(
            pid,
            ServerMsg::Error {
                code,
                message: message.to_owned(),
            },
        );
    }

    async fn shutdown(&mut self) {
        let ids: Vec<ParticipantId> = self.people.keys().cloned().collect();
        for pid in ids {
            if let Some(p) = self.people.get(&pid) {
                p.close_socket(close::SERVER_SHUTDOWN, "the server is shutting down");
            }
            self.drop_conn(&pid, ConnectionState::None).await;
        }
    }
}
