//! Requests one node forwards to another carry `x-sworn-cluster: NODE TS MAC`, where MAC
//! is HMAC-SHA256 under the cluster secret over the node, the Unix time, the method, the
//! path and query, and the client's address (`x-sworn-client`). The receiving node
//! trusts that address, and handles the request itself (never forwards it again), only
//! when the MAC is right and the time is within [`MAX_SKEW_SECS`] of its own. A replay
//! within that window on the nodes' private network repeats the same request; it gains
//! nothing a client could not ask for itself.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const AUTH_HEADER: &str = "x-sworn-cluster";
/// The header that carries the client's address, as the first node saw it.
pub const CLIENT_HEADER: &str = "x-sworn-client";
/// How far a signature's time may be from the receiver's clock.
pub const MAX_SKEW_SECS: i64 = 60;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("malformed cluster signature")]
    Malformed,
    #[error("cluster signature too old or from the future")]
    Stale,
    #[error("wrong cluster signature")]
    Wrong,
}

fn mac(secret: &[u8], node: &str, ts: i64, method: &str, path: &str, client: &str) -> Hmac<Sha256> {
    // invariant: HMAC accepts keys of any length.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in [
        "sworn-cluster/1",
        node,
        &ts.to_string(),
        method,
        path,
        client,
    ] {
        m.update(part.as_bytes());
        m.update(b"\n");
    }
    m
}

/// The `x-sworn-cluster` value for a request `node` forwards at `now`.
pub fn sign(secret: &[u8], node: &str, now: i64, method: &str, path: &str, client: &str) -> String {
    let tag = mac(secret, node, now, method, path, client)
        .finalize()
        .into_bytes();
    format!("{node} {now} {}", hex::encode(tag))
}

/// Checks a `x-sworn-cluster` value; returns the node that signed it.
pub fn verify<'a>(
    secret: &[u8],
    value: &'a str,
    now: i64,
    method: &str,
    path: &str,
    client: &str,
) -> Result<&'a str, SignError> {
    let mut parts = value.split(' ');
    let (Some(node), Some(ts), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignError::Malformed);
    };
    let ts: i64 = ts.parse().map_err(|_| SignError::Malformed)?;
    let tag = hex::decode(tag).map_err(|_| SignError::Malformed)?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(SignError::Stale);
    }
    mac(secret, node, ts, method, path, client)
        .verify_slice(&tag)
        .map_err(|_| SignError::Wrong)?;
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signature_verifies_only_for_its_request_key_and_time() {
        let v = sign(K, "node-a", 1000, "GET", "/ws/hearings/x", "192.0.2.1");
        assert_eq!(
            verify(K, &v, 1030, "GET", "/ws/hearings/x", "192.0.2.1"),
            Ok("node-a")
        );
        assert_eq!(
            verify(K, &v, 1061, "GET", "/ws/hearings/x", "192.0.2.1"),
            Err(SignError::Stale)
        );
        assert_eq!(
            verify(K, &v, 939, "GET", "/ws/hearings/x", "192.0.2.1"),
            Err(SignError::Stale)
        );
        assert_eq!(
            verify(K, &v, 1000, "POST", "/ws/hearings/x", "192.0.2.1"),
            Err(SignError::Wrong)
        );
        assert_eq!(
            verify(K, &v, 1000, "GET", "/ws/hearings/y", "192.0.2.1"),
            Err(SignError::Wrong)
        );
        assert_eq!(
            verify(K, &v, 1000, "GET", "/ws/hearings/x", "192.0.2.2"),
            Err(SignError::Wrong)
        );
        assert_eq!(
            verify(
                b"another secret, another cluster!",
                &v,
                1000,
                "GET",
                "/ws/hearings/x",
                "192.0.2.1"
            ),
            Err(SignError::Wrong)
        );
        let forged = v.replacen("node-a", "node-b", 1);
        assert_eq!(
            verify(K, &forged, 1000, "GET", "/ws/hearings/x", "192.0.2.1"),
            Err(SignError::Wrong)
        );
        for bad in [
            "",
            "node-a",
            "node-a 1000",
            "node-a x 00",
            "node-a 1000 zz",
            "a 1 00 extra",
        ] {
            assert_eq!(
                verify(K, bad, 1000, "GET", "/", ""),
                Err(SignError::Malformed),
                "{bad:?}"
            );
        }
    }
}
