//! The error every parsing layer returns.

/// A Dockerfile that cannot be parsed, with the (1-based) lines it concerns. BuildKit
/// locates Dockerfile errors by line range only, so no column is reported.
///
/// Displays as BuildKit words it: `dockerfile parse error on line 3: unknown instruction: FOO`.
/// `message` alone is the reason without the location, for callers that format it
/// differently (the classic builder prints `dockerfile parse error line 3: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dockerfile parse error on line {line}: {message}")]
pub struct ParseError {
    /// First line of the offending instruction (1-based; 0 for an empty file).
    pub line: usize,
    /// Last line of the offending instruction.
    pub end_line: usize,
    /// The reason, e.g. `unknown instruction: FOO`.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, end_line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            end_line: end_line.max(line),
            message: message.into(),
        }
    }
}
