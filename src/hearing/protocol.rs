//! The WebSocket signalling protocol (docs/protocol.md): typed, size-bounded messages.

use crate::domain::device_check::CheckResult;
use crate::domain::{ConnectionState, HearingState, ParticipantRole, Presence};
use serde::{Deserialize, Serialize};

/// Largest signalling message accepted (bytes).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Close codes (docs/protocol.md).
pub mod close {
    pub const BAD_MESSAGE: u16 = 4000;
    pub const UNAUTHORIZED: u16 = 4001;
    pub const REVOKED: u16 = 4003;
    pub const REMOVED: u16 = 4004;
    pub const REPLACED: u16 = 4009;
    pub const HEARING_CLOSED: u16 = 4010;
    pub const DENIED: u16 = 4011;
    pub const MEDIA_FAILED: u16 = 4012;
    /// The device did not prove its key in time (docs/protocol.md, device binding).
    pub const NO_PROOF: u16 = 4013;
    /// The court refused this device for the invitation.
    pub const DEVICE_REFUSED: u16 = 4014;
    /// The socket sent messages faster than any page does.
    pub const TOO_MANY_MESSAGES: u16 = 4029;
    pub const SERVER_SHUTDOWN: u16 = 1001;
    /// The court locked the hearing: newcomers are turned away from the waiting room.
    pub const HEARING_LOCKED: u16 = 4015;
}

/// The court's controls of the hearing (`court` message; `src/domain/court.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CourtControl {
    Lock,
    Unlock,
    MuteAll,
    /// Stop forwarding `participant`'s video.
    StopVideo,
    /// Forward `participant`'s video again.
    AllowVideo,
    /// With `text`: the reason.
    Recess,
    /// With `text`: the reason.
    Resume,
    /// With `text`: the label.
    Mark,
    /// Delegate the conduct to the clerk `participant`.
    Delegate,
    EndDelegation,
    /// Open a private consultation of `participants`, asked for by `participant`.
    Consult,
    EndConsultation,
    /// A participant asks the court to consult `participant` privately.
    RequestConsultation,
}

/// An exhibit being shown.
#[derive(Clone, Debug, Serialize)]
pub struct ExhibitInfo {
    pub number: u64,
    /// Who shows it.
    pub participant: String,
    /// Its stream id (the remote MediaStream's id at subscribers).
    pub stream: String,
}

/// An interpretation channel being published (one interpreter, one language).
#[derive(Clone, Debug, Serialize)]
pub struct ChannelInfo {
    /// Channel number in the hearing, from 1.
    pub number: u64,
    /// The interpreter.
    pub participant: String,
    /// Its stream id (`<participant>-i<number>`, the remote MediaStream's id).
    pub stream: String,
    /// The language interpreted into (one of the six UN languages).
    pub language: String,
    /// True for the stream listeners of `language` hear now (one per language; the
    /// others of that language stand by for a handover).
    pub on_air: bool,
}

/// A recess in progress, as participants are told.
#[derive(Clone, Debug, Serialize)]
pub struct RecessInfo {
    /// RFC 3339 start.
    pub since: String,
    pub reason: String,
}

