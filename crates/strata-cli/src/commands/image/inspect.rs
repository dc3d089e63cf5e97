//! `image inspect`: Docker's ImageInspect JSON (the shape the Docker 20.10 engine returns).

use std::process::ExitCode;

use serde_json::{Value as Json, json};
use strata_store::{Image, Store};

use super::InspectArgs;
use crate::commands::CliError;
use crate::output;

pub fn image_json(store: &Store, image: &Image) -> Result<Json, CliError> {
    let refs = store.references(&image.id).map_err(CliError::new)?;
    let tags: Vec<String> = refs
        .iter()
        .filter(|r| r.tag().is_some())
        .map(|r| r.familiar_string())
        .collect();
    let digests: Vec<String> = refs
        .iter()
        .filter(|r| r.digest().is_some())
        .map(|r| {
            format!(
                "{}@{}",
                r.familiar_name(),
                r.digest().map(|d| d.to_string()).unwrap_or_default()
            )
        })
        .collect();
    let size = store.image_size(image).map_err(CliError::new)?;
    let cfg = &image.config;
    let empty_config = strata_store::config::ContainerConfig::default();
    let dirs: Vec<String> = image
        .chain_ids()
        .iter()
        .rev()
        .map(|c| store.layer_diff_dir(c).display().to_string())
        .collect();
    let mut graph = serde_json::Map::new();
    if let Some((top, lower)) = dirs.split_first() {
        if !lower.is_empty() {
            graph.insert("LowerDir".into(), Json::String(lower.join(":")));
        }
        graph.insert("UpperDir".into(), Json::String(top.clone()));
    }
    let mut obj = json!({
        "Id": image.id.to_string(),
        "RepoTags": tags,
        "RepoDigests": digests,
        "Parent": image.record.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        "Comment": cfg.comment,
        "Created": cfg.created.clone().unwrap_or_default(),
        "Container": cfg.container,
        "ContainerConfig": cfg.container_config.as_ref().unwrap_or(&empty_config),
        "DockerVersion": cfg.docker_version,
        "Author": cfg.author,
        "Config": oci_config_view(cfg.config.as_ref().unwrap_or(&empty_config)),
        "Architecture": cfg.architecture,
    });
    let map = obj
        .as_object_mut()
        .ok_or_else(|| CliError::new("internal: inspect object"))?;
    if !cfg.variant.is_empty() {
        map.insert("Variant".into(), Json::String(cfg.variant.clone()));
    }
    map.insert("Os".into(), Json::String(cfg.os.clone()));
    if !cfg.os_version.is_empty() {
        map.insert("OsVersion".into(), Json::String(cfg.os_version.clone()));
    }
    map.insert("Size".into(), json!(size));
    map.insert("VirtualSize".into(), json!(size));
    map.insert(
        "GraphDriver".into(),
        json!({"Data": graph, "Name": "overlay"}),
    );
    map.insert(
        "RootFS".into(),
        json!({"Type": cfg.rootfs.kind, "Layers": cfg.rootfs.diff_ids}),
    );
    map.insert("Metadata".into(), json!({"LastTagTime": image.record.last_tag_time.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into())}));
    Ok(obj)
}

/// The image's container config as current Docker shows it (`DockerOCIImageConfig`): the OCI
/// image config's fields in the spec's order, then Docker's extensions, all omitted when empty.
pub fn oci_config_view(c: &strata_store::config::ContainerConfig) -> Json {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Json| {
        let empty = match &v {
            Json::Null => true,
            Json::String(s) => s.is_empty(),
            Json::Array(a) => a.is_empty(),
            Json::Object(o) => o.is_empty(),
            Json::Bool(b) => !b,
            _ => false,
        };
        if !empty {
            m.insert(k.to_owned(), v);
        }
    };
    put("User", json!(c.user));
    put("ExposedPorts", json!(c.exposed_ports));
    put("Env", json!(c.env));
    put("Entrypoint", json!(c.entrypoint));
    put("Cmd", json!(c.cmd));
    put("Volumes", json!(c.volumes));
    put("WorkingDir", json!(c.working_dir));
    put("Labels", json!(c.labels));
    put("StopSignal", json!(c.stop_signal));
    put("ArgsEscaped", json!(c.args_escaped));
    put("Healthcheck", json!(c.healthcheck));
    put("OnBuild", json!(c.on_build));
    put("Shell", json!(c.shell));
    Json::Object(m)
}

pub fn run(store: &Store, args: InspectArgs) -> Result<ExitCode, CliError> {
    let mut objects = Vec::new();
    let mut missing = Vec::new();
    for name in &args.images {
        match store.resolve_image(name).and_then(|id| store.image(&id)) {
            Ok(image) => objects.push(image_json(store, &image)?),
            Err(strata_store::StoreError::ImageNotFound(_)) => missing.push(name.clone()),
            Err(e) => return Err(CliError::new(e)),
        }
    }
    output::print_inspect(args.format.as_deref(), &objects)?;
    if !missing.is_empty() {
        for m in &missing {
            eprintln!("Error: No such image: {m}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
