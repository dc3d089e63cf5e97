//! Docker's pull/push progress display: one line per layer, updated in place with a bar on a
//! terminal; on a pipe, each status change printed once and byte counts left out.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use strata_registry_client::{PullProgress, PullStatus, PushProgress, PushStatus};

use crate::output::units;

pub struct LayerDisplay {
    terminal: bool,
    quiet: bool,
    /// `run`/`create` pull on stderr, so stdout carries only the container's output.
    stderr: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    order: Vec<String>,
    status: HashMap<String, String>,
    last_draw: HashMap<String, Instant>,
}

impl LayerDisplay {
    pub fn new(quiet: bool) -> LayerDisplay {
        use std::io::IsTerminal;
        LayerDisplay {
            terminal: std::io::stdout().is_terminal(),
            quiet,
            stderr: false,
            state: Mutex::new(State::default()),
        }
    }

    /// The same display on standard error.
    pub fn on_stderr() -> LayerDisplay {
        use std::io::IsTerminal;
        LayerDisplay {
            terminal: std::io::stderr().is_terminal(),
            quiet: false,
            stderr: true,
            state: Mutex::new(State::default()),
        }
    }

    fn out(&self) -> Box<dyn Write> {
        if self.stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        }
    }

    fn status(&self, id: &str, text: String) {
        if self.quiet {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = self.out();
        if !self.terminal {
            // Off a terminal Docker prints no progress messages, only status changes.
            if text == "Downloading" || text == "Pushing" {
                return;
            }
            let _ = writeln!(out, "{id}: {text}");
            return;
        }
        draw(&mut state, &mut out, id, text);
    }

    fn bytes(&self, id: &str, verb: &str, done: u64, total: u64) {
        if self.quiet || !self.terminal {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if done < total
            && state
                .last_draw
                .get(id)
                .is_some_and(|t| now.duration_since(*t) < Duration::from_millis(100))
        {
            return;
        }
        state.last_draw.insert(id.to_owned(), now);
        let mut out = self.out();
        draw(
            &mut state,
            &mut out,
            id,
            format!("{verb} {}", bar(done, total)),
        );
    }
}

/// Rewrites the line of `id` in place (cursor up, clear, write, back down), or appends it.
fn draw(state: &mut State, out: &mut dyn Write, id: &str, text: String) {
    match state.order.iter().position(|x| x == id) {
        Some(index) => {
            let up = state.order.len() - index;
            let _ = write!(out, "\x1b[{up}A\r\x1b[2K{id}: {text}\r\x1b[{up}B");
        }
        None => {
            state.order.push(id.to_owned());
            let _ = writeln!(out, "{id}: {text}");
        }
    }
    state.status.insert(id.to_owned(), text);
    let _ = out.flush();
}

/// Docker's `[=====>      ]  1.2MB/3.4MB`.
fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    if total == 0 {
        return units::human_size(done);
    }
    let filled = (done.min(total) * WIDTH / total) as usize;
    let mut b = "=".repeat(filled);
    if filled < WIDTH as usize {
        b.push('>');
        b.push_str(&" ".repeat(WIDTH as usize - filled - 1));
    }
    format!(
        "[{b}]  {}/{}",
        units::human_size(done),
        units::human_size(total)
    )
}

impl PullProgress for LayerDisplay {
    fn layer(&self, id: &str, status: PullStatus) {
        self.status(id, status.to_string());
    }
    fn bytes(&self, id: &str, done: u64, total: u64) {
        LayerDisplay::bytes(self, id, "Downloading", done, total);
    }
}

impl PushProgress for LayerDisplay {
    fn layer(&self, id: &str, status: PushStatus) {
        self.status(id, status.to_string());
    }
    fn bytes(&self, id: &str, done: u64, total: u64) {
        LayerDisplay::bytes(self, id, "Pushing", done, total);
    }
}
