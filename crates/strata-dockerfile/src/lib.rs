//! Strata's Dockerfile front end, written to behave like Docker's (moby/buildkit's)
//! Dockerfile frontend. Pure library: it only reads the bytes it is given.
//!
//! # Layers and entry points
//!
//! 1. **Parsing** — [`parse`]`(&[u8]) -> Result<`[`Dockerfile`]`, `[`ParseError`]`>` gives the
//!    instruction [`Node`]s (line numbers, original text, flags, arguments, exec-form
//!    marker, heredocs, ONBUILD trigger), the escape character, the parser directives and
//!    warnings. [`Node::dump`] / [`Dockerfile::dump`] render BuildKit's test notation.
//! 2. **Typed instructions** — [`instructions::parse_stages`]`(&Dockerfile)` turns the
//!    nodes into [`instructions::Stages`]: meta `ARG`s before the first `FROM`, then one
//!    [`instructions::Stage`] per `FROM` with its [`instructions::Command`]s
//!    ([`instructions::Instruction`] plus location). [`instructions::parse_instruction`]
//!    does one node. Flags are validated with BuildKit's wording; `RUN --mount` values
//!    are kept raw and parsed by [`instructions::parse_mount`] once the builder can
//!    expand variables in them.
//! 3. **Word expansion** — [`expand::Lex`] (`process_word`, `process_words`, `process`)
//!    implements BuildKit's `shell.Lex`: quotes, the escape character, `$VAR`, `${VAR}`,
//!    `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`, `${VAR:?m}`, `${VAR?m}`,
//!    `${VAR#p}`, `${VAR##p}`, `${VAR%p}`, `${VAR%%p}`, `${VAR/p/r}`, `${VAR//p/r}`.
//!    [`expand::Expansion`] also lists the variables a word referenced.
//! 4. **.dockerignore** — [`ignore::IgnoreMatcher`]`::parse(&[u8])`, then
//!    `matches(path)` and `may_skip_dir(dir)`, with moby/patternmatcher's semantics.
//!
//! ```
//! let df = strata_dockerfile::parse(b"FROM alpine AS base\nRUN echo hi\n").unwrap();
//! assert_eq!(df.dump(), "(from \"alpine\" \"AS\" \"base\")\n(run \"echo hi\")");
//! let stages = strata_dockerfile::instructions::parse_stages(&df).unwrap();
//! assert_eq!(stages.stages[0].name.as_deref(), Some("base"));
//! ```

mod error;
pub mod expand;
pub mod ignore;
pub mod instructions;
mod parser;
mod util;

pub use error::ParseError;
pub use parser::{
    Directive, Dockerfile, Heredoc, Node, Warning, chomp_content, parse, parse_heredoc,
};
pub use util::go_quote;
