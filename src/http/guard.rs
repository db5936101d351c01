//! Request guards that do not depend on who is signed in: the client's address (for
//! limits), the `Origin` check on cross-origin-sensitive GETs (WebSocket upgrades, the
//! bundle export), a deadline on request bodies, `Cache-Control: no-store` on API
//! responses.
//!
//! Must never: log an address or a header value; trust a client-address header the
//! configuration did not name.

use super::AppState;
use super::error::ApiError;
use super::throttle::ClientKey;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The client's address for rate limits: the TCP peer, or with
/// `server.client_address_header` the right-most entry of that header (the one the
/// proxy in front added). Requests without either (in-process tests) share the
/// unspecified address.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub ClientKey);

impl FromRequestParts<Arc<AppState>> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(&state.config, &parts.headers, &parts.extensions);
        Ok(ClientAddr(ClientKey::of(ip)))
    }
}

/// The client's address (see [`ClientAddr`]); on a request another node of the cluster
/// forwarded (and signed), the address that node saw.
pub fn client_ip(
    config: &crate::config::Config,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> IpAddr {
    if let Some(f) = extensions.get::<crate::cluster::ForwardedClient>() {
        return f.0;
    }
    let from_header = config
        .client_address_header
        .as_deref()
        .and_then(|name| forwarded_ip(headers, name));
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    from_header
        .or(peer)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The right-most address in the last `name` header (`X-Forwarded-For: a, b` or a
/// single address, with or without a port).
fn forwarded_ip(headers: &HeaderMap, name: &str) -> Option<IpAddr> {
    let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let entry = last.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Whether an `Origin` header is required on this route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginRule {
    /// WebSocket upgrades: browsers always send `Origin`, so a request without one is
    /// from a program, which must name our origin too.
    Required,
    /// A GET with side effects reached by a link: browsers send no `Origin` on a
    /// same-origin navigation, so only a foreign one (or a `Sec-Fetch-Site` saying
    /// the request came from another site) is refused.
    IfPresent,
}

/// Refuses (403 `origin_mismatch`) a request whose `Origin` is not the server's own
/// (`server.public_url`), or that lacks one where `rule` requires it.
pub fn check_origin(
    state: &AppState,
    headers: &HeaderMap,
    rule: OriginRule,
) -> Result<(), ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or(""));
    let ok = match origin {
        Some(o) => o.eq_ignore_ascii_case(&state.config.public_origin()),
        None => rule == OriginRule::IfPresent,
    };
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("same-origin");
    if ok && matches!(site, "same-origin" | "none") {
        Ok(())
    } else {
        tracing::info!("request refused: foreign or missing origin");
        Err(ApiError::OriginMismatch)
    }
}

/// `Cache-Control: no-store` on every API, WebSocket and WHIP response: they carry
/// CSRF tokens, session cookies, invite details or TURN credentials, none of which
/// may stay in a cache.
pub async fn no_store(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = ["/api/", "/ws/", "/whip"]
        .iter()
        .any(|p| path.starts_with(p));
    let mut resp = next.run(req).await;
    if api {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A request body (every one is small: the router's limit is 256 KiB) must arrive
/// whole within `server.body_timeout_secs`; a slow one gets 408 `request_timeout`.
pub async fn body_deadline(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limit = super::MAX_BODY_BYTES + 1;
    let read = tokio::time::timeout(
        state.config.http.body_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await;
    match read {
        Err(_) => ApiError::RequestTimeout.into_response(),
        Ok(Err(_)) => ApiError::TooLarge.into_response(),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_most_forwarded_address_counts() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        assert_eq!(
            forwarded_ip(&h, "x-forwarded-for"),
            Some("198.51.100.7".parse().unwrap())
        );
        h.insert("x-real-ip", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(
            forwarded_ip(&h, "x-real-ip"),
            Some("2001:db8::1".parse().unwrap())
        );
        h.insert("x-bad", "unknown".parse().unwrap());
        assert_eq!(forwarded_ip(&h, "x-bad"), None);
        assert_eq!(forwarded_ip(&h, "x-missing"), None);
    }
}
