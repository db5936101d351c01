//! The server time-stamps checkpoints through an external RFC 3161 TSA: a real HTTP
//! server on loopback in this test that answers with `openssl ts -reply` (its own CA
//! and TSA certificate, made by tsa_support), configured as `evidence.tsa_url` +
//! `evidence.tsa_chain`. Hearings are run in-process through the HTTP API (no media, so
//! no WebRTC), closed and sealed; the bundles are checked with `sworn-verify`, with
//! `openssl ts -verify` on every token, and against the configured chain. Also: a TSA
//! that fails its first requests in every way (HTTP 500, garbage, a token over other
//! data, a token from a TSA outside the chain) is retried and nothing bad is stored; a
//! TSA that is down the whole time leaves the hearing running and sealing, unstamped.
//! An RSA TSA (RSA-2048 root and TSA key, sha256WithRSAEncryption) is accepted the same.
#![cfg(feature = "server")]

mod common;
mod tsa_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{Value, json};
use sworn::domain::StaffRole;
use tsa_support::{KINDS, OpensslTsa, TsaKind, openssl_ok};

/// How the loopback TSA answers one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    /// `openssl ts -reply` to the query.
    Good,
    /// HTTP 500, no body.
    ServerError,
    /// 200 with a body that is not DER.
    Garbage,
    /// 200 with a valid reply for another message (another query).
    OtherData,
    /// 200 with a valid reply to the query, signed by a TSA outside the chain.
    UntrustedSigner,
}

/// An RFC 3161 TSA over HTTP on 127.0.0.1: answers from `script` first, then `Good`.
struct LoopbackTsa {
    addr: SocketAddr,
    tsa: Arc<OpensslTsa>,
    answered: Arc<Mutex<Vec<Answer>>>,
    _dir: tempfile::TempDir,
}

impl LoopbackTsa {
    fn start(script: Vec<Answer>) -> LoopbackTsa {
        Self::start_of_kind(script, None)
    }

    /// Like [`LoopbackTsa::start`], the good TSA of `kind` (P-256 when `None`).
    fn start_of_kind(script: Vec<Answer>, kind: Option<&TsaKind>) -> LoopbackTsa {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("good")).unwrap();
        std::fs::create_dir(dir.path().join("rogue")).unwrap();
        let good = dir.path().join("good");
        let tsa = Arc::new(match kind {
            Some(k) => OpensslTsa::of_kind(&good, k, &[]),
            None => OpensslTsa::new(&good),
        });
        let rogue = OpensslTsa::new(&dir.path().join("rogue"));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let answered = Arc::new(Mutex::new(Vec::new()));
        let (t, log) = (tsa.clone(), answered.clone());
        std::thread::spawn(move || {
            let n = AtomicUsize::new(0);
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let i = n.fetch_add(1, Ordering::SeqCst);
                let answer = script.get(i).copied().unwrap_or(Answer::Good);
                if serve(conn, answer, &t, &rogue, i).is_ok() {
                    log.lock().unwrap().push(answer);
                }
            }
        });
        LoopbackTsa {
            addr,
            tsa,
            answered,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/tsa", self.addr)
    }

    /// The chain to configure: the TSA certificate and its root.
    fn chain_file(&self) -> PathBuf {
        let path = self.tsa.dir.join("chain.pem");
        let mut pem = std::fs::read(self.tsa.dir.join("tsa.pem")).unwrap();
        pem.extend(self.tsa.ca_pem());
        std::fs::write(&path, pem).unwrap();
        path
    }

    fn answered(&self) -> Vec<Answer> {
        self.answered.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 POST and answers it as `answer` says.
fn serve(
    conn: TcpStream,
    answer: Answer,
    tsa: &OpensslTsa,
    rogue: &OpensslTsa,
    i: usize,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    assert!(line.starts_with("POST /tsa HTTP/1.1"), "{line}");
    let (mut length, mut content_type) = (0usize, String::new());
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "content-type" => content_type = value.trim().to_owned(),
            _ => {}
        }
    }
    assert_eq!(content_type, "application/timestamp-query");
    let mut query = vec![0u8; length];
    reader.read_exact(&mut query)?;
    let (status, body) = match answer {
        Answer::ServerError => ("500 Internal Server Error", Vec::new()),
        Answer::Garbage => ("200 OK", b"this is not a TimeStampResp".to_vec()),
        Answer::Good | Answer::UntrustedSigner => {
            let signer = if answer == Answer::Good { tsa } else { rogue };
            let q = format!("q{i}.tsq");
            let r = format!("r{i}.tsr");
            std::fs::write(signer.dir.join(&q), &query)?;
            signer.reply(&q, &r);
            ("200 OK", std::fs::read(signer.dir.join(&r))?)
        }
        Answer::OtherData => {
            std::fs::write(tsa.dir.join("other.bin"), b"some other checkpoint")?;
            let q = format!("q{i}.tsq");
            let r = format!("r{i}.tsr");
            openssl_ok(
                &tsa.dir,
                &[
                    "ts",
                    "-query",
                    "-data",
                    "other.bin",
                    "-sha256",
                    "-cert",
                    "-out",
                    &q,
                ],
            );
            tsa.reply(&q, &r);
            ("200 OK", std::fs::read(tsa.dir.join(&r))?)
        }
    };
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()
}

