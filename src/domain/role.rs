//! Roles: staff accounts (signed in) and participant roles (per hearing, by invite).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The role of a signed-in staff account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Judge,
    Clerk,
    Prosecutor,
    Defence,
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 5] = [
        Self::Judge,
        Self::Clerk,
        Self::Prosecutor,
        Self::Defence,
        Self::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judge => "judge",
            Self::Clerk => "clerk",
            Self::Prosecutor => "prosecutor",
            Self::Defence => "defence",
            Self::Admin => "admin",
        }
    }
}

/// The function a person has in one hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Judge,
    Witness,
    /// The requested State's official present with the witness.
    Official,
    Interpreter,
    Prosecutor,
    Defence,
    Clerk,
    /// The witness's own lawyer.
    Counsel,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 8] = [
        Self::Judge,
        Self::Witness,
        Self::Official,
        Self::Interpreter,
        Self::Prosecutor,
        Self::Defence,
        Self::Clerk,
        Self::Counsel,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judge => "judge",
            Self::Witness => "witness",
            Self::Official => "official",
            Self::Interpreter => "interpreter",
            Self::Prosecutor => "prosecutor",
            Self::Defence => "defence",
            Self::Clerk => "clerk",
            Self::Counsel => "counsel",
        }
    }
}

/// An unknown role name in input.
#[derive(Debug, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

macro_rules! from_str_via_all {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = UnknownRole;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::ALL
                    .into_iter()
                    .find(|r| r.as_str() == s)
                    .ok_or(UnknownRole)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
from_str_via_all!(StaffRole);
from_str_via_all!(ParticipantRole);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in StaffRole::ALL {
            assert_eq!(r.as_str().parse::<StaffRole>().ok(), Some(r));
        }
        for r in ParticipantRole::ALL {
            assert_eq!(r.as_str().parse::<ParticipantRole>().ok(), Some(r));
        }
        assert!("root".parse::<StaffRole>().is_err());
    }
}
