//! The hearing task's device binding: an invitation belongs to the browser that first
//! used it. That browser's key (a non-extractable WebCrypto key kept in its storage) is
//! bound on first `hello` and persisted. A later socket on the same invitation gets a
//! challenge and must answer with a signature by the bound key before it replaces
//! anything; a socket that cannot is "another device": it waits in the lobby, the
//! court's consoles are alerted, and only the court can accept it (the key is rebound,
//! logged as `device_approved` + `key_bound`) or refuse it. A leaked link is then worth
//! a knock on the door, not the witness's seat.
//!
//! A key is Ed25519 or, where the browser has no WebCrypto Ed25519, ECDSA P-256
//! (`alg: "ES256"` in `hello` and in `key_bound`); the proof and every statement are
//! checked under the bound key's algorithm. The store and the live state keep a key as
//! one text: the base64url raw key, prefixed `ES256:` for P-256 (no prefix = Ed25519, as
//! stored before algorithms existed).

use super::actor::Actor;
use super::live::Contender;
use super::protocol::{Outbound, ServerMsg, close, device_proof_message};
use super::{ConnId, HearingError};
use crate::domain::{ParticipantId, Presence};
use crate::verify::entry::EntryBody;
use crate::verify::keys::{KeyAlg, ParticipantKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::info;

/// How long a socket has to answer the challenge.
const PROOF_WINDOW: std::time::Duration = std::time::Duration::from_secs(20);

/// A socket that has been challenged and has not answered yet.
pub(super) struct Pending {
    pid: ParticipantId,
    out: mpsc::Sender<Outbound>,
    nonce: String,
    until: Instant,
}

impl Actor {
    /// Asks a new socket on a bound invitation to prove its device.
    pub(super) fn challenge(
        &mut self,
        id: ConnId,
        pid: &ParticipantId,
        out: mpsc::Sender<Outbound>,
    ) {
        let nonce = crate::secrets::new_token();
        let _ = out.try_send(Outbound::Msg(ServerMsg::Challenge {
            nonce: nonce.clone(),
            hearing: self.id.to_string(),
            participant: pid.to_string(),
        }));
        self.pending.insert(
            id,
            Pending {
                pid: pid.clone(),
                out,
                nonce,
                until: Instant::now() + PROOF_WINDOW,
            },
        );
    }

    /// Whether `conn` is a challenged socket or a waiting other device (whose messages
    /// are handled here, never as the participant's).
    pub(super) fn is_side_conn(&self, conn: ConnId) -> bool {
        self.pending.contains_key(&conn) || self.side.contains_key(&conn)
    }

    /// A message on a challenged socket or from a waiting other device.
    pub(super) async fn side_message(&mut self, conn: ConnId, msg: super::protocol::ClientMsg) {
        use super::protocol::ClientMsg;
        if let Some(pid) = self.side.get(&conn) {
            // The other device only waits: it may keep its socket alive, nothing else.
            if let (ClientMsg::Ping {}, Some(c)) = (
                &msg,
                self.people.get(pid).and_then(|p| p.contender.as_ref()),
            ) {
                let _ = c.out.try_send(Outbound::Msg(ServerMsg::Pong));
            }
            return;
        }
        let Some(pending) = self.pending.remove(&conn) else {
            return;
        };
        let ClientMsg::Hello {
            display_name,
            public_key,
            alg,
            proof,
        } = msg
        else {
            let _ = pending.out.try_send(Outbound::Close {
                code: close::NO_PROOF,
                reason: "prove this device first",
            });
            return;
        };
        let pid = pending.pid.clone();
        let bound = self.people.get(&pid).and_then(|p| p.public_key.clone());
        let public_key = public_key
            .and_then(|k| DeviceKey::from_hello(&k, alg.as_deref()).ok())
            .map(|k| k.0);
        let proven = match (&bound, &public_key, &proof) {
            (Some(b), Some(k), Some(sig)) if b == k => proof_valid(
                b,
                sig,
                &device_proof_message(self.id.as_str(), pid.as_str(), &pending.nonce),
            ),
            _ => false,
        };
        if proven {
            self.adopt(conn, &pid, Some(pending.out)).await;
            self.hello(&pid, display_name, None).await;
        } else {
            self.other_device(conn, &pid, pending.out, public_key).await;
        }
    }

    /// A socket that is not the bound device: it waits, the court is told and decides.
    async fn other_device(
        &mut self,
        conn: ConnId,
        pid: &ParticipantId,
        out: mpsc::Sender<Outbound>,
        key: Option<String>,
    ) {
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        if let Some(old) = p.drop_contender(close::REPLACED, "replaced by a newer connection") {
            self.side.remove(&old);
        }
        let mut entry = p.roster_entry();
        entry.presence = Presence::Lobby;
        for msg in [
            ServerMsg::Welcome {
                participant: entry,
                hearing: self.summary.clone(),
                // No relay credentials for a device the court has not accepted.
                ice_servers: Vec::new(),
            },
            ServerMsg::Lobby,
            ServerMsg::DeviceUnrecognized,
        ] {
            let _ = out.try_send(Outbound::Msg(msg));
        }
        p.contender = Some(Contender { conn, out, key });
        self.side.insert(conn, pid.clone());
        info!(participant = %pid, "another device asks to join");
        self.log(EntryBody::JoinRefused {
            participant: pid.to_string(),
            reason: "unrecognized_device".into(),
        });
        self.to_court(ServerMsg::DeviceAlert {
            participant: pid.to_string(),
        });
        self.broadcast_roster().await;
    }

    /// A challenged socket or a waiting device went away. True if `conn` was one.
    pub(super) async fn side_conn_gone(&mut self, conn: ConnId) -> bool {
        if self.pending.remove(&conn).is_some() {
            return true;
        }
        let Some(pid) = self.side.remove(&conn) else {
            return false;
        };
        if let Some(p) = self.people.get_mut(&pid) {
            if p.contender.as_ref().is_some_and(|c| c.conn == conn) {
                p.contender = None;
            }
        }
        self.broadcast_roster().await;
        true
    }

    /// Closes challenged sockets that did not answer in time.
    pub(super) fn expire_proofs(&mut self) {
        let now = Instant::now();
        self.pending.retain(|_, p| {
            let keep = p.until > now;
            if !keep {
                let _ = p.out.try_send(Outbound::Close {
                    code: close::NO_PROOF,
                    reason: "the device was not proven in time",
                });
            }
            keep
        });
    }

    /// The court accepts or refuses the waiting other device of `target`.
    pub(super) async fn device_decision(
        &mut self,
        target: &ParticipantId,
        approve: bool,
    ) -> Result<(), HearingError> {
        let Some(p) = self.people.get_mut(target) else {
            return Err(HearingError::UnknownParticipant);
        };
        let Some(c) = p.contender.take() else {
            return Err(HearingError::NoOtherDevice);
        };
        self.side.remove(&c.conn);
        if !approve {
            let _ = c.out.try_send(Outbound::Close {
                code: close::DEVICE_REFUSED,
                reason: "the court did not accept this device",
            });
            self.log(EntryBody::JoinRefused {
                participant: target.to_string(),
                reason: "device_refused".into(),
            });
            info!(participant = %target, "other device refused");
            self.broadcast_roster().await;
            return Ok(());
        }
        // The court's consent: the old device goes, the new one is bound and waits to
        // be admitted like anyone arriving.
        if let Some(p) = self.people.get_mut(target) {
            p.close_socket(close::REPLACED, "the court accepted another device");
            p.public_key = c.key.clone();
            if p.presence == Presence::Admitted {
                p.presence = Presence::Lobby;
                p.apply_forwarding();
            }
        }
        self.drop_conn(target, crate::domain::ConnectionState::None)
            .await;
        let _ = self
            .deps
            .store
            .set_device_key(target, c.key.as_deref())
            .await;
        self.log(EntryBody::DeviceApproved {
            participant: target.to_string(),
        });
        if let Some(key) = c.key {
            self.log(key_bound(target, &key));
            self.checkpoint_now();
        }
        info!(participant = %target, "other device approved");
        self.adopt(c.conn, target, Some(c.out)).await;
        Ok(())
    }

    /// `hello` on the participant's own connection: a display name and, the first time,
    /// the key that binds the invitation to this device. A different key later is
    /// refused: only the court rebinds (by accepting another device).
    pub(super) async fn hello(
        &mut self,
        pid: &ParticipantId,
        display_name: Option<String>,
        public_key: Option<Result<DeviceKey, &'static str>>,
    ) {
        if let Some(name) = display_name {
            match crate::domain::text::clean_text(&name, 100) {
                Err(e) => self.error(pid, "bad_name", &format!("the name {e}")),
                Ok(name) => self.rename(pid, name).await,
            }
        }
        if let Some(key) = public_key {
            if let Err(why) = key {
                self.error(pid, "bad_public_key", why);
            } else if let Ok(DeviceKey(key)) = key {
                let key_set_here = self
                    .people
                    .get(pid)
                    .and_then(|p| p.conn.as_ref())
                    .is_some_and(|c| c.key_set);
                match self.people.get(pid).map(|p| p.public_key.clone()) {
                    Some(None) => {
                        if let Some(p) = self.people.get_mut(pid) {
                            p.public_key = Some(key.clone());
                            p.mark_key_set();
                        }
                        let _ = self.deps.store.set_device_key(pid, Some(&key)).await;
                        self.log(key_bound(pid, &key));
                        self.checkpoint_now();
                    }
                    Some(Some(bound)) if bound != key && self.is_staff(pid) && !key_set_here => {
                        // Staff sign in: a new browser of theirs binds its key, once
                        // per connection.
                        if let Some(p) = self.people.get_mut(pid) {
                            p.public_key = Some(key.clone());
                            p.mark_key_set();
                        }
                        self.log(key_bound(pid, &key));
                        self.checkpoint_now();
                    }
                    Some(Some(bound)) if bound != key => self.error(
                        pid,
                        "key_already_bound",
                        "this invitation is bound to another key; only the court can change it",
                    ),
                    _ => {}
                }
            }
        }
        self.broadcast_roster().await;
    }
}

impl Actor {
    /// A participant's own name change: stored, and logged when it differs (the record
    /// shows every name a participant appeared under).
    async fn rename(&mut self, pid: &ParticipantId, name: String) {
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        if p.row.display_name == name || self.deps.store.set_display_name(pid, &name).await.is_err()
        {
            return;
        }
        p.row.display_name = name.clone();
        self.log(EntryBody::ParticipantRenamed {
            participant: pid.to_string(),
            display_name: name,
        });
    }

    fn is_staff(&self, pid: &ParticipantId) -> bool {
        self.people
            .get(pid)
            .is_some_and(|p| p.row.user_id.is_some())
    }
}

/// A device key in its stored form (module doc): `<base64url>` (Ed25519) or
/// `ES256:<base64url>`; only made from a key that parses under its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceKey(pub(super) String);

impl DeviceKey {
    /// `hello`'s `public_key` and `alg`, checked; the error is for the participant.
    pub(super) fn from_hello(key: &str, alg: Option<&str>) -> Result<Self, &'static str> {
        let Ok(alg) = KeyAlg::from_field(alg) else {
            return Err("unsupported key algorithm: use Ed25519 or ES256");
        };
        if key.len() > 100 || ParticipantKey::from_b64url(alg, key).is_err() {
            return Err(match alg {
                KeyAlg::Ed25519 => "the public key must be a base64url raw Ed25519 key",
                KeyAlg::Es256 => "the public key must be a base64url uncompressed P-256 point",
            });
        }
        Ok(Self(match alg {
            KeyAlg::Ed25519 => key.to_string(),
            KeyAlg::Es256 => format!("{}:{key}", alg.name()),
        }))
    }
}

