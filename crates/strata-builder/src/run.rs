//! RUN: the command runs in a real container of the current image (strata-runtime: its
//! namespaces, the image's env, user and workdir, the build args in the environment,
//! `--network`), its output is streamed as events, and the container's overlay upper
//! directory becomes the step's layer. The container is removed whatever happens.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use strata_dockerfile::instructions::{Run, ShellOrExec};
use strata_runtime::attach as proto;
use strata_runtime::{ContainerStore, CreateOptions, ImageRuntimeConfig, lifecycle};

use crate::builder::{Builder, StageState};
use crate::cache::StepInputs;
use crate::error::{BuildError, Result};
use crate::image::ChangeDir;
use crate::{Event, Stream};

/// A build container: removed when dropped.
struct BuildContainer {
    store: ContainerStore,
    id: String,
    upper: PathBuf,
}

impl ChangeDir for BuildContainer {
    fn dir(&self) -> &Path {
        &self.upper
    }
    fn mount_points(&self) -> &[&str] {
        strata_runtime::storage::MOUNT_POINT_FILES
    }
}

impl Drop for BuildContainer {
    fn drop(&mut self) {
        if let Err(e) = lifecycle::remove(&self.store, &self.id, true, true) {
            tracing::warn!("removing build container {}: {e}", self.id);
        }
    }
}

/// The command a RUN executes: shell form through the stage's shell, with heredocs the
/// way BuildKit runs them (a lone heredoc is the script; otherwise the line and the
/// heredocs form one script).
fn run_command(st: &StageState, r: &Run) -> Vec<String> {
    match &r.cmd {
        ShellOrExec::Exec(v) => v.clone(),
        ShellOrExec::Shell(line) => {
            let mut argv = st.shell();
            if r.heredocs.is_empty() {
                argv.push(line.clone());
                return argv;
            }
            let trimmed = line.trim();
            let lone = r.heredocs.len() == 1 && {
                let h = &r.heredocs[0];
                let bare = trimmed
                    .trim_start_matches("<<")
                    .trim_start_matches('-')
                    .trim_matches(|c| c == '"' || c == '\'');
                bare == h.name
            };
            if lone {
                argv.push(content_of(&r.heredocs[0]));
                return argv;
            }
            let mut script = line.clone();
            for h in &r.heredocs {
                script.push('\n');
                script.push_str(&content_of(h));
                script.push_str(&h.name);
            }
            argv.push(script);
            argv
        }
    }
}

fn content_of(h: &strata_dockerfile::Heredoc) -> String {
    if h.chomp {
        strata_dockerfile::chomp_content(&h.content)
    } else {
        h.content.clone()
    }
}

