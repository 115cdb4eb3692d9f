//! The API's HTTP server: JSON-RPC 2.0 at `POST /rpc`, new blocks at `GET /events` (server-sent
//! events), `GET /metrics`, and the explorer's files. Every route but the explorer's static files
//! needs the node's secret; only `POST` with `Content-Type: application/json` reaches a method.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use futures::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio_stream::wrappers::BroadcastStream;
use tracing::{debug, warn};

use crate::api::auth::{SESSION_COOKIE, Secret};
use crate::api::{ApiError, BlockSummary, ErrorObject, Phase, Reply, Request, Response, Status, explorer};
use crate::daemon::driver::Event;

/// Largest request body accepted, bytes.
pub const MAX_BODY: usize = 64 << 10;
/// Most connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// Longest a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where requests go: not yet a running node, or the node's event loop.
#[derive(Debug, Clone)]
pub enum Gate {
    /// The node is still starting; requests other than `status` are refused.
    Starting {
        /// What it is doing.
        phase: Phase,
        /// Its id, once known.
        id: Option<u32>,
    },
    /// The node runs: requests go to its event loop.
    Running(mpsc::UnboundedSender<Event>),
}

/// A gate shared between the node and its API server.
pub type SharedGate = Arc<Mutex<Gate>>;

/// Sets the gate's starting phase.
pub fn set_phase(gate: &SharedGate, phase: Phase, id: Option<u32>) {
    if let Ok(mut g) = gate.lock() {
        *g = Gate::Starting { phase, id };
    }
}

/// What the server needs: where requests go, the secret, and the feed of committed blocks.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Where requests go.
    pub gate: SharedGate,
    /// What a request must carry.
    pub secret: Secret,
    /// Committed blocks, for `/events`.
    pub blocks: broadcast::Sender<BlockSummary>,
}

/// Asks the node (or answers for it while it starts).
pub async fn answer(gate: &SharedGate, request: Request) -> Response {
    let target = match gate.lock() {
        Ok(g) => g.clone(),
        Err(_) => return Err(ApiError::ShuttingDown),
    };
    match target {
        Gate::Starting { phase, id } => match request {
            Request::Status {} => Ok(Reply::Status(Box::new(Status { phase, id, ..Status::default() }))),
            _ => Err(ApiError::NotReady { phase }),
        },
        Gate::Running(events) => {
            let (reply, rx) = oneshot::channel();
            if events.send(Event::Api { request, reply }).is_err() {
                return Err(ApiError::ShuttingDown);
            }
            rx.await.unwrap_or(Err(ApiError::ShuttingDown))
        }
    }
}

/// How a request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The secret in `Authorization`: every method.
    Full,
    /// The explorer's session cookie: methods that change nothing.
    ReadOnly,
}

fn access(state: &ApiState, headers: &HeaderMap) -> Option<Access> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if text(header::AUTHORIZATION).is_some_and(|h| state.secret.authorizes(h)) {
        return Some(Access::Full);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| state.secret.in_cookies(c))
        .then_some(Access::ReadOnly)
}

fn unauthorized() -> HttpResponse {
    let mut r =
        (StatusCode::UNAUTHORIZED, "this node's API needs its cookie or password (see docs/API.md)\n").into_response();
    // Bearer, not Basic: a Basic challenge makes a browser pop up a password dialog over the
    // explorer's own sign-in (clients that use Basic send it unasked, as `curl -u` does).
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"blockchat\""));
    r
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn rpc_error(id: Value, error: ApiError) -> HttpResponse {
    axum::Json(json!({ "jsonrpc": "2.0", "error": ErrorObject::from(error), "id": id })).into_response()
}

/// Reads a JSON-RPC 2.0 call: its id (absent for a notification) and its request, or the id to
/// answer with and why the call is not valid.
pub fn parse_call(body: &[u8]) -> Result<(Option<Value>, Request), (Value, ApiError)> {
    let call: Value =
        serde_json::from_slice(body).map_err(|e| (Value::Null, ApiError::Parse { detail: e.to_string() }))?;
    let invalid = |detail: &str| ApiError::InvalidRequest { detail: detail.to_string() };
    let Value::Object(mut call) = call else {
        return Err((Value::Null, invalid("expected one call object (batches are not supported)")));
    };
    let id = call.remove("id");
    let reply_id = id.clone().unwrap_or(Value::Null);
    if !matches!(reply_id, Value::Null | Value::Number(_) | Value::String(_)) {
        return Err((Value::Null, invalid("id must be a number, a string or null")));
    }
    if call.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((reply_id, invalid("\"jsonrpc\" must be \"2.0\"")));
    }
    let Some(method) = call.get("method").and_then(Value::as_str).map(str::to_string) else {
        return Err((reply_id, invalid("\"method\" must be a string")));
    };
    match Request::parse(&method, call.remove("params")) {
        Ok(request) => Ok((id, request)),
        Err(e) => Err((reply_id, e)),
    }
}

