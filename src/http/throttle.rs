//! Sign-in throttling: attempt counters checked before any password is hashed, and a
//! bound on how many hashes run at once.
//!
//! Owns: the counters (per client address, per username at an address, over all
//! clients) and the hashing permits. Must never: count attempts per username alone
//! (anyone could then lock a judge out by guessing their name), log an address or a
//! username, or hash a password outside a permit.
//!
//! Design (README "Sign-in limits"): an attempt is refused before hashing when its
//! client address made `per_address_per_minute` attempts this minute, or when that
//! username was tried `per_user_per_address_per_minute` times from that address, or
//! when `per_minute` attempts were made over all clients. Addresses from which someone
//! signed in successfully in the last day do not count against, and are not refused by,
//! the global budget, so a flood from elsewhere does not keep the court's own office
//! out. Counters are fixed one-minute windows; the clock is passed in.

use crate::config::SignInLimits;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const WINDOW: Duration = Duration::from_secs(60);
/// How long a successful sign-in exempts its address from the global budget.
const TRUSTED_FOR: Duration = Duration::from_secs(24 * 3600);
/// Entries per map before expired ones are swept; past it new keys are refused.
const MAX_KEYS: usize = 100_000;
/// Longest wait for a hashing permit before the attempt is refused.
const HASH_WAIT: Duration = Duration::from_secs(10);

/// A client address as limits see it: IPv4 as is, IPv6 by its /64 (one subscriber
/// usually holds a whole /64), IPv4-mapped IPv6 as IPv4. Never logged.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(_) => ClientKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientKey(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey([redacted])")
    }
}

/// Which limit refused an attempt (for the log; says nothing about who).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Address,
    UserAtAddress,
    Global,
    Busy,
}

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn current(&mut self, now: Instant) -> u32 {
        if now.saturating_duration_since(self.start) >= WINDOW {
            *self = Window {
                start: now,
                count: 0,
            };
        }
        self.count
    }
}

struct Counters {
    global: Window,
    by_address: HashMap<ClientKey, Window>,
    by_user_at: HashMap<(ClientKey, String), Window>,
    trusted: HashMap<ClientKey, Instant>,
}

fn room<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Window>, key: &K, now: Instant) -> bool {
    if map.len() >= MAX_KEYS && !map.contains_key(key) {
        map.retain(|_, w| now.saturating_duration_since(w.start) < WINDOW);
        if map.len() >= MAX_KEYS {
            return false;
        }
    }
    true
}

