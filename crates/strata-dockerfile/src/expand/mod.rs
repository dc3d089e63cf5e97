//! Word expansion with the semantics of BuildKit's `shell.Lex`: quotes, the escape
//! character, `$VAR`, `${VAR}` and the `${VAR<op>word}` forms, and splitting into words.
//!
//! ```
//! use strata_dockerfile::expand::{Lex, Env};
//! let env = Env::from_pairs([("NAME", "world")]);
//! let lex = Lex::new('\\');
//! assert_eq!(lex.process_word("hello ${NAME:-x}", &env).unwrap(), "hello world");
//! assert_eq!(lex.process_words("a 'b c'", &env).unwrap(), vec!["a", "b c"]);
//! ```

mod env;
mod pattern;
#[cfg(test)]
mod tests;
mod word;

pub use env::{Env, EnvLookup};

use std::collections::BTreeSet;

/// An expansion failure, worded like BuildKit's: `failed to process "<word>": <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {}: {message}", crate::util::go_quote(.word))]
pub struct ExpandError {
    /// The word that was being expanded.
    pub word: String,
    /// What went wrong, e.g. `syntax error: missing '}'` or `VAR: is not allowed to be unset`.
    pub message: String,
}

/// Everything one expansion produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word with quotes removed and variables substituted (spaces kept).
    pub word: String,
    /// The same result split into words after substitution (quoted spaces kept).
    pub words: Vec<String>,
    /// Variable names the word referenced that were set.
    pub matched: BTreeSet<String>,
    /// Variable names the word referenced that were not set.
    pub unmatched: BTreeSet<String>,
}

/// A configured expander, the equivalent of BuildKit's `shell.Lex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lex {
    /// The escape character (`\` or `` ` ``, from the `# escape=` directive).
    pub escape: char,
    /// Keep quote characters in the output (they still group words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters.
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as written instead of substituting "".
    pub skip_unset_env: bool,
}

impl Lex {
    /// An expander with the given escape character and BuildKit's default options.
    pub fn new(escape: char) -> Self {
        Lex {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// Expands one word (BuildKit's `ProcessWord`): quotes removed, variables substituted,
    /// spaces kept.
    pub fn process_word(&self, word: &str, env: &dyn EnvLookup) -> Result<String, ExpandError> {
        Ok(self.process(word, env)?.word)
    }

    /// Expands and splits into words (BuildKit's `ProcessWords`).
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn EnvLookup,
    ) -> Result<Vec<String>, ExpandError> {
        Ok(self.process(word, env)?.words)
    }

    /// Expands and reports which variables were referenced (BuildKit's
    /// `ProcessWordWithMatches`); the builder uses `matched` to know which build
    /// arguments a step depends on.
    pub fn process(&self, word: &str, env: &dyn EnvLookup) -> Result<Expansion, ExpandError> {
        word::ShellWord::new(self, word, env).run()
    }
}
