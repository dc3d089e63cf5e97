//! Pulls on behalf of other commands: a `FROM` image during `build`, the image of `run` and
//! `create`. Docker's daemon prints the same lines as `docker pull` there, less the final
//! reference line, into the build output (stdout) or before the container (stderr).

use std::io::Write;
use std::sync::{Arc, Once};

use strata_reference::Digest;
use strata_registry_client::{PullOptions, PullProgress, PullStatus};
use strata_store::Store;

use super::progress::LayerDisplay;
use super::pull::pull_error;
use super::{connect, parse_reference};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

/// Where the pull's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullOutput {
    Stdout,
    Stderr,
    Quiet,
}

/// Pulls `name` (Docker's normalization, `latest` when untagged) into `store`; returns the
/// image ID. Errors carry Docker's wording (`manifest for x:1 not found: ...`).
pub fn pull_missing(
    global: &GlobalOpts,
    store: &Store,
    name: &str,
    output: PullOutput,
) -> Result<Digest, CliError> {
    let reference = parse_reference(name)?;
    let reference = if reference.digest().is_some() {
        reference
    } else {
        reference.with_default_tag()
    };
    let what = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => "latest".to_owned(),
    };
    let display = Arc::new(Headed {
        header: format!("{what}: Pulling from {}", reference.path()),
        output,
        once: Once::new(),
        layers: match output {
            PullOutput::Stderr => LayerDisplay::on_stderr(),
            other => LayerDisplay::new(other == PullOutput::Quiet),
        },
    });
    let registry = connect(global, reference.domain())?;
    let result = strata_registry_client::pull(
        store,
        &registry,
        &reference,
        &PullOptions::default(),
        display.clone(),
    )
    .map_err(|e| pull_error(e, &reference))?;
    display.header();
    say(output, format!("Digest: {}", result.manifest_digest));
    let status = if result.up_to_date {
        "Image is up to date for"
    } else {
        "Downloaded newer image for"
    };
    say(
        output,
        format!("Status: {status} {}", reference.familiar_string()),
    );
    Ok(result.image_id)
}

fn say(output: PullOutput, text: String) {
    let _ = match output {
        PullOutput::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
        PullOutput::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
        PullOutput::Quiet => Ok(()),
    };
}

/// The layer display, preceded by `1: Pulling from repo` once the manifest is found: Docker
/// prints no such line when the pull fails before that (an unknown manifest).
struct Headed {
    header: String,
    output: PullOutput,
    once: Once,
    layers: LayerDisplay,
}

impl Headed {
    fn header(&self) {
        self.once
            .call_once(|| say(self.output, self.header.clone()));
    }
}

impl PullProgress for Headed {
    fn layer(&self, id: &str, status: PullStatus) {
        self.header();
        PullProgress::layer(&self.layers, id, status);
    }
    fn bytes(&self, id: &str, done: u64, total: u64) {
        self.header();
        PullProgress::bytes(&self.layers, id, done, total);
    }
}