/// A server configured with `url` + `chain`, checkpoints every second.
async fn server_with_tsa(url: String, chain: PathBuf) -> TestServer {
    TestServer::start_with(move |c| {
        c.checkpoint_interval = Duration::from_secs(1);
        c.tsa_url = Some(url);
        c.tsa_chain = Some(chain);
    })
    .await
}

/// Opens a hearing, adds a participant every ~1.2 s (`rounds` times, so several
/// checkpoints are signed), closes it and waits for the sealed bundle.
async fn run_hearing(server: &TestServer, rounds: usize) -> PathBuf {
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    for i in 0..rounds {
        judge
            .invite(&h, &format!("Person {i}"), "interpreter")
            .await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    server.close_and_seal(&judge, &h).await
}

/// `sworn-verify --json BUNDLE`: asserts exit 3 (valid, key not pinned) and returns the report.
fn sworn_verify(bundle: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(bundle)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_status(report: &Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["status"].as_str().unwrap_or_default().to_lowercase())
        .unwrap_or_default()
}

/// (notes, tokens) under `dir`, by file name.
fn checkpoint_files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut notes = Vec::new();
    let mut tokens = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("note") => notes.push(p),
            Some("tsr") => tokens.push(p),
            _ => {}
        }
    }
    notes.sort();
    tokens.sort();
    (notes, tokens)
}

