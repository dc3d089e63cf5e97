//! One registry host: choosing HTTPS or (for insecure hosts) plain HTTP, and the auth flow —
//! anonymous, Basic, and the bearer-token challenge (`WWW-Authenticate: Bearer realm=…`): fetch a
//! token for the request's scopes, retry, and stop with a clear error when a fresh token is
//! refused again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::WWW_AUTHENTICATE;

use crate::challenge::{self, Challenge};
use crate::credentials::Credentials;
use crate::error::{RegistryError, Result};
use crate::hosts::{HostSettings, api_host};

const USER_AGENT: &str = concat!("strata/", env!("CARGO_PKG_VERSION"));

/// What a request needs access to, in the token service's scope grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(pub String);

impl Scope {
    pub fn pull(repo: &str) -> Scope {
        Scope(format!("repository:{repo}:pull"))
    }
    pub fn push(repo: &str) -> Scope {
        Scope(format!("repository:{repo}:pull,push"))
    }
}

#[derive(Default)]
struct AuthState {
    /// The challenge the registry answered `/v2/` (or a later request) with.
    challenge: Option<Challenge>,
    /// Bearer tokens by the sorted, space-joined scopes they were issued for.
    tokens: HashMap<String, String>,
}

pub struct Registry {
    host: String,
    base: String,
    http: Client,
    credentials: Option<Credentials>,
    auth: Mutex<AuthState>,
    /// Bytes per `PATCH` of a chunked upload: what a broken connection can cost at most.
    chunk_size: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Connects to the registry serving reference domain `domain` and pings `/v2/`.
    pub fn connect(
        domain: &str,
        settings: &HostSettings,
        credentials: Option<Credentials>,
    ) -> Result<Registry> {
        let host = api_host(domain).to_owned();
        let insecure = settings.is_insecure(&host);
        let mut builder = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(None::<Duration>)
            .connect_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(8)
            .danger_accept_invalid_certs(insecure);
        for pem in settings.ca_certificates(&host)? {
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                RegistryError::Config(format!("invalid CA certificate for {host}: {e}"))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(pem) = settings.client_identity(&host)? {
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                RegistryError::Config(format!("invalid client certificate for {host}: {e}"))
            })?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Config(format!("building HTTP client: {e}")))?;
        let mut registry = Registry {
            host: host.clone(),
            base: format!("https://{host}"),
            http,
            credentials,
            auth: Mutex::new(AuthState::default()),
            chunk_size: crate::api::CHUNK_SIZE,
        };
        match registry.ping() {
            Ok(()) => Ok(registry),
            // Docker's fallback for insecure registries: HTTPS without verification, then HTTP.
            Err(RegistryError::Http { .. }) if insecure => {
                tracing::debug!(%host, "HTTPS failed, falling back to plain HTTP");
                registry.base = format!("http://{host}");
                registry.ping()?;
                Ok(registry)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the size of upload chunks ([`crate::CHUNK_SIZE`] by default; at least 1 byte).
    pub fn with_chunk_size(mut self, bytes: u64) -> Registry {
        self.chunk_size = bytes.max(1);
        self
    }

    pub(crate) fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// `GET /v2/`: records the auth challenge, if any. A 401 is expected, not an error.
    fn ping(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .map_err(|e| RegistryError::Http {
                method: "GET",
                url: url.clone(),
                source: e,
            })?;
        match resp.status() {
            StatusCode::UNAUTHORIZED => {
                let challenge = pick_challenge(&resp);
                self.lock_auth().challenge = challenge;
                Ok(())
            }
            s if s.is_success() => Ok(()),
            s => Err(status_error(
                resp,
                &format!("GET {url}: unexpected status {s}"),
            )),
        }
    }

    /// Checks credentials the way `docker login` does: `/v2/` must answer 200 with them.
    pub fn verify_login(&self) -> Result<()> {
        let resp = self.send("GET", &[], |c, base| c.get(format!("{base}/v2/")))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error(resp, "login"))
        }
    }

    fn lock_auth(&self) -> std::sync::MutexGuard<'_, AuthState> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a request built by `make` (called again for each retry, so bodies are rebuilt),
    /// authorizing it for `scopes`. Returns any non-401 response; the caller checks the status.
    pub fn send(
        &self,
        method: &'static str,
        scopes: &[Scope],
        make: impl Fn(&Client, &str) -> RequestBuilder,
    ) -> Result<Response> {
        let mut fresh_token = false;
        let mut sent_basic = false;
        for _ in 0..4 {
            let request = self.authorize(make(&self.http, &self.base), scopes, &mut sent_basic)?;
            let request = request.build().map_err(|e| RegistryError::Http {
                method,
                url: self.base.clone(),
                source: e,
            })?;
            let url = request.url().to_string();
            let resp = self
                .http
                .execute(request)
                .map_err(|e| RegistryError::Http {
                    method,
                    url: url.clone(),
                    source: e,
                })?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            let Some(challenge) = pick_challenge(&resp) else {
                return Err(RegistryError::Unauthorized);
            };
            match challenge.scheme.as_str() {
                "bearer" => {
                    if fresh_token {
                        if challenge.param("error") == Some("insufficient_scope")
                            || self.credentials.is_none()
                        {
                            return Err(RegistryError::Unauthorized);
                        }
                        return Err(RegistryError::AuthLoop(self.host.clone()));
                    }
                    let token = self.fetch_token(&challenge, scopes)?;
                    let mut state = self.lock_auth();
                    state.tokens.insert(scope_key(scopes), token);
                    state.challenge = Some(challenge);
                    fresh_token = true;
                }
                "basic" => {
                    if sent_basic || self.credentials.is_none() {
                        return Err(if self.credentials.is_some() {
                            RegistryError::BadCredentials
                        } else {
                            RegistryError::Unauthorized
                        });
                    }
                    self.lock_auth().challenge = Some(challenge);
                }
                other => {
                    return Err(RegistryError::Config(format!(
                        "unsupported authentication scheme {other:?} from {}",
                        self.host
                    )));
                }
            }
        }
        Err(RegistryError::AuthLoop(self.host.clone()))
    }

