//! Statements signed the way the pages sign them (canonical JSON, Ed25519 or ECDSA
//! P-256 over its bytes), sent over a test's signalling socket: the webrtc-rs peer or
//! the signalling-only client.

use super::peer::Peer;
use super::ws::WsClient;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

/// A signalling socket that sends messages and remembers what it received.
pub trait Signalling {
    fn send(&self, v: Value);
    fn messages(&self) -> Vec<Value>;
}

impl Signalling for Peer {
    fn send(&self, v: Value) {
        Peer::send(self, v)
    }
    fn messages(&self) -> Vec<Value> {
        Peer::messages(self)
    }
}

impl Signalling for WsClient {
    fn send(&self, v: Value) {
        WsClient::send(self, v)
    }
    fn messages(&self) -> Vec<Value> {
        WsClient::messages(self)
    }
}

/// A browser's attestation key: Ed25519, or ECDSA P-256 (`alg: "ES256"`) as a browser
/// without WebCrypto Ed25519 makes it.
pub trait TestKey {
    /// Raw signature over `msg`, base64url (ECDSA: `r || s`, as WebCrypto gives it).
    fn sign_b64(&self, msg: &[u8]) -> String;
    /// The `hello` fields that carry the public key.
    fn hello(&self) -> Value;
}

impl TestKey for SigningKey {
    fn sign_b64(&self, msg: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.sign(msg).to_bytes())
    }
    fn hello(&self) -> Value {
        json!({"public_key": pubkey(self)})
    }
}

impl TestKey for p256::ecdsa::SigningKey {
    fn sign_b64(&self, msg: &[u8]) -> String {
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(self, msg);
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    }
    fn hello(&self) -> Value {
        json!({"public_key": p256_pubkey(self), "alg": "ES256"})
    }
}

/// A P-256 public key as `hello` and `key_bound` carry it: the uncompressed SEC1 point.
pub fn p256_pubkey(k: &p256::ecdsa::SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(k.verifying_key().to_encoded_point(false).as_bytes())
}

/// `{"type": "hello", ...extra, ...key fields}`.
pub fn hello(key: &impl TestKey, extra: Value) -> Value {
    let mut v = json!({"type": "hello"});
    for (k, x) in extra
        .as_object()
        .into_iter()
        .flatten()
        .chain(key.hello().as_object().into_iter().flatten())
    {
        v[k] = x.clone();
    }
    v
}

/// The canonical statement `{v, kind, hearing, participant, checkpoint, text, ...extra}`.
pub fn statement(
    kind: &str,
    hearing: &str,
    participant: &str,
    cp: &Value,
    text: &str,
    extra: Value,
) -> String {
    let mut v = json!({"v": 1, "kind": kind, "hearing": hearing, "participant": participant, "checkpoint": cp, "text": text});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    String::from_utf8(sworn::verify::canonical::to_canonical(&v).unwrap()).unwrap()
}

/// Signs `st` with `key` and sends it as an `attest` message.
pub fn attest(c: &impl Signalling, key: &impl TestKey, st: &str) {
    c.send(json!({"type": "attest", "statement": st, "signature": key.sign_b64(st.as_bytes())}));
}

/// The newest checkpoint the socket was told about.
pub fn latest_checkpoint(c: &impl Signalling) -> Value {
    c.messages()
        .iter()
        .rev()
        .find(|m| m["type"] == "checkpoint")
        .map(|m| m["checkpoint"].clone())
        .expect("a checkpoint")
}

/// The public key as the `hello` message carries it.
pub fn pubkey(k: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(k.verifying_key().to_bytes())
}

/// Answers the server's device challenge (a rejoin on a bound invitation) the way the
/// join page does: `hello` with the key and its signature over the challenge.
pub fn prove_device(c: &impl Signalling, key: &impl TestKey, challenge: &Value) {
    let msg = sworn::hearing::protocol::device_proof_message(
        challenge["hearing"].as_str().unwrap(),
        challenge["participant"].as_str().unwrap(),
        challenge["nonce"].as_str().unwrap(),
    );
    c.send(hello(key, json!({"proof": key.sign_b64(msg.as_bytes())})));
}

/// The judge's console `j` asks `w` (participant `wid` of hearing `h`) to take the oath;
/// `w` signs the text it was given with `key`; returns once the oath is recorded.
pub async fn administer_oath(j: &WsClient, w: &WsClient, key: &impl TestKey, h: &str, wid: &str) {
    j.send(json!({"type": "start_oath", "participant": wid, "form": "oath"}));
    let req = w.wait_type("oath_request").await;
    let st = statement(
        "oath",
        h,
        wid,
        &req["checkpoint"],
        req["text"].as_str().unwrap(),
        json!({"form": "oath"}),
    );
    attest(w, key, &st);
    w.wait_for("oath recorded", |m| {
        m["type"] == "attested" && m["kind"] == "oath"
    })
    .await;
}
