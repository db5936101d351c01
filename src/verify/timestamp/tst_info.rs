//! Parsing of the TSTInfo structure (RFC 3161 §2.4.2) carried inside a token, including
//! genTime values with fractional seconds. It owns no policy: it reports what the TSA
//! wrote and must never judge trust.

use super::TimestampError;
use super::der_walk::{
    self, BOOLEAN, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, SEQUENCE, ctx_cons,
};

/// DER content octets of id-sha256 (2.16.840.1.101.3.4.2.1).
pub(crate) const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

/// The fields of a TSTInfo that sworn reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TstInfo {
    /// TSA policy, dotted OID.
    pub policy_oid: String,
    /// Hash algorithm of the message imprint, dotted OID.
    pub imprint_algorithm: String,
    /// The hashed message as the TSA saw it.
    pub imprint: Vec<u8>,
    /// Serial number, lowercase hex, without sign padding.
    pub serial_hex: String,
    /// Generation time.
    pub gen_time: GenTime,
    /// Nonce content octets (without sign padding), if the request carried one.
    pub nonce: Option<Vec<u8>>,
    /// The `tsa` field: DER of the GeneralName, if present.
    pub tsa_general_name: Option<Vec<u8>>,
}

impl TstInfo {
    /// True when the imprint algorithm is SHA-256.
    pub fn imprint_is_sha256(&self) -> bool {
        self.imprint_algorithm == "2.16.840.1.101.3.4.2.1"
    }
}

/// A GeneralizedTime in UTC, as RFC 3161 allows it (`YYYYMMDDhhmmss[.f+]Z`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenTime {
    /// Whole seconds since the Unix epoch.
    pub unix_seconds: i64,
    /// The fractional digits exactly as written (may be empty).
    pub fraction: String,
    /// RFC 3339 rendering, e.g. `2026-11-29T17:33:09.25Z`.
    pub rfc3339: String,
}

/// Parses the DER of a TSTInfo (the eContent of the token).
pub(crate) fn parse(der: &[u8]) -> Result<TstInfo, TimestampError> {
    let seq = der_walk::single(der, SEQUENCE, "TSTInfo")?;
    let mut r = seq.children();
    let version = r.next(INTEGER, "TSTInfo version")?;
    if version.value != [1] {
        return Err(TimestampError::Malformed {
            what: "TSTInfo version is not 1",
        });
    }
    let policy_oid = der_walk::oid_to_string(r.next(OID, "TSTInfo policy")?.value)?;

    let imprint_seq = r.next(SEQUENCE, "messageImprint")?;
    let mut ir = imprint_seq.children();
    let alg = ir.next(SEQUENCE, "messageImprint algorithm")?;
    let mut ar = alg.children();
    let imprint_algorithm = der_walk::oid_to_string(ar.next(OID, "imprint algorithm")?.value)?;
    let imprint = ir.next(OCTET_STRING, "hashedMessage")?.value.to_vec();
    ir.finish("messageImprint")?;

    let serial = der_walk::unsigned_integer(r.next_any("serialNumber")?, "serialNumber")?;
    let gen_time = parse_generalized_time(r.next(GENERALIZED_TIME, "genTime")?.value)?;
    r.next_if(SEQUENCE, "accuracy")?;
    if let Some(ordering) = r.next_if(BOOLEAN, "ordering")? {
        if ordering.value.len() != 1 {
            return Err(TimestampError::Malformed { what: "ordering" });
        }
    }
    let nonce = match r.next_if(INTEGER, "nonce")? {
        Some(n) => Some(der_walk::unsigned_integer(n, "nonce")?.to_vec()),
        None => None,
    };
    let tsa_general_name = r.next_if(ctx_cons(0), "tsa")?.map(|t| t.value.to_vec());
    r.next_if(ctx_cons(1), "extensions")?;
    r.finish("TSTInfo trailing fields")?;

    Ok(TstInfo {
        policy_oid,
        imprint_algorithm,
        imprint,
        serial_hex: hex::encode(serial),
        gen_time,
        nonce,
        tsa_general_name,
    })
}

/// Parses `YYYYMMDDhhmmss[.f+]Z` strictly (UTC only, digits only, valid calendar date).
pub(crate) fn parse_generalized_time(text: &[u8]) -> Result<GenTime, TimestampError> {
    let bad = || TimestampError::Malformed { what: "genTime" };
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) if !f.is_empty() => (w, f),
        Some(_) => return Err(bad()),
        None => (body, ""),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if whole.len() != 14 || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 9 {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
        whole
            .get(range)
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let unix_seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    let frac_part = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    let rfc3339 =
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac_part}Z");
    Ok(GenTime {
        unix_seconds,
        fraction: fraction.to_string(),
        rfc3339,
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_and_fractional_seconds() {
        let t = parse_generalized_time(b"20261129173309Z").unwrap();
        assert_eq!(t.rfc3339, "2026-11-29T17:33:09Z");
        assert_eq!(t.unix_seconds, 1_795_973_589);
        let f = parse_generalized_time(b"20000229235959.125Z").unwrap();
        assert_eq!(f.rfc3339, "2000-02-29T23:59:59.125Z");
        assert_eq!(f.unix_seconds, 951_868_799);
        assert_eq!(f.fraction, "125");
    }

    #[test]
    fn rejects_local_times_bad_dates_and_garbage() {
        for bad in [
            &b"20261129173309"[..],
            b"20261129173309+0100",
            b"20260230000000Z",
            b"19000229000000Z",
            b"20261129173360Z",
            b"20261129173309.Z",
            b"2026112917330Z",
            b"2026112917330aZ",
            b"20261129173309.1234567890Z",
        ] {
            assert!(parse_generalized_time(bad).is_err(), "{bad:?}");
        }
    }
}
