//! The pages and static files of `web/`, embedded in the binary.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use include_dir::{Dir, include_dir};

static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/web");

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// A page from `web/` by file name.
pub fn page(name: &str) -> Response {
    match WEB.get_file(name) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            f.contents(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, Html("not found")).into_response(),
    }
}

/// `GET /static/<path>`. Paths are looked up in the embedded tree only: nothing on
/// disk can be reached, whatever the path says.
pub async fn static_file(Path(path): Path<String>) -> Response {
    if path
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || path.ends_with(".html")
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match WEB.get_file(&path) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            f.contents(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A plain HTML page for a link that does not work (status from the error).
pub fn error_page(e: &ApiError) -> Response {
    let (title, advice) = match e {
        ApiError::InviteExpired => (
            "This link has expired",
            "Ask the court that invited you for a new link.",
        ),
        ApiError::InviteRevoked => (
            "This link was withdrawn",
            "Ask the court that invited you for a new link.",
        ),
        ApiError::HearingClosed => (
            "This hearing has ended",
            "Thank you. You can close this page.",
        ),
        ApiError::InviteInvalid | ApiError::NotFound => (
            "This link is not valid",
            "Check that you copied the whole link, or ask the court for a new one.",
        ),
        _ => ("Something went wrong", "Please try again in a moment."),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · sworn</title><link rel=\"stylesheet\" href=\"/static/css/app.css\"></head>\
         <body><main class=\"error-page\" id=\"main\"><h1>{t}</h1><p>{a}</p><p class=\"code\">{c}</p></main></body></html>",
        t = escape(title),
        a = escape(advice),
        c = e.code()
    );
    (
        e.status(),
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response()
}
