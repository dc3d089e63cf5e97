//! Logging: `tracing` events to stderr. The level is, first match wins: `STRATA_LOG` (a full
//! filter, for debugging strata itself), `--debug`, `--log-level`, a level the command reads
//! from its own configuration (`registry serve`'s `log_level`), then warn. The filter sits
//! behind a reload handle because that configuration is only read once the command runs.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::cli::GlobalOpts;

/// The values `--log-level` accepts.
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
const DEFAULT_LEVEL: &str = "warn";

struct State {
    handle: reload::Handle<EnvFilter, Registry>,
    /// Set by `STRATA_LOG` or a flag: a command's configured level must not override it.
    fixed: bool,
}

static STATE: OnceLock<State> = OnceLock::new();

fn filter(level: &str) -> EnvFilter {
    // Only strata's own crates log at `level`; dependencies stay at warn.
    EnvFilter::new(format!("strata={level},warn"))
}

pub fn init(global: &GlobalOpts) {
    let from_env = EnvFilter::try_from_env("STRATA_LOG").ok();
    let fixed = from_env.is_some() || global.explicit_log_level().is_some();
    let initial =
        from_env.unwrap_or_else(|| filter(global.explicit_log_level().unwrap_or(DEFAULT_LEVEL)));
    let (layer, handle) = reload::Layer::new(initial);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time();
    tracing_subscriber::registry().with(layer).with(fmt).init();
    let _ = STATE.set(State { handle, fixed });
}

/// Use the level a command's configuration asks for, unless the environment or a flag set one.
pub fn set_configured_level(level: &str) {
    if let Some(state) = STATE.get().filter(|s| !s.fixed) {
        // Fails only when the subscriber is gone, and then there is nothing to log to anyway.
        let _ = state.handle.reload(filter(level));
    }
}
