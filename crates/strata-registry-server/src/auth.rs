//! Authentication and authorization: htpasswd (bcrypt) users, per-repository rules, and either
//! HTTP Basic on every request or the bearer-token flow Docker uses
//! (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then `GET /token`).
//!
//! Tokens are `base64url(claims).base64url(HMAC-SHA256(claims))`, checked by this server only.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::{AccessRule, Action, AuthConfig, TokenConfig};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading htpasswd file {path}: {source}")]
    Htpasswd {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("htpasswd line {line}: only bcrypt hashes are supported")]
    NotBcrypt { line: usize },
    #[error("auth config needs an htpasswd section")]
    NoUsers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User(String),
}

impl Identity {
    pub fn name(&self) -> &str {
        match self {
            Identity::Anonymous => "",
            Identity::User(u) => u,
        }
    }
}

/// What one token grants: `{"type":"repository","name":"a/b","actions":["pull"]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: i64,
    access: Vec<Grant>,
}

pub struct TokenIssuer {
    pub realm: Option<String>,
    pub service: String,
    key: Vec<u8>,
    ttl: u64,
}

pub struct Auth {
    users: HashMap<String, String>,
    pub realm: String,
    pub token: Option<TokenIssuer>,
    rules: Vec<AccessRule>,
    /// sha256("user:password") of credentials already verified, so bcrypt runs once per login.
    verified: Mutex<HashSet<[u8; 32]>>,
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

/// Basic credentials that are malformed or do not match the htpasswd file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("incorrect username or password")]
pub struct BadCredentials;

impl Auth {
    pub fn from_config(cfg: &AuthConfig) -> Result<Auth, AuthError> {
        let ht = cfg.htpasswd.as_ref().ok_or(AuthError::NoUsers)?;
        let text = std::fs::read_to_string(&ht.path).map_err(|source| AuthError::Htpasswd {
            path: ht.path.display().to_string(),
            source,
        })?;
        let users = parse_htpasswd(&text)?;
        let token = cfg.token.as_ref().map(TokenIssuer::new);
        Ok(Auth {
            users,
            realm: ht.realm.clone(),
            token,
            rules: cfg.access.clone(),
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Check `user:password`; Some(identity) when valid.
    pub fn verify_password(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key: [u8; 32] = Sha256::digest(format!("{user}:{password}:{hash}")).into();
        if self
            .verified
            .lock()
            .map(|v| v.contains(&key))
            .unwrap_or(false)
        {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok && let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        ok
    }

    /// Identity from an `Authorization: Basic …` header value. Err when credentials are wrong.
    pub fn basic_identity(&self, header: Option<&str>) -> Result<Identity, BadCredentials> {
        let Some(h) = header else {
            return Ok(Identity::Anonymous);
        };
        let Some(b64) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        else {
            return Err(BadCredentials);
        };
        let decoded = STANDARD.decode(b64.trim()).map_err(|_| BadCredentials)?;
        let text = String::from_utf8(decoded).map_err(|_| BadCredentials)?;
        let (user, pass) = text.split_once(':').ok_or(BadCredentials)?;
        if self.verify_password(user, pass) {
            Ok(Identity::User(user.to_owned()))
        } else {
            Err(BadCredentials)
        }
    }

    /// The actions an identity may perform on a repository.
    pub fn permitted(&self, who: &Identity, repo: &str) -> HashSet<Action> {
        if self.rules.is_empty() {
            return match who {
                Identity::User(_) => [Action::Pull, Action::Push, Action::Delete].into(),
                Identity::Anonymous => HashSet::new(),
            };
        }
        let mut out = HashSet::new();
        for rule in &self.rules {
            let user_matches = rule.users.iter().any(|u| match who {
                Identity::Anonymous => u == "anonymous",
                Identity::User(name) => u == "*" || u == name,
            });
            if user_matches && glob(&rule.repository, repo) {
                out.extend(rule.actions.iter().copied());
            }
        }
        out
    }

    pub fn anonymous_has_any_access(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.users.iter().any(|u| u == "anonymous"))
    }
}

fn parse_htpasswd(text: &str) -> Result<HashMap<String, String>, AuthError> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            return Err(AuthError::NotBcrypt { line: i + 1 });
        };
        if !hash.starts_with("$2") {
            return Err(AuthError::NotBcrypt { line: i + 1 });
        }
        users.insert(user.to_owned(), hash.to_owned());
    }
    Ok(users)
}

type HmacSha256 = Hmac<Sha256>;

impl TokenIssuer {
    fn new(cfg: &TokenConfig) -> TokenIssuer {
        let key = match &cfg.secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                use rand::RngCore;
                let mut k = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut k);
                k
            }
        };
        TokenIssuer {
            realm: cfg.realm.clone(),
            service: cfg.service.clone(),
            key,
            ttl: cfg.expiration_seconds,
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    pub fn issue(&self, who: &Identity, access: Vec<Grant>) -> String {
        let claims = Claims {
            sub: who.name().to_owned(),
            iss: self.service.clone(),
            aud: self.service.clone(),
            exp: chrono::Utc::now().timestamp() + self.ttl as i64,
            access,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let sig = URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()));
        format!("{payload}.{sig}")
    }

    /// The subject and grants of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<(Identity, Vec<Grant>)> {
        let (payload, sig) = token.split_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        if claims.exp < chrono::Utc::now().timestamp() || claims.aud != self.service {
            return None;
        }
        let who = if claims.sub.is_empty() {
            Identity::Anonymous
        } else {
            Identity::User(claims.sub)
        };
        Some((who, claims.access))
    }
}

