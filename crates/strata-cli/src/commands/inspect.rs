//! `inspect`: any object by name or ID. Images today; containers join when the runtime lands.

use std::process::ExitCode;

use crate::cli::{GlobalOpts, InspectArgs};
use crate::commands::{CliError, image};
use crate::output;

pub fn run(global: &GlobalOpts, args: InspectArgs) -> Result<ExitCode, CliError> {
    if let Some(kind) = args.kind.as_deref() {
        if kind != "image" {
            return Err(CliError::new(format!(
                "\"{kind}\" is not a valid value for --type"
            )));
        }
    }
    let store = image::open_store(global)?;
    let mut objects = Vec::new();
    let mut failed = false;
    for name in &args.names {
        match store.resolve_image(name).and_then(|id| store.image(&id)) {
            Ok(img) => objects.push(image::inspect::image_json(&store, &img)?),
            Err(strata_store::StoreError::ImageNotFound(_)) => {
                failed = true;
                eprintln!("Error: No such object: {name}");
            }
            Err(e) => return Err(CliError::new(e)),
        }
    }
    output::print_inspect(args.format.as_deref(), &objects)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