/// Moderation actions a participant may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModAction {
    Admit,
    Deny,
    Mute,
    Unmute,
    Remove,
    /// Accept the other device asking to join with this invitation: it becomes the
    /// participant's device (its key bound), back in the waiting room.
    ApproveDevice,
    /// Turn the other device away; the bound device keeps the invitation.
    RefuseDevice,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Hello {
        #[serde(default)]
        display_name: Option<String>,
        #[serde(default)]
        public_key: Option<String>,
        /// `public_key`'s algorithm: absent or `Ed25519`, or `ES256` (ECDSA P-256, for
        /// browsers without WebCrypto Ed25519).
        #[serde(default)]
        alg: Option<String>,
        /// base64url signature by the bound key over the server's challenge
        /// ([`device_proof_message`]); required once the invitation is bound.
        #[serde(default)]
        proof: Option<String>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: serde_json::Value,
    },
    Action {
        action: ModAction,
        participant: String,
    },
    MediaState {
        audio: bool,
        video: bool,
    },
    /// The language the participant's page shows (one of the six UN languages): the oath
    /// they are given is in it.
    Language {
        language: String,
    },
    /// A statement signed in the browser (docs/bundle-format.md §6); `statement` is the
    /// exact canonical JSON text, `signature` base64url of 64 bytes.
    Attest {
        statement: String,
        signature: String,
    },
    /// The judge's signature (base64url) over the exact minutes HTML last sent.
    MinutesSignature {
        signature: String,
    },
    /// The judge asks for the minutes draft to sign.
    RequestMinutes {},
    /// The judge asks a witness or interpreter to take the oath.
    StartOath {
        participant: String,
        form: OathForm,
    },
    /// Show an exhibit: the offer of a second, send-only peer connection carrying one
    /// video track (a shared screen or window).
    ExhibitOffer {
        sdp: String,
    },
    /// Stop showing the exhibit.
    ExhibitStop {},
    /// Interpret into `language`: the offer of a second, send-only peer connection
    /// carrying one audio track (an interpreter; docs/protocol.md "Interpretation").
    InterpretationOffer {
        sdp: String,
        language: String,
    },
    /// Stop interpreting.
    InterpretationStop {},
    /// Put one's channel on air for its language (a handover from the interpreter on air).
    InterpretationTake {},
    /// A court control (judge; a delegated clerk; markers also any clerk).
    Court {
        control: CourtControl,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        participant: Option<String>,
        #[serde(default)]
        participants: Option<Vec<String>>,
    },
    /// The witness's rights (`src/domain/rights.rs`): `explain` (judge; `language`
    /// optional), `claim` (witness, counsel; `text` = ground), `object` (prosecutor,
    /// defence; `text` = ground), `rule` (judge; `number`, `upheld`, `text` = reason).
    Rights {
        act: super::rights_msg::RightsAct,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        number: Option<u64>,
        #[serde(default)]
        upheld: Option<bool>,
        #[serde(default)]
        language: Option<String>,
    },
    /// The join page's device check (`domain::device_check`), at most once per
    /// connection; logged as a `device_check` entry.
    DeviceCheck {
        camera: CheckResult,
        microphone: CheckResult,
        speaker: CheckResult,
        #[serde(default)]
        rtt_ms: Option<u64>,
        #[serde(default)]
        bitrate_kbps: Option<u64>,
    },
    // `{}` (not a unit variant): unknown fields are refused here too.
    Ping {},
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OathForm {
    Oath,
    Affirmation,
}

impl OathForm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oath => "oath",
            Self::Affirmation => "affirmation",
        }
    }
}

/// A signed checkpoint as participants see it (to co-sign and to quote in statements).
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointRef {
    pub size: u64,
    /// Standard base64 of the root.
    pub root: String,
}

/// Why a client message was refused. The reason is one of a fixed set of phrases: it
/// never carries a byte of the input (serde's own messages quote values and unknown
/// names, e.g. `invalid type: string "…"`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("message too large")]
    TooLarge,
    #[error("message is not valid: {0}")]
    Invalid(&'static str),
}

/// Every reason [`ParseError::Invalid`] can give.
pub const PARSE_REASONS: [&str; 8] = [
    "not JSON",
    "unknown message type or value",
    "unknown field",
    "missing field",
    "duplicate field",
    "wrong type",
    "wrong length",
    "invalid value",
];

/// The fixed phrase for a serde error (classified by its kind and the start of serde's
/// message, which is fixed text; the rest of that message is never used).
fn reason(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    if !matches!(e.classify(), Category::Data) {
        return PARSE_REASONS[0];
    }
    let msg = e.to_string();
    let prefixes = [
        ("unknown variant", PARSE_REASONS[1]),
        ("unknown field", PARSE_REASONS[2]),
        ("missing field", PARSE_REASONS[3]),
        ("duplicate field", PARSE_REASONS[4]),
        ("invalid type", PARSE_REASONS[5]),
        ("invalid length", PARSE_REASONS[6]),
    ];
    prefixes
        .iter()
        .find(|(p, _)| msg.starts_with(p))
        .map_or(PARSE_REASONS[7], |(_, r)| r)
}

