//! The hash algorithms an evidence record (RFC 4998) and a time-stamp imprint may name:
//! SHA-256, SHA-384 and SHA-512, by OID. One type shared by the verifier, the built-in
//! TSA, the TSA client and `sworn archive`.
//!
//! Must never: know an algorithm outside these three (an unknown OID is `None`, and the
//! caller fails closed), or panic on any input.

use sha2::{Digest, Sha256, Sha384, Sha512};

/// A SHA-2 hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// SHA-256, id-sha256 `2.16.840.1.101.3.4.2.1`.
    Sha256,
    /// SHA-384, id-sha384 `2.16.840.1.101.3.4.2.2`.
    Sha384,
    /// SHA-512, id-sha512 `2.16.840.1.101.3.4.2.3`.
    Sha512,
}

/// Every algorithm, in a fixed order.
pub const ALL: [HashAlg; 3] = [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512];

impl HashAlg {
    /// Dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            Self::Sha256 => "2.16.840.1.101.3.4.2.1",
            Self::Sha384 => "2.16.840.1.101.3.4.2.2",
            Self::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }

    /// DER content octets of the OID.
    pub fn oid_der(self) -> [u8; 9] {
        let last = match self {
            Self::Sha256 => 1,
            Self::Sha384 => 2,
            Self::Sha512 => 3,
        };
        [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last]
    }

    /// The algorithm of a dotted OID, if it is one of the three.
    pub fn from_oid(dotted: &str) -> Option<Self> {
        ALL.into_iter().find(|a| a.oid() == dotted)
    }

    /// The algorithm of DER OID content octets, if it is one of the three.
    pub fn from_oid_der(bytes: &[u8]) -> Option<Self> {
        ALL.into_iter().find(|a| a.oid_der() == bytes)
    }

    /// Lower-case name as the CLI and the reports write it (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The algorithm of a name (`sha256`, `SHA-256`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase().replace('-', "");
        ALL.into_iter().find(|a| a.name() == n)
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    /// An incremental hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha256 => Hasher::Sha256(Sha256::new()),
            Self::Sha384 => Hasher::Sha384(Sha384::new()),
            Self::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

/// An incremental hash of one of the [`HashAlg`]s.
#[derive(Clone, Debug)]
pub enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_names_and_lengths_agree() {
        for a in ALL {
            assert_eq!(HashAlg::from_oid(a.oid()), Some(a));
            assert_eq!(HashAlg::from_oid_der(&a.oid_der()), Some(a));
            assert_eq!(HashAlg::from_name(a.name()), Some(a));
            assert_eq!(a.digest(b"x").len(), a.output_len());
        }
        assert_eq!(HashAlg::from_name("SHA-512"), Some(HashAlg::Sha512));
        assert_eq!(HashAlg::from_oid("1.3.14.3.2.26"), None);
        assert_eq!(HashAlg::from_name("sha1"), None);
    }
}
