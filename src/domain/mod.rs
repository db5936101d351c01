//! Pure domain types: roles, the policy table, hearing and participant states.
//! No IO, no clock, no locks: everything here is a plain value.

/// ISO 3166-1 (the table lives in `verify`, which the minutes and the verifier share).
pub use crate::verify::countries;
pub mod court;
pub mod device_check;
pub mod ids;
pub mod moderation;
pub mod policy;
pub mod quality;
pub mod rights;
pub mod role;
pub mod state;
pub mod text;

pub use ids::{CourtId, HearingId, ParticipantId, UserId};
pub use policy::{Action, Subject, allows};
pub use role::{ParticipantRole, StaffRole};
pub use state::{ConnectionState, HearingState, LeaveReason, Presence};