impl ClientMsg {
    /// Parses one text frame, bounded in size. The error text never echoes the input.
    pub fn parse(text: &str) -> Result<ClientMsg, ParseError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(ParseError::TooLarge);
        }
        serde_json::from_str(text).map_err(|e| ParseError::Invalid(reason(&e)))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct HearingSummary {
    pub id: String,
    pub case_ref: String,
    pub language: String,
    pub state: HearingState,
    pub requesting_state: String,
    pub requested_state: String,
    /// A practice hearing: not evidence, nothing kept (pages say so on every screen).
    pub rehearsal: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct RosterEntry {
    pub id: String,
    pub display_name: String,
    pub role: ParticipantRole,
    pub presence: Presence,
    pub connection: ConnectionState,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub muted_by_court: bool,
    /// The court stopped forwarding this participant's video.
    pub video_stopped_by_court: bool,
    /// In a private consultation.
    pub in_consultation: bool,
    pub stream_id: String,
    /// Another device is waiting to take over this invitation (court consoles only).
    pub other_device: bool,
    /// The language the participant's page shows (else their invitation's), if known.
    pub language: Option<String>,
}

/// The bytes a device signs to prove it holds the invitation's bound key.
pub fn device_proof_message(hearing: &str, participant: &str, nonce: &str) -> String {
    format!("sworn-device-proof-v1\n{hearing}\n{participant}\n{nonce}")
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The invitation is bound to a device: prove it (hello with `proof`) before
    /// anything else happens on this socket.
    Challenge {
        nonce: String,
        hearing: String,
        participant: String,
    },
    /// This device is not the one the invitation is bound to: it waits in the lobby
    /// until the court accepts or refuses it; the bound device is not disturbed.
    DeviceUnrecognized,
    /// The court's consoles: another device asks to join as `participant`.
    DeviceAlert {
        participant: String,
    },
    Welcome {
        participant: RosterEntry,
        hearing: HearingSummary,
        ice_servers: Vec<crate::config::IceServer>,
    },
    Lobby,
    Admitted,
    Denied,
    Roster {
        participants: Vec<RosterEntry>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: serde_json::Value,
    },
    Muted {
        by_court: bool,
    },
    /// The court state: lock, recess, delegation (to everyone, on every change and on
    /// connecting).
    Court {
        locked: bool,
        recess: Option<RecessInfo>,
        delegate: Option<String>,
        /// Participants in a private consultation (the court sees "in consultation").
        consultation: Option<Vec<String>>,
    },
    /// The answer to `exhibit_offer`.
    ExhibitAnswer {
        sdp: String,
    },
    /// The exhibits being shown now (to everyone, on every change and on admission).
    Exhibits {
        exhibits: Vec<ExhibitInfo>,
    },
    /// To court consoles, every few seconds per connected participant: their link as the
    /// server measures it (losses in thousandths; round trip and losses absent until RTCP
    /// gives them).
    LinkQuality {
        participant: String,
        level: crate::domain::quality::QualityLevel,
        rtt_ms: Option<u32>,
        loss_in_permille: Option<u16>,
        loss_out_permille: Option<u16>,
        kbps_in: u32,
        kbps_out: u32,
        /// Their camera: layers sent and the best one's picture height (absent
        /// without video).
        #[serde(skip_serializing_if = "Option::is_none")]
        layers_sent: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        height_sent: Option<u16>,
        /// Pictures they receive in a smaller layer than sent (their downlink).
        #[serde(skip_serializing_if = "Option::is_none")]
        reduced: Option<u8>,
    },
    /// To the participant: the video sent to them stopped because their connection
    /// cannot carry it (`active`: they still hear and are heard), or is tried again.
    AudioOnly {
        active: bool,
    },
    /// To court consoles: the same, about `participant`.
    AudioOnlyOf {
        participant: String,
        active: bool,
    },
    /// The answer to `interpretation_offer`.
    InterpretationAnswer {
        sdp: String,
    },
    /// The hearing's floor language and the interpretation channels published now (to
    /// everyone, on every change and on admission).
    Interpretation {
        floor: Option<String>,
        channels: Vec<ChannelInfo>,
    },
    /// To court consoles: `by` asks to consult `with` privately.
    ConsultationRequested {
        by: String,
        with: String,
    },
    /// The hearing is locked: this newcomer is turned away (the socket closes, 4015).
    Locked,
    /// To a participant: the court stopped (or allowed again) forwarding their video.
    Video {
        stopped_by_court: bool,
    },
    /// A court control was carried out (to the one who asked).
    CourtDone {
        control: CourtControl,
    },
    /// The witness's rights: the statement read, matters awaiting a ruling, the latest
    /// rulings (to everyone, on connecting and on every change).
    Rights(super::rights_msg::RightsView),
    /// A `rights` request was carried out (to the one who asked).
    RightsDone {
        act: super::rights_msg::RightsAct,
        /// The number given to a new claim or objection, or the one ruled on.
        #[serde(skip_serializing_if = "Option::is_none")]
        number: Option<u64>,
    },
    Unmuted,
    HearingState {
        state: HearingState,
    },
    /// A new signed checkpoint of the hearing log.
    Checkpoint {
        checkpoint: CheckpointRef,
    },
    /// Recording state for the console: `recording`, `degraded`, `stopped`.
    Recording {
        participant: String,
        state: &'static str,
    },
    /// Please take the oath: sign `text` as a statement of kind `oath`.
    OathRequest {
        form: OathForm,
        text: String,
        /// The language of `text`: the page signs it with the statement.
        language: String,
        checkpoint: CheckpointRef,
    },
    /// The minutes draft for the judge to sign.
    MinutesDraft {
        html: String,
        sha256: String,
        checkpoint: CheckpointRef,
    },
    /// A statement was verified and committed to the log.
    Attested {
        kind: String,
    },
    /// The court's consoles: someone's statement was committed.
    AttestedBy {
        kind: String,
        participant: String,
        /// `identity`: whose identity (the witness).
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        /// `identity`: how it was checked (`passport`, …; `confirmed` for the judge's
        /// confirmation).
        #[serde(skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        /// `identity`: seq of the `identity_attested` entry, what a confirmation's
        /// `confirms` names.
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The court's consoles, on every (re)connection: the attestation state derived
    /// from the evidence log, replacing whatever the console showed before.
    Attestations {
        /// Every signed statement except co-signatures, in log order.
        statements: Vec<StatementSeen>,
        /// Number of co-signatures in the log.
        cosigns: u64,
        /// Every official's identity attestation, with the judge's confirmation if any.
        identities: Vec<IdentitySeen>,
    },
    /// The hearing's evidence bundle is sealed.
    Sealed {
        bundle_sha256: String,
    },
    Error {
        code: &'static str,
        message: String,
    },
    Pong,
}

/// One signed statement as the log records it (an `attestation` entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementSeen {
    pub kind: String,
    /// The signer.
    pub participant: String,
    /// Seq of the `attestation` entry.
    pub seq: u64,
    /// Time of the entry (RFC 3339 UTC).
    pub time: String,
}

/// An official's identity attestation (an `identity_attested` entry, not itself a
/// confirmation) and the judge's confirmation of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentitySeen {
    /// The attesting official.
    pub participant: String,
    /// Whose identity (the witness).
    pub subject: String,
    /// How it was checked (`passport`, ...).
    pub method: String,
    /// Seq of its `identity_attested` entry: what a confirmation's `confirms` names.
    pub seq: u64,
    /// The judge's confirmation, or null while it is still to be confirmed.
    pub confirmed: Option<Confirmation>,
}

