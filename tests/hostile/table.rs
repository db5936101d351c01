//! The hostile HTTP requests, built in loops from the route table (`ROUTES`, which must
//! list every `.route(` of `src/http/mod.rs`): wrong methods, missing and garbage
//! credentials, forged CSRF, bad path parameters, bad JSON bodies and content types,
//! oversized bodies, bad Range headers, hostile WHIP offers, refused WebSocket upgrades.

use super::raw::Req;
use serde_json::{Value, json};

/// Who a route is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A staff session cookie (and CSRF on writes).
    Staff,
    /// A prosecutor's session with a grant on the sealed hearing.
    Portal,
    /// An invitation token in the path.
    Invite,
    /// An invitation token as WHIP bearer.
    Bearer,
    Public,
}

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub auth: Auth,
}

const fn r(method: &'static str, path: &'static str, auth: Auth) -> Route {
    Route { method, path, auth }
}

use Auth::*;

/// Every route × method of `router()`.
pub const ROUTES: &[Route] = &[
    r("POST", "/api/setup", Public),
    r("POST", "/api/login", Public),
    r("POST", "/api/logout", Staff),
    r("GET", "/api/me", Staff),
    r("POST", "/api/me/password", Staff),
    r("POST", "/api/hearings", Staff),
    r("GET", "/api/hearings", Staff),
    r("GET", "/api/hearings/{id}", Staff),
    r("GET", "/api/countries", Public),
    r("POST", "/api/hearings/{id}/open", Staff),
    r("POST", "/api/hearings/{id}/close", Staff),
    r("POST", "/api/hearings/{id}/participants", Staff),
    r(
        "POST",
        "/api/hearings/{id}/participants/{pid}/invite",
        Staff,
    ),
    r(
        "POST",
        "/api/hearings/{id}/participants/{pid}/revoke",
        Staff,
    ),
    r(
        "POST",
        "/api/hearings/{id}/participants/{pid}/{action}",
        Staff,
    ),
    r("POST", "/api/hearings/{id}/grants", Staff),
    r("GET", "/api/hearings/{id}/grants", Staff),
    r("POST", "/api/hearings/{id}/grants/{gid}/revoke", Staff),
    r("GET", "/api/portal/hearings", Portal),
    r("GET", "/api/portal/hearings/{id}", Portal),
    r("GET", "/api/portal/hearings/{id}/minutes", Portal),
    r("GET", "/api/portal/hearings/{id}/quality.svg", Portal),
    r("GET", "/api/portal/hearings/{id}/bundle.zip", Portal),
    r("GET", "/api/portal/hearings/{id}/exports/{file}", Portal),
    r("GET", "/api/portal/hearings/{id}/files/{*path}", Portal),
    r("GET", "/api/join/{token}", Invite),
    r("GET", "/.well-known/sworn/server-key", Public),
    r("GET", "/.well-known/sworn/key-history.json", Public),
    r("GET", "/ws/join/{token}", Invite),
    r("GET", "/ws/hearings/{id}", Staff),
    r("POST", "/whip", Bearer),
    r("DELETE", "/whip/{id}", Bearer),
    r("GET", "/", Public),
    r("GET", "/signin", Public),
    r("GET", "/setup/{token}", Public),
    r("GET", "/console", Public),
    r("GET", "/console/hearings/{id}", Public),
    r("GET", "/portal", Public),
    r("GET", "/portal/hearings/{id}", Public),
    r("GET", "/verify", Public),
    r("GET", "/join/{token}", Invite),
    r("GET", "/static/{*path}", Public),
];

/// The paths `src/http/mod.rs` routes (the text after each `.route(`).
pub fn routed_paths(source: &str) -> Vec<String> {
    source
        .split(".route(")
        .skip(1)
        .filter_map(|s| s.split('"').nth(1).map(str::to_owned))
        .collect()
}

/// Real values the requests start from (one parameter at a time goes bad).
pub struct Fixture {
    /// `sworn_session=…` of the judge, and their CSRF token.
    pub judge_cookie: String,
    pub judge_csrf: String,
    pub pros_cookie: String,
    /// An open hearing, an invited participant of it and their token.
    pub hearing: String,
    pub participant: String,
    pub token: String,
    /// A token for WHIP offers (a participant of the same hearing).
    pub whip_token: String,
    /// A sealed hearing the prosecutor may retrieve, and an export of it (`<id>.zip`).
    pub sealed: String,
    pub export: String,
    /// The server's own origin (`http://127.0.0.1:<port>`), to vary.
    pub origin: String,
}

