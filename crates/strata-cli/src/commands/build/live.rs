//! The compact live view of a build on a terminal (`--progress=auto` on a tty, or `tty`): one
//! line per step, `=> [3/7] RUN make` with its time or `CACHED`, and while a step runs the last
//! few lines of its output under it, redrawn in place and folded away when the step is done
//! (BuildKit's look). A failed step's output stays on the screen.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Instant;

use strata_builder::{Event, Progress};

/// How many output lines of the running step stay visible.
const TAIL: usize = 6;

pub struct LiveOutput {
    width: usize,
    /// The step being built: its label (`[3/7] RUN make`), start, and whether it hit the cache.
    current: Option<(String, Instant, bool)>,
    tail: VecDeque<String>,
    partial: String,
    /// Lines of the redrawn region now on the screen.
    drawn: usize,
}

impl LiveOutput {
    pub fn new() -> LiveOutput {
        let width = rustix::termios::tcgetwinsize(std::io::stdout())
            .map(|w| usize::from(w.ws_col))
            .ok()
            .filter(|w| *w > 20)
            .unwrap_or(80);
        LiveOutput {
            width,
            current: None,
            tail: VecDeque::new(),
            partial: String::new(),
            drawn: 0,
        }
    }

    fn fit(&self, text: &str) -> String {
        let flat = text.replace(['\n', '\r', '\t'], " ");
        flat.chars().take(self.width.saturating_sub(1)).collect()
    }

    /// Removes the redrawn region from the screen.
    fn erase(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A\r\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self, out: &mut impl Write) {
        self.erase(out);
        let Some((label, started, _)) = &self.current else {
            return;
        };
        let line = format!(" => {label}  {:.1}s", started.elapsed().as_secs_f64());
        let _ = writeln!(out, "{}", self.fit(&line));
        let mut lines = 1;
        let mut shown: Vec<String> = self.tail.iter().cloned().collect();
        if !self.partial.is_empty() {
            shown.push(self.partial.clone());
        }
        for l in shown.iter().rev().take(TAIL).rev() {
            let _ = writeln!(out, "\x1b[2m{}\x1b[0m", self.fit(&format!(" => => {l}")));
            lines += 1;
        }
        self.drawn = lines;
    }

    /// The running step is done: its one line stays, its output folds away.
    fn finish_step(&mut self, out: &mut impl Write) {
        self.erase(out);
        if let Some((label, started, cached)) = self.current.take() {
            let line = if cached {
                format!(" => CACHED {label}")
            } else {
                format!(" => {label}  {:.1}s", started.elapsed().as_secs_f64())
            };
            let _ = writeln!(out, "{}", self.fit(&line));
        }
        self.tail.clear();
        self.partial.clear();
    }

    fn output(&mut self, data: &[u8]) {
        self.partial.push_str(&String::from_utf8_lossy(data));
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.tail.push_back(line.trim_end().to_string());
            if self.tail.len() > TAIL {
                self.tail.pop_front();
            }
        }
    }

    /// Ends the view: the last step's line is written for good.
    pub fn close(&mut self) {
        let mut out = std::io::stdout().lock();
        self.finish_step(&mut out);
        let _ = out.flush();
    }
}

impl Progress for LiveOutput {
    fn event(&mut self, event: Event<'_>) {
        let mut out = std::io::stdout().lock();
        match event {
            Event::Step { index, total, text } => {
                self.finish_step(&mut out);
                self.current = Some((format!("[{index}/{total}] {text}"), Instant::now(), false));
            }
            Event::UsingCache => {
                if let Some(c) = self.current.as_mut() {
                    c.2 = true;
                }
            }
            Event::Output { data, .. } => self.output(data),
            Event::Note { text } | Event::Warning { text } => {
                self.erase(&mut out);
                let _ = writeln!(out, "{}", self.fit(text));
            }
            _ => {}
        }
        self.draw(&mut out);
        let _ = out.flush();
    }
}

/// Whether the build should show the live view: asked for, or `auto` on a terminal.
pub fn wanted(progress: &str, quiet: bool) -> bool {
    use std::io::IsTerminal;
    !quiet && (progress == "tty" || (progress == "auto" && std::io::stdout().is_terminal()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_of_output() {
        let mut live = LiveOutput {
            width: 40,
            current: None,
            tail: VecDeque::new(),
            partial: String::new(),
            drawn: 0,
        };
        let text: String = (1..=10).map(|n| format!("line {n}\n")).collect();
        live.output(text.as_bytes());
        live.output(b"partial");
        assert_eq!(live.tail.len(), TAIL);
        assert_eq!(live.tail.back().map(String::as_str), Some("line 10"));
        assert_eq!(live.partial, "partial");
        assert_eq!(live.fit(&"x".repeat(100)).len(), 39);
    }
}
