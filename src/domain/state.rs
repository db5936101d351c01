//! Hearing and participant states, and why a participant left.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HearingState {
    Scheduled,
    Open,
    Closed,
}

impl HearingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Scheduled, Self::Open, Self::Closed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where a participant is in the hearing's flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Absent,
    Lobby,
    Admitted,
    Denied,
    Removed,
}

/// The media connection as the court sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    None,
    Connecting,
    Connected,
    Reconnecting,
    Failed,
}

/// Why a participant's session ended; recorded as a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// The participant closed the page or hung up.
    Left,
    /// The connection dropped and did not come back within the grace period.
    ConnectionLost,
    /// ICE failed.
    MediaFailed,
    Removed,
    Denied,
    InviteRevoked,
    /// Replaced by a newer connection of the same participant.
    Replaced,
    HearingClosed,
    ServerShutdown,
}
