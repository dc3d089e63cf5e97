//! `save`, `load` and `import`: images in and out of the store as archives.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::process::ExitCode;

use strata_reference::Reference;
use strata_store::{ImportOptions, SaveFormat, Store};

use super::{ImportArgs, LoadArgs, SaveArgs};
use crate::commands::CliError;

pub fn save(store: &Store, args: SaveArgs) -> Result<ExitCode, CliError> {
    let format = if args.format == "oci" {
        SaveFormat::Oci
    } else {
        SaveFormat::DockerArchive
    };
    crate::output::write_archive(args.output.as_deref(), |out| {
        store.save(&args.images, format, out).map_err(CliError::new)
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn load(store: &Store, args: LoadArgs) -> Result<ExitCode, CliError> {
    let loaded = match &args.input {
        Some(path) => {
            let file = File::open(path)
                .map_err(|e| CliError::new(format!("open {}: {e}", path.display())))?;
            store.load(file)
        }
        None => {
            if io::stdin().is_terminal() {
                return Err(CliError::new(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            store.load(io::stdin().lock())
        }
    }
    .map_err(CliError::new)?;
    if !args.quiet {
        for image in loaded {
            if image.tags.is_empty() {
                println!("Loaded image ID: {}", image.id);
            }
            for t in image.tags {
                println!("Loaded image: {}", t.familiar_string());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(store: &Store, args: ImportArgs) -> Result<ExitCode, CliError> {
    let reference = args
        .reference
        .as_deref()
        .map(|r| Reference::parse_normalized(r).map(Reference::with_default_tag))
        .transpose()
        .map_err(CliError::new)?;
    let platform_os = match args.platform.as_deref() {
        None => None,
        Some(p) => {
            let (os, arch) = p.split_once('/').unwrap_or((p, ""));
            if os != "linux" || (!arch.is_empty() && arch != crate::commands::version::go_arch()) {
                return Err(CliError::new(format!(
                    "importing for platform {p} is not supported: strata imports for linux/{}",
                    crate::commands::version::go_arch()
                )));
            }
            Some(os.to_owned())
        }
    };
    if args.source.starts_with("http://") || args.source.starts_with("https://") {
        return Err(CliError::new(
            "importing from a URL is not implemented in strata yet: download the file and import it",
        ));
    }
    let opts = ImportOptions {
        changes: args.change,
        message: args.message,
        source: "-".into(),
        reference,
        platform_os,
    };
    let id = if args.source == "-" {
        store.import(io::stdin().lock(), &opts)
    } else {
        let file = File::open(&args.source)
            .map_err(|e| CliError::new(format!("open {}: {e}", args.source)))?;
        store.import(file, &opts)
    }
    .map_err(CliError::new)?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}