pub struct SignInThrottle {
    limits: SignInLimits,
    counters: Mutex<Counters>,
    hashing: Arc<Semaphore>,
    hashes: AtomicU64,
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits) -> SignInThrottle {
        let now = Instant::now();
        SignInThrottle {
            hashing: Arc::new(Semaphore::new(limits.concurrent_hashes.max(1))),
            hashes: AtomicU64::new(0),
            limits,
            counters: Mutex::new(Counters {
                global: Window {
                    start: now,
                    count: 0,
                },
                by_address: HashMap::new(),
                by_user_at: HashMap::new(),
                trusted: HashMap::new(),
            }),
        }
    }

    /// Counts an attempt from `addr` (for `username`, if the attempt names one), or
    /// says which limit refuses it. A refused attempt is not counted.
    pub fn attempt(
        &self,
        addr: ClientKey,
        username: Option<&str>,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = Window {
            start: now,
            count: 0,
        };
        if !room(&mut c.by_address, &addr, now) {
            return Err(Refusal::Busy);
        }
        let by_addr = c.by_address.entry(addr).or_insert(fresh).current(now);
        if by_addr >= self.limits.per_address_per_minute {
            return Err(Refusal::Address);
        }
        let user_key = username.map(|u| (addr, u.to_owned()));
        if let Some(k) = &user_key {
            if !room(&mut c.by_user_at, k, now) {
                return Err(Refusal::Busy);
            }
            let n = c.by_user_at.entry(k.clone()).or_insert(fresh).current(now);
            if n >= self.limits.per_user_per_address_per_minute {
                return Err(Refusal::UserAtAddress);
            }
        }
        let trusted = c
            .trusted
            .get(&addr)
            .is_some_and(|t| now.saturating_duration_since(*t) < TRUSTED_FOR);
        if !trusted {
            if c.global.current(now) >= self.limits.per_minute {
                return Err(Refusal::Global);
            }
            c.global.count += 1;
        }
        if let Some(w) = c.by_address.get_mut(&addr) {
            w.count += 1;
        }
        if let Some(w) = user_key.and_then(|k| c.by_user_at.get_mut(&k)) {
            w.count += 1;
        }
        Ok(())
    }

    /// Someone signed in from `addr` as `username`: the attempt is given back (only
    /// wrong passwords use up the budgets, so a judge opening several tabs is never
    /// throttled; a refund needs the password, so a guesser gains nothing), and the
    /// address is exempt from the global budget for a day.
    pub fn succeeded(&self, addr: ClientKey, username: &str, now: Instant) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = c.by_address.get_mut(&addr) {
            w.count = w.count.saturating_sub(1);
        }
        if let Some(w) = c.by_user_at.get_mut(&(addr, username.to_owned())) {
            w.count = w.count.saturating_sub(1);
        }
        if c.trusted.len() >= MAX_KEYS {
            c.trusted
                .retain(|_, t| now.saturating_duration_since(*t) < TRUSTED_FOR);
            if c.trusted.len() >= MAX_KEYS {
                return;
            }
        }
        c.trusted.insert(addr, now);
    }

    /// Password hashes started since the server started (tests show that refused
    /// requests cost none).
    pub fn hashes_started(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// Runs `work` (a password hash) on a blocking thread once a hashing permit is
    /// free; `Busy` when none is free within a few seconds.
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashRefused> {
        let permit = tokio::time::timeout(HASH_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| HashRefused::Busy)?
            .map_err(|_| HashRefused::Busy)?;
        self.hashes.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashRefused::Failed(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashRefused {
    #[error("every hashing permit is taken")]
    Busy,
    #[error("the hashing thread failed: {0}")]
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(SignInLimits {
            per_minute: 10,
            per_address_per_minute: 6,
            per_user_per_address_per_minute: 3,
            concurrent_hashes: 1,
        })
    }

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn a_username_is_limited_per_address_not_everywhere() {
        let t = throttle();
        let now = Instant::now();
        let (attacker, judge) = (key("203.0.113.9"), key("198.51.100.1"));
        for _ in 0..3 {
            t.attempt(attacker, Some("judge"), now).unwrap();
        }
        assert_eq!(
            t.attempt(attacker, Some("judge"), now),
            Err(Refusal::UserAtAddress)
        );
        t.attempt(judge, Some("judge"), now).unwrap();
        // Other names from the attacker's address, up to the address limit.
        for i in 0..3 {
            t.attempt(attacker, Some(&format!("u{i}")), now).unwrap();
        }
        assert_eq!(t.attempt(attacker, Some("x"), now), Err(Refusal::Address));
        // A minute later the windows start again.
        let later = now + WINDOW;
        t.attempt(attacker, Some("judge"), later).unwrap();
    }

    #[test]
    fn the_global_budget_spares_addresses_that_signed_in() {
        let t = throttle();
        let now = Instant::now();
        let office = key("198.51.100.1");
        t.attempt(office, Some("judge"), now).unwrap();
        t.succeeded(office, "judge", now);
        for i in 0..9 {
            t.attempt(key(&format!("203.0.113.{i}")), Some("judge"), now)
                .unwrap();
        }
        assert_eq!(
            t.attempt(key("203.0.113.200"), Some("judge"), now),
            Err(Refusal::Global)
        );
        t.attempt(office, Some("judge"), now).unwrap();
    }

    #[test]
    fn successful_sign_ins_use_up_no_budget() {
        let t = throttle();
        let now = Instant::now();
        let office = key("198.51.100.1");
        for _ in 0..20 {
            t.attempt(office, Some("judge"), now).unwrap();
            t.succeeded(office, "judge", now);
        }
        // Wrong passwords still count.
        for _ in 0..3 {
            t.attempt(office, Some("judge"), now).unwrap();
        }
        assert_eq!(
            t.attempt(office, Some("judge"), now),
            Err(Refusal::UserAtAddress)
        );
    }

    #[test]
    fn ipv6_counts_by_slash_64() {
        assert!(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9"));
        assert!(key("2001:db8:1:2::1") != key("2001:db8:1:3::1"));
        assert!(key("::ffff:192.0.2.1") == key("192.0.2.1"));
        assert_eq!(format!("{:?}", key("192.0.2.1")), "ClientKey([redacted])");
    }
}
