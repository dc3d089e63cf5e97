//! Parser directives (`# syntax=`, `# escape=`, `# check=`): only comment lines at the
//! very top count; the first line that is not a known directive ends them.

use crate::error::ParseError;
use regex::Regex;
use std::sync::LazyLock;

/// A parser directive found at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    pub name: String,
    /// The value as written (trimmed).
    pub value: String,
    /// Line (1-based).
    pub line: usize,
}

// `\s` spelled out: Go's RE2 class is ASCII-only.
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

pub(crate) struct Directives {
    pub escape: char,
    pub found: Vec<Directive>,
    done: bool,
}

impl Directives {
    pub fn new() -> Self {
        Directives {
            escape: '\\',
            found: Vec::new(),
            done: false,
        }
    }

    /// Looks at one (left-trimmed) line while directives may still appear.
    pub fn possible_directive(&mut self, line: &str, line_no: usize) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        let Some(caps) = DIRECTIVE.captures(line) else {
            self.done = true;
            return Ok(());
        };
        let name = caps[1].to_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.found.iter().any(|d| d.name == name) {
            return Err(ParseError::new(
                line_no,
                line_no,
                format!("only one {name} parser directive can be used"),
            ));
        }
        let value = caps[2].to_string();
        if name == "escape" {
            self.escape = match value.as_str() {
                "`" => '`',
                "\\" => '\\',
                _ => {
                    return Err(ParseError::new(
                        line_no,
                        line_no,
                        format!("invalid escape token '{value}' does not match ` or \\"),
                    ));
                }
            };
        }
        self.found.push(Directive {
            name,
            value,
            line: line_no,
        });
        Ok(())
    }
}
