//! Log entries: the typed form (`Entry`, `EntryBody`) and the rules that make their
//! stored bytes valid (canonical JSON that re-encodes to itself).
//!
//! Producer and verifier share these types. The log stores and hashes exact bytes; this
//! module must never be used to "fix up" bytes before hashing them.

use serde::{Deserialize, Serialize};

use super::canonical::{self, CanonicalError};

/// Entry format version.
pub const ENTRY_VERSION: u32 = 1;

/// One log entry: common fields plus the typed body (flattened, tag `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Always [`ENTRY_VERSION`].
    pub v: u32,
    /// Hearing id (for the custody log: the log's own id).
    pub hearing: String,
    /// Leaf index.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    /// What happened.
    #[serde(flatten)]
    pub body: EntryBody,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryBody {
    /// The hearing was opened; metadata the minutes need.
    HearingOpened {
        /// Case reference of the requesting court.
        case_ref: String,
        /// Mutual-legal-assistance request reference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mla_ref: Option<String>,
        /// Requesting State: an ISO 3166-1 alpha-2 code (free text in older logs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requesting_state: Option<String>,
        /// Requested State: an ISO 3166-1 alpha-2 code (free text in older logs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_state: Option<String>,
        /// Central authority of the requesting State.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requesting_authority: Option<String>,
        /// That authority's reference for the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requesting_reference: Option<String>,
        /// Central authority of the requested State.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_authority: Option<String>,
        /// That authority's reference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_reference: Option<String>,
        /// Date of the request, `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_date: Option<String>,
        /// Language of the hearing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// Where the checkpoints' time-stamps come from: `builtin` (the server's own
        /// TSA: not independent of the operator) or `external`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_stamping: Option<String>,
    },
    /// A participant was invited.
    ParticipantInvited {
        /// Participant id.
        participant: String,
        /// Role (`judge`, `witness`, ...).
        role: String,
        /// Name as entered by the court (evidence, not a tracing log).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
    },
    /// A participant connected (waiting room).
    ParticipantJoined {
        /// Participant id.
        participant: String,
    },
    /// Admitted to the hearing.
    ParticipantAdmitted {
        /// Participant id.
        participant: String,
    },
    /// Refused admission.
    ParticipantDenied {
        /// Participant id.
        participant: String,
    },
    /// Left the hearing.
    ParticipantLeft {
        /// Participant id.
        participant: String,
        /// Why (e.g. `hangup`, `connection_lost`, `removed`, `hearing_closed`).
        reason: String,
    },
    /// Removed by the court.
    ParticipantRemoved {
        /// Participant id.
        participant: String,
    },
    /// A participant changed the name shown for them.
    ParticipantRenamed {
        /// Participant id.
        participant: String,
        /// The new name.
        display_name: String,
    },
    /// A connection was turned away before it could take part (`reason`:
    /// `unrecognized_device`, `device_refused`, `denied`).
    JoinRefused {
        /// Participant id the connection claimed (by its invitation).
        participant: String,
        /// Why.
        reason: String,
    },
    /// The court accepted another device for a bound invitation; a `key_bound` entry
    /// with the new key follows.
    DeviceApproved {
        /// Participant id.
        participant: String,
    },
    /// A participant's browser key.
    KeyBound {
        /// Participant id.
        participant: String,
        /// Raw public key, unpadded base64url: 32 bytes for Ed25519, the 65-byte
        /// uncompressed SEC1 point for ES256.
        public_key: String,
        /// Signature algorithm: absent = `Ed25519` (every bundle before it existed),
        /// `ES256` = ECDSA P-256 with SHA-256. Anything else fails closed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alg: Option<String>,
    },
    /// A committed byte range of a media file.
    MediaChunk {
        /// Path under the bundle's `media/`.
        file: String,
        /// First byte.
        offset: u64,
        /// Number of bytes.
        length: u64,
        /// Hex SHA-256 of those bytes.
        sha256: String,
        /// Media time of the range start (ms).
        media_start_ms: i64,
        /// Media time of the range end (ms).
        media_end_ms: i64,
        /// Server wall clock at range start.
        wall_start: String,
        /// Server wall clock at range end.
        wall_end: String,
        /// Participant whose track this is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
        /// Track kind or id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        track: Option<String>,
    },
    /// A media file is complete.
    FileSealed {
        /// Path under `media/`.
        file: String,
        /// Final length.
        length: u64,
        /// Hex SHA-256 of the whole file.
        sha256: String,
    },
    /// Media is missing for a time span.
    Gap {
        /// Participant concerned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
        /// Track concerned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        track: Option<String>,
        /// Start of the gap.
        wall_start: String,
        /// End of the gap.
        wall_end: String,
        /// Why.
        reason: String,
    },
    /// Mute state changed.
    Mute {
        /// Participant id.
        participant: String,
        /// Muted or not.
        muted: bool,
        /// Imposed by the court.
        by_court: bool,
    },
    /// An official attested a participant's identity.
    IdentityAttested {
        /// Whose identity.
        participant: String,
        /// Attesting participant.
        by: String,
        /// How (e.g. `passport`).
        method: String,
    },
    /// Oath or affirmation taken.
    OathTaken {
        /// Participant id.
        participant: String,
        /// `oath` or `affirmation`.
        form: String,
        /// The language of the text the participant signed (`ar`, `en`, `es`, `fr`,
        /// `ru`, `zh`); absent in older logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// A participant's signed statement (files under `attestations/`).
    Attestation {
        /// `oath`, `identity`, `cosign`, `closing` or `minutes`.
        kind: String,
        /// Signer.
        participant: String,
        /// Hex SHA-256 of the statement bytes.
        statement_sha256: String,
        /// Ed25519 signature, unpadded base64url.
        signature: String,
    },
    /// The court marked a moment.
    Marker {
        /// Label.
        label: String,
        /// Who marked it (the judge's or a clerk's participant id); absent in logs made
        /// before markers could be set from the console.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The court locked the waiting room (newcomers turned away) or unlocked it.
    HearingLocked {
        /// Locked now.
        locked: bool,
        /// Who (participant id of the judge or the delegated clerk).
        by: String,
    },
    /// A recess started or ended.
    Recess {
        /// Started (true) or ended (false).
        started: bool,
        /// Why.
        reason: String,
        /// Who.
        by: String,
    },
    /// The judge delegated the conduct of the hearing to a clerk, or ended it.
    Delegation {
        /// The clerk.
        participant: String,
        /// In force from now (true) or ended (false).
        active: bool,
        /// The judge.
        by: String,
    },
    /// A private consultation started or ended: its participants' media reached only
    /// each other and was not recorded in between.
    Consultation {
        participants: Vec<String>,
        started: bool,
        /// Who asked for it.
        asked_by: String,
        /// Who started or ended it (the court).
        by: String,
    },
    /// An exhibit (a shared screen or window) started or stopped: forwarded to everyone and
    /// recorded as its own file, whose `media_chunk` entries name `stream` as participant.
    Exhibit {
        /// Exhibit number in the hearing, from 1.
        number: u64,
        /// Who showed it.
        participant: String,
        /// The exhibit's stream id (`<participant>-x<number>`).
        stream: String,
        started: bool,
    },
    /// An interpretation channel started or stopped: an interpreter's audio in `language`,
    /// forwarded to everyone and recorded as its own file, whose `media_chunk` entries name
    /// `stream` as participant.
    Interpretation {
        /// Channel number in the hearing, from 1.
        number: u64,
        /// The interpreter.
        participant: String,
        /// The channel's stream id (`<participant>-i<number>`).
        stream: String,
        /// The language interpreted into (`ar`, `en`, `es`, `fr`, `ru`, `zh`).
        language: String,
        started: bool,
    },
    /// From now on, listeners of `language` hear `stream` (the first channel of a
    /// language, a handover between two interpreters, or the one standing by taking over
    /// when the one on air stops). `stream` is absent when no channel of the language is
    /// left.
    InterpretationOnAir {
        language: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<String>,
    },
    /// A participant's link over the last statistics window, as the server measured it
    /// (RTCP and byte counts): logged every 10 s or so and whenever its class changes.
    /// `level` is `good`, `fair`, `poor` or `unknown` (good below 300 ms and 2 % loss,
    /// fair below 600 ms and 8 %). Losses in thousandths.
    ConnectionQuality {
        participant: String,
        level: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss_in_permille: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss_out_permille: Option<u64>,
        kbps_in: u64,
        kbps_out: u64,
        /// The participant's camera: simulcast layers sent (1 without simulcast) and
        /// the best layer's picture height; absent without video (and in records made
        /// before these were logged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layers_sent: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height_sent: Option<u64>,
        /// How many pictures the participant received in a smaller layer than sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reduced: Option<u64>,
    },
    /// The video forwarded to `participant` stopped because their downlink could not hold
    /// it (`active`: from now on they received audio only; every picture was at its
    /// smallest layer and, for two 5 s windows, the bandwidth estimate could not hold
    /// them or the round trip reached 1 s), or was tried again (`active` false). What
    /// they sent was recorded as before.
    AudioOnlyFallback { participant: String, active: bool },
    /// The court stopped (or allowed again) forwarding a participant's video.
    VideoStopped {
        participant: String,
        stopped: bool,
        by: String,
    },
    /// The court read the witness their rights (art. 12): the exact text read.
    RightsExplained {
        /// Language of the text (`en`, `fr`, `es`).
        language: String,
        /// The statement of rights, exactly as shown and read.
        text: String,
        /// The judge (participant id).
        by: String,
    },
    /// The witness, or their counsel, claimed a privilege to refuse to testify.
    PrivilegeClaimed {
        /// Number of the matter (claims and objections share one numbering from 1).
        number: u64,
        /// Who claimed it (participant id).
        by: String,
        /// The ground, in their words.
        ground: String,
    },
    /// The prosecution or the defence objected.
    ObjectionRaised {
        /// Number of the matter.
        number: u64,
        /// Who objected (participant id).
        by: String,
        /// The ground, in their words.
        ground: String,
    },
    /// The judge ruled on a claimed privilege or an objection.
    Ruling {
        /// Number of the matter ruled on.
        number: u64,
        /// Upheld (true) or overruled (false).
        upheld: bool,
        /// The judge's reason.
        reason: String,
        /// The judge (participant id).
        by: String,
    },
    /// A participant's device check before joining, as their page reported it
    /// (`camera`, `microphone`, `speaker`: `ok`, `failed` or `not_tested`).
    DeviceCheck {
        /// Participant id.
        participant: String,
        /// Camera result.
        camera: String,
        /// Microphone result.
        microphone: String,
        /// Speaker result (the participant confirmed hearing a test sound).
        speaker: String,
        /// Signalling round trip measured by the page (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<u64>,
        /// Outgoing bitrate the page's connection estimated (kbit/s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bitrate_kbps: Option<u64>,
    },
    /// Recording quality degraded.
    RecordingDegraded {
        /// Participant concerned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
        /// What happened.
        detail: String,
    },
    /// Entries `from_seq..=to_seq` were written before a crash and committed on restart.
    RecoveredAfterInterruption {
        /// First uncheckpointed entry.
        from_seq: u64,
        /// Last uncheckpointed entry.
        to_seq: u64,
        /// Bytes of a torn trailing line that were cut.
        torn_bytes: u64,
    },
    /// The server stopped while the hearing was open (an operator's `SIGTERM` or
    /// `SIGINT`): every connection was closed and every recording sealed before this
    /// entry; the hearing stays open and resumes when the server is back.
    ServerStopped {
        /// Why (`SIGTERM`, `SIGINT`, `shutdown`).
        reason: String,
        /// Recordings that had not sealed their files by the shutdown deadline (their
        /// files are sealed at their last committed byte at the next start).
        unsealed: u64,
    },
    /// The node the hearing ran on stopped answering (one of several nodes sharing a
    /// database and object storage): another node restored the log from object
    /// storage, as of the last checkpoint shipped there, and goes on from here. What
    /// the lost node logged or recorded after that checkpoint is not in this log.
    NodeLost {
        /// The node that stopped answering.
        node: String,
        /// The node the hearing resumed on.
        resumed_on: String,
        /// Entries restored from object storage (the log's size when it resumed).
        restored_size: u64,
    },
    /// The hearing is closed; the last entry of a hearing log.
    HearingClosed {
        /// Why (`closed_by_judge`, `server_shutdown`, ...).
        reason: String,
    },
    /// A derived copy (under `derived/`).
    DerivedFile {
        /// Path under `derived/`.
        file: String,
        /// Length.
        length: u64,
        /// Hex SHA-256.
        sha256: String,
        /// Source media files (paths under `media/`).
        derived_from: Vec<String>,
        /// How it was made.
        method: String,
    },
    /// Custody log: a bundle was retrieved.
    Retrieval {
        /// Staff user id.
        user: String,
        /// Hearing whose bundle was retrieved.
        retrieved_hearing: String,
        /// What was served.
        what: String,
        /// Outcome.
        result: String,
    },
}

impl EntryBody {
    /// The `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::HearingOpened { .. } => "hearing_opened",
            Self::ParticipantInvited { .. } => "participant_invited",
            Self::ParticipantJoined { .. } => "participant_joined",
            Self::ParticipantAdmitted { .. } => "participant_admitted",
            Self::ParticipantDenied { .. } => "participant_denied",
            Self::ParticipantLeft { .. } => "participant_left",
            Self::ParticipantRemoved { .. } => "participant_removed",
            Self::ParticipantRenamed { .. } => "participant_renamed",
            Self::JoinRefused { .. } => "join_refused",
            Self::DeviceApproved { .. } => "device_approved",
            Self::KeyBound { .. } => "key_bound",
            Self::MediaChunk { .. } => "media_chunk",
            Self::FileSealed { .. } => "file_sealed",
            Self::Gap { .. } => "gap",
            Self::Mute { .. } => "mute",
            Self::IdentityAttested { .. } => "identity_attested",
            Self::OathTaken { .. } => "oath_taken",
            Self::Attestation { .. } => "attestation",
            Self::Marker { .. } => "marker",
            Self::HearingLocked { .. } => "hearing_locked",
            Self::Recess { .. } => "recess",
            Self::Delegation { .. } => "delegation",
            Self::VideoStopped { .. } => "video_stopped",
            Self::Consultation { .. } => "consultation",
            Self::Exhibit { .. } => "exhibit",
            Self::Interpretation { .. } => "interpretation",
            Self::InterpretationOnAir { .. } => "interpretation_on_air",
            Self::ConnectionQuality { .. } => "connection_quality",
            Self::AudioOnlyFallback { .. } => "audio_only_fallback",
            Self::RightsExplained { .. } => "rights_explained",
            Self::PrivilegeClaimed { .. } => "privilege_claimed",
            Self::ObjectionRaised { .. } => "objection_raised",
            Self::Ruling { .. } => "ruling",
            Self::DeviceCheck { .. } => "device_check",
            Self::RecordingDegraded { .. } => "recording_degraded",
            Self::RecoveredAfterInterruption { .. } => "recovered_after_interruption",
            Self::ServerStopped { .. } => "server_stopped",
            Self::NodeLost { .. } => "node_lost",
            Self::HearingClosed { .. } => "hearing_closed",
            Self::DerivedFile { .. } => "derived_file",
            Self::Retrieval { .. } => "retrieval",
        }
    }
}

