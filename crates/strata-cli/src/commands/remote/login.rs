//! `strata login` / `strata logout`: credentials in docker's `config.json` (or its credential
//! helpers), validated against the registry before anything is written.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use strata_registry_client::hosts::DOCKER_HUB_INDEX;
use strata_registry_client::{
    Credentials, DockerConfig, HostSettings, Registry, RegistryError, credentials,
};

use super::{LoginArgs, LogoutArgs};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

/// The config key and the reference domain for what the user typed as SERVER.
fn server_of(arg: Option<&str>) -> (String, String) {
    match arg.map(str::trim).filter(|s| !s.is_empty()) {
        None => (DOCKER_HUB_INDEX.to_owned(), "docker.io".to_owned()),
        Some(s) => {
            let host = credentials::hostname_of(s).to_owned();
            if matches!(
                host.as_str(),
                "docker.io" | "index.docker.io" | "registry-1.docker.io"
            ) {
                (DOCKER_HUB_INDEX.to_owned(), "docker.io".to_owned())
            } else {
                (host.clone(), host)
            }
        }
    }
}

pub fn login(global: &GlobalOpts, args: LoginArgs) -> Result<ExitCode, CliError> {
    let (key, domain) = server_of(args.server.as_deref());
    if args.password.is_some() && args.password_stdin {
        return Err(CliError::new(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    let mut config = DockerConfig::load_default().map_err(CliError::new)?;
    let settings = HostSettings::load(&global.root).map_err(CliError::new)?;
    if args.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let password = if args.password_stdin {
        if args.username.is_none() {
            return Err(CliError::new(
                "Must provide --username with --password-stdin",
            ));
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    } else {
        args.password.clone()
    };

    // No credentials given: reuse stored ones if they still work, as docker does.
    if args.username.is_none() && password.is_none() {
        if let Some(existing) = config.get(&key).map_err(CliError::new)? {
            if verify(&domain, &settings, existing).is_ok() {
                println!("Authenticating with existing credentials...");
                println!("Login Succeeded");
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let username = match args.username.clone() {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = match password {
        Some(p) => p,
        None => prompt_secret("Password: ")?,
    };
    if username.trim().is_empty() {
        return Err(CliError::new("Username is required"));
    }
    if password.is_empty() {
        return Err(CliError::new("Password is required"));
    }
    let creds = Credentials {
        username: username.trim().to_owned(),
        password,
    };
    verify(&domain, &settings, creds.clone())?;
    config.store(&key, &creds).map_err(CliError::new)?;
    if config.helper_for(&key).is_none() {
        eprintln!(
            "WARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
            config.path().display()
        );
    }
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}

fn verify(domain: &str, settings: &HostSettings, creds: Credentials) -> Result<(), CliError> {
    let registry = Registry::connect(domain, settings, Some(creds)).map_err(CliError::new)?;
    registry.verify_login().map_err(|e| match e {
        RegistryError::Unauthorized | RegistryError::BadCredentials => CliError::new(format!(
            "login attempt to {}/v2/ failed with status: 401 Unauthorized",
            registry.base_url()
        )),
        other => CliError::new(other),
    })
}

fn prompt(label: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "Cannot perform an interactive login from a non TTY device",
        ));
    }
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Reads a line with terminal echo off (`stty -echo` on the caller's terminal).
fn prompt_secret(label: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "Cannot perform an interactive login from a non TTY device",
        ));
    }
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
    };
    let _ = stty("-echo");
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    let _ = stty("echo");
    println!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub fn logout(_global: &GlobalOpts, args: LogoutArgs) -> Result<ExitCode, CliError> {
    let (key, _) = server_of(args.server.as_deref());
    let mut config = DockerConfig::load_default().map_err(CliError::new)?;
    if config.get(&key).ok().flatten().is_none()
        && !config
            .servers()
            .iter()
            .any(|s| credentials::hostname_of(s) == credentials::hostname_of(&key))
    {
        println!("Not logged in to {key}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Removing login credentials for {key}");
    config.erase(&key).map_err(CliError::new)?;
    Ok(ExitCode::SUCCESS)
}
