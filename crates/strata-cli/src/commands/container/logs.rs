//! `logs`: the json-file log replayed (`--tail`, `--since`, `-t`) and followed (`-f`) until
//! the container stops.

use std::io::{Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use strata_runtime::lifecycle;
use strata_runtime::logs::{LogEntry, log_path, parse};

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")
    #[arg(long)]
    pub since: Option<String>,
    pub container: String,
}

/// `--since`: RFC 3339, Unix seconds, or a Go duration like `42m`, `10s`, `1h`.
fn parse_since(text: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(secs) = text.parse::<f64>() {
        return DateTime::from_timestamp(secs as i64, 0)
            .ok_or_else(|| CliError::new("invalid --since"));
    }
    let (num, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| CliError::new(format!("invalid value for \"since\": {text}")))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "ms" => n / 1000.0,
        _ => {
            return Err(CliError::new(format!(
                "invalid value for \"since\": {text}"
            )));
        }
    };
    Ok(Utc::now() - chrono::Duration::milliseconds((secs * 1000.0) as i64))
}

fn emit(entries: &[LogEntry], timestamps: bool, since: Option<DateTime<Utc>>) {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for e in entries {
        if let Some(s) = since
            && DateTime::parse_from_rfc3339(&e.time).is_ok_and(|t| t.with_timezone(&Utc) < s)
        {
            continue;
        }
        let text = if timestamps {
            format!("{} {}", e.time, e.log)
        } else {
            e.log.clone()
        };
        if e.stream == "stderr" {
            let _ = stderr.lock().write_all(text.as_bytes());
        } else {
            let _ = stdout.lock().write_all(text.as_bytes());
        }
    }
    let _ = std::io::stdout().flush();
}

pub fn run(global: &GlobalOpts, args: LogsArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let id = store.resolve(&args.container).map_err(cli_error)?;
    let path = log_path(&store.container_dir(&id), &id);
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::new(format!("{}: {e}", path.display()))),
    };
    let mut text = String::new();
    if let Some(f) = file.as_mut() {
        f.read_to_string(&mut text)?;
    }
    // Only complete lines: a partial one is read again when following.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let mut entries = parse(&text[..complete]);
    if args.tail != "all" {
        let n: usize = args
            .tail
            .parse()
            .map_err(|_| CliError::new(format!("invalid value for \"tail\": {}", args.tail)))?;
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    emit(&entries, args.timestamps, since);
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut offset = complete as u64;
    loop {
        let running = lifecycle::load_checked(&store, &id)
            .map(|r| r.state.running)
            .unwrap_or(false);
        if file.is_none() {
            file = std::fs::File::open(&path).ok();
        }
        if let Some(f) = file.as_mut() {
            f.seek(SeekFrom::Start(offset))?;
            let mut more = String::new();
            f.read_to_string(&mut more)?;
            let complete = more.rfind('\n').map_or(0, |i| i + 1);
            emit(&parse(&more[..complete]), args.timestamps, since);
            offset += complete as u64;
        }
        if !running {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
