//! Pure domain types: roles, the policy table, hearing and participant states.
//! No IO, no clock, no locks: everything here is a plain value.

pub mod court;
pub mod ids;
pub mod moderation;
pub mod policy;
pub mod rights;
pub mod role;
pub mod state;
pub mod text;

pub use ids::{CourtId, HearingId, ParticipantId, UserId};
pub use policy::{Action, Subject, allows};
pub use role::{ParticipantRole, StaffRole};
pub use state::{ConnectionState, HearingState, LeaveReason, Presence};
