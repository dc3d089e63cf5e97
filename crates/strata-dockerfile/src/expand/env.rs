//! Variable lookup for expansion.

use std::collections::{BTreeMap, HashMap};

/// Something variables can be looked up in. Names compare exactly (Unix semantics).
pub trait EnvLookup {
    /// The value of `name`, or `None` when it is not set (set-but-empty is `Some("")`).
    fn lookup(&self, name: &str) -> Option<String>;
}

impl EnvLookup for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl EnvLookup for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// An ordered environment built from `KEY=VALUE` strings or pairs; a later entry for the
/// same key replaces the earlier one (BuildKit's `BuildEnvs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// An empty environment.
    pub fn new() -> Self {
        Env::default()
    }

    /// From `KEY=VALUE` strings; an entry without `=` defines the key with an empty value.
    pub fn from_list<I, S>(list: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut env = Env::new();
        for entry in list {
            let entry = entry.as_ref();
            match entry.split_once('=') {
                Some((k, v)) => env.set(k, v),
                None => env.set(entry, ""),
            }
        }
        env
    }

    /// From key/value pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut env = Env::new();
        for (k, v) in pairs {
            env.vars.insert(k.into(), v.into());
        }
        env
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// Removes a variable.
    pub fn remove(&mut self, key: &str) {
        self.vars.remove(key);
    }

    /// The value of a variable.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// All variables in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl EnvLookup for Env {
    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}