/// Why entry bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Not canonical JSON.
    #[error("entry is not canonical JSON: {0}")]
    NotCanonical(CanonicalError),
    /// Canonical JSON but not an entry of a known type with the right fields.
    #[error("entry does not match its type: {0}")]
    Malformed(String),
    /// Extra or null fields: the typed entry re-encodes to other bytes.
    #[error("entry has fields its type does not define")]
    UnknownFields,
}

/// Canonical bytes of an entry.
pub fn encode(entry: &Entry) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(entry).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
    canonical::to_canonical(&value)
}

/// Parses stored entry bytes, requiring that they are exactly the canonical encoding of
/// a typed entry.
pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
    let value = canonical::parse_canonical(bytes).map_err(EntryError::NotCanonical)?;
    let entry: Entry =
        serde_json::from_value(value).map_err(|e| EntryError::Malformed(e.to_string()))?;
    match encode(&entry) {
        Ok(again) if again == bytes => Ok(entry),
        _ => Err(EntryError::UnknownFields),
    }
}

pub use rules::{
    DEVICE_CHECK_RESULTS, QUALITY_LEVELS, check_fields, is_calendar_date, is_safe_relative_path,
};

/// Field rules serde cannot express, kept apart from the entry types.
#[path = "entry_rules.rs"]
mod rules;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_strictness() {
        let e = Entry {
            v: 1,
            hearing: "h1".into(),
            seq: 0,
            time: "2026-11-29T17:30:00.000Z".into(),
            body: EntryBody::HearingClosed {
                reason: "closed_by_judge".into(),
            },
        };
        let bytes = encode(&e).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"hearing":"h1","reason":"closed_by_judge","seq":0,"time":"2026-11-29T17:30:00.000Z","type":"hearing_closed","v":1}"#
        );
        assert_eq!(decode(&bytes).unwrap(), e);
        let extra = br#"{"extra":1,"hearing":"h1","reason":"x","seq":0,"time":"t","type":"hearing_closed","v":1}"#;
        assert_eq!(decode(extra), Err(EntryError::UnknownFields));
        let unknown = br#"{"hearing":"h1","seq":0,"time":"t","type":"nope","v":1}"#;
        assert!(matches!(decode(unknown), Err(EntryError::Malformed(_))));
    }

    #[test]
    fn rights_entries_decode_and_fail_closed() {
        let good: [&[u8]; 4] = [
            br#"{"by":"p-j","hearing":"h1","language":"fr","seq":3,"text":"1. x\n2. y","time":"2026-11-29T17:30:00.000Z","type":"rights_explained","v":1}"#,
            br#"{"by":"p-w","ground":"g","hearing":"h1","number":1,"seq":4,"time":"2026-11-29T17:30:00.000Z","type":"privilege_claimed","v":1}"#,
            br#"{"by":"p-d","ground":"g","hearing":"h1","number":2,"seq":5,"time":"2026-11-29T17:30:00.000Z","type":"objection_raised","v":1}"#,
            br#"{"by":"p-j","hearing":"h1","number":1,"reason":"r","seq":6,"time":"2026-11-29T17:30:00.000Z","type":"ruling","upheld":true,"v":1}"#,
        ];
        let names: Vec<&str> = good
            .iter()
            .map(|b| decode(b).unwrap().body.type_name())
            .collect();
        assert_eq!(
            names,
            [
                "rights_explained",
                "privilege_claimed",
                "objection_raised",
                "ruling"
            ]
        );
        let extra = br#"{"by":"p-j","extra":1,"hearing":"h1","number":1,"reason":"r","seq":6,"time":"2026-11-29T17:30:00.000Z","type":"ruling","upheld":true,"v":1}"#;
        assert_eq!(decode(extra), Err(EntryError::UnknownFields));
        let no_reason = br#"{"by":"p-j","hearing":"h1","number":1,"seq":6,"time":"2026-11-29T17:30:00.000Z","type":"ruling","upheld":true,"v":1}"#;
        assert!(matches!(decode(no_reason), Err(EntryError::Malformed(_))));
    }

    #[test]
    fn key_bound_alg_is_optional_and_an_unknown_one_fails_closed() {
        let old = br#"{"hearing":"h1","participant":"p","public_key":"k","seq":0,"time":"2026-11-29T17:30:00.000Z","type":"key_bound","v":1}"#;
        let e = decode(old).unwrap();
        assert!(matches!(&e.body, EntryBody::KeyBound { alg: None, .. }));
        assert_eq!(encode(&e).unwrap(), old, "bytes without alg are unchanged");
        assert_eq!(check_fields(&e.body), Ok(()));
        let es = br#"{"alg":"ES256","hearing":"h1","participant":"p","public_key":"k","seq":0,"time":"2026-11-29T17:30:00.000Z","type":"key_bound","v":1}"#;
        assert_eq!(check_fields(&decode(es).unwrap().body), Ok(()));
        let future = br#"{"alg":"ML-DSA-65","hearing":"h1","participant":"p","public_key":"k","seq":0,"time":"2026-11-29T17:30:00.000Z","type":"key_bound","v":1}"#;
        assert_eq!(
            check_fields(&decode(future).unwrap().body),
            Err(
                "key_bound: unsupported key algorithm \"ML-DSA-65\" (known: Ed25519, ES256)".into()
            )
        );
    }
}
