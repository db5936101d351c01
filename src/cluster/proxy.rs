//! Forwarding a request to the node that runs its hearing, as it came: method, path,
//! headers (the browser's `Host`, `Origin` and cookies included: every node has the same
//! public address and shares sessions through the database), body streamed both ways.
//! A WebSocket upgrade is forwarded as such: once the hearing's node answers 101, the
//! two upgraded connections are joined byte for byte until either side closes, so the
//! browser speaks to the hearing's node through this one.

use super::sign::{AUTH_HEADER, CLIENT_HEADER, sign};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::IpAddr;
use std::time::Duration;

/// How long connecting to another node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers that describe one hop and are never forwarded (RFC 9110 §7.6.1), except
/// `connection` and `upgrade` on an upgrade.
const HOP_BY_HOP: [header::HeaderName; 6] = [
    header::CONNECTION,
    header::UPGRADE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::PROXY_AUTHORIZATION,
];

/// The HTTP client to the other nodes (plain HTTP/1.1 on their private network).
#[derive(Clone)]
pub struct Forwarder {
    client: Client<HttpConnector, Body>,
}

impl Default for Forwarder {
    fn default() -> Forwarder {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Forwarder {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    for h in HOP_BY_HOP {
        if upgrade && (h == header::CONNECTION || h == header::UPGRADE) {
            continue;
        }
        headers.remove(h);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

impl Forwarder {
    /// Sends `req` to the node at `base` (`http://host:port`), signed as from `node`
    /// with `secret`, for the client at `client`. The node's answer comes back as it
    /// is; an unreachable node is 503 `node_unavailable`.
    pub async fn forward(
        &self,
        mut req: Request,
        base: &str,
        node: &str,
        secret: &[u8],
        client: IpAddr,
        now: i64,
    ) -> Response {
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let Ok(uri) = format!("{base}{path}").parse::<Uri>() else {
            return crate::http::error::ApiError::NodeUnavailable.into_response();
        };
        let upgrade = is_upgrade(req.headers());
        let on_upgrade = if upgrade {
            req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>()
        } else {
            None
        };
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers, upgrade);
        let client = client.to_string();
        let signature = sign(secret, node, now, parts.method.as_str(), &path, &client);
        let (Ok(sig), Ok(addr)) = (
            HeaderValue::from_str(&signature),
            HeaderValue::from_str(&client),
        ) else {
            return crate::http::error::ApiError::NodeUnavailable.into_response();
        };
        parts.headers.insert(AUTH_HEADER, sig);
        parts.headers.insert(CLIENT_HEADER, addr);
        let mut out = Request::from_parts(parts, body);
        *out.uri_mut() = uri;
        *out.version_mut() = Version::HTTP_11;
        let mut resp = match self.client.request(out).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the hearing's node did not answer a forwarded request");
                return crate::http::error::ApiError::NodeUnavailable.into_response();
            }
        };
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(browser) = on_upgrade else {
                return crate::http::error::ApiError::NodeUnavailable.into_response();
            };
            let node_side = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                let (Ok(browser), Ok(node_side)) = tokio::join!(browser, node_side) else {
                    return;
                };
                let mut a = TokioIo::new(browser);
                let mut b = TokioIo::new(node_side);
                // Ends when either side closes; an error is a dropped connection, which
                // both ends see as such.
                let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
            });
        }
        let (mut parts, body) = resp.into_parts();
        let upgraded = parts.status == StatusCode::SWITCHING_PROTOCOLS;
        strip_hop_by_hop(&mut parts.headers, upgraded);
        Response::from_parts(parts, Body::new(body))
    }
}