impl Fixture {
    fn value(&self, route: &Route, param: &str) -> String {
        let portal = route.auth == Portal;
        match param {
            "id" if route.path.starts_with("/whip") => "0".repeat(32),
            "id" if portal || route.path.starts_with("/portal") => self.sealed.clone(),
            "id" => self.hearing.clone(),
            "pid" => self.participant.clone(),
            "gid" => "0".repeat(32),
            "token" => self.token.clone(),
            "file" => self.export.clone(),
            "action" => "mute".into(),
            "*path" if portal => "media/none.webm".into(),
            "*path" => "css/app.css".into(),
            other => panic!("no value for {{{other}}}"),
        }
    }

    /// The route's path with `bad` in place of parameter `which` (None: all real).
    fn target(&self, route: &Route, which: Option<&str>, bad: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for seg in route.path.split('/').skip(1) {
            out.push(b'/');
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(p) if Some(p) == which => out.extend_from_slice(bad),
                Some(p) => out.extend_from_slice(self.value(route, p).as_bytes()),
                None => out.extend_from_slice(seg.as_bytes()),
            }
        }
        out
    }

    /// The route requested as its rightful user would (cookie, CSRF, bearer).
    fn rightful(&self, route: &Route, target: Vec<u8>) -> Req {
        let req = Req::new(route.method, target);
        match route.auth {
            Staff => req
                .header("Cookie", self.judge_cookie.as_str())
                .header("x-csrf-token", self.judge_csrf.as_str()),
            Portal => req.header("Cookie", self.pros_cookie.as_str()),
            Bearer => req.header("Authorization", format!("Bearer {}", self.whip_token)),
            Invite | Public => req,
        }
    }
}

/// Methods a route's path does not have.
fn wrong_methods(route: &Route) -> Vec<&'static str> {
    [
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW", "CONNECT",
    ]
    .into_iter()
    .filter(|m| {
        !ROUTES
            .iter()
            .any(|r| r.path == route.path && r.method == *m)
    })
    .collect()
}

/// Path parameter values no route should accept.
pub fn bad_params() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "..",
        "%2e%2e",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fCargo.toml",
        "%00",
        "a%00b",
        "%ff%fe%fd",
        "%E2%80%AE",
        "%25",
        "0",
        "-1",
        "ABCDEF0123456789ABCDEF0123456789",
        "0123456789abcdef0123456789abcdef0",
        "'%20OR%201=1--",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a/b/c",
        "~root",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push("x".repeat(10 * 1024).into_bytes());
    v.push(b"nul\0byte".to_vec());
    v.push(vec![0xff, 0xfe, b'a']);
    v.push("é".as_bytes().to_vec());
    v
}

pub fn requests(f: &Fixture) -> Vec<Req> {
    let mut out = Vec::new();
    for route in ROUTES {
        let real = f.target(route, None, b"");
        // Wrong methods, with the rightful credentials.
        for m in wrong_methods(route) {
            let mut req = f.rightful(route, real.clone());
            req.method = m.into();
            out.push(req);
        }
        // Every parameter bad, one at a time.
        let params: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for p in &params {
            for bad in bad_params() {
                out.push(f.rightful(route, f.target(route, Some(p), &bad)));
            }
        }
        out.extend(credentials(f, route, &real));
    }
    out.extend(json_bodies(f));
    out.extend(ranges(f));
    out.extend(whip(f));
    out.extend(upgrades(f));
    out
}

/// Missing, garbage and half-valid credentials.
fn credentials(f: &Fixture, route: &Route, real: &[u8]) -> Vec<Req> {
    let req = || Req::new(route.method, real.to_vec());
    let mut out = vec![];
    match route.auth {
        Staff | Portal => {
            let cookie = if route.auth == Staff {
                &f.judge_cookie
            } else {
                &f.pros_cookie
            };
            out.push(req());
            for garbage in [
                b"sworn_session=".to_vec(),
                b"sworn_session=garbage".to_vec(),
                format!("sworn_session={}", "A".repeat(8 * 1024)).into_bytes(),
                b"sworn_session=../../etc/passwd; sworn_session=x".to_vec(),
                vec![b's', b'=', 0xff, 0xfe],
                format!("{cookie}x").into_bytes(),
            ] {
                out.push(req().header("Cookie", garbage));
            }
            if route.method != "GET" {
                out.push(req().header("Cookie", cookie.as_str()));
                for forged in [
                    b"forged".to_vec(),
                    vec![],
                    "c".repeat(8192).into_bytes(),
                    vec![0xff],
                ] {
                    out.push(
                        req()
                            .header("Cookie", cookie.as_str())
                            .header("x-csrf-token", forged),
                    );
                }
                // The judge's cookie with the prosecutor's (valid shape, wrong) token.
                out.push(
                    req()
                        .header("Cookie", cookie.as_str())
                        .header("x-csrf-token", f.judge_csrf.to_uppercase()),
                );
            }
        }
        Bearer => {
            for auth in [
                b"".to_vec(),
                b"Bearer".to_vec(),
                b"Bearer ".to_vec(),
                b"Bearer garbage".to_vec(),
                format!("Basic {}", f.whip_token).into_bytes(),
                format!("bearer {}", f.whip_token).into_bytes(),
                format!("Bearer {}", "A".repeat(8192)).into_bytes(),
                vec![b'B', b'e', b'a', b'r', b'e', b'r', b' ', 0xff],
            ] {
                out.push(
                    req()
                        .header("Authorization", auth)
                        .header("Content-Type", "application/sdp")
                        .body("v=0\r\n"),
                );
            }
        }
        Invite | Public => {}
    }
    out
}

