//! `--filter key=value` for image listing and pruning, with the daemon's keys and errors.

use strata_reference::Reference;
use strata_store::{Image, Store};

use crate::commands::CliError;

#[derive(Debug, Default)]
pub struct ImageFilter {
    pub dangling: Option<bool>,
    pub references: Vec<String>,
    pub labels: Vec<(String, Option<String>)>,
    pub before: Option<chrono::DateTime<chrono::Utc>>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

impl ImageFilter {
    pub fn parse(
        store: &Store,
        filters: &[String],
        allowed: &[&str],
    ) -> Result<ImageFilter, CliError> {
        let mut f = ImageFilter::default();
        for raw in filters {
            let (key, value) = raw.split_once('=').ok_or_else(|| {
                CliError::new(format!("bad format of filter (expected name=value): {raw}"))
            })?;
            let key = key.to_ascii_lowercase();
            if !allowed.contains(&key.as_str()) {
                return Err(CliError::new(format!("invalid filter '{key}'")));
            }
            match key.as_str() {
                "dangling" => {
                    f.dangling = Some(match value.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(CliError::new(format!(
                                "Invalid filter 'dangling={value}'"
                            )));
                        }
                    })
                }
                "reference" => f.references.push(value.to_owned()),
                "label" => f.labels.push(match value.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (value.to_owned(), None),
                }),
                "before" | "since" => {
                    let id = store.resolve_image(value).map_err(CliError::new)?;
                    let created = store.image(&id).map_err(CliError::new)?.config.created_at();
                    if key == "before" {
                        f.before = created
                    } else {
                        f.since = created
                    }
                }
                _ => return Err(CliError::new(format!("invalid filter '{key}'"))),
            }
        }
        Ok(f)
    }

    /// Whether the image passes; `refs` is narrowed to the references that match `reference=`.
    pub fn keep(&self, image: &Image, refs: &mut Vec<Reference>) -> bool {
        if let Some(d) = self.dangling {
            if d != refs.is_empty() {
                return false;
            }
        }
        if !self.references.is_empty() {
            refs.retain(|r| self.references.iter().any(|p| reference_matches(p, r)));
            if refs.is_empty() {
                return false;
            }
        }
        let labels = image.config.config.as_ref().and_then(|c| c.labels.as_ref());
        for (k, v) in &self.labels {
            match (labels.and_then(|l| l.get(k)), v) {
                (None, _) => return false,
                (Some(actual), Some(want)) if actual != want => return false,
                _ => {}
            }
        }
        let created = image.config.created_at();
        if let (Some(before), Some(c)) = (self.before, created) {
            if c >= before {
                return false;
            }
        }
        if let (Some(since), Some(c)) = (self.since, created) {
            if c <= since {
                return false;
            }
        }
        true
    }
}

/// Docker's `reference.FamiliarMatch`: the pattern against the familiar name, or name:tag.
pub fn reference_matches(pattern: &str, r: &Reference) -> bool {
    glob(pattern, &r.familiar_name()) || glob(pattern, &r.familiar_string())
}

/// Go's `path.Match`: `*` and `?` do not cross `/`; `[...]` classes with ranges and `^`.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        let mut i = 1;
        let negate = p.get(1) == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let start = i;
        while i < p.len() && (p[i] != ']' || i == start) {
            let lo = p[i];
            if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
                if lo <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if lo == c {
                    matched = true;
                }
                i += 1;
            }
        }
        (i < p.len()).then_some((matched != negate, i + 1))
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&k| k == 0 || n[k - 1] != '/')
                .any(|k| go(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && n[0] != '/' && go(&p[1..], &n[1..]),
            Some('[') => match (n.first(), class(p, *n.first().unwrap_or(&'\0'))) {
                (Some(&c), Some((true, used))) if c != '/' => go(&p[used..], &n[1..]),
                _ => false,
            },
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some(&c) => n.first() == Some(&c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_follows_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("busy*", "me/busybox"));
        assert!(glob("*/busybox", "me/busybox"));
        assert!(glob("b?sybox:[0-9]*", "busybox:1.0"));
        assert!(!glob("b[^u]sybox", "busybox"));
        let r = Reference::parse_normalized("me/busybox:1.0").expect("valid");
        assert!(reference_matches("me/*", &r));
        assert!(reference_matches("me/busybox:1.*", &r));
        assert!(!reference_matches("busybox", &r));
    }
}