async fn rpc(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    let Some(access) = access(&state, &headers) else { return unauthorized() };
    if !is_json(&headers) {
        // A form or a text body is what a hostile web page can send without a preflight.
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send JSON-RPC with Content-Type: application/json\n")
            .into_response();
    }
    let (id, request) = match parse_call(&body) {
        Ok(call) => call,
        Err((id, e)) => return rpc_error(id, e),
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    let method = request.method();
    if request.changes_state() && access != Access::Full {
        return rpc_error(reply_id, ApiError::ReadOnly { method });
    }
    debug!(%method, "api call");
    let response = answer(&state.gate, request).await;
    if id.is_none() {
        // A notification: carried out, not answered.
        return StatusCode::NO_CONTENT.into_response();
    }
    match response {
        Ok(reply) => axum::Json(json!({ "jsonrpc": "2.0", "result": reply, "id": reply_id })).into_response(),
        Err(e) => rpc_error(reply_id, e),
    }
}

async fn events(State(state): State<ApiState>, headers: HeaderMap) -> HttpResponse {
    if access(&state, &headers).is_none() {
        return unauthorized();
    }
    let stream = BroadcastStream::new(state.blocks.subscribe()).filter_map(|b| async move {
        // A subscriber too slow to keep up skips blocks rather than holding the node back.
        let b = b.ok()?;
        let data = serde_json::to_string(&b).ok()?;
        Some(Ok::<_, Infallible>(SseEvent::default().event("block").id(b.height.to_string()).data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

async fn metrics(State(state): State<ApiState>, headers: HeaderMap) -> HttpResponse {
    if access(&state, &headers).is_none() {
        return unauthorized();
    }
    match answer(&state.gate, Request::Metrics).await {
        Ok(Reply::Metrics(m)) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], m.to_prometheus()).into_response()
        }
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// `POST /session {"password": …}`: the explorer's login; sets a same-site, script-proof cookie.
async fn session(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !is_json(&headers) {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let offered = serde_json::from_slice::<Value>(&body).ok();
    let password = offered.as_ref().and_then(|v| v.get("password")).and_then(Value::as_str).unwrap_or("");
    if !state.secret.matches(password) {
        return (StatusCode::UNAUTHORIZED, "wrong password\n").into_response();
    }
    let cookie = format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", state.secret.expose());
    match HeaderValue::from_str(&cookie) {
        Ok(v) => (StatusCode::NO_CONTENT, [(header::SET_COOKIE, v)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/rpc", post(rpc))
        .route("/events", get(events))
        .route("/metrics", get(metrics))
        .route("/session", post(session))
        .merge(explorer::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves the API on `listener` until the process ends: at most [`MAX_CONNECTIONS`] at once,
/// headers within [`HEADER_TIMEOUT`].
pub async fn serve(listener: TcpListener, state: ApiState) {
    let app = router(state);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (stream, from): (_, SocketAddr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file handles, say: wait rather than spin.
                warn!("api: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                debug!(%from, "api connection ended: {e}");
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_read_or_answered_with_the_right_id_and_code() {
        type Parsed = Result<(Option<Value>, Request), (Value, i64)>;
        let cases: &[(&str, Parsed)] = &[
            (r#"{"jsonrpc":"2.0","method":"status","id":7}"#, Ok((Some(json!(7)), Request::Status {}))),
            (r#"{"jsonrpc":"2.0","method":"ledger"}"#, Ok((None, Request::Ledger {}))),
            (r#"{"jsonrpc":"2.0","method":"status","id":[1]}"#, Err((Value::Null, -32600))),
            (r#"{"jsonrpc":"2.0","method":7,"id":"a"}"#, Err((json!("a"), -32600))),
            (r#"{"method":"status","id":1}"#, Err((json!(1), -32600))),
            (r#"[]"#, Err((Value::Null, -32600))),
            (r#"{"#, Err((Value::Null, -32700))),
            (r#"{"jsonrpc":"2.0","method":"nope","id":2}"#, Err((json!(2), -32601))),
            (r#"{"jsonrpc":"2.0","method":"mempool","params":{"limit":-1},"id":3}"#, Err((json!(3), -32602))),
        ];
        for (body, want) in cases {
            let got = parse_call(body.as_bytes()).map_err(|(id, e)| (id, e.code()));
            assert_eq!(&got, want, "{body}");
        }
    }
}
