//! Typed instructions: BuildKit's `instructions` package. Nodes from the parser become
//! [`Instruction`]s with their flags validated, and a file becomes [`Stages`].
//!
//! Values stay as written (variables are not expanded here): the builder expands them
//! with [`crate::expand::Lex`] when it knows the build arguments and environment.

mod duration;
mod expand;
mod flags;
mod mount;
mod parse;
#[cfg(test)]
mod tests;

pub use mount::{Expander, Mount, MountType, Sharing, parse_mount};
pub use parse::{parse_file, parse_instruction, parse_stages};

use crate::parser::{Heredoc, Node};
use std::time::Duration;

/// A command line in shell form (run through the shell) or exec form (JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellOrExec {
    /// `RUN echo hi`: the arguments joined with spaces.
    Shell(String),
    /// `RUN ["echo", "hi"]`.
    Exec(Vec<String>),
}

/// `KEY=VALUE` of ENV and LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key as written (may need expansion).
    pub key: String,
    /// The value as written, quotes included (expand it to get the real value).
    pub value: String,
    /// Written in the legacy `ENV key value` form.
    pub legacy: bool,
}

/// One name of an ARG instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    /// The argument name.
    pub name: String,
    /// The default after `=`, as written.
    pub default: Option<String>,
}

/// Inline content from a heredoc source of COPY/ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContent {
    /// The heredoc name, used as the file name.
    pub path: String,
    /// The content (tabs already removed for `<<-`).
    pub data: String,
    /// Whether variables in the content are expanded.
    pub expand: bool,
}

/// Sources and destination of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Source paths or URLs, as written.
    pub sources: Vec<String>,
    /// Heredoc sources.
    pub contents: Vec<SourceContent>,
    /// Destination, as written.
    pub dest: String,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base image (or stage name), as written.
    pub image: String,
    /// The stage name after `AS`, lower-cased.
    pub name: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command.
    pub cmd: ShellOrExec,
    /// Heredocs started on the line (their content is the script or extra files).
    pub heredocs: Vec<Heredoc>,
    /// `--mount` values as written; parse each with [`parse_mount`] and an expander.
    pub mounts: Vec<String>,
    /// `--network` (`default`, `none` or `host`).
    pub network: String,
    /// Flags given, by name.
    pub flags_used: Vec<String>,
}

/// `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// Sources, destination and the flags shared with COPY.
    pub transfer: Transfer,
    /// `--keep-git-dir`.
    pub keep_git_dir: bool,
    /// `--checksum`.
    pub checksum: Option<String>,
}

/// `COPY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// Sources, destination and the flags shared with ADD.
    pub transfer: Transfer,
    /// `--from`: a stage, image or context name.
    pub from: Option<String>,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` (exec form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// `--interval` (zero when not given).
    pub interval: Duration,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--start-period`.
    pub start_period: Duration,
    /// `--start-interval`.
    pub start_interval: Duration,
    /// `--retries` (0 when not given).
    pub retries: i32,
}

/// `ONBUILD`: stored as text and run when the image is used as a base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as recorded in the image config (`RUN echo hi`).
    pub expression: String,
    /// The trigger's parse tree.
    pub trigger: Node,
}

impl Onbuild {
    /// The trigger as a typed instruction (BuildKit checks it only when triggered).
    pub fn trigger_instruction(&self) -> Result<Instruction, crate::ParseError> {
        parse_instruction(&self.trigger)
    }
}

/// One typed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM`.
    From(From),
    /// `RUN`.
    Run(Run),
    /// `CMD`.
    Cmd(ShellOrExec),
    /// `ENTRYPOINT`; `Exec(vec![])` clears it.
    Entrypoint(ShellOrExec),
    /// `COPY`.
    Copy(Copy),
    /// `ADD`.
    Add(Add),
    /// `WORKDIR`.
    Workdir(String),
    /// `ENV`.
    Env(Vec<KeyValue>),
    /// `ARG`.
    Arg(Vec<ArgDef>),
    /// `LABEL`.
    Label(Vec<KeyValue>),
    /// `EXPOSE` (sorted, as BuildKit does).
    Expose(Vec<String>),
    /// `VOLUME`.
    Volume(Vec<String>),
    /// `USER`.
    User(String),
    /// `STOPSIGNAL`.
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `SHELL` (exec form only).
    Shell(Vec<String>),
    /// `ONBUILD`.
    Onbuild(Box<Onbuild>),
    /// `MAINTAINER` (deprecated).
    Maintainer(String),
}

/// An instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The instruction.
    pub instruction: Instruction,
    /// First line (1-based).
    pub start_line: usize,
    /// Last line.
    pub end_line: usize,
    /// The logical source line (continuations joined).
    pub original: String,
}

/// A build stage: a `FROM` and the commands up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The base image or earlier stage, as written.
    pub base_name: String,
    /// The stage name (`AS name`), lower-cased.
    pub name: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// The commands after FROM.
    pub commands: Vec<Command>,
    /// Line of the FROM.
    pub start_line: usize,
    /// The FROM line as written (trimmed).
    pub original: String,
}

/// A whole Dockerfile in typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    /// ARG instructions before the first FROM (usable in FROM lines).
    pub meta_args: Vec<ArgDef>,
    /// The stages in order.
    pub stages: Vec<Stage>,
}
