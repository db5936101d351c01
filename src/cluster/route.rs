//! The cluster's request router (an axum middleware, outermost): a request about one
//! hearing goes to the node that runs it, whichever node the browser reached.
//!
//! About a hearing: `/api/hearings/{id}/…`, `/ws/hearings/{id}`,
//! `/api/portal/hearings/{id}/…` (its files are on its node's disk), `/ws/join/{token}`
//! and `POST /whip` (the invite token's hearing), `DELETE /whip/{node}.{id}` (the WHIP
//! resource names its node). Everything else (sign-in, lists, scheduling, join pages,
//! static files) is answered by any node from the shared database.
//!
//! A hearing not yet placed is placed by the first such request (`Store::place_hearing`:
//! the live node with the fewest open hearings). A request signed by another node
//! (`sign`) is handled here whatever the placement says: it is never forwarded twice.

use super::sign::{AUTH_HEADER, CLIENT_HEADER, verify};
use super::{Cluster, ForwardedClient, LIVE_WITHIN};
use crate::domain::HearingId;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::secrets::{hash_token, now_unix, token_shape_ok};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// What a request is about.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Hearing(&'a str),
    Token(&'a str),
    /// A WHIP resource, by the node that made it.
    WhipNode(&'a str),
}

fn target<'a>(method: &Method, path: &'a str, bearer: Option<&'a str>) -> Option<Target<'a>> {
    let mut s = path.strip_prefix('/')?.split('/');
    let first = (s.next()?, s.next());
    match first {
        ("api", Some("hearings")) => s.next().filter(|id| !id.is_empty()).map(Target::Hearing),
        ("ws", Some("hearings")) => s.next().map(Target::Hearing),
        ("api", Some("portal")) => match (s.next(), s.next()) {
            (Some("hearings"), Some(id)) if !id.is_empty() => Some(Target::Hearing(id)),
            _ => None,
        },
        ("ws", Some("join")) => s.next().map(Target::Token),
        ("whip", None) if method == Method::POST => bearer.map(Target::Token),
        ("whip", Some(id)) => id.split_once('.').map(|(node, _)| Target::WhipNode(node)),
        _ => None,
    }
}

/// Where a request is answered.
enum Route {
    Here,
    /// Another live node, at this internal URL.
    There(String),
}

async fn hearing_route(state: &AppState, c: &Cluster, id: &str) -> Result<Route, ApiError> {
    let Some(id) = HearingId::parse(id) else {
        return Ok(Route::Here); // not an id: the handler answers 404
    };
    let this = c.config.node_id.as_str();
    match state.store.place_hearing(&id, this, LIVE_WITHIN).await? {
        None => Ok(Route::Here),
        // Moved off a dead node and not restored by its new node yet: ask again in a
        // moment (a node restores what moved onto it at its next heartbeat).
        Some(p) if p.moving => Err(ApiError::NodeUnavailable),
        Some(p) if p.node.id == this => Ok(Route::Here),
        Some(p) if p.node.live => Ok(Route::There(p.node.internal_url)),
        // A dead node's open hearings are moved by the heartbeats; a closed one is
        // taken over when it is asked for (`failover`): ask again in a moment.
        Some(_) => {
            // Only one whose sealed bundle is in the bucket (`bundle.zip` is archived
            // last): anything else waits for its node.
            let archived = state.blobs.is_remote()
                && matches!(
                    state
                        .blobs
                        .len(&state.paths.hearing(&id).bundle_zip())
                        .await,
                    Ok(Some(_))
                );
            if archived && state.store.claim_closed(&id, this, LIVE_WITHIN).await? {
                tracing::warn!(hearing = %id, "closed hearing of a node that stopped answering: taken over here from object storage");
            }
            Err(ApiError::NodeUnavailable)
        }
    }
}

async fn route_of(state: &AppState, c: &Cluster, t: Target<'_>) -> Result<Route, ApiError> {
    match t {
        Target::Hearing(id) => hearing_route(state, c, id).await,
        Target::Token(token) => {
            if !token_shape_ok(token) {
                return Ok(Route::Here);
            }
            match state.store.participant_by_token(&hash_token(token)).await? {
                Some(p) => hearing_route(state, c, p.hearing_id.as_str()).await,
                None => Ok(Route::Here),
            }
        }
        Target::WhipNode(node) if node == c.config.node_id => Ok(Route::Here),
        Target::WhipNode(node) => {
            let nodes = state.store.nodes(LIVE_WITHIN).await?;
            match nodes.into_iter().find(|n| n.id == node) {
                Some(n) if n.live => Ok(Route::There(n.internal_url)),
                Some(_) => Err(ApiError::NodeUnavailable),
                None => Ok(Route::Here), // no such node: the handler answers 404
            }
        }
    }
}

/// The middleware (installed by `http::router` when `[cluster]` is set).
pub async fn route(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let Some(c) = state.cluster.clone() else {
        return next.run(req).await;
    };
    let now = now_unix();
    if let Some(sig) = req.headers().get(AUTH_HEADER) {
        let client = req
            .headers()
            .get(CLIENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let signed = sig.to_str().ok().and_then(|sig| {
            verify(
                &c.config.secret,
                sig,
                now,
                req.method().as_str(),
                path,
                client,
            )
            .ok()
        });
        let addr = client.parse::<IpAddr>().ok();
        return match (signed, addr) {
            (Some(_), Some(addr)) => {
                req.headers_mut().remove(AUTH_HEADER);
                req.headers_mut().remove(CLIENT_HEADER);
                req.extensions_mut().insert(ForwardedClient(addr));
                next.run(req).await
            }
            _ => ApiError::ClusterAuth.into_response(),
        };
    }
    req.headers_mut().remove(CLIENT_HEADER);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let path = req.uri().path().to_owned();
    let Some(t) = target(req.method(), &path, bearer.as_deref()) else {
        return next.run(req).await;
    };
    match route_of(&state, &c, t).await {
        Ok(Route::Here) => next.run(req).await,
        Ok(Route::There(url)) => {
            let client =
                crate::http::guard::client_ip(&state.config, req.headers(), req.extensions());
            c.forwarder
                .forward(req, &url, &c.config.node_id, &c.config.secret, client, now)
                .await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_about_a_hearing_are_told_apart() {
        let g = Method::GET;
        let p = Method::POST;
        let d = Method::DELETE;
        assert_eq!(
            target(&g, "/api/hearings/abc", None),
            Some(Target::Hearing("abc"))
        );
        assert_eq!(
            target(&p, "/api/hearings/abc/open", None),
            Some(Target::Hearing("abc"))
        );
        assert_eq!(
            target(&g, "/ws/hearings/abc", None),
            Some(Target::Hearing("abc"))
        );
        assert_eq!(
            target(&g, "/api/portal/hearings/abc/files/media/x.webm", None),
            Some(Target::Hearing("abc"))
        );
        assert_eq!(target(&g, "/ws/join/tok", None), Some(Target::Token("tok")));
        assert_eq!(target(&p, "/whip", Some("tok")), Some(Target::Token("tok")));
        assert_eq!(
            target(&d, "/whip/node-b.0123", None),
            Some(Target::WhipNode("node-b"))
        );
        for (m, path) in [
            (&g, "/api/hearings"),
            (&p, "/api/hearings"),
            (&g, "/api/hearings/"),
            (&g, "/api/portal/hearings"),
            (&g, "/api/join/tok"),
            (&g, "/join/tok"),
            (&g, "/console/hearings/abc"),
            (&p, "/whip"),
            (&d, "/whip/0123"),
            (&g, "/"),
            (&g, ""),
        ] {
            assert_eq!(target(m, path, None), None, "{m} {path}");
        }
    }
}
