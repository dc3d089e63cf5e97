//! `.dockerignore` matching with Docker's semantics (moby/patternmatcher and
//! `ignorefile.ReadAll`): comments, `!` exceptions, `**`, `*`, `?`, `[...]`, escapes,
//! the last matching pattern wins, and a path is excluded when it or any parent
//! directory matches.
//!
//! ```
//! use strata_dockerfile::ignore::IgnoreMatcher;
//! let m = IgnoreMatcher::parse(b"# build output\ntarget\n*.log\n!keep.log\n").unwrap();
//! assert!(m.matches("target/debug/x"));
//! assert!(m.matches("a.log") && !m.matches("keep.log"));
//! assert!(m.may_skip_dir("target"));
//! ```

mod path;
mod pattern;

pub use pattern::Pattern;

/// A `.dockerignore` file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// A line consisting of `!` alone.
    #[error("illegal exclusion pattern: \"!\"")]
    IllegalExclusion,
    /// A malformed pattern (Go's `filepath.ErrBadPattern`).
    #[error("syntax error in pattern")]
    BadPattern {
        /// The offending (cleaned) pattern.
        pattern: String,
    },
}

/// Compiled `.dockerignore` patterns.
#[derive(Debug, Clone, Default)]
pub struct IgnoreMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

/// Reads pattern lines the way `ignorefile.ReadAll` does: a BOM is dropped, lines
/// starting with `#` are comments, blanks are skipped, and each pattern (after `!`) is
/// cleaned with a leading `/` removed.
pub fn read_patterns(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim_matches(char::is_whitespace);
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim_matches(char::is_whitespace);
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = path::clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        out.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    out
}

impl IgnoreMatcher {
    /// Parses the content of a `.dockerignore` file.
    pub fn parse(data: &[u8]) -> Result<Self, IgnoreError> {
        Self::new(&read_patterns(data))
    }

    /// Builds a matcher from pattern strings (patternmatcher's `New`).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, IgnoreError> {
        let mut matcher = IgnoreMatcher::default();
        for p in patterns {
            let p = p.as_ref().trim_matches(char::is_whitespace);
            if p.is_empty() {
                continue;
            }
            let mut p = path::clean(p);
            let mut exclusion = false;
            if let Some(rest) = p.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(IgnoreError::IllegalExclusion);
                }
                exclusion = true;
                matcher.exclusions = true;
                p = rest.to_string();
            }
            if !path::is_valid_glob(&p) {
                return Err(IgnoreError::BadPattern { pattern: p });
            }
            let compiled = Pattern::compile(p.clone(), exclusion)
                .map_err(|_| IgnoreError::BadPattern { pattern: p })?;
            matcher.patterns.push(compiled);
        }
        Ok(matcher)
    }

    /// The patterns in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any pattern is an exception (`!`).
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// Whether `path` (slash-separated, relative to the context root) is excluded: the
    /// last pattern matching it or one of its parent directories decides.
    pub fn matches(&self, path: &str) -> bool {
        let file = path::clean(path);
        if file == "." {
            return false;
        }
        let parent = path::dir(&file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // An inclusion cannot change an excluded path, nor an exception an
            // included one.
            if pattern.is_exclusion() != matched {
                continue;
            }
            let mut hit = pattern.matches(&file);
            if !hit && parent != "." {
                hit = (1..=parent_dirs.len()).any(|i| pattern.matches(&parent_dirs[..i].join("/")));
            }
            if hit {
                matched = !pattern.is_exclusion();
            }
        }
        matched
    }

    /// Whether a walk may skip the directory `dir` entirely: it is excluded and no
    /// exception pattern starts with `dir/` (Docker's context walker rule; an exception
    /// like `!**/keep` does not stop the skip, exactly as in Docker).
    pub fn may_skip_dir(&self, dir: &str) -> bool {
        if !self.matches(dir) {
            return false;
        }
        if !self.exclusions {
            return true;
        }
        let dir_slash = format!("{}/", path::clean(dir));
        !self
            .patterns
            .iter()
            .filter(|p| p.is_exclusion())
            .any(|p| format!("{}/", p.as_str()).starts_with(&dir_slash))
    }
}

#[cfg(test)]
mod tests;
