//! Strata's Dockerfile front end, written to behave like Docker's (moby/buildkit's)
//! Dockerfile frontend. Pure library: it only reads the bytes it is given and depends on
//! no other strata crate.
//!
//! # Layers and entry points
//!
//! 1. **Parsing** — [`parse`]`(&[u8]) -> Result<`[`Dockerfile`]`, `[`ParseError`]`>` gives the
//!    instruction [`Node`]s (instruction word as written, `--flags`, arguments, exec-form
//!    marker, [`Heredoc`]s, ONBUILD trigger, start/end line, original text, comments
//!    above), the escape character, the parser [`Directive`]s (`syntax`, `escape`,
//!    `check`) and [`Warning`]s (empty continuation lines). Like BuildKit's parser it
//!    accepts unknown instruction words; [`Node::dump`] / [`Dockerfile::dump`] render
//!    BuildKit's test notation.
//! 2. **Typed instructions** — [`instructions::parse_file`]`(&[u8])` runs the whole front
//!    end (what `docker build` rejects, it rejects) and returns the [`Dockerfile`] and
//!    [`instructions::Stages`]: meta `ARG`s before the first `FROM`, then one
//!    [`instructions::Stage`] per `FROM` with its [`instructions::Command`]s
//!    ([`instructions::Instruction`] + lines + source). [`instructions::parse_stages`]
//!    and [`instructions::parse_instruction`] do the same from parsed nodes. Values stay
//!    as written; [`instructions::Instruction::expand_words`] and
//!    [`instructions::Instruction::expand_heredoc_contents`] expand exactly the fields
//!    BuildKit expands. `RUN --mount` values are kept raw and parsed with
//!    [`instructions::parse_mount`] once variables can be expanded.
//! 3. **Word expansion** — [`expand::Lex`] (`process_word`, `process_words`, `process`)
//!    implements BuildKit's `shell.Lex`: quotes, the escape character, `$VAR`, `${VAR}`,
//!    `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`, `${VAR:?m}`, `${VAR?m}`,
//!    `${VAR#p}`, `${VAR##p}`, `${VAR%p}`, `${VAR%%p}`, `${VAR/p/r}`, `${VAR//p/r}`,
//!    and its `raw_quotes`/`raw_escapes`/`skip_process_quotes`/`skip_unset_env` modes.
//!    [`expand::Expansion`] also lists the variables a word referenced (set and unset),
//!    which the build cache needs to know which build arguments a step uses.
//!    Variables come from any [`expand::EnvLookup`] ([`expand::Env`], maps).
//! 4. **.dockerignore** — [`ignore::IgnoreMatcher`]`::parse(&[u8])` (or `::new` from
//!    pattern strings), then `matches(path)` (last matching pattern wins, parents
//!    count) and `may_skip_dir(dir)` (Docker's walker rule), with moby/patternmatcher's
//!    semantics; [`ignore::read_patterns`] is `ignorefile.ReadAll`.
//!
//! Errors display as BuildKit words them (`dockerfile parse error on line 3: unknown
//! instruction: FOO (did you mean FROM?)`); [`ParseError`] also carries the bare
//! `message` and the line range so a caller can reformat (the classic builder prints
//! `dockerfile parse error line 3: ...`).
//!
//! Known approximations: invalid UTF-8 input is replaced with U+FFFD; Go's Unicode
//! letter/digit/printable classes are approximated for non-ASCII characters (they only
//! matter for variable names and the dump notation); regular expressions built from
//! patterns run on Rust's `regex` engine, which agrees with Go's RE2 on everything the
//! pattern translators generate except exotic escapes after `\` in `.dockerignore`.
//!
//! ```
//! let df = strata_dockerfile::parse(b"FROM alpine AS base\nRUN echo hi\n").unwrap();
//! assert_eq!(df.dump(), "(from \"alpine\" \"AS\" \"base\")\n(run \"echo hi\")");
//! let (_, stages) = strata_dockerfile::instructions::parse_file(b"FROM alpine AS base\n").unwrap();
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