/// A stored device key split into `key_bound`'s `alg` field and its raw key text.
fn split_stored(stored: &str) -> (Option<&str>, &str) {
    match stored.split_once(':') {
        Some((alg, key)) => (Some(alg), key),
        None => (None, stored),
    }
}

/// The `key_bound` entry for a stored device key.
pub(super) fn key_bound(pid: &ParticipantId, stored: &str) -> EntryBody {
    let (alg, key) = split_stored(stored);
    EntryBody::KeyBound {
        participant: pid.to_string(),
        public_key: key.to_string(),
        alg: alg.map(str::to_string),
    }
}

/// Whether `sig` (base64url) is the bound key's signature over `message`, under the
/// key's algorithm.
fn proof_valid(stored: &str, sig: &str, message: &str) -> bool {
    let (alg, key) = split_stored(stored);
    let Ok(key) = ParticipantKey::from_entry(alg, key) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    key.verify(message.as_bytes(), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_keys_keep_their_algorithm() {
        let ed = URL_SAFE_NO_PAD.encode(
            ed25519_dalek::SigningKey::from_bytes(&[5; 32])
                .verifying_key()
                .as_bytes(),
        );
        let sk = p256::ecdsa::SigningKey::from_slice(&[6; 32]).unwrap();
        let ec = URL_SAFE_NO_PAD.encode(sk.verifying_key().to_encoded_point(false).as_bytes());
        assert_eq!(DeviceKey::from_hello(&ed, None), Ok(DeviceKey(ed.clone())));
        assert_eq!(
            DeviceKey::from_hello(&ed, Some("Ed25519")),
            Ok(DeviceKey(ed.clone()))
        );
        let stored = DeviceKey::from_hello(&ec, Some("ES256")).map(|k| k.0);
        assert_eq!(stored.as_deref(), Ok(format!("ES256:{ec}").as_str()));
        assert!(DeviceKey::from_hello(&ec, None).is_err());
        assert!(DeviceKey::from_hello(&ed, Some("ES256")).is_err());
        assert!(DeviceKey::from_hello(&ec, Some("RS256")).is_err());
        let pid = ParticipantId::from_trusted("p-1".into());
        let EntryBody::KeyBound {
            alg, public_key, ..
        } = key_bound(&pid, &format!("ES256:{ec}"))
        else {
            unreachable!()
        };
        assert_eq!((alg.as_deref(), public_key), (Some("ES256"), ec.clone()));
        let msg = device_proof_message("h", "p-1", "n");
        use p256::ecdsa::signature::Signer as _;
        let sig: p256::ecdsa::Signature = sk.sign(msg.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(sig.to_bytes());
        assert!(proof_valid(&format!("ES256:{ec}"), &sig, &msg));
        assert!(!proof_valid(&format!("ES256:{ec}"), &sig, "other"));
    }
}
