//! The Dockerfile parser: bytes to a list of instruction [`Node`]s, with BuildKit's rules
//! for parser directives, comments, line continuations, exec/shell form, flags and
//! here-documents.

mod directives;
mod dump;
mod heredoc;
mod json;
mod line;
#[cfg(test)]
mod tests;

pub use directives::Directive;
pub use heredoc::{Heredoc, chomp_content, parse_heredoc};

use crate::error::ParseError;
use directives::Directives;

/// Longest line BuildKit's line scanner accepts (including its newline).
const MAX_LINE: usize = 64 * 1024;

/// One instruction as written: the parse tree BuildKit calls `Node`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The instruction word as written (`RUN`, `run`, ...); compare case-insensitively.
    pub instruction: String,
    /// Leading `--flag[=value]` words, quotes removed (BuildKit's `Flags`).
    pub flags: Vec<String>,
    /// The arguments. ENV and LABEL hold (key, value, separator) triples, the separator
    /// "" for the legacy `ENV key value` form; HEALTHCHECK holds the type first.
    pub args: Vec<String>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    /// ONBUILD's trigger instruction.
    pub trigger: Option<Box<Node>>,
    /// Here-documents started on this instruction's line, in order.
    pub heredocs: Vec<Heredoc>,
    /// The logical line (continuations joined, comments removed).
    pub original: String,
    /// First line of the instruction (1-based).
    pub start_line: usize,
    /// Last line, including continuation and heredoc lines.
    pub end_line: usize,
    /// Comment lines directly above the instruction.
    pub comments: Vec<String>,
}

impl Node {
    /// The instruction name in lower case (`run`).
    pub fn name(&self) -> String {
        self.instruction.to_lowercase()
    }

    /// Renders the node in the notation of BuildKit's parse-tree dump:
    /// `(run ["--mount=x"] "echo hi")`, `(onbuild (run "x"))`.
    pub fn dump(&self) -> String {
        dump::dump_node(self)
    }

    fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.trigger, self.name().as_str()) {
            (Some(child), "onbuild") => child.as_ref(),
            _ => self,
        };
        matches!(node.name().as_str(), "add" | "copy" | "run") && !node.json
    }
}

/// A non-fatal finding, e.g. an empty line inside a continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What was found.
    pub message: String,
    /// Where (1-based line).
    pub line: usize,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The instructions in order.
    pub nodes: Vec<Node>,
    /// The escape character in force (`\` unless `# escape=`` ` ``).
    pub escape: char,
    /// Parser directives found at the top (`syntax`, `escape`, `check`).
    pub directives: Vec<Directive>,
    /// Warnings such as empty continuation lines.
    pub warnings: Vec<Warning>,
}

impl Dockerfile {
    /// The value of the `# syntax=` directive, if any.
    pub fn syntax(&self) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == "syntax")
            .map(|d| d.value.as_str())
    }

    /// The whole tree in dump notation, one instruction per line.
    pub fn dump(&self) -> String {
        self.nodes
            .iter()
            .map(Node::dump)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Splits into lines keeping their endings, like BuildKit's `scanLines`.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn trim_leading_space(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

fn is_comment(raw: &str) -> bool {
    trim_leading_space(trim_newline(raw)).starts_with('#')
}

/// Removes a trailing escape character (and the blanks after it). Returns the line and
/// whether the logical line ends here.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    if let Some(before) = body
        .strip_suffix(escape)
        .filter(|b| b.is_empty() || !b.ends_with(escape))
    {
        return (before.to_string(), false);
    }
    (line.to_string(), true)
}

/// Builds a node from one logical line (BuildKit's `newNodeFromLine`).
fn node_from_line(line: &str, d: &Directives, comments: Vec<String>) -> Result<Node, String> {
    let (cmd, flags, rest) = line::split_command(line);
    let parsed = line::parse_args(&cmd.to_lowercase(), &rest, d)?;
    Ok(Node {
        instruction: cmd,
        flags,
        args: parsed.args,
        json: parsed.json,
        trigger: parsed.child,
        heredocs: Vec::new(),
        original: line.to_string(),
        start_line: 0,
        end_line: 0,
        comments,
    })
}

fn set_lines(node: &mut Node, start: usize, end: usize) {
    node.start_line = start;
    node.end_line = end;
    if let Some(child) = node.trigger.as_mut() {
        set_lines(child, start, end);
    }
}

/// Parses a Dockerfile. Invalid UTF-8 is replaced with U+FFFD.
pub fn parse(data: &[u8]) -> Result<Dockerfile, ParseError> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let lines = split_lines(text);
    let mut d = Directives::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut current = 0usize;
    let mut idx = 0usize;

    let next_line = |idx: &mut usize, current: usize| -> Result<Option<&str>, ParseError> {
        let Some(raw) = lines.get(*idx).copied() else {
            return Ok(None);
        };
        if raw.len() > MAX_LINE {
            return Err(ParseError::new(
                current + 1,
                current + 1,
                format!(
                    "dockerfile line greater than max allowed size of {}",
                    MAX_LINE - 1
                ),
            ));
        }
        *idx += 1;
        Ok(Some(raw))
    };

    while let Some(raw) = next_line(&mut idx, current)? {
        if is_comment(raw) {
            let after_first: String = raw.chars().skip(1).collect();
            let comment = after_first.trim_matches(char::is_whitespace).to_string();
            if comment.is_empty() {
                comments.clear();
            } else {
                comments.push(comment);
            }
        }
        current += 1;
        let token = trim_leading_space(trim_newline(raw));
        d.possible_directive(token, current)?;
        let token = if token.starts_with('#') { "" } else { token };
        let start = current;
        let (mut line, mut end_of_line) = trim_continuation(token, d.escape);
        if end_of_line && line.is_empty() {
            continue;
        }
        let mut empty_continuation = false;
        while !end_of_line {
            let Some(raw) = next_line(&mut idx, current)? else {
                break;
            };
            current += 1;
            let token = trim_newline(raw);
            d.possible_directive(token, current)?;
            if is_comment(raw) {
                continue;
            }
            if trim_leading_space(token).is_empty() {
                empty_continuation = true;
                continue;
            }
            let (cont, end) = trim_continuation(token, d.escape);
            line.push_str(&cont);
            end_of_line = end;
        }
        if empty_continuation {
            warnings.push(Warning {
                message: format!("Empty continuation line found in: {line}"),
                line: current,
            });
        }
        let mut node = node_from_line(&line, &d, std::mem::take(&mut comments))
            .map_err(|m| ParseError::new(start, current, m))?;
        if node.can_contain_heredoc() {
            let docs = heredoc::heredocs_from_line(&line)
                .map_err(|m| ParseError::new(start, current, m))?;
            for mut doc in docs {
                let mut terminated = false;
                while let Some(raw) = next_line(&mut idx, current)? {
                    current += 1;
                    let mut candidate = trim_newline(raw);
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    doc.content.push_str(raw);
                }
                if !terminated {
                    return Err(ParseError::new(start, current, "unterminated heredoc"));
                }
                node.heredocs.push(doc);
            }
        }
        set_lines(&mut node, start, current);
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ParseError::new(
            current,
            current,
            "file with no instructions",
        ));
    }
    Ok(Dockerfile {
        nodes,
        escape: d.escape,
        directives: d.found,
        warnings,
    })
}
