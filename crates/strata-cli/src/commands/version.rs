use std::process::ExitCode;

use super::CliError;

pub fn run() -> Result<ExitCode, CliError> {
    println!("Client:");
    println!(" Version:           {}", env!("CARGO_PKG_VERSION"));
    println!(" Go version:        n/a (Rust)");
    println!(" OS/Arch:           {}/{}", std::env::consts::OS, go_arch());
    println!(" Daemon:            none (strata is daemonless)");
    Ok(ExitCode::SUCCESS)
}

/// Docker and OCI name architectures the Go way.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
