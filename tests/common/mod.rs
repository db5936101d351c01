//! Shared test support: an in-process server on 127.0.0.1, API calls through the
//! router, webrtc-rs client peers that publish ffmpeg-made VP8/Opus fixtures, and
//! signalling-only WebSocket clients (`ws`).
#![allow(dead_code)]

pub mod attest;
pub mod garage;
pub mod http;
pub mod inbox;
pub mod media;
pub mod peer;
pub mod pg;
pub mod scene;
pub mod serve;
pub mod ws;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;
use sworn::app::App;
use sworn::config::Config;
use sworn::domain::{CourtId, StaffRole, UserId};
use sworn::http::{AppState, router};
use tower::ServiceExt;

pub struct TestServer {
    pub state: Arc<AppState>,
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_in(tempfile::tempdir().unwrap(), edit).await
    }

    /// Stops the server, runs `between` on its data directory (a CLI command, say) and
    /// starts a new server on the same directory.
    pub async fn restart(self, between: impl FnOnce(&std::path::Path)) -> TestServer {
        self.restart_with(between, |_| {}).await
    }

    /// [`TestServer::restart`] with `edit` applied to the new server's configuration.
    pub async fn restart_with(
        self,
        between: impl FnOnce(&std::path::Path),
        edit: impl FnOnce(&mut Config),
    ) -> TestServer {
        let TestServer {
            dir,
            mut shutdown,
            mut task,
            ..
        } = self;
        if let Some(tx) = shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
        between(&dir.path().join("data"));
        Self::start_in(dir, edit).await
    }

    async fn start_in(dir: tempfile::TempDir, edit: impl FnOnce(&mut Config)) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::for_tests(dir.path().join("data"));
        config.public_url = format!("http://{addr}");
        edit(&mut config);
        let app = App::build(config).await.unwrap();
        let state = app.state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run(listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            state,
            addr,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A hearing's evidence log entries as stored on disk.
    pub fn log_entries(&self, h: &str) -> Vec<Value> {
        let path = self
            .dir
            .path()
            .join("data/hearings")
            .join(h)
            .join("log/entries.jsonl");
        std::fs::read(path)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    /// A signed-in judge and a hearing of theirs, opened.
    pub async fn judge_with_open_hearing(&self) -> (Client, String) {
        let judge = self.staff("judge", StaffRole::Judge).await;
        let h = judge.hearing().await;
        judge.open(&h).await;
        (judge, h)
    }

    /// The judge's console socket for hearing `h`, and the judge's participant id.
    pub async fn console(&self, judge: &Client, h: &str) -> (ws::WsClient, String) {
        let j = ws::WsClient::connect(
            &self.ws_url(&format!("/ws/hearings/{h}")),
            judge.cookie.as_deref(),
        )
        .await;
        let id = j.wait_type("welcome").await["participant"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (j, id)
    }

    /// The console socket's answer to an upgrade with `cookie`: the HTTP status of a
    /// refused upgrade, or 101 when it was accepted.
    pub async fn console_status(&self, cookie: Option<&str>, h: &str) -> StatusCode {
        let req = peer::ws_request(&self.ws_url(&format!("/ws/hearings/{h}")), cookie);
        match tokio_tungstenite::connect_async(req).await {
            Ok((_ws, resp)) => resp.status(),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status(),
            Err(e) => panic!("console upgrade: {e}"),
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
    }

    /// Creates a staff account (in the default court) and signs it in.
    pub async fn staff(&self, username: &str, role: StaffRole) -> Client {
        self.staff_of(username, role, &CourtId::default_court())
            .await
    }

    /// Creates a staff account in the court named `court` (created if new), signs it in.
    pub async fn staff_in(&self, username: &str, role: StaffRole, court: &str) -> Client {
        let (c, _) = self.state.store.ensure_court(court, 0).await.unwrap();
        self.staff_of(username, role, &c.id).await
    }

    async fn staff_of(&self, username: &str, role: StaffRole, court: &CourtId) -> Client {
        let password = format!("{username}-password-long");
        let hash = sworn::http::auth::hash_password(&password).unwrap();
        self.state
            .store
            .create_user(
                &UserId::from_trusted(sworn::secrets::new_id()),
                username,
                role,
                &hash,
                court,
                0,
            )
            .await
            .unwrap();
        self.login(username, &password).await
    }

    /// Signs in an account that exists.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut c = self.anonymous();
        let (status, body, cookie) = c
            .raw(
                Method::POST,
                "/api/login",
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        c.cookie = cookie;
        c.csrf = body["csrf"].as_str().map(str::to_owned);
        c
    }

    pub fn anonymous(&self) -> Client {
        Client {
            state: self.state.clone(),
            cookie: None,
            csrf: None,
        }
    }
}

/// Calls the router directly (same state as the running server).
pub struct Client {
    pub state: Arc<AppState>,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(resp.into_body(), 4 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json, cookie)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = self.raw(method, path, body).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, path, Some(body)).await;
        assert!(s.is_success(), "POST {path}: {s} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(Method::GET, path, None).await;
        assert!(s.is_success(), "GET {path}: {s} {v}");
        v
    }

    /// GET with an optional `Range` header; returns status, headers and the raw body.
    pub async fn get_bytes(
        &self,
        path: &str,
        range: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(k) = &self.cookie {
            req = req.header(header::COOKIE, k);
        }
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let resp = router(self.state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (s, h) = (resp.status(), resp.headers().clone());
        let body = axum::body::to_bytes(resp.into_body(), 256 << 20)
            .await
            .unwrap()
            .to_vec();
        (s, h, body)
    }

    /// Makes an export of sealed hearing `h` (303 to it); returns its file name
    /// (`<export id>.zip`).
    pub async fn export_file(&self, h: &str) -> String {
        let (s, hd, _) = self
            .get_bytes(&format!("/api/portal/hearings/{h}/bundle.zip"), None)
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let location = hd.get(header::LOCATION).unwrap().to_str().unwrap();
        location.rsplit('/').next().unwrap().to_owned()
    }

    /// Schedules a hearing; returns its id.
    pub async fn hearing(&self) -> String {
        let h = self
            .post(
                "/api/hearings",
                json!({"case_ref": "CR-2026-001", "mla_ref": "MLA/77", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}),
            )
            .await;
        h["id"].as_str().unwrap().to_owned()
    }

    /// Opens the hearing (it is recorded from now on).
    pub async fn open(&self, h: &str) {
        self.post(&format!("/api/hearings/{h}/open"), json!({}))
            .await;
    }

    /// A court action on a participant: `admit`, `deny`, `mute`, `remove`,
    /// `approve-device`, `refuse-device`...
    pub async fn act(&self, h: &str, pid: &str, action: &str) -> Value {
        self.post(
            &format!("/api/hearings/{h}/participants/{pid}/{action}"),
            json!({}),
        )
        .await
    }

    /// Invites a participant; returns (participant id, token).
    pub async fn invite(&self, hearing: &str, name: &str, role: &str) -> (String, String) {
        let v = self
            .post(
                &format!("/api/hearings/{hearing}/participants"),
                json!({"display_name": name, "role": role}),
            )
            .await;
        let url = v["invite_url"].as_str().unwrap();
        let token = url.rsplit('/').next().unwrap().to_owned();
        (v["participant"]["id"].as_str().unwrap().to_owned(), token)
    }
}

impl TestServer {
    /// Waits until hearing `h` (closing or closed) is sealed; returns the bundle directory.
    pub async fn sealed(&self, h: &str) -> std::path::PathBuf {
        let handle = self
            .state
            .hearings
            .running(&sworn::domain::HearingId::parse(h).unwrap())
            .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if let Some(b) = handle.sealed().await.unwrap() {
                return b;
            }
            assert!(tokio::time::Instant::now() < deadline, "not sealed");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The judge closes hearing `h`; waits for the seal; returns the bundle directory.
    pub async fn close_and_seal(&self, judge: &Client, h: &str) -> std::path::PathBuf {
        judge
            .post(&format!("/api/hearings/{h}/close"), json!({}))
            .await;
        self.sealed(h).await
    }

    /// A hearing with one invited witness, opened, closed and sealed; returns its id.
    pub async fn sealed_hearing(&self, judge: &Client) -> String {
        let h = judge.hearing().await;
        judge.invite(&h, "Witness W", "witness").await;
        judge
            .post(&format!("/api/hearings/{h}/open"), json!({}))
            .await;
        self.close_and_seal(judge, &h).await;
        h
    }

    /// [`TestServer::sealed_hearing`], with retrieval granted to account `username`.
    pub async fn sealed_hearing_granted(&self, judge: &Client, username: &str) -> String {
        let h = self.sealed_hearing(judge).await;
        judge
            .post(
                &format!("/api/hearings/{h}/grants"),
                json!({"username": username}),
            )
            .await;
        h
    }
}

/// Copies a node's signing key and built-in TSA (`keys/`, `tsa/`) from one data
/// directory to another, as an operator does for every node of a cluster.
pub fn copy_signing_identity(from: &std::path::Path, to: &std::path::Path) {
    for d in ["keys", "tsa"] {
        std::fs::create_dir_all(to.join(d)).unwrap();
        for e in std::fs::read_dir(from.join(d)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(d).join(e.file_name())).unwrap();
            }
        }
    }
}

/// The cluster secret of the tests' in-process nodes.
pub const CLUSTER_SECRET: &[u8] = b"a cluster secret for the tests, 0123456789";

/// An in-process cluster node `id` on `db`, `edit` applied to its configuration;
/// `first`: the cluster's first node, whose public address and signing identity it
/// shares (`None`: it is the first).
pub async fn cluster_node(
    id: &str,
    db: &sworn::store::Database,
    first: Option<&TestServer>,
    edit: impl FnOnce(&mut Config),
) -> TestServer {
    let public = first.map(|f| f.state.config.public_url.clone());
    let keys = first.map(|f| f.dir.path().join("data"));
    TestServer::start_with(|c| {
        let own = c.public_url.clone();
        c.database = db.clone();
        c.cluster = Some(sworn::config::ClusterConfig {
            node_id: id.to_owned(),
            internal_url: own,
            secret: CLUSTER_SECRET.to_vec(),
        });
        if let Some(p) = public {
            c.public_url = p;
        }
        if let Some(k) = keys {
            copy_signing_identity(&k, &c.data_dir);
        }
        edit(c);
    })
    .await
}
