//! Newtype identifiers. Ids are 128-bit random values printed as lowercase hex.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id from untrusted input: 32 lowercase hex characters.
            pub fn parse(s: &str) -> Option<Self> {
                let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                ok.then(|| Self(s.to_owned()))
            }
            /// Wraps a value known to be an id (from our own database).
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(HearingId);
id_type!(ParticipantId);
id_type!(UserId);
id_type!(CourtId);

impl CourtId {
    /// The court every account and hearing made before courts existed belongs to
    /// (schema migration 4), and the court of `scripts/run`'s first judge.
    pub const DEFAULT: &'static str = "00000000000000000000000000000000";

    pub fn default_court() -> CourtId {
        CourtId(Self::DEFAULT.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_non_ids() {
        assert!(HearingId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in [
            "",
            "../etc",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert!(HearingId::parse(bad).is_none(), "{bad}");
        }
    }
}
