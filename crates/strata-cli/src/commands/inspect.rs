//! `inspect`: any object by name or ID. As in Docker, a name is tried as a container first,
//! then as an image, unless `--type` says which.

use std::process::ExitCode;

use crate::cli::{GlobalOpts, InspectArgs};
use crate::commands::{CliError, container, image};
use crate::output;

pub fn run(global: &GlobalOpts, args: InspectArgs) -> Result<ExitCode, CliError> {
    let kind = args.kind.as_deref();
    if let Some(k) = kind {
        if k != "image" && k != "container" {
            return Err(CliError::new(format!(
                "\"{k}\" is not a valid value for --type"
            )));
        }
    }
    let store = image::open_store(global)?;
    let mut objects = Vec::new();
    let mut failed = false;
    for name in &args.names {
        if kind != Some("image") {
            if let Some(json) = container::inspect_container(global, name)? {
                objects.push(json);
                continue;
            }
        }
        if kind != Some("container") {
            match store.resolve_image(name).and_then(|id| store.image(&id)) {
                Ok(img) => {
                    objects.push(image::inspect::image_json(&store, &img)?);
                    continue;
                }
                Err(strata_store::StoreError::ImageNotFound(_)) => {}
                Err(e) => return Err(CliError::new(e)),
            }
        }
        failed = true;
        match kind {
            Some("container") => eprintln!("Error: No such container: {name}"),
            Some("image") => eprintln!("Error: No such image: {name}"),
            _ => eprintln!("Error: No such object: {name}"),
        }
    }
    output::print_inspect(args.format.as_deref(), &objects)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
