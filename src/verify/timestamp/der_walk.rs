//! A minimal DER reader over borrowed bytes: splits TLVs and hands out the exact raw
//! slices, so that signatures are checked over the stored bytes, never over a
//! re-serialisation. It must never allocate per element, recurse, or panic on any input.

use super::TimestampError;

/// Universal tags used by the time-stamp structures.
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const BOOLEAN: u8 = 0x01;

/// Context-specific tag byte `[n]`, constructed.
pub(crate) const fn ctx_cons(n: u8) -> u8 {
    0xa0 | n
}

/// Context-specific tag byte `[n]`, primitive.
pub(crate) const fn ctx_prim(n: u8) -> u8 {
    0x80 | n
}

/// One element: its tag byte, its value bytes and the whole encoding (tag + length + value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content (for SEQUENCE, SET and constructed tags).
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.value)
    }

    /// Requires this element to carry `tag`.
    pub fn expect_tag(self, tag: u8, what: &'static str) -> Result<Self, TimestampError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(TimestampError::Malformed { what })
        }
    }
}

/// Sequential reader over concatenated TLVs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Tag of the next element, if any, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn next_any(&mut self, what: &'static str) -> Result<Tlv<'a>, TimestampError> {
        let bad = TimestampError::Malformed { what };
        let (&tag, after_tag) = self.rest.split_first().ok_or(bad.clone())?;
        if tag & 0x1f == 0x1f {
            // High tag numbers never occur in the structures we read.
            return Err(bad);
        }
        let (&first, after_len0) = after_tag.split_first().ok_or(bad.clone())?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_len0)
        } else {
            let n = usize::from(first & 0x7f);
            // 0x80 is BER indefinite length; more than 4 length bytes is absurd here.
            if n == 0 || n > 4 {
                return Err(bad);
            }
            let len_bytes = after_len0.get(..n).ok_or(bad.clone())?;
            if len_bytes.first() == Some(&0) {
                return Err(bad); // non-minimal length
            }
            let mut len = 0usize;
            for &b in len_bytes {
                len = (len << 8) | usize::from(b);
            }
            if len < 0x80 {
                return Err(bad); // long form for a short length is not DER
            }
            (len, after_len0.get(n..).ok_or(bad.clone())?)
        };
        let value = after_len.get(..len).ok_or(bad.clone())?;
        let header_len = self.rest.len() - after_len.len();
        let raw = self.rest.get(..header_len + len).ok_or(bad.clone())?;
        self.rest = after_len.get(len..).ok_or(bad)?;
        Ok(Tlv { tag, value, raw })
    }

    /// The next element, which must carry `tag`.
    pub fn next(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, TimestampError> {
        self.next_any(what)?.expect_tag(tag, what)
    }

    /// The next element if it carries `tag`, else nothing (for OPTIONAL fields).
    pub fn next_if(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<Tlv<'a>>, TimestampError> {
        if self.peek_tag() == Some(tag) {
            self.next(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Requires that nothing is left.
    pub fn finish(&self, what: &'static str) -> Result<(), TimestampError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(TimestampError::Malformed { what })
        }
    }
}

/// Parses one complete element that must span all of `bytes`.
pub(crate) fn single<'a>(
    bytes: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<Tlv<'a>, TimestampError> {
    let mut r = Reader::new(bytes);
    let tlv = r.next(tag, what)?;
    r.finish(what)?;
    Ok(tlv)
}

/// Content octets of a non-negative INTEGER without its sign-padding zero byte, for
/// display and comparison. Rejects empty and negative integers.
pub(crate) fn unsigned_integer<'a>(
    tlv: Tlv<'a>,
    what: &'static str,
) -> Result<&'a [u8], TimestampError> {
    let bad = TimestampError::Malformed { what };
    let v = tlv.expect_tag(INTEGER, what)?.value;
    match v {
        [] => Err(bad),
        [first, ..] if first & 0x80 != 0 => Err(bad),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        _ => Ok(v),
    }
}

/// Renders an OID's content octets in dotted form; arcs up to 128 bits.
pub(crate) fn oid_to_string(bytes: &[u8]) -> Result<String, TimestampError> {
    let bad = || TimestampError::Malformed {
        what: "object identifier",
    };
    if bytes.is_empty() || bytes.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad());
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut cur: u128 = 0;
    let mut started = false;
    for &b in bytes {
        if !started && b == 0x80 {
            return Err(bad()); // non-minimal arc encoding
        }
        started = true;
        cur = cur
            .checked_mul(128)
            .and_then(|c| c.checked_add(u128::from(b & 0x7f)))
            .ok_or_else(bad)?;
        if b & 0x80 == 0 {
            arcs.push(cur);
            cur = 0;
            started = false;
        }
    }
    let mut out = String::new();
    for (i, arc) in arcs.iter().enumerate() {
        if i == 0 {
            let (a, b) = match *arc {
                x if x < 40 => (0, x),
                x if x < 80 => (1, x - 40),
                x => (2, x - 80),
            };
            out.push_str(&format!("{a}.{b}"));
        } else {
            out.push_str(&format!(".{arc}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_nested_elements_and_keeps_raw_bytes() {
        let bytes = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        let seq = single(&bytes, SEQUENCE, "t").unwrap();
        assert_eq!(seq.raw, &bytes[..]);
        let mut r = seq.children();
        assert_eq!(r.next(INTEGER, "i").unwrap().value, &[5]);
        assert_eq!(r.next(OCTET_STRING, "o").unwrap().raw, &[0x04, 0x01, 0xaa]);
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_truncation_indefinite_and_trailing_bytes() {
        assert!(single(&[0x30, 0x03, 0x02, 0x01], SEQUENCE, "t").is_err());
        assert!(single(&[0x30, 0x80, 0x00, 0x00], SEQUENCE, "t").is_err());
        assert!(single(&[0x04, 0x00, 0x00], OCTET_STRING, "t").is_err());
        assert!(single(&[0x04, 0x81, 0x01, 0x00], OCTET_STRING, "t").is_err());
        assert!(single(&[], OCTET_STRING, "t").is_err());
    }

    #[test]
    fn renders_oids_including_uuid_arcs() {
        // 1.2.840.113549.1.9.16.1.4 (id-ct-TSTInfo)
        let b = [
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
        ];
        assert_eq!(oid_to_string(&b).unwrap(), "1.2.840.113549.1.9.16.1.4");
        // 2.25.<2^100>: arcs beyond 32 bits must render
        let mut enc = vec![0x69]; // 2.25 = 80 + 25 = 105
        let big: u128 = 1 << 100;
        let mut groups = Vec::new();
        let mut v = big;
        while v > 0 {
            groups.push((v & 0x7f) as u8);
            v >>= 7;
        }
        for (i, g) in groups.iter().enumerate().rev() {
            enc.push(if i == 0 { *g } else { g | 0x80 });
        }
        assert_eq!(oid_to_string(&enc).unwrap(), format!("2.25.{big}"));
        assert!(oid_to_string(&[0x2a, 0x86]).is_err());
    }
}