/// A valid body for each JSON route (the routes with a body), to mutate.
fn json_routes(f: &Fixture) -> Vec<(String, Value)> {
    let h = &f.hearing;
    vec![
        (
            "/api/setup".into(),
            json!({"token": "A".repeat(43), "username": "newjudge", "password": "a-long-enough-password"}),
        ),
        (
            "/api/login".into(),
            json!({"username": "nobody", "password": "wrong-password"}),
        ),
        (
            "/api/me/password".into(),
            json!({"current_password": "wrong-password", "new_password": "short"}),
        ),
        (
            "/api/hearings".into(),
            json!({"case_ref": "CR-1", "mla_ref": "MLA/1", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}),
        ),
        (
            format!("/api/hearings/{h}/participants"),
            json!({"display_name": "X", "role": "witness"}),
        ),
        (
            format!("/api/hearings/{h}/grants"),
            json!({"username": "nobody"}),
        ),
    ]
}

fn json_bodies(f: &Fixture) -> Vec<Req> {
    let mut out = vec![];
    for (path, valid) in json_routes(f) {
        let post = |ct: Option<&str>, body: Vec<u8>| {
            let mut r = Req::new("POST", path.clone())
                .header("Cookie", f.judge_cookie.as_str())
                .header("x-csrf-token", f.judge_csrf.as_str())
                .body(body);
            if let Some(ct) = ct {
                r = r.header("Content-Type", ct);
            }
            r
        };
        let json = Some("application/json");
        let text = valid.to_string();
        let first = valid.as_object().unwrap().keys().next().unwrap().clone();
        let mut bodies: Vec<Vec<u8>> = vec![
            b"not json".to_vec(),
            b"".to_vec(),
            b"null".to_vec(),
            b"[]".to_vec(),
            b"1".to_vec(),
            b"\"x\"".to_vec(),
            text.as_bytes()[..text.len() / 2].to_vec(),
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            format!(
                "{{\"{first}\":{}1{}}}",
                "{\"a\":".repeat(10_000),
                "}".repeat(10_000)
            )
            .into_bytes(),
            format!("{{\"{first}\":\"{}\"}}", "x".repeat(200_000)).into_bytes(),
            text.replacen('{', "{\"unknown_field\":1,", 1).into_bytes(),
            text.replacen('{', &format!("{{\"{first}\":\"dup\","), 1)
                .into_bytes(),
            format!("\u{feff}{text}").into_bytes(),
            text.replacen('{', "{\"x\":\"\u{0}\",", 1).into_bytes(),
            [b"{\"", first.as_bytes(), b"\":\"\xff\xfe\"}"].concat(),
            format!("{text}{text}").into_bytes(),
        ];
        for (k, _) in valid.as_object().unwrap() {
            for wrong in [
                json!(123),
                json!(null),
                json!([]),
                json!({}),
                json!(true),
                json!("\u{202e}\n\t"),
            ] {
                let mut v = valid.clone();
                v[k] = wrong;
                bodies.push(v.to_string().into_bytes());
            }
        }
        for b in bodies {
            out.push(post(json, b));
        }
        // Over the body limit (256 KiB).
        out.push(post(
            json,
            format!("{{\"{first}\":\"{}\"}}", "x".repeat(300 * 1024)).into_bytes(),
        ));
        out.push(post(json, vec![b'{'; 2 << 20]));
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("application/json; charset=utf-16"),
        ] {
            let body = if ct == Some("application/json; charset=utf-16") {
                text.encode_utf16().flat_map(u16::to_le_bytes).collect()
            } else {
                text.clone().into_bytes()
            };
            out.push(post(ct, body));
        }
    }
    out
}

