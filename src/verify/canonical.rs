//! Canonical JSON (the RFC 8785 subset sworn uses): object keys sorted by UTF-16 code
//! units, no whitespace, integers only, minimal string escaping.
//!
//! Owns the one serialization every signed or hashed JSON document goes through. It must
//! never accept floats or produce two encodings of the same value.

use serde_json::Value;

/// Why a value or a byte string is not canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// A number that is not an integer in the i64/u64 range.
    #[error("number {0} is not an integer (canonical JSON here carries integers only)")]
    NotAnInteger(String),
    /// The bytes do not parse as JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The bytes parse but differ from their canonical encoding.
    #[error("JSON is not in canonical form")]
    NotCanonical,
}

/// Serializes `value` canonically.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(128);
    write_value(value, &mut out)?;
    Ok(out)
}

/// Parses `bytes` and checks that they are exactly the canonical encoding of what they
/// hold (this also rejects duplicate keys, whitespace and floats). Returns the value.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
    let again = to_canonical(&value)?;
    if again != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok(value)
}

/// True when `bytes` are canonical JSON.
pub fn is_canonical(bytes: &[u8]) -> bool {
    parse_canonical(bytes).is_ok()
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError::NotAnInteger(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                if let Some(v) = map.get(key.as_str()) {
                    write_value(v, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x"], "c": {"z": -3, "y": "\n\u{1}é"}});
        let bytes = to_canonical(&v).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"a\":[true,null,\"x\"],\"b\":1,\"c\":{\"y\":\"\\n\\u0001é\",\"z\":-3}}"
        );
    }

    #[test]
    fn utf16_order_differs_from_utf8_order() {
        // U+1F600 (surrogates D83D..) sorts before U+FFFD in UTF-16, after it in UTF-8.
        let v = json!({"\u{fffd}": 1, "\u{1F600}": 2});
        let s = String::from_utf8(to_canonical(&v).unwrap()).unwrap();
        assert!(s.find('\u{1F600}').unwrap() < s.find('\u{fffd}').unwrap());
    }

    #[test]
    fn rejects_floats_whitespace_and_duplicates() {
        assert!(matches!(
            to_canonical(&json!(1.5)),
            Err(CanonicalError::NotAnInteger(_))
        ));
        assert_eq!(
            parse_canonical(b"{\"a\": 1}"),
            Err(CanonicalError::NotCanonical)
        );
        assert_eq!(
            parse_canonical(b"{\"a\":1,\"a\":1}"),
            Err(CanonicalError::NotCanonical)
        );
        assert_eq!(
            parse_canonical(b"{\"b\":1,\"a\":1}"),
            Err(CanonicalError::NotCanonical)
        );
        assert_eq!(
            parse_canonical(b"\"\\u0041\""),
            Err(CanonicalError::NotCanonical)
        );
        assert!(parse_canonical(b"{\"a\":1,\"b\":[1,2]}").is_ok());
        assert!(matches!(
            parse_canonical(b"1.0"),
            Err(CanonicalError::NotAnInteger(_))
        ));
    }
}
