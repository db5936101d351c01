//! The TimeStampResp envelope (RFC 3161 §2.4.2): status and the token's exact bytes.
//! Judges nothing beyond structure; the caller decides what a status means.

use super::TimestampError;
use super::der_walk::{self, INTEGER, SEQUENCE};

/// A parsed TimeStampResp, borrowing the response bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TsResponse<'a> {
    /// PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4/5 revocation.
    pub status: u32,
    /// PKIFailureInfo bits as a BIT STRING's content octets (first octet: unused bits).
    pub fail_info: Option<&'a [u8]>,
    /// The TimeStampToken (DER ContentInfo), exactly as the TSA sent it.
    pub token: Option<&'a [u8]>,
}

impl TsResponse<'_> {
    /// True for `granted` and `grantedWithMods`.
    pub fn granted(&self) -> bool {
        self.status <= 1
    }
}

/// Parses a DER TimeStampResp.
pub fn parse_response(resp_der: &[u8]) -> Result<TsResponse<'_>, TimestampError> {
    let what = "TimeStampResp";
    let outer = der_walk::single(resp_der, SEQUENCE, what)?;
    let mut r = outer.children();
    let status_info = r.next(SEQUENCE, "PKIStatusInfo")?;
    let token = r.next_if(SEQUENCE, "timeStampToken")?.map(|t| t.raw);
    r.finish(what)?;

    let mut sr = status_info.children();
    let status_bytes = der_walk::unsigned_integer(sr.next(INTEGER, "PKIStatus")?, "PKIStatus")?;
    let status = match status_bytes {
        [s] => u32::from(*s),
        _ => return Err(TimestampError::Malformed { what: "PKIStatus" }),
    };
    sr.next_if(SEQUENCE, "statusString")?;
    let fail_info = sr.next_if(0x03, "failInfo")?.map(|f| f.value);
    sr.finish("PKIStatusInfo")?;
    Ok(TsResponse {
        status,
        fail_info,
        token,
    })
}