    fn authorize(
        &self,
        request: RequestBuilder,
        scopes: &[Scope],
        sent_basic: &mut bool,
    ) -> Result<RequestBuilder> {
        let challenge = self.lock_auth().challenge.clone();
        let Some(challenge) = challenge else {
            return Ok(request);
        };
        match challenge.scheme.as_str() {
            "basic" => match &self.credentials {
                Some(c) => {
                    *sent_basic = true;
                    Ok(request.basic_auth(&c.username, Some(&c.password)))
                }
                None => Ok(request),
            },
            "bearer" => {
                let key = scope_key(scopes);
                let cached = self.lock_auth().tokens.get(&key).cloned();
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let t = self.fetch_token(&challenge, scopes)?;
                        self.lock_auth().tokens.insert(key, t.clone());
                        t
                    }
                };
                Ok(request.bearer_auth(token))
            }
            _ => Ok(request),
        }
    }

    /// Asks the token service in the challenge's realm for a token covering `scopes` (and the
    /// scope the challenge named), with Basic credentials when we have them.
    fn fetch_token(&self, challenge: &Challenge, scopes: &[Scope]) -> Result<String> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| RegistryError::Token {
                realm: String::new(),
                message: "challenge without realm".into(),
            })?;
        let mut wanted: Vec<String> = scopes.iter().map(|s| s.0.clone()).collect();
        if let Some(s) = challenge.param("scope") {
            wanted.extend(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
        }
        wanted.sort();
        wanted.dedup();
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = challenge.param("service") {
            query.push(("service", service));
        }
        for s in &wanted {
            query.push(("scope", s));
        }
        if let Some(c) = &self.credentials {
            query.push(("account", &c.username));
        }
        let mut req = self.http.get(realm).query(&query);
        if let Some(c) = &self.credentials {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        tracing::debug!(realm, scopes = ?wanted, "fetching a bearer token");
        let resp = req.send().map_err(|e| RegistryError::Token {
            realm: realm.to_owned(),
            message: e.to_string(),
        })?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.credentials.is_some() => {
                return Err(RegistryError::BadCredentials);
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(RegistryError::Unauthorized);
            }
            s => {
                return Err(RegistryError::Token {
                    realm: realm.to_owned(),
                    message: format!("status {s}"),
                });
            }
        }
        let body: serde_json::Value = resp.json().map_err(|e| RegistryError::Token {
            realm: realm.to_owned(),
            message: format!("invalid answer: {e}"),
        })?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Token {
                realm: realm.to_owned(),
                message: "answer has no token".into(),
            })
    }

    /// Resolves a `Location` header against the registry's base URL.
    pub(crate) fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            format!("{}/{location}", self.base)
        }
    }
}

fn scope_key(scopes: &[Scope]) -> String {
    let mut v: Vec<&str> = scopes.iter().map(|s| s.0.as_str()).collect();
    v.sort();
    v.join(" ")
}

/// Prefers a Bearer challenge over Basic, as Docker does.
fn pick_challenge(resp: &Response) -> Option<Challenge> {
    let mut all: Vec<Challenge> = resp
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(challenge::parse)
        .collect();
    all.sort_by_key(|c| if c.scheme == "bearer" { 0 } else { 1 });
    all.into_iter()
        .find(|c| c.scheme == "bearer" || c.scheme == "basic")
}

/// An error for a non-success response, with the registry's OCI error message when present
/// (`manifest unknown: manifest unknown`, as Docker prints them).
pub(crate) fn status_error(resp: Response, context: &str) -> RegistryError {
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let message = registry_error_message(&text).unwrap_or_else(|| {
        let body = text.trim();
        if body.is_empty() || body.len() > 200 {
            format!("{context}: status {status}")
        } else {
            format!("{context}: status {status}: {body}")
        }
    });
    if status == 401 {
        return RegistryError::Unauthorized;
    }
    RegistryError::Status { status, message }
}

fn registry_error_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let first = v.get("errors")?.as_array()?.first()?;
    let code = first
        .get("code")
        .and_then(|c| c.as_str())
        .unwrap_or("UNKNOWN");
    let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("");
    Some(format!(
        "{}: {message}",
        code.to_lowercase().replace('_', " ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_read_like_docker() {
        let body =
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error_message(body).as_deref(),
            Some("manifest unknown: manifest unknown")
        );
        assert_eq!(registry_error_message("<html>"), None);
    }

    #[test]
    fn scope_keys_ignore_order() {
        assert_eq!(
            scope_key(&[Scope::pull("b"), Scope::push("a")]),
            scope_key(&[Scope::push("a"), Scope::pull("b")])
        );
    }
}
