//! The verification report: named checks with pass/fail/skip, rendered as text or JSON.
//!
//! Owns presentation only; it must never mark a report valid when any check failed or
//! when no check ran.

use serde::Serialize;

use super::error::VerifyError;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Checked and fine.
    Pass,
    /// Checked and wrong.
    Fail,
    /// Not checked (nothing to check, or checker unavailable).
    Skip,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Check name (`log.entries`, `checkpoints`, ...).
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// Human detail.
    pub detail: String,
    /// The named failure when `status` is `Fail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<VerifyError>,
}

/// A span of entries committed after an interruption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interruption {
    /// Seq of the recovered_after_interruption entry.
    pub seq: u64,
    /// First entry not covered by a checkpoint before the interruption.
    pub from_seq: u64,
    /// End (exclusive) of those entries; equal to `from_seq` if only a torn line was cut.
    pub to_seq: u64,
}

/// A node lost during the hearing: the log went on on another node from what object
/// storage held (a `node_lost` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeLost {
    /// Seq of the node_lost entry.
    pub seq: u64,
    /// The node that stopped answering.
    pub node: String,
    /// The node the hearing resumed on.
    pub resumed_on: String,
    /// Entries the log held when it resumed.
    pub restored_size: u64,
}

/// One line describing a lost node.
pub fn describe_node_lost(n: &NodeLost) -> String {
    format!(
        "node {} stopped answering; the hearing resumed on node {} from the {} entries kept in object storage (entry {}): what {} recorded after its last stored checkpoint is not in this record",
        n.node, n.resumed_on, n.restored_size, n.seq, n.node
    )
}

/// One line describing an interruption.
pub fn describe_interruption(i: &Interruption) -> String {
    if i.from_seq < i.to_seq {
        format!(
            "entries {}..={} were written before a restart and committed after it (entry {})",
            i.from_seq,
            i.to_seq - 1,
            i.seq
        )
    } else {
        format!(
            "the server restarted without a final checkpoint; no complete entry was pending (entry {})",
            i.seq
        )
    }
}

/// The overall verdict. Only a pinned key makes a bundle the court's: without one, a
/// bundle forged with its own key (and its own TSA) passes every check, so a clean run
/// against the bundle's own key is a verdict of its own, never plain `Valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed against the pinned server key.
    Valid,
    /// Every check passed, but against the bundle's own key: nothing ties the bundle to
    /// the court until its key fingerprint is compared with the court's published one.
    ValidKeyNotPinned,
    /// At least one check failed (or none ran).
    Invalid,
}

impl Verdict {
    /// The verdict of a run: `valid` (every check passed) and whether the key was pinned.
    pub fn of(valid: bool, key_pinned: bool) -> Verdict {
        match (valid, key_pinned) {
            (false, _) => Verdict::Invalid,
            (true, true) => Verdict::Valid,
            (true, false) => Verdict::ValidKeyNotPinned,
        }
    }
}

/// The result of verifying a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// True only if at least one check passed and none failed (against the pinned key,
    /// or the bundle's own key when none was pinned: see `verdict`).
    pub valid: bool,
    /// The overall verdict: `valid` only with a pinned key.
    pub verdict: Verdict,
    /// Hearing id from the manifest.
    pub hearing: Option<String>,
    /// Number of log entries.
    pub log_size: Option<u64>,
    /// Fingerprint of the key the checkpoints were checked against.
    pub key_fingerprint: Option<String>,
    /// Whether that key was pinned by the caller.
    pub key_pinned: bool,
    /// Interruptions recorded in the log.
    pub interruptions: Vec<Interruption>,
    /// Nodes lost during the hearing (`node_lost` entries).
    pub nodes_lost: Vec<NodeLost>,
    /// Custody-log entries about this hearing carried by an exported bundle
    /// (`custody/`): who had the bundle and when.
    pub custody: Vec<super::bundle::CustodyRecord>,
    /// What the evidence record (`archive/`) proves, when it has one and it passed.
    pub archive: Option<super::archive::ArchiveSummary>,
}

impl Report {
    /// All named failures.
    pub fn failures(&self) -> impl Iterator<Item = &VerifyError> {
        self.checks.iter().filter_map(|c| c.error.as_ref())
    }

    /// True if a source read failed (an I/O problem rather than a bad bundle).
    pub fn io_failed(&self) -> bool {
        self.failures()
            .any(|e| matches!(e, VerifyError::ReadFailed { .. }))
    }

    /// JSON rendering.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"valid\":false}".into())
    }

    /// Human rendering.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(h) = &self.hearing {
            out.push_str(&format!("hearing   {h}\n"));
        }
        if let Some(n) = self.log_size {
            out.push_str(&format!("entries   {n}\n"));
        }
        if let Some(fp) = &self.key_fingerprint {
            let how = if self.key_pinned {
                "pinned"
            } else {
                "NOT pinned: compare it with the court's published key"
            };
            out.push_str(&format!("key       {fp} ({how})\n"));
        }
        for i in &self.interruptions {
            out.push_str(&format!(
                "NOTE      recording was interrupted: {}\n",
                describe_interruption(i)
            ));
        }
        for n in &self.nodes_lost {
            out.push_str(&format!("NOTE      {}\n", describe_node_lost(n)));
        }
        // Listed either way (a court may want to see them), but flagged when the custody
        // extract failed a check: then nothing proves these entries.
        let custody_failed = self
            .checks
            .iter()
            .any(|c| c.name.starts_with("custody") && c.status == Status::Fail);
        let proven = if custody_failed { " (NOT proven)" } else { "" };
        for r in &self.custody {
            out.push_str(&format!(
                "CUSTODY   #{} {} user {} {}: {}{proven}\n",
                r.seq, r.time, r.user, r.what, r.result
            ));
        }
        if let Some(a) = &self.archive {
            out.push_str(&format!(
                "ARCHIVE   continuously protected since {} ({})\n",
                a.protected_since, a.algorithm
            ));
            for r in &a.renewals {
                let kind = match r.kind {
                    super::archive::RenewalKind::Timestamp => "time-stamp",
                    super::archive::RenewalKind::HashTree => "hash-tree",
                };
                out.push_str(&format!(
                    "ARCHIVE   {kind} renewal {} at {}\n",
                    r.algorithm, r.gen_time
                ));
            }
            out.push_str(&format!("ARCHIVE   renew before {}\n", a.renew_before));
        }
        for c in &self.checks {
            let tag = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            let code = c
                .error
                .as_ref()
                .map(|e| format!(" [{}]", e.code()))
                .unwrap_or_default();
            out.push_str(&format!("{tag}  {}{code}: {}\n", c.name, c.detail));
        }
        out.push_str(match self.verdict {
            Verdict::Valid => "RESULT    VALID\n",
            Verdict::ValidKeyNotPinned => "RESULT    VALID, KEY NOT PINNED\n",
            Verdict::Invalid => "RESULT    INVALID\n",
        });
        out
    }
}
