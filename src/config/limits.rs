//! `[server]` connection limits and `[sign_in]` rate limits: raw keys, defaults, bounds.
//! Validated once here; the HTTP layer only reads the typed values.

use super::ConfigError;
use serde::Deserialize;
use std::time::Duration;

/// Limits on HTTP connections (slow clients, connection floods).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpLimits {
    /// A request's head must arrive within this (and a TLS handshake finish within it).
    pub header_timeout: Duration,
    /// A request's body must arrive within this, counted from when the handler needs it.
    pub body_timeout: Duration,
    /// A connection (WebSockets included) with no byte read or written for this long
    /// is closed.
    pub idle_timeout: Duration,
    /// Open connections over all clients; one more is closed at once.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one /64); `None`: no such cap
    /// (behind a reverse proxy every connection comes from the proxy).
    pub max_connections_per_address: Option<usize>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            max_connections: 1024,
            max_connections_per_address: Some(128),
        }
    }
}

/// Sign-in limits, checked before any password is hashed (README "Sign-in limits").
#[derive(Clone, Debug, PartialEq)]
pub struct SignInLimits {
    /// Attempts per minute over all clients (addresses with a recent successful
    /// sign-in are not counted against it).
    pub per_minute: u32,
    /// Attempts per minute from one client address, whatever the username.
    pub per_address_per_minute: u32,
    /// Attempts per minute for one username from one client address.
    pub per_user_per_address_per_minute: u32,
    /// Password hashes computed at once (argon2 takes ~19 MiB and tens of ms each).
    pub concurrent_hashes: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            per_minute: 300,
            per_address_per_minute: 20,
            per_user_per_address_per_minute: 5,
            concurrent_hashes: 2,
        }
    }
}

/// `[sign_in]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignIn {
    attempts_per_minute: Option<u32>,
    attempts_per_address_per_minute: Option<u32>,
    attempts_per_user_per_address_per_minute: Option<u32>,
    concurrent_hashes: Option<usize>,
}

/// The `[server]` keys about connections, as written.
#[derive(Debug, Default)]
pub(super) struct RawHttpLimits {
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
}

pub(super) fn bounded<T: PartialOrd + Copy + std::fmt::Display>(
    key: &'static str,
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::Invalid {
            key,
            message: format!("expected {} to {}", range.start(), range.end()),
        })
    }
}

pub(super) fn validate_http(raw: RawHttpLimits) -> Result<HttpLimits, ConfigError> {
    let d = HttpLimits::default();
    let secs = |key, v, default: Duration, range| {
        bounded(key, v, default.as_secs(), range).map(Duration::from_secs)
    };
    let max_connections = bounded(
        "server.max_connections",
        raw.max_connections,
        d.max_connections,
        16..=1_000_000,
    )?;
    let per_address = match raw.max_connections_per_address {
        Some(0) => None,
        other => Some(bounded(
            "server.max_connections_per_address",
            other,
            d.max_connections_per_address.unwrap_or(128),
            1..=max_connections,
        )?),
    };
    Ok(HttpLimits {
        header_timeout: secs(
            "server.header_timeout_secs",
            raw.header_timeout_secs,
            d.header_timeout,
            1..=300,
        )?,
        body_timeout: secs(
            "server.body_timeout_secs",
            raw.body_timeout_secs,
            d.body_timeout,
            1..=3600,
        )?,
        // Above the browsers' WebSocket ping interval (15 s) with room to spare.
        idle_timeout: secs(
            "server.idle_timeout_secs",
            raw.idle_timeout_secs,
            d.idle_timeout,
            30..=3600,
        )?,
        max_connections,
        max_connections_per_address: per_address,
    })
}

pub(super) fn validate_sign_in(raw: RawSignIn) -> Result<SignInLimits, ConfigError> {
    let d = SignInLimits::default();
    Ok(SignInLimits {
        per_minute: bounded(
            "sign_in.attempts_per_minute",
            raw.attempts_per_minute,
            d.per_minute,
            1..=100_000,
        )?,
        per_address_per_minute: bounded(
            "sign_in.attempts_per_address_per_minute",
            raw.attempts_per_address_per_minute,
            d.per_address_per_minute,
            1..=10_000,
        )?,
        per_user_per_address_per_minute: bounded(
            "sign_in.attempts_per_user_per_address_per_minute",
            raw.attempts_per_user_per_address_per_minute,
            d.per_user_per_address_per_minute,
            1..=1000,
        )?,
        concurrent_hashes: bounded(
            "sign_in.concurrent_hashes",
            raw.concurrent_hashes,
            d.concurrent_hashes,
            1..=64,
        )?,
    })
}
