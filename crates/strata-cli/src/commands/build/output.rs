//! Docker's classic build output, rendered from the builder's events.

use std::io::Write;

use strata_builder::{Event, Progress};

pub struct ClassicOutput {
    /// `-q`: nothing but the final ID.
    pub quiet: bool,
    /// `--progress=plain`: also say why each step missed the cache.
    pub plain: bool,
}

impl Progress for ClassicOutput {
    fn event(&mut self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = match event {
            Event::Step { index, total, text } => writeln!(out, "Step {index}/{total} : {text}"),
            Event::UsingCache => writeln!(out, " ---> Using cache"),
            Event::CacheMiss { reason } if self.plain => {
                writeln!(out, " ---> Cache miss: {reason}")
            }
            Event::CacheMiss { .. } => Ok(()),
            Event::RunningIn { container } => writeln!(out, " ---> Running in {container}"),
            Event::Output { data, .. } => out.write_all(data),
            Event::RemovingContainer { container } => {
                writeln!(out, "Removing intermediate container {container}")
            }
            // The empty line Docker's daemon writes after an ADD download.
            Event::Downloaded { .. } => writeln!(out),
            Event::StepImage { id } => writeln!(out, " ---> {}", id.short()),
            Event::ExecutingTriggers { count } => {
                writeln!(
                    out,
                    "# Executing {count} build trigger{}",
                    if count > 1 { "s" } else { "" }
                )
            }
            Event::Note { text } | Event::Warning { text } => writeln!(out, "{text}"),
        };
        let _ = out.flush();
    }
}
