//! Docker's client configuration (`~/.docker/config.json`, or `$DOCKER_CONFIG/config.json`):
//! `auths` with base64 `user:password`, and `credsStore` / `credHelpers` naming
//! `docker-credential-<helper>` programs. Unknown fields are kept when the file is rewritten,
//! so docker and strata share one file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value as Json};

use crate::error::{RegistryError, Result};
use crate::hosts::DOCKER_HUB_INDEX;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

// Never let a password reach a log line through `{:?}`.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The key under which credentials for a reference domain are stored, as Docker spells it.
pub fn server_key(domain: &str) -> String {
    match domain {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_INDEX.to_owned(),
        other => other.to_owned(),
    }
}

/// Docker's `ConvertToHostname`: `https://host:5000/v1/` → `host:5000`.
pub fn hostname_of(server: &str) -> &str {
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    s.split('/').next().unwrap_or(s)
}

pub struct DockerConfig {
    path: PathBuf,
    doc: Map<String, Json>,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_path() -> PathBuf {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("config.json");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".docker/config.json")
    }

    pub fn load_default() -> Result<DockerConfig> {
        Self::load(&Self::default_path())
    }

    pub fn load(path: &Path) -> Result<DockerConfig> {
        let doc = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Json::Object(m)) => m,
                Ok(_) => {
                    return Err(RegistryError::Config(format!(
                        "{}: not a JSON object",
                        path.display()
                    )));
                }
                Err(e) => {
                    return Err(RegistryError::Config(format!(
                        "loading config file {}: {e}",
                        path.display()
                    )));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(RegistryError::Io {
                    context: "reading config file",
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        Ok(DockerConfig {
            path: path.to_path_buf(),
            doc,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The helper that holds credentials for `server`, if any: `credHelpers` by hostname, then
    /// `credsStore`.
    pub fn helper_for(&self, server: &str) -> Option<String> {
        let host = hostname_of(server);
        let specific = self
            .doc
            .get("credHelpers")
            .and_then(|h| h.get(host).or_else(|| h.get(server)))
            .and_then(Json::as_str);
        specific
            .or_else(|| self.doc.get("credsStore").and_then(Json::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn auths(&self) -> Option<&Map<String, Json>> {
        self.doc.get("auths").and_then(Json::as_object)
    }

    /// The `auths` key that matches `server` exactly or by hostname.
    fn auth_key(&self, server: &str) -> Option<String> {
        let auths = self.auths()?;
        if auths.contains_key(server) {
            return Some(server.to_owned());
        }
        let host = hostname_of(server);
        auths.keys().find(|k| hostname_of(k) == host).cloned()
    }

    pub fn get(&self, server: &str) -> Result<Option<Credentials>> {
        if let Some(helper) = self.helper_for(server) {
            return helper_get(&helper, server);
        }
        let Some(key) = self.auth_key(server) else {
            return Ok(None);
        };
        let entry = &self
            .auths()
            .and_then(|a| a.get(&key))
            .cloned()
            .unwrap_or(Json::Null);
        if let Some(auth) = entry
            .get("auth")
            .and_then(Json::as_str)
            .filter(|a| !a.is_empty())
        {
            let decoded = BASE64.decode(auth).map_err(|_| {
                RegistryError::Config(format!("invalid auth for {key} in {}", self.path.display()))
            })?;
            let text = String::from_utf8(decoded)
                .map_err(|_| RegistryError::Config(format!("invalid auth for {key}")))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| RegistryError::Config(format!("invalid auth for {key}: no ':'")))?;
            return Ok(Some(Credentials {
                username: user.to_owned(),
                password: pass.trim_end_matches('\n').to_owned(),
            }));
        }
        let user = entry.get("username").and_then(Json::as_str);
        let pass = entry.get("password").and_then(Json::as_str);
        Ok(match (user, pass) {
            (Some(u), Some(p)) => Some(Credentials {
                username: u.to_owned(),
                password: p.to_owned(),
            }),
            _ => None,
        })
    }

    /// Stores credentials (through the helper when one is configured) and writes the file.
    pub fn store(&mut self, server: &str, creds: &Credentials) -> Result<()> {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Json::Object(Map::new()));
        if !auths.is_object() {
            *auths = Json::Object(Map::new());
        }
        let helper = self.helper_for(server);
        let entry = match &helper {
            Some(h) => {
                helper_store(h, server, creds)?;
                Json::Object(Map::new())
            }
            None => {
                let auth = BASE64.encode(format!("{}:{}", creds.username, creds.password));
                serde_json::json!({ "auth": auth })
            }
        };
        if let Some(map) = self.doc.get_mut("auths").and_then(Json::as_object_mut) {
            map.insert(server.to_owned(), entry);
        }
        self.save()
    }

    /// Removes credentials for `server`. Returns false when there were none.
    pub fn erase(&mut self, server: &str) -> Result<bool> {
        let key = self.auth_key(server);
        let mut found = false;
        if let Some(helper) = self.helper_for(server) {
            found = helper_erase(&helper, server)?;
        }
        if let (Some(key), Some(map)) =
            (key, self.doc.get_mut("auths").and_then(Json::as_object_mut))
        {
            found |= map.remove(&key).is_some();
        }
        if found {
            self.save()?;
        }
        Ok(found)
    }

    fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(RegistryError::io("creating config directory", dir))?;
        let text = serde_json::to_string_pretty(&Json::Object(self.doc.clone()))
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(RegistryError::io("writing config file", dir))?;
        // Credentials inside: readable by the owner only, as docker writes it.
        tmp.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(RegistryError::io("writing config file", dir))?;
        tmp.write_all(text.as_bytes())
            .map_err(RegistryError::io("writing config file", &self.path))?;
        tmp.as_file()
            .sync_all()
            .map_err(RegistryError::io("writing config file", &self.path))?;
        tmp.persist(&self.path).map_err(|e| RegistryError::Io {
            context: "writing config file",
            path: self.path.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Every server with stored credentials (for `login` without a server when only one exists).
    pub fn servers(&self) -> Vec<String> {
        self.auths()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn run_helper(helper: &str, action: &str, input: &str) -> Result<(bool, String)> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            message: format!("{program} {action}: {e}"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok((out.status.success(), text))
}

fn helper_get(helper: &str, server: &str) -> Result<Option<Credentials>> {
    let (ok, text) = run_helper(helper, "get", server)?;
    if !ok {
        // The helper protocol's "not found" answer.
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            message: format!("get failed: {text}"),
        });
    }
    let v: Json = serde_json::from_str(&text).map_err(|e| RegistryError::CredentialHelper {
        helper: helper.to_owned(),
        message: format!("invalid answer: {e}"),
    })?;
    let user = v.get("Username").and_then(Json::as_str).unwrap_or_default();
    let secret = v.get("Secret").and_then(Json::as_str).unwrap_or_default();
    if user.is_empty() && secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: user.to_owned(),
        password: secret.to_owned(),
    }))
}

fn helper_store(helper: &str, server: &str, creds: &Credentials) -> Result<()> {
    let input = serde_json::json!({ "ServerURL": server, "Username": creds.username, "Secret": creds.password }).to_string();
    let (ok, text) = run_helper(helper, "store", &input)?;
    if !ok {
        return Err(RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            message: format!("store failed: {text}"),
        });
    }
    Ok(())
}

fn helper_erase(helper: &str, server: &str) -> Result<bool> {
    let (ok, text) = run_helper(helper, "erase", server)?;
    if !ok && !text.contains("credentials not found") {
        return Err(RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            message: format!("erase failed: {text}"),
        });
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_reads_and_erases_auths_keeping_other_fields() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"other:1":{"auth":"eDp5"}},"psFormat":"table {{.ID}}"}"#,
        )
        .expect("write");
        let mut c = DockerConfig::load(&path).expect("load");
        let creds = Credentials {
            username: "alice".into(),
            password: "s3:cret".into(),
        };
        c.store("localhost:5000", &creds).expect("store");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("YWxpY2U6czM6Y3JldA=="), "{text}");
        assert!(text.contains("psFormat"));
        let c = DockerConfig::load(&path).expect("reload");
        assert_eq!(c.get("localhost:5000").expect("get"), Some(creds.clone()));
        assert_eq!(
            c.get("http://localhost:5000/").expect("get by url"),
            Some(creds)
        );
        assert_eq!(
            c.get("other:1").expect("get").map(|c| c.username),
            Some("x".into())
        );
        let mut c = c;
        assert!(c.erase("localhost:5000").expect("erase"));
        assert!(!c.erase("localhost:5000").expect("erase again"));
        assert_eq!(
            DockerConfig::load(&path)
                .expect("load")
                .get("localhost:5000")
                .expect("get"),
            None
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn helpers_are_chosen_per_host_then_globally() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}"#,
        )
        .expect("write");
        let c = DockerConfig::load(&path).expect("load");
        assert_eq!(c.helper_for("gcr.io").as_deref(), Some("gcloud"));
        assert_eq!(
            c.helper_for("https://gcr.io/v2/").as_deref(),
            Some("gcloud")
        );
        assert_eq!(c.helper_for("localhost:5000").as_deref(), Some("desktop"));
    }

    #[test]
    fn docker_hub_uses_the_index_key() {
        assert_eq!(server_key("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(
            hostname_of("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(server_key("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