/// Every token: `openssl ts -verify` with the configured chain over its note, and
/// issued by the external TSA (not the built-in one).
fn check_tokens_independently(tokens: &[PathBuf], chain: &Path) {
    for t in tokens {
        let note = t.with_extension("note");
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(t)
            .arg("-data")
            .arg(&note)
            .arg("-CAfile")
            .arg(chain)
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK"),
            "{t:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let info = sworn::verify::timestamp::verify_token(
            &std::fs::read(t).unwrap(),
            &std::fs::read(&note).unwrap(),
            &std::fs::read(chain).unwrap(),
        )
        .unwrap();
        assert!(
            info.tsa_name.contains("Interop Test TSA"),
            "{}",
            info.tsa_name
        );
        assert!(!info.tsa_name.contains("sworn"), "{}", info.tsa_name);
        assert_eq!(info.policy_oid, "1.2.3.4.1");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_stamped_by_the_external_tsa_and_the_bundle_verifies() {
    let tsa = LoopbackTsa::start(vec![]);
    let chain = tsa.chain_file();
    let server = server_with_tsa(tsa.url(), chain.clone()).await;
    let bundle = run_hearing(&server, 4).await;

    let report = sworn_verify(&bundle);
    assert_eq!(check_status(&report, "timestamps"), "pass", "{report:#}");
    // Sealing made the first archive time-stamp (RFC 4998) with the same TSA.
    assert_eq!(check_status(&report, "archive"), "pass", "{report:#}");
    assert_eq!(report["archive"]["algorithm"], "sha256");
    assert_eq!(
        std::fs::read(bundle.join("archive/tsa-01.pem")).unwrap(),
        std::fs::read(&chain).unwrap()
    );

    let (notes, tokens) = checkpoint_files(&bundle.join("log/checkpoints"));
    assert!(notes.len() >= 4, "{notes:?}");
    assert_eq!(
        tokens.len(),
        notes.len(),
        "every checkpoint stamped: {tokens:?}"
    );
    check_tokens_independently(&tokens, &chain);
    assert_eq!(
        std::fs::read(bundle.join("tsa/chain.pem")).unwrap(),
        std::fs::read(&chain).unwrap(),
        "the bundle carries the configured chain"
    );
    assert!(tsa.answered().iter().all(|a| *a == Answer::Good));
    assert!(tsa.answered().len() >= notes.len());

    // The server publishes the external chain for verifiers to pin.
    let key = server
        .anonymous()
        .get("/.well-known/sworn/server-key")
        .await;
    assert_eq!(
        key["tsa_chain_pem"].as_str().unwrap().as_bytes(),
        std::fs::read(&chain).unwrap()
    );

    // Custody: the fact is durable at once; the external token follows in the background
    // and the custody log verifies with the server's chains.
    let state = server.state.clone();
    let before = checkpoint_files(state.custody.dir().join("checkpoints").as_path()).1;
    state
        .custody
        .record("judge (judge)", "h-test", "bundle.zip", "served")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let custody_tokens = loop {
        let t = checkpoint_files(&state.custody.dir().join("checkpoints")).1;
        if t.len() > before.len() {
            break t;
        }
        assert!(Instant::now() < deadline, "custody checkpoint not stamped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    check_tokens_independently(&custody_tokens, &chain);
    let report = sworn::custody::verify_dir(
        state.custody.dir(),
        &state.key.note_verifiers(),
        state.tsa.all_chains_pem().as_bytes(),
    )
    .unwrap();
    assert!(report.timestamps >= 1 && report.entries >= 1, "{report:?}");
    server.stop().await;
}

/// An RSA TSA (issue #15): the server's client accepts its tokens, the bundle verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rsa_tsa_is_accepted_and_the_bundle_verifies() {
    let rsa = KINDS.iter().find(|k| k.name == "rsa-pkcs1-sha256").unwrap();
    let tsa = LoopbackTsa::start_of_kind(vec![], Some(rsa));
    let chain = tsa.chain_file();
    let server = server_with_tsa(tsa.url(), chain.clone()).await;
    let bundle = run_hearing(&server, 2).await;
    let report = sworn_verify(&bundle);
    assert_eq!(check_status(&report, "timestamps"), "pass", "{report:#}");
    let (notes, tokens) = checkpoint_files(&bundle.join("log/checkpoints"));
    assert_eq!(tokens.len(), notes.len(), "every checkpoint stamped");
    check_tokens_independently(&tokens, &chain);
    assert!(tsa.answered().iter().all(|a| *a == Answer::Good));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tsa_is_retried_and_nothing_bad_is_stored() {
    let script = vec![
        Answer::ServerError,
        Answer::Garbage,
        Answer::OtherData,
        Answer::UntrustedSigner,
        Answer::ServerError,
    ];
    let tsa = LoopbackTsa::start(script.clone());
    let chain = tsa.chain_file();
    let server = server_with_tsa(tsa.url(), chain.clone()).await;
    let bundle = run_hearing(&server, 3).await;

    let answered = tsa.answered();
    assert_eq!(answered.get(..script.len()), Some(script.as_slice()));
    let report = sworn_verify(&bundle);
    assert_eq!(check_status(&report, "timestamps"), "pass", "{report:#}");
    let (notes, tokens) = checkpoint_files(&bundle.join("log/checkpoints"));
    assert_eq!(
        tokens.len(),
        notes.len(),
        "retried until every checkpoint was stamped: {answered:?}"
    );
    check_tokens_independently(&tokens, &chain);
    // Also nothing bad left in the hearing's own log directory.
    let log_dir = bundle.parent().unwrap().join("log/checkpoints");
    let (_, stored) = checkpoint_files(&log_dir);
    check_tokens_independently(&stored, &chain);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tsa_down_the_whole_time_never_stalls_the_hearing() {
    // A port where nothing listens (bound, then closed).
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let tsa = LoopbackTsa::start(vec![]); // only for its chain
    let chain = tsa.chain_file();
    let server = server_with_tsa(format!("http://{addr}/tsa"), chain.clone()).await;
    let started = Instant::now();
    let bundle = run_hearing(&server, 3).await;
    let took = started.elapsed();

    let report = sworn_verify(&bundle);
    assert_eq!(check_status(&report, "timestamps"), "skip", "{report:#}");
    // No evidence record either (`sworn archive renew --hearing` makes it later); the
    // bundle is valid without one.
    assert!(!bundle.join("archive").exists());
    assert!(report["archive"].is_null());
    let (notes, tokens) = checkpoint_files(&bundle.join("log/checkpoints"));
    assert!(
        notes.len() >= 3 && tokens.is_empty(),
        "{notes:?} {tokens:?}"
    );
    // 3 rounds of ~1.2 s, then at most the bounded wait for pending stamps at seal.
    assert!(took < Duration::from_secs(3 * 2 + 15 + 10), "{took:?}");
    println!("hearing with the TSA down sealed in {took:?}");
    assert!(tsa.answered().is_empty());

    // Custody: the fact is durable at once, the retrieval is not held up for long.
    let t = Instant::now();
    let seq = server
        .state
        .custody
        .record("judge (judge)", "h-test", "bundle.zip", "served")
        .unwrap();
    assert!(
        t.elapsed() < sworn::custody::QUICK_STAMP + Duration::from_secs(1),
        "{:?}",
        t.elapsed()
    );
    let entries =
        std::fs::read_to_string(server.state.custody.dir().join("entries.jsonl")).unwrap();
    assert_eq!(entries.lines().count() as u64, seq + 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_external_tsa_settings_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let tsa = LoopbackTsa::start(vec![]);
    let leaf_only = dir.path().join("leaf.pem");
    std::fs::copy(tsa.tsa.dir.join("tsa.pem"), &leaf_only).unwrap();
    for (url, chain, expect) in [
        (
            "http://127.0.0.1:9/tsa",
            dir.path().join("missing.pem"),
            "cannot read",
        ),
        ("http://127.0.0.1:9/tsa", not_pem.clone(), "PEM"),
        ("http://127.0.0.1:9/tsa", leaf_only, "root"),
        ("http:///tsa", tsa.chain_file(), "URL"),
    ] {
        let mut config = sworn::config::Config::for_tests(dir.path().join("data"));
        config.tsa_url = Some(url.into());
        config.tsa_chain = Some(chain);
        let err = match sworn::app::App::build(config).await {
            Ok(_) => panic!("{url} {expect}: the server started"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("time-stamping authority") && err.contains(expect),
            "{expect}: {err}"
        );
    }
}

#[test]
fn https_tsa_is_reached_over_tls_and_an_untrusted_certificate_is_refused() {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    // A TLS server on loopback whose self-signed certificate no public root vouches for.
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut outcome = String::new();
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                outcome = e.to_string();
                break;
            }
        }
        outcome
    });
    let transport =
        sworn::evidence::tsa::HttpTransport::new(&format!("https://{addr}/tsa")).unwrap();
    assert!(transport.is_https());
    let err = transport.post(b"not a query", None).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, sworn::evidence::tsa::TsaError::Transport(_)),
        "{err:?}"
    );
    assert!(!msg.contains("127.0.0.1"), "no address in the error: {msg}");
    let seen = server.join().unwrap();
    assert!(
        msg.contains("certificate") && msg.contains("UnknownIssuer"),
        "the client rejected the certificate during the handshake: {msg} (server: {seen})"
    );
    println!("client: {msg}; server: {seen}");
}
