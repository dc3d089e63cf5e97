//! The YAML configuration file. Every field has a default, so an empty file is a valid config;
//! command-line flags override what the file says.
//!
//! ```yaml
//! listen: 127.0.0.1:5000
//! log_level: info
//! read_only: false
//! delete_enabled: true
//! storage:                 # or just `storage: filesystem`
//!   driver: filesystem     # or s3, with bucket, prefix, region, endpoint, access_key, secret_key
//!   root: /var/lib/strata/registry
//! limits:
//!   max_manifest_bytes: 4194304
//!   max_blob_bytes: 10737418240    # optional; unlimited when absent
//!   max_concurrent_requests: 1024  # optional; over it clients get 429 TOOMANYREQUESTS
//! tls:
//!   cert: /etc/strata/registry.crt
//!   key: /etc/strata/registry.key
//! auth:
//!   htpasswd: { path: /etc/strata/htpasswd, realm: strata-registry }
//!   token: { realm: https://registry.example/token, service: strata-registry, secret: "…" }
//!   access:
//!     - { repository: "library/*", users: ["*", "anonymous"], actions: [pull] }
//!     - { repository: "*", users: [alice], actions: [pull, push, delete] }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading registry config {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing registry config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("storage driver \"s3\" needs a bucket (storage: {{driver: s3, bucket: …}})")]
    S3NeedsBucket,
    #[error("unknown storage driver {0:?}; use \"filesystem\" or \"s3\"")]
    UnknownDriver(String),
    #[error("invalid registry config: {0}")]
    Invalid(String),
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub listen: Option<String>,
    /// Applied by `strata registry serve` unless `--log-level` or `--debug` is given.
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub delete_enabled: bool,
    #[serde(default)]
    pub storage: Option<StorageField>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub auth: Option<AuthConfig>,
}

/// The levels `tracing` knows; anything else in the file is a parse error that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StorageField {
    Driver(String),
    Detailed(StorageConfig),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default = "default_driver")]
    pub driver: String,
    #[serde(default)]
    pub root: Option<PathBuf>,
    #[serde(default)]
    pub bucket: Option<String>,
    /// S3 only: every key goes under this path (distribution's `rootdirectory`), so several
    /// registries can share one bucket.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible endpoint URL (Garage, MinIO, …); AWS when unset.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
}

fn default_driver() -> String {
    "filesystem".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_max_manifest")]
    pub max_manifest_bytes: u64,
    #[serde(default)]
    pub max_blob_bytes: Option<u64>,
    #[serde(default)]
    pub max_concurrent_requests: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            max_blob_bytes: None,
            max_concurrent_requests: None,
        }
    }
}

fn default_max_manifest() -> u64 {
    DEFAULT_MAX_MANIFEST_BYTES
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub htpasswd: Option<HtpasswdConfig>,
    #[serde(default)]
    pub token: Option<TokenConfig>,
    /// Who may do what; with no rules every authenticated user may do everything.
    #[serde(default)]
    pub access: Vec<AccessRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtpasswdConfig {
    pub path: PathBuf,
    #[serde(default = "default_realm")]
    pub realm: String,
}

fn default_realm() -> String {
    "strata-registry".to_owned()
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The token endpoint URL sent in challenges; default: this server's `/token`.
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default = "default_realm")]
    pub service: String,
    /// HMAC key for tokens; replicas behind one load balancer must share it. Random if unset.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "default_expiration")]
    pub expiration_seconds: u64,
}

fn default_expiration() -> u64 {
    300
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// A repository name, or a pattern where `*` matches any run of characters.
    pub repository: String,
    /// User names; `*` is any authenticated user, `anonymous` is a client without credentials.
    pub users: Vec<String>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "<text>".to_owned(),
            message: e.to_string(),
        })?;
        cfg.storage_config()?;
        Ok(cfg)
    }

    /// The storage section, normalised; refuses drivers that do not exist.
    pub fn storage_config(&self) -> Result<StorageConfig, ConfigError> {
        let sc = match &self.storage {
            None => StorageConfig {
                driver: default_driver(),
                ..StorageConfig::default()
            },
            Some(StorageField::Driver(d)) => StorageConfig {
                driver: d.clone(),
                ..StorageConfig::default()
            },
            Some(StorageField::Detailed(sc)) => sc.clone(),
        };
        if let Some(p) = &sc.prefix {
            if sc.driver != "s3" {
                return Err(ConfigError::Invalid(
                    "storage prefix applies to the s3 driver; the filesystem driver uses root"
                        .to_owned(),
                ));
            }
            if crate::storage::check_path(p.trim_matches('/')).is_err() {
                return Err(ConfigError::Invalid(format!(
                    "storage prefix {p:?} must be a relative path without empty, . or .. parts"
                )));
            }
        }
        match sc.driver.as_str() {
            "filesystem" => Ok(sc),
            "s3" if sc.bucket.is_none() => Err(ConfigError::S3NeedsBucket),
            "s3" => Ok(sc),
            other => Err(ConfigError::UnknownDriver(other.to_owned())),
        }
    }

    pub fn listen_addr(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_default() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listen_addr(), DEFAULT_LISTEN);
        assert_eq!(c.limits.max_manifest_bytes, 4 * 1024 * 1024);
        assert!(!c.delete_enabled);
    }

    #[test]
    fn full_config_parses() {
        let c = Config::parse(
            "listen: 0.0.0.0:5001\nread_only: true\ndelete_enabled: true\nstorage:\n  driver: filesystem\n  root: /srv/reg\nauth:\n  htpasswd: {path: /etc/h}\n  access:\n    - {repository: 'lib/*', users: ['*'], actions: [pull, push]}\n",
        )
        .unwrap();
        assert_eq!(c.listen_addr(), "0.0.0.0:5001");
        assert!(c.read_only);
        assert_eq!(
            c.storage_config().unwrap().root,
            Some(PathBuf::from("/srv/reg"))
        );
        let auth = c.auth.unwrap();
        assert_eq!(auth.access[0].actions, vec![Action::Pull, Action::Push]);
    }

    #[test]
    fn s3_needs_a_bucket() {
        let e = Config::parse("storage: s3\n").unwrap_err();
        assert!(e.to_string().contains("needs a bucket"), "{e}");
        let c =
            Config::parse("storage: {driver: s3, bucket: b, endpoint: 'http://127.0.0.1:9000'}\n")
                .unwrap();
        assert_eq!(c.storage_config().unwrap().bucket.as_deref(), Some("b"));
    }

    #[test]
    fn s3_prefix() {
        let c = Config::parse("storage: {driver: s3, bucket: b, prefix: /teams/a/}\n").unwrap();
        assert_eq!(
            c.storage_config().unwrap().prefix.as_deref(),
            Some("/teams/a/")
        );
        for bad in ["a/../b", "a//b", "/"] {
            let yaml = format!("storage: {{driver: s3, bucket: b, prefix: '{bad}'}}\n");
            let e = Config::parse(&yaml).unwrap_err().to_string();
            assert!(e.contains("storage prefix"), "{bad}: {e}");
        }
        let e = Config::parse("storage: {driver: filesystem, prefix: x}\n").unwrap_err();
        assert!(e.to_string().contains("applies to the s3 driver"), "{e}");
    }

    #[test]
    fn log_levels() {
        let c = Config::parse("log_level: debug\n").unwrap();
        assert_eq!(c.log_level, Some(LogLevel::Debug));
        let e = Config::parse("log_level: loud\n").unwrap_err().to_string();
        assert!(e.contains("log_level") && e.contains("loud"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(Config::parse("listn: x\n").is_err());
    }
}
