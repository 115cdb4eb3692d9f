//! The block explorer: one page and its script and style, embedded in the binary and served
//! without authentication (they hold no data; the script asks the API with the session cookie).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::api::server::ApiState;

const PAGE: &str = include_str!("explorer/index.html");
const SCRIPT: &str = include_str!("explorer/explorer.js");
const STYLE: &str = include_str!("explorer/explorer.css");

/// A strict policy: the page runs only its own script and talks only to its own node.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn file(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The explorer's routes: `/`, `/explorer.js`, `/explorer.css`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| async { file("text/html; charset=utf-8", PAGE) }))
        .route("/explorer.js", get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/explorer.css", get(|| async { file("text/css; charset=utf-8", STYLE) }))
}
