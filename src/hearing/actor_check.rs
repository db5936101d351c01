//! The hearing task's device checks (#13 point 5): a participant's page reports its
//! camera, microphone, speaker and network results once per connection; the report is
//! bounded by `domain::device_check` and logged as a `device_check` entry, at once if
//! the log is open, else when the hearing opens (the check usually precedes it).
//! Must never log a report twice, nor take a second one on the same connection.

use super::ConnId;
use super::actor::Actor;
use crate::domain::ParticipantId;
use crate::domain::device_check::{CheckResult, DeviceCheck};
use crate::verify::entry::EntryBody;

/// The last device check a participant reported, and on which connection.
pub(crate) struct ReportedCheck {
    pub conn: ConnId,
    pub check: DeviceCheck,
    /// Written to the log already.
    pub logged: bool,
}

impl Actor {
    /// A `device_check` message from `pid`'s connection `conn`.
    pub(super) fn device_check(
        &mut self,
        pid: &ParticipantId,
        conn: ConnId,
        results: [CheckResult; 3],
        rtt_ms: Option<u64>,
        bitrate_kbps: Option<u64>,
    ) {
        let [camera, microphone, speaker] = results;
        let check = match DeviceCheck::new(camera, microphone, speaker, rtt_ms, bitrate_kbps) {
            Ok(c) => c,
            Err(e) => return self.error(pid, "bad_device_check", &e.to_string()),
        };
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        if p.device_check.as_ref().is_some_and(|r| r.conn == conn) {
            return self.error(
                pid,
                "device_check_done",
                "this connection already reported its device check",
            );
        }
        p.device_check = Some(ReportedCheck {
            conn,
            check,
            logged: false,
        });
        self.log_device_check(pid);
    }

    /// Logs `pid`'s reported check if the log is open and it is not logged yet.
    pub(super) fn log_device_check(&mut self, pid: &ParticipantId) {
        if self.record.as_ref().is_none_or(|r| r.log.is_closed()) {
            return;
        }
        let Some(r) = self
            .people
            .get_mut(pid)
            .and_then(|p| p.device_check.as_mut())
            .filter(|r| !r.logged)
        else {
            return;
        };
        r.logged = true;
        let c = r.check.clone();
        self.log(EntryBody::DeviceCheck {
            participant: pid.to_string(),
            camera: c.camera.as_str().into(),
            microphone: c.microphone.as_str().into(),
            speaker: c.speaker.as_str().into(),
            rtt_ms: c.rtt_ms,
            bitrate_kbps: c.bitrate_kbps,
        });
    }
}
