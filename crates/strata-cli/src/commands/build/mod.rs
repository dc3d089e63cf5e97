//! `strata build` / `strata image build`: Docker's flags, the context (a directory, a tar
//! file, or `-` for a tar or a Dockerfile on stdin), the classic output, tags and
//! `--iidfile`. The work is done by strata-builder.

mod live;
mod output;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use strata_builder::{BuildContext, BuildError, BuildOptions};
use strata_reference::Reference;
use strata_store::Store;

use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::commands::remote::{PullOutput, pull_missing};

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile")
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set metadata for an image
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Do not cache specified stages
    #[arg(long = "no-cache-filter")]
    pub no_cache_filter: Vec<String>,
    /// Images to consider as cache sources
    #[arg(long = "cache-from")]
    pub cache_from: Vec<String>,
    /// Squash newly built layers into a single new layer
    #[arg(long)]
    pub squash: bool,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    pub network: String,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to the file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Set type of progress output ("auto", "plain", "tty", "quiet")
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Remove intermediate containers after a successful build (always on)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub rm: bool,
    /// Always remove intermediate containers
    #[arg(long)]
    pub force_rm: bool,
    /// PATH | URL | -
    pub context: String,
}

fn parse_tags(tags: &[String]) -> Result<Vec<Reference>, CliError> {
    tags.iter()
        .map(|t| {
            Reference::parse_normalized(t)
                .map(Reference::with_default_tag)
                .map_err(|e| {
                    CliError::new(format!(
                        "invalid argument \"{t}\" for \"-t, --tag\" flag: {e}"
                    ))
                })
        })
        .collect()
}

fn build_args(items: &[String]) -> BTreeMap<String, Option<String>> {
    items
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), std::env::var(a).ok()),
        })
        .collect()
}

/// Whether `bytes` start a tar stream (after decompression).
fn looks_like_tar(bytes: &[u8]) -> bool {
    let Ok((mut r, _)) = strata_store::compress::decompressed(std::io::Cursor::new(bytes)) else {
        return false;
    };
    let mut block = [0u8; 512];
    r.read_exact(&mut block).is_ok() && &block[257..262] == b"ustar"
}

/// The context and the Dockerfile's bytes.
fn prepare(store: &Store, args: &BuildArgs) -> Result<(BuildContext, Vec<u8>), CliError> {
    let tmp = store.root().join("tmp");
    let read_df = |path: &Path| -> Result<Vec<u8>, CliError> {
        std::fs::read(path).map_err(|e| {
            CliError::new(format!(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: {}",
                path.display(),
                crate::commands::build::os_message(&e)
            ))
        })
    };
    let in_context = |ctx: &BuildContext| -> Result<Vec<u8>, CliError> {
        let name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
        read_df(&ctx.root().join(name.trim_start_matches('/')))
    };
    if args.context == "-" {
        let mut stdin = Vec::new();
        std::io::stdin().read_to_end(&mut stdin)?;
        if looks_like_tar(&stdin) {
            let df_name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
            let ctx = BuildContext::from_tar(
                std::io::Cursor::new(stdin),
                &tmp,
                Some(Path::new(&df_name)),
            )
            .map_err(CliError::new)?;
            let df = in_context(&ctx)?;
            return Ok((ctx, df));
        }
        // A Dockerfile on stdin and an empty context.
        let empty = tempfile::Builder::new()
            .prefix(&format!("{}-ctx-", std::process::id()))
            .tempdir_in(&tmp)?;
        let ctx = BuildContext::from_dir(empty.path(), None).map_err(CliError::new)?;
        std::mem::forget(empty);
        return Ok((ctx, stdin));
    }
    let path = Path::new(&args.context);
    if path.is_file() {
        let file = std::fs::File::open(path)?;
        let df_name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
        let ctx =
            BuildContext::from_tar(file, &tmp, Some(Path::new(&df_name))).map_err(CliError::new)?;
        let df = in_context(&ctx)?;
        return Ok((ctx, df));
    }
    if !path.exists() {
        return Err(CliError::new(format!(
            "unable to prepare context: path {:?} not found",
            args.context
        )));
    }
    let df_path = match args.file.as_deref() {
        Some("-") => None,
        Some(f) => Some(std::path::absolute(f)?),
        None => Some(path.join("Dockerfile")),
    };
    let df = match &df_path {
        Some(p) => read_df(p)?,
        None => {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b)?;
            b
        }
    };
    let df_for_ignore = df_path
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    let ctx = BuildContext::from_dir(path, df_for_ignore.as_deref()).map_err(CliError::new)?;
    Ok((ctx, df))
}