/// Bad `Range` headers on the portal's file and export routes.
fn ranges(f: &Fixture) -> Vec<Req> {
    let s = &f.sealed;
    let mut out = vec![];
    let targets = [
        format!("/api/portal/hearings/{s}/exports/{}", f.export),
        format!("/api/portal/hearings/{s}/files/media/none.webm"),
    ];
    let mut values: Vec<Vec<u8>> = [
        "bytes=",
        "bytes=abc",
        "bytes=-",
        "bytes=1-0",
        "bytes=--1",
        "bytes=-0",
        "bytes=0--1",
        "bytes=18446744073709551615-",
        "bytes=0-18446744073709551616",
        "bytes=-99999999999999999999",
        "bytes=18446744073709551615-18446744073709551615",
        "bytes=0-1,2-3",
        "items=0-1",
        "bytes 0-1",
        "bytes= 0 - 1 ",
        "bytes=1-1-1",
        "BYTES=0-1",
        "bytes=9999999999-",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    values.push(format!("bytes={}", "0-1,".repeat(2000)).into_bytes());
    values.push(vec![b'b', b'y', b't', b'e', b's', b'=', 0xff, b'-']);
    for t in &targets {
        for v in &values {
            out.push(
                Req::new("GET", t.as_str())
                    .header("Cookie", f.pros_cookie.as_str())
                    .header("Range", v.clone()),
            );
        }
    }
    out
}

/// WHIP offers: garbage SDP, 1000 media sections, not UTF-8, wrong content types, too
/// large; with the rightful bearer.
fn whip(f: &Fixture) -> Vec<Req> {
    let bearer = format!("Bearer {}", f.whip_token);
    let post = |ct: Option<&str>, body: Vec<u8>| {
        let r = Req::new("POST", "/whip")
            .header("Authorization", bearer.as_str())
            .body(body);
        match ct {
            Some(ct) => r.header("Content-Type", ct),
            None => r,
        }
    };
    let sdp = Some("application/sdp");
    let mline = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
    let mut out = vec![];
    for body in [
        b"garbage".to_vec(),
        b"".to_vec(),
        b"v=0".to_vec(),
        b"v=0\r\n".to_vec(),
        b"v=0\r\nm=\r\n".to_vec(),
        b"v=0\r\no=- 1 1 IN IP4 0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n".to_vec(),
        format!("v=0\r\n{}", mline.repeat(1000)).into_bytes(),
        [b"v=0\r\n".as_slice(), &[0xff, 0xfe, 0x00, 0x80]].concat(),
        format!("v=0\r\n{}", "a=x\r\n".repeat(14_000)).into_bytes(),
        format!("v=0\r\n{}", "a".repeat(300 * 1024)).into_bytes(),
        "v=0\r\n\u{0}\u{1}\u{202e}".as_bytes().to_vec(),
    ] {
        out.push(post(sdp, body));
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("application/sdpx; x"),
        Some("APPLICATION/SDP"),
    ] {
        out.push(post(ct, b"v=0\r\n".to_vec()));
    }
    for id in bad_params() {
        out.push(
            Req::new("DELETE", [b"/whip/".as_slice(), &id].concat())
                .header("Authorization", bearer.as_str()),
        );
    }
    out
}

/// WebSocket upgrades a page elsewhere (or a broken client) would make: refused.
fn upgrades(f: &Fixture) -> Vec<Req> {
    let mut out = vec![];
    for (path, cookie) in [
        (
            format!("/ws/hearings/{}", f.hearing),
            Some(f.judge_cookie.as_str()),
        ),
        (format!("/ws/join/{}", f.token), None),
    ] {
        let up = |origin: Option<&[u8]>, version: &str, key: bool| {
            let mut r = Req::new("GET", path.as_str())
                .header("Upgrade", "websocket")
                .header("Connection", "Upgrade")
                .header("Sec-WebSocket-Version", version);
            if key {
                r = r.header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
            }
            if let Some(o) = origin {
                r = r.header("Origin", o.to_vec());
            }
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            r
        };
        let own = f.origin.as_bytes();
        for origin in [
            None,
            Some(b"http://evil.example".as_slice()),
            Some(b"null".as_slice()),
            Some(b"".as_slice()),
            Some(&[0xff, 0xfe][..]),
        ] {
            out.push(up(origin, "13", true));
        }
        let slash = [own, b"/"].concat();
        let sub = [b"http://sub.".as_slice(), &own[7..]].concat();
        out.push(up(Some(&slash), "13", true));
        out.push(up(Some(&sub), "13", true));
        out.push(up(Some(own), "13", true).header("Sec-Fetch-Site", "cross-site"));
        out.push(up(Some(own), "12", true));
        out.push(up(Some(own), "13", false));
        let mut post = up(Some(own), "13", true);
        post.method = "POST".into();
        out.push(post);
    }
    out
}
