//! A blocking API client, for `blockchat client`, `blockchat attach`, the prompt, the cluster
//! runner and tests.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::auth::{ADDR_FILE, AuthError, COOKIE_FILE, Secret};
use crate::api::{BlockSummary, ErrorObject, Request, Response};

/// Largest answer read, bytes.
const MAX_ANSWER: u64 = 64 << 20;

/// Why a call got no answer from the node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The data dir does not say where the node's API is.
    #[error("{path}: {error} (is a node running with this data dir?)")]
    NoEndpoint {
        /// The file read.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The cookie file could not be read.
    #[error(transparent)]
    Secret(#[from] AuthError),
    /// No HTTP answer.
    #[error("cannot reach the node at {url}: {detail}")]
    Unreachable {
        /// Where.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The node refused the secret.
    #[error("the node at {url} refused the credentials (wrong cookie or password)")]
    Unauthorized {
        /// Where.
        url: String,
    },
    /// An HTTP error other than a JSON-RPC answer.
    #[error("the node at {url} answered HTTP {status}: {body}")]
    Http {
        /// Where.
        url: String,
        /// The status code.
        status: u16,
        /// The answer's text.
        body: String,
    },
    /// An answer that is not the method's.
    #[error("the node's answer does not fit {method}: {detail}")]
    BadAnswer {
        /// The method called.
        method: String,
        /// What did not fit.
        detail: String,
    },
}

/// Where a node's API is and the secret it wants.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, `http://host:port`.
    pub url: String,
    /// The cookie's secret or the configured password.
    pub secret: Secret,
}

impl Endpoint {
    /// `addr` as `host:port` or `http://host:port`.
    pub fn new(addr: &str, secret: Secret) -> Endpoint {
        let addr = addr.trim().trim_end_matches('/');
        let url = if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        Endpoint { url, secret }
    }

    /// The endpoint of the node whose data dir is `dir` (its `api.addr` and `.cookie`).
    pub fn from_data_dir(dir: &Path) -> Result<Endpoint, ClientError> {
        let path = dir.join(ADDR_FILE);
        let addr = std::fs::read_to_string(&path).map_err(|error| ClientError::NoEndpoint { path, error })?;
        Ok(Endpoint::new(&addr, Secret::read_cookie(&dir.join(COOKIE_FILE))?))
    }
}

/// A connection to one node's API.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    next_id: u64,
}

impl Client {
    /// A client for `endpoint`, giving up on a call after `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        Client { agent: agent.into(), endpoint, next_id: 1 }
    }

    /// The node's base URL.
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    /// Calls one method: the node's answer (a result or its typed error), or why there was none.
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        let url = format!("{}/rpc", self.endpoint.url);
        let method = request.method();
        let params = serde_json::to_value(request).ok().and_then(|v| v.get("params").cloned());
        let body = json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": self.next_id });
        self.next_id += 1;
        let unreachable = |e: ureq::Error| ClientError::Unreachable { url: url.clone(), detail: e.to_string() };
        let mut answer = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.endpoint.secret.expose()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(unreachable)?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().with_config().limit(MAX_ANSWER).read_to_string().map_err(unreachable)?;
        match status {
            200 => {}
            401 => return Err(ClientError::Unauthorized { url }),
            _ => return Err(ClientError::Http { url, status, body: text.trim().to_string() }),
        }
        let bad = |detail: String| ClientError::BadAnswer { method: method.clone(), detail };
        let mut envelope: serde_json::Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| bad(format!("{e}: {text}")))?;
        if let Some(error) = envelope.remove("error") {
            let error: ErrorObject = serde_json::from_value(error).map_err(|e| bad(e.to_string()))?;
            return Ok(Err(error.data));
        }
        let result = envelope.remove("result").ok_or_else(|| bad("no result and no error".to_string()))?;
        request.reply_from(result).map(Ok).map_err(|e| bad(e.to_string()))
    }

    /// Follows committed blocks (`GET /events`) until the node closes the stream.
    pub fn follow(&self) -> Result<Blocks, ClientError> {
        let url = format!("{}/events", self.endpoint.url);
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let answer = agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.endpoint.secret.expose()))
            .call()
            .map_err(|e| ClientError::Unreachable { url: url.clone(), detail: e.to_string() })?;
        match answer.status().as_u16() {
            200 => Ok(Blocks { lines: BufReader::new(Box::new(answer.into_body().into_reader())) }),
            401 => Err(ClientError::Unauthorized { url }),
            status => Err(ClientError::Http { url, status, body: String::new() }),
        }
    }
}

/// Committed blocks as the node announces them.
pub struct Blocks {
    lines: BufReader<Box<dyn Read + Send>>,
}

impl std::fmt::Debug for Blocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blocks")
    }
}

impl Iterator for Blocks {
    type Item = BlockSummary;

    /// The next block; `None` when the stream ends.
    fn next(&mut self) -> Option<BlockSummary> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.lines.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if let Some(data) = line.trim_end().strip_prefix("data:")
                && let Ok(block) = serde_json::from_str(data.trim())
            {
                return Some(block);
            }
        }
    }
}

/// Connects, asks once and returns the answer.
pub fn ask(endpoint: &Endpoint, request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    Client::new(endpoint.clone(), timeout).call(request)
}