pub fn os_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

pub fn run(global: &GlobalOpts, args: BuildArgs) -> Result<ExitCode, CliError> {
    let tags = parse_tags(&args.tags)?;
    if !matches!(
        args.progress.as_str(),
        "auto" | "plain" | "tty" | "quiet" | "rawjson"
    ) {
        return Err(CliError::new(format!(
            "invalid argument \"{}\" for \"--progress\" flag",
            args.progress
        )));
    }
    let store = Store::open(&global.root).map_err(CliError::new)?;
    let (context, dockerfile) = prepare(&store, &args)?;
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let build_args = build_args(&args.build_args);
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| build_args.get("SOURCE_DATE_EPOCH").cloned().flatten())
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| CliError::new(format!("invalid SOURCE_DATE_EPOCH: {s}")))
        })
        .transpose()?;
    let opts = BuildOptions {
        dockerfile,
        build_args,
        target: args.target.clone(),
        labels,
        no_cache: args.no_cache,
        no_cache_filter: args
            .no_cache_filter
            .iter()
            .flat_map(|f| f.split(',').map(str::to_string))
            .collect(),
        cache_from: args.cache_from.clone(),
        squash: args.squash,
        network: args.network.clone(),
        source_date_epoch: epoch,
        platform: args.platform.clone(),
        pull: args.pull,
    };
    let quiet = args.quiet || args.progress == "quiet";
    let mut classic = output::ClassicOutput {
        quiet,
        plain: args.progress == "plain",
    };
    let mut live = live::wanted(&args.progress, quiet).then(live::LiveOutput::new);
    let progress: &mut dyn strata_builder::Progress = match live.as_mut() {
        Some(l) => l,
        None => &mut classic,
    };
    let mut puller = Puller {
        global,
        store: &store,
        quiet,
    };
    let built = strata_builder::build(&store, &context, &opts, progress, &mut puller);
    if let (Some(l), Ok(_)) = (live.as_mut(), &built) {
        l.close();
    }
    let id = match built {
        Ok(id) => id,
        Err(e) => return Ok(report_failure(&e, &opts.dockerfile)),
    };
    for t in &tags {
        store.tag(&id, t).map_err(CliError::new)?;
    }
    if let Some(path) = &args.iidfile {
        std::fs::write(path, id.to_string())
            .map_err(|e| CliError::new(format!("failed to write image ID to file: {e}")))?;
    }
    if quiet {
        println!("{id}");
    } else {
        println!("Successfully built {}", id.short());
        for t in &tags {
            println!("Successfully tagged {}", t.familiar_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Pulls base images into the build output, as Docker's daemon does for the classic builder.
struct Puller<'a> {
    global: &'a GlobalOpts,
    store: &'a Store,
    quiet: bool,
}

impl strata_builder::ImagePuller for Puller<'_> {
    fn pull(&mut self, name: &str) -> Result<strata_reference::Digest, String> {
        let output = if self.quiet {
            PullOutput::Quiet
        } else {
            PullOutput::Stdout
        };
        pull_missing(self.global, self.store, name, output).map_err(|e| e.to_string())
    }
}

/// Docker's wording on stderr, the Dockerfile line after it, and Docker's exit code (the
/// RUN's own code for a failed RUN, 1 otherwise).
fn report_failure(e: &BuildError, dockerfile: &[u8]) -> ExitCode {
    match e {
        BuildError::Parse { .. } => eprintln!("Error response from daemon: {e}"),
        _ => eprintln!("{e}"),
    }
    if let Some(line) = e.line().filter(|&l| l > 0) {
        let text = String::from_utf8_lossy(dockerfile);
        if let Some(src) = text.lines().nth(line - 1) {
            eprintln!(" Dockerfile:{line}: {}", src.trim_end());
        }
    }
    match e {
        BuildError::RunFailed { code, .. } => ExitCode::from((*code).clamp(1, 255) as u8),
        _ => ExitCode::from(1),
    }
}
