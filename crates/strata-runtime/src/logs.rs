//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"…\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

pub fn log_path(container_dir: &Path, id: &str) -> PathBuf {
    container_dir.join(format!("{id}-json.log"))
}

pub fn rfc3339_nano(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Splits a stream into log lines: complete lines are written as they come, a trailing partial
/// line waits for its newline (or `flush`).
pub struct LineSplitter {
    pending: Vec<u8>,
    stream: &'static str,
}

impl LineSplitter {
    pub fn new(stream: &'static str) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            stream,
        }
    }

    pub fn push(&mut self, data: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        self.pending.extend_from_slice(data);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            write_entry(out, &line, self.stream)?;
        }
        // Docker caps a log line at 16 KiB and writes the rest as a continuation.
        if self.pending.len() >= 16 * 1024 {
            let line: Vec<u8> = std::mem::take(&mut self.pending);
            write_entry(out, &line, self.stream)?;
        }
        Ok(())
    }

    pub fn flush(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            write_entry(out, &line, self.stream)?;
        }
        Ok(())
    }
}

fn write_entry(out: &mut impl Write, line: &[u8], stream: &str) -> std::io::Result<()> {
    let entry = LogEntry {
        log: String::from_utf8_lossy(line).into_owned(),
        stream: stream.to_string(),
        time: rfc3339_nano(Utc::now()),
    };
    let mut bytes = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

/// Parses the log file's complete lines (a line still being written is skipped).
pub fn parse(text: &str) -> Vec<LogEntry> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_flushes_partial() {
        let mut out = Vec::new();
        let mut s = LineSplitter::new("stdout");
        s.push(b"a\nb", &mut out).unwrap();
        s.push(b"c\n", &mut out).unwrap();
        s.push(b"tail", &mut out).unwrap();
        s.flush(&mut out).unwrap();
        let entries = parse(&String::from_utf8(out).unwrap());
        let logs: Vec<&str> = entries.iter().map(|e| e.log.as_str()).collect();
        assert_eq!(logs, ["a\n", "bc\n", "tail"]);
        assert!(
            entries
                .iter()
                .all(|e| e.stream == "stdout" && e.time.ends_with('Z'))
        );
    }
}
