//! Build arguments with the classic builder's rules (`builder/dockerfile/buildargs.go`):
//! values given with `--build-arg` apply only to arguments a stage declares with `ARG`
//! (or to the predefined proxy arguments), defaults come from the `ARG` line or from an
//! `ARG` before the first `FROM`, and `ENV` wins over an argument of the same name.

use std::collections::{BTreeMap, BTreeSet};

/// Arguments usable without an `ARG` line, and not recorded in RUN history unless declared.
pub const BUILTIN_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The arguments of one stage.
#[derive(Debug, Clone, Default)]
pub struct BuildArgs {
    /// `--build-arg` values (`None`: named without value and not in the environment).
    from_options: BTreeMap<String, Option<String>>,
    /// Declared with `ARG` before the first `FROM`, with their resolved values.
    meta: BTreeMap<String, Option<String>>,
    /// Declared in this stage, in order, with the `ARG` default.
    declared: Vec<(String, Option<String>)>,
    /// Names whose value some instruction used (for the unused-argument warning).
    referenced: BTreeSet<String>,
}

impl BuildArgs {
    pub fn new(from_options: BTreeMap<String, Option<String>>) -> BuildArgs {
        BuildArgs {
            from_options,
            ..BuildArgs::default()
        }
    }

    /// A fresh set for a new stage: options and meta arguments carry over, declarations don't.
    pub fn for_stage(&self) -> BuildArgs {
        BuildArgs {
            from_options: self.from_options.clone(),
            meta: self.meta.clone(),
            ..BuildArgs::default()
        }
    }

    /// `ARG name[=default]` before the first FROM; returns the resolved value.
    pub fn add_meta(&mut self, name: &str, default: Option<String>) {
        let value = match self.from_options.get(name) {
            Some(Some(v)) => Some(v.clone()),
            _ => default,
        };
        self.meta.insert(name.to_string(), value);
    }

    /// Meta arguments with values: the variables FROM lines expand with.
    pub fn meta_values(&self) -> BTreeMap<String, String> {
        self.meta
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect()
    }

    /// `ARG name[=default]` in a stage. Without a default, a meta argument's value is the default.
    pub fn declare(&mut self, name: &str, default: Option<String>) {
        let default = default.or_else(|| self.meta.get(name).cloned().flatten());
        self.declared.retain(|(n, _)| n != name);
        self.declared.push((name.to_string(), default));
    }

    fn is_declared(&self, name: &str) -> bool {
        self.declared.iter().any(|(n, _)| n == name)
    }

    /// The value of an allowed argument: the option's value, else the declared default.
    fn value(&self, name: &str) -> Option<String> {
        if let Some(Some(v)) = self.from_options.get(name) {
            return Some(v.clone());
        }
        self.declared
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| d.clone())
    }

    /// `NAME=value` of every allowed argument with a value whose name `env` does not set
    /// (BuildArgs.FilterAllowed): declared ones first in key order, then given builtins.
    pub fn filter_allowed(&self, env: &[String]) -> Vec<String> {
        let env_keys: BTreeSet<&str> = env
            .iter()
            .map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k))
            .collect();
        let mut out = BTreeMap::new();
        for (name, _) in &self.declared {
            if env_keys.contains(name.as_str()) {
                continue;
            }
            if let Some(v) = self.value(name) {
                out.insert(name.clone(), v);
            }
        }
        for name in BUILTIN_ARGS {
            if env_keys.contains(name) || out.contains_key(name) {
                continue;
            }
            if let Some(Some(v)) = self.from_options.get(name) {
                out.insert(name.to_string(), v.clone());
            }
        }
        out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Whether `name` goes into RUN's recorded command (declared, or not a builtin).
    pub fn is_referenced_or_not_builtin(&self, name: &str) -> bool {
        self.is_declared(name) || !BUILTIN_ARGS.contains(&name)
    }

    pub fn mark_referenced(&mut self, name: &str) {
        self.referenced.insert(name.to_string());
    }

    /// Names given with `--build-arg` that no stage declared (excluding builtins).
    pub fn unconsumed(&self, consumed: &BTreeSet<String>) -> Vec<String> {
        self.from_options
            .keys()
            .filter(|k| !consumed.contains(*k) && !BUILTIN_ARGS.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// Declared names (for the consumed set).
    pub fn declared_names(&self) -> impl Iterator<Item = &str> {
        self.declared
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.referenced.iter().map(String::as_str))
    }

    /// The classic builder's `|N A=1 B=2` prefix for RUN's recorded command.
    pub fn run_prefix(&self, allowed: &[String]) -> Vec<String> {
        let mut kept: Vec<String> = allowed
            .iter()
            .filter(|e| {
                self.is_referenced_or_not_builtin(e.split_once('=').map_or(e.as_str(), |(k, _)| k))
            })
            .cloned()
            .collect();
        kept.sort();
        let mut out = vec![format!("|{}", kept.len())];
        out.extend(kept);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn options_apply_only_to_declared_args() {
        let mut a = BuildArgs::new(opts(&[
            ("A", Some("1")),
            ("B", Some("2")),
            ("http_proxy", Some("p")),
        ]));
        a.declare("A", Some("0".into()));
        a.declare("C", Some("3".into()));
        assert_eq!(a.filter_allowed(&[]), vec!["A=1", "C=3", "http_proxy=p"]);
        assert_eq!(
            a.filter_allowed(&["A=env".into()]),
            vec!["C=3", "http_proxy=p"]
        );
        assert_eq!(
            a.run_prefix(&a.filter_allowed(&[])),
            vec!["|2", "A=1", "C=3"]
        );
    }

    #[test]
    fn meta_args_give_defaults() {
        let mut a = BuildArgs::new(opts(&[("V", Some("9"))]));
        a.add_meta("V", Some("1".into()));
        a.add_meta("W", Some("w".into()));
        assert_eq!(a.meta_values().get("V").map(String::as_str), Some("9"));
        let mut s = a.for_stage();
        assert!(
            s.filter_allowed(&[]).is_empty(),
            "meta args need an ARG in the stage"
        );
        s.declare("W", None);
        assert_eq!(s.filter_allowed(&[]), vec!["W=w"]);
        assert_eq!(s.unconsumed(&BTreeSet::new()), vec!["V"]);
    }
}
