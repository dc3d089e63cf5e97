//! `strata build`: a Dockerfile and a build context become an image, step by step, the way
//! Docker's classic builder (`DOCKER_BUILDKIT=0 docker build`) does it: every instruction
//! after `FROM` commits an image on top of the previous one, with the same `config`,
//! `container_config` and history (`/bin/sh -c #(nop)  ENV A=1`, `empty_layer`), so the
//! results compare field for field with Docker's.
//!
//! Entry point: [`build`]`(&Store, &BuildContext, &BuildOptions, &mut dyn Progress, &mut dyn
//! ImagePuller)` returns the final image ID; the caller tags it. Base images missing from the
//! store (or all of them with `--pull`) are asked of the [`ImagePuller`], which the CLI
//! implements with strata-registry-client. [`BuildContext`] is a directory or an unpacked tar
//! with `.dockerignore` applied. Progress is reported as [`Event`]s (the library never
//! prints); the CLI renders Docker's classic output from them.
//!
//! - Config-only instructions produce config-only images (`dispatch`).
//! - COPY/ADD stage their files in an overlay-format directory and register it as a layer
//!   directly, without a container (`copy`); WORKDIR writes its directory the same way.
//!   `ADD <url>` downloads first (`remote`): the content is part of the cache key.
//! - RUN runs in a real container of the current image through `strata-runtime`
//!   (namespaces, the image's env/user/workdir, `--network`), and the container's overlay
//!   upper directory becomes the layer (`run`).
//! - Every step is looked up in the step cache first (`cache`, layout documented there).
//!
//! Depends on strata-dockerfile (parsing, expansion, .dockerignore), strata-store (images,
//! layers) and strata-runtime (containers for RUN).

mod args;
mod builder;
pub mod cache;
mod context;
mod copy;
mod copy_fs;
mod dispatch;
mod error;
mod gofmt;
mod image;
mod parallel;
mod pull;
mod remote;
mod run;
mod squash;
mod tarsum;

use std::collections::BTreeMap;

pub use builder::build;
pub use context::BuildContext;
pub use error::{BuildError, Result};
pub use pull::{ImagePuller, NoPull};

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's bytes.
    pub dockerfile: Vec<u8>,
    /// `--build-arg NAME=VALUE`; `None` when named without a value and not set in the
    /// caller's environment (the CLI resolves `--build-arg NAME` from its environment).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `--target`: the stage to stop at.
    pub target: Option<String>,
    /// `--label`: added to the final stage as LABEL steps, in key order.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--no-cache-filter`: stages (names or indexes) not to take from the cache.
    pub no_cache_filter: Vec<String>,
    /// `--cache-from`: images whose history may serve as cache.
    pub cache_from: Vec<String>,
    /// `--squash`: the build's changes as one layer on the final stage's base.
    pub squash: bool,
    /// `--network` for RUN: `default`, `host` or `none`.
    pub network: String,
    /// `SOURCE_DATE_EPOCH`: fixed creation times and clamped file times.
    pub source_date_epoch: Option<i64>,
    /// `--platform` for the whole build.
    pub platform: Option<String>,
    /// `--pull`: pull every base image (FROM, `COPY --from=<image>`) even when it is stored.
    pub pull: bool,
}

/// Output from a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What the build reports while it runs, in Docker's classic order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `Step 2/6 : COPY . /app`.
    Step {
        index: usize,
        total: usize,
        text: &'a str,
    },
    /// ` ---> Using cache`.
    UsingCache,
    /// Not from the cache, and why (for `--progress=plain`).
    CacheMiss { reason: &'a str },
    /// ` ---> Running in 0123456789ab`.
    RunningIn { container: &'a str },
    /// Output of a RUN.
    Output { stream: Stream, data: &'a [u8] },
    /// `Removing intermediate container 0123456789ab`.
    RemovingContainer { container: &'a str },
    /// ` ---> <id>`: the image a step produced (or the base of FROM).
    StepImage { id: &'a strata_reference::Digest },
    /// An ADD source was downloaded (Docker prints an empty line for it).
    Downloaded { url: &'a str },
    /// `# Executing 2 build triggers`.
    ExecutingTriggers { count: usize },
    /// A note Docker prints on stdout (`Note: overriding previous HEALTHCHECK: ...`).
    Note { text: &'a str },
    /// `[Warning] One or more build-args [X] were not consumed`.
    Warning { text: &'a str },
}

/// Receives build events.
pub trait Progress {
    fn event(&mut self, event: Event<'_>);
}

/// Discards events.
pub struct Quiet;

impl Progress for Quiet {
    fn event(&mut self, _: Event<'_>) {}
}