impl Builder<'_> {
    pub fn run(&mut self, st: &mut StageState, r: &Run, line: usize) -> Result<()> {
        // Mounts (cache, bind, secret, ssh) are BuildKit's; the classic builder, which strata
        // follows, refuses them with this message.
        if !r.mounts.is_empty() {
            return Err(BuildError::step(
                line,
                "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled",
            ));
        }
        let network = match r.network.as_str() {
            "" | "default" => match self.opts.network.as_str() {
                // Docker's classic builder runs RUN on the default bridge; without netavark
                // strata falls back to the host's network (`info` says bridge is unavailable).
                "" | "default" if strata_runtime::network::bridge_available() => "bridge".into(),
                "" | "default" => "host".to_string(),
                n => n.to_string(),
            },
            n => n.to_string(),
        };
        if !["bridge", "host", "none"].contains(&network.as_str()) {
            return Err(BuildError::step(
                line,
                format!(
                    "network mode {network:?} not supported by strata build (bridge, host or none)"
                ),
            ));
        }
        let cmd = run_command(st, r);
        let env = st.config.env.clone().unwrap_or_default();
        let build_args = st.args.filter_allowed(&env);
        let save_cmd = if build_args.is_empty() {
            cmd.clone()
        } else {
            let mut v = st.args.run_prefix(&build_args);
            v.extend(cmd.iter().cloned());
            v
        };
        let mut cc = st.config.clone();
        cc.cmd = Some(save_cmd);
        cc.args_escaped = false;
        cc.entrypoint = None;
        let args: BTreeMap<String, String> = build_args
            .iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let inputs = StepInputs {
            args,
            ..StepInputs::default()
        };
        let epoch = self.opts.source_date_epoch;
        self.finish_step(st, &cc, "", inputs, &mut |b, st| {
            let c = b.run_container(st, &cmd, &build_args, &network, line)?;
            if let Some(epoch) = epoch {
                crate::image::clamp_mtimes(&c.upper, epoch)
                    .map_err(BuildError::io("clamping times in", &c.upper))?;
            }
            b.pending_removal = Some(c.id[..12].to_string());
            Ok(Some(Box::new(c)))
        })
    }

    fn run_container(
        &mut self,
        st: &StageState,
        cmd: &[String],
        build_args: &[String],
        network: &str,
        line: usize,
    ) -> Result<BuildContainer> {
        let Some(image) = &st.image else {
            return Err(BuildError::step(
                line,
                "RUN needs a base image: this stage is FROM scratch with no files",
            ));
        };
        let layers = self.store.layer_dirs(&image.id)?;
        if layers.is_empty() {
            return Err(BuildError::step(
                line,
                "RUN needs a base image with files: this image has no layers",
            ));
        }
        let mut env = st.config.env.clone().unwrap_or_default();
        env.extend(build_args.iter().cloned());
        let image_config = ImageRuntimeConfig {
            user: Some(st.config.user.clone()),
            env: Some(env),
            cmd: Some(cmd.to_vec()),
            entrypoint: None,
            working_dir: Some(st.config.working_dir.clone()),
            volumes: None,
            labels: None,
            stop_signal: None,
            exposed_ports: None,
        };
        let cstore = ContainerStore::open(self.store.root())?;
        let record = strata_runtime::create(
            &cstore,
            CreateOptions {
                image_ref: image.id.to_string(),
                image_id: image.id.to_string(),
                image_config,
                layers,
                attach: true,
                network: network.to_string(),
                ..CreateOptions::default()
            },
        )?;
        let id = record.id.clone();
        let container = BuildContainer {
            store: cstore.clone(),
            upper: cstore.container_dir(&id).join("diff"),
            id: id.clone(),
        };
        self.progress.event(Event::RunningIn {
            container: &id[..12],
        });
        let mut handle = lifecycle::start(&cstore, &id, true)?;
        handle.wait_created()?;
        let mut stream = UnixStream::connect(proto::attach_socket(&id)).map_err(|e| {
            BuildError::Other(format!("cannot attach to build container {id}: {e}"))
        })?;
        handle.wait_started()?;
        let mut code = None;
        let mut buf = vec![0u8; 32 * 1024];
        let mut pending = Vec::new();
        while code.is_none() {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            for (kind, payload) in proto::drain_frames(&mut pending) {
                match kind {
                    proto::STDOUT => self.progress.event(Event::Output {
                        stream: Stream::Stdout,
                        data: &payload,
                    }),
                    proto::STDERR => self.progress.event(Event::Output {
                        stream: Stream::Stderr,
                        data: &payload,
                    }),
                    proto::EXIT if payload.len() == 4 => {
                        code = Some(i32::from_be_bytes([
                            payload[0], payload[1], payload[2], payload[3],
                        ]));
                    }
                    _ => {}
                }
            }
        }
        let code = match code {
            Some(c) => c,
            None => lifecycle::wait(&cstore, &id)?,
        };
        // Let the monitor finish recording the exit before the record is read or removed.
        let _ = lifecycle::wait(&cstore, &id);
        if code != 0 {
            return Err(BuildError::RunFailed {
                command: cmd.join(" "),
                code,
                line,
            });
        }
        let record = cstore.load(&id)?;
        if record.strata.storage != "overlay" {
            return Err(BuildError::step(
                line,
                "RUN needs the overlay storage driver (the kernel refused the overlay mount)",
            ));
        }
        prune_placeholders(&container.upper);
        Ok(container)
    }
}

/// Removes the runtime's empty mount-point files from the upper directory, and `/etc` when
/// it was copied up only for them: Docker keeps those in a separate init layer, so a RUN
/// that changes nothing has an empty layer.
fn prune_placeholders(upper: &Path) {
    for p in strata_runtime::storage::MOUNT_POINT_FILES {
        let path = upper.join(p.trim_start_matches('/'));
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let _ = std::fs::remove_file(&path);
        }
    }
    // remove_dir only succeeds on an empty directory.
    let _ = std::fs::remove_dir(upper.join("etc"));
}
