//! A participant's device check, as their page reports it before joining (#13 point 5):
//! camera, microphone and speaker results and, when the page could measure them, the
//! network round trip and outgoing bitrate. Parsing bounds every field here, once, so a
//! hostile page cannot write an absurd value into the record. Pure: no IO, no clock.

use serde::{Deserialize, Serialize};

/// Largest round trip accepted (ms): a minute is far beyond any usable link.
pub const MAX_RTT_MS: u64 = 60_000;
/// Largest bitrate accepted (kbit/s): 10 Gbit/s.
pub const MAX_BITRATE_KBPS: u64 = 10_000_000;

/// The result for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// It works (camera shows a picture, the microphone picked up sound, the
    /// participant heard the test sound).
    Ok,
    /// It does not (no device, permission refused).
    Failed,
    /// The participant did not test it.
    NotTested,
}

impl CheckResult {
    /// The value written to the log (`device_check` entry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::NotTested => "not_tested",
        }
    }
}

/// A device check within bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCheck {
    pub camera: CheckResult,
    pub microphone: CheckResult,
    pub speaker: CheckResult,
    pub rtt_ms: Option<u64>,
    pub bitrate_kbps: Option<u64>,
}

/// Why a reported device check was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceCheckError {
    #[error("rtt_ms is above {MAX_RTT_MS}")]
    RttOutOfRange,
    #[error("bitrate_kbps is above {MAX_BITRATE_KBPS}")]
    BitrateOutOfRange,
}

impl DeviceCheck {
    /// A device check, if its measurements are within bounds.
    pub fn new(
        camera: CheckResult,
        microphone: CheckResult,
        speaker: CheckResult,
        rtt_ms: Option<u64>,
        bitrate_kbps: Option<u64>,
    ) -> Result<DeviceCheck, DeviceCheckError> {
        if rtt_ms.is_some_and(|r| r > MAX_RTT_MS) {
            return Err(DeviceCheckError::RttOutOfRange);
        }
        if bitrate_kbps.is_some_and(|b| b > MAX_BITRATE_KBPS) {
            return Err(DeviceCheckError::BitrateOutOfRange);
        }
        Ok(DeviceCheck {
            camera,
            microphone,
            speaker,
            rtt_ms,
            bitrate_kbps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckResult::*;

    #[test]
    fn measurements_are_bounded_inclusively() {
        assert!(
            DeviceCheck::new(Ok, Ok, NotTested, Some(MAX_RTT_MS), Some(MAX_BITRATE_KBPS)).is_ok()
        );
        assert_eq!(
            DeviceCheck::new(Ok, Ok, Ok, Some(MAX_RTT_MS + 1), None),
            Err(DeviceCheckError::RttOutOfRange)
        );
        assert_eq!(
            DeviceCheck::new(Ok, Ok, Ok, None, Some(MAX_BITRATE_KBPS + 1)),
            Err(DeviceCheckError::BitrateOutOfRange)
        );
        assert!(DeviceCheck::new(Failed, Failed, Failed, None, None).is_ok());
    }

    #[test]
    fn results_serialize_as_the_log_spells_them() {
        for r in [Ok, Failed, NotTested] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