/// The judge's `identity_attested` entry (method `confirmed`) naming an attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// The confirming judge.
    pub by: String,
    /// Seq of the judge's `identity_attested` entry.
    pub seq: u64,
}

/// What the hearing task sends to a socket task.
// Moved once through a bounded channel; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Outbound {
    Msg(ServerMsg),
    Close { code: u16, reason: &'static str },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_messages() {
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"ping"}"#),
            Ok(ClientMsg::Ping {})
        ));
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"action","action":"mute","participant":"ab"}"#),
            Ok(ClientMsg::Action {
                action: ModAction::Mute,
                ..
            })
        ));
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"offer","sdp":"v=0"}"#),
            Ok(ClientMsg::Offer { .. })
        ));
    }

    #[test]
    fn rejects_bad_messages_without_echoing_them() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"type":"launch_missiles"}"#,
            r#"{"type":"offer"}"#,
            r#"{"type":"offer","sdp":1}"#,
            r#"{"type":"ping","extra":"secret-token-value"}"#,
            r#"{"sdp":"x"}"#,
            r#"{"type":"media_state","audio":"secret-token-value","video":true}"#,
            r#"{"type":"secret-token-value"}"#,
            r#"{"type":"ping","secret-token-value":1}"#,
        ] {
            match ClientMsg::parse(bad) {
                Err(ParseError::Invalid(m)) => assert!(PARSE_REASONS.contains(&m), "{m}"),
                other => panic!("{bad:?} -> {other:?}"),
            }
        }
        let big = format!(
            r#"{{"type":"offer","sdp":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(ClientMsg::parse(&big).unwrap_err(), ParseError::TooLarge);
    }
}