/// Parse a `scope` parameter: `repository:name:pull,push` (the name may contain `:` when it has
/// a registry port, so the actions are after the last colon).
pub fn parse_scope(scope: &str) -> Option<Grant> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some(Grant {
        kind: kind.to_owned(),
        name: name.to_owned(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Does a token's grant list allow `action` on `repo`?
pub fn grants_allow(grants: &[Grant], repo: &str, action: Action) -> bool {
    grants.iter().any(|g| {
        g.kind == "repository"
            && g.name == repo
            && g.actions.iter().any(|a| a == action.as_str() || a == "*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HtpasswdConfig;

    fn auth_with(rules: Vec<AccessRule>, token: bool) -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let hash = bcrypt::hash("secret", 4).unwrap();
        std::fs::write(&path, format!("alice:{hash}\nbob:{hash}\n")).unwrap();
        let cfg = AuthConfig {
            htpasswd: Some(HtpasswdConfig {
                path,
                realm: "r".into(),
            }),
            token: token.then(TokenConfig::default),
            access: rules,
        };
        (dir, Auth::from_config(&cfg).unwrap())
    }

    #[test]
    fn basic_credentials() {
        let (_d, a) = auth_with(vec![], false);
        let good = format!("Basic {}", STANDARD.encode("alice:secret"));
        let bad = format!("Basic {}", STANDARD.encode("alice:nope"));
        assert_eq!(
            a.basic_identity(Some(&good)),
            Ok(Identity::User("alice".into()))
        );
        assert_eq!(
            a.basic_identity(Some(&good)),
            Ok(Identity::User("alice".into()))
        );
        assert!(a.basic_identity(Some(&bad)).is_err());
        assert_eq!(a.basic_identity(None), Ok(Identity::Anonymous));
    }

    #[test]
    fn rules_grant_per_repository() {
        let rules = vec![
            AccessRule {
                repository: "public/*".into(),
                users: vec!["anonymous".into(), "*".into()],
                actions: vec![Action::Pull],
            },
            AccessRule {
                repository: "*".into(),
                users: vec!["alice".into()],
                actions: vec![Action::Pull, Action::Push, Action::Delete],
            },
        ];
        let (_d, a) = auth_with(rules, false);
        let bob = Identity::User("bob".into());
        assert!(
            a.permitted(&Identity::Anonymous, "public/x")
                .contains(&Action::Pull)
        );
        assert!(a.permitted(&Identity::Anonymous, "private").is_empty());
        assert!(!a.permitted(&bob, "public/x").contains(&Action::Push));
        assert!(
            a.permitted(&Identity::User("alice".into()), "private")
                .contains(&Action::Delete)
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let (_d, a) = auth_with(vec![], true);
        let t = a.token.as_ref().unwrap();
        let grant = parse_scope("repository:a/b:pull,push").unwrap();
        let tok = t.issue(&Identity::User("alice".into()), vec![grant.clone()]);
        let (who, grants) = t.verify(&tok).unwrap();
        assert_eq!(who, Identity::User("alice".into()));
        assert!(grants_allow(&grants, "a/b", Action::Push));
        assert!(!grants_allow(&grants, "a/b", Action::Delete));
        let mut forged = tok.clone();
        forged.insert(3, 'x');
        assert!(t.verify(&forged).is_none());
    }

    #[test]
    fn glob_matches() {
        assert!(glob("*", "a/b"));
        assert!(glob("lib/*", "lib/x/y"));
        assert!(!glob("lib/*", "other"));
        assert!(glob("a*c", "abbc"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn scopes_with_ports_parse() {
        let g = parse_scope("repository:localhost:5000/x:pull").unwrap();
        assert_eq!(g.name, "localhost:5000/x");
        assert_eq!(g.actions, vec!["pull"]);
        assert!(parse_scope("nonsense").is_none());
    }
}
