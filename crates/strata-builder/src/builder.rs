//! The build loop: stages in order up to the target, each instruction a step that is
//! looked up in the cache or executed and committed, as the classic builder does.

use std::collections::{BTreeMap, BTreeSet};

use strata_dockerfile::expand::{Env, Lex};
use strata_dockerfile::instructions::{self, ArgDef, Command, Instruction, KeyValue, Stage};
use strata_reference::Digest;
use strata_store::config::ContainerConfig;
use strata_store::{Image, Store};

use crate::args::BuildArgs;
use crate::cache::{Cache, StepInputs};
use crate::context::BuildContext;
use crate::error::{BuildError, Result};
use crate::image::{self, StepCommit};
use crate::parallel;
use crate::{BuildOptions, Event, ImagePuller, Progress};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One stage while it is being built.
pub struct StageState {
    pub index: usize,
    pub name: Option<String>,
    /// The latest image (`None`: `FROM scratch` and nothing committed yet).
    pub image: Option<Image>,
    /// The image this stage started from (for `--squash`).
    pub base: Option<Digest>,
    /// The classic builder's `runConfig`.
    pub config: ContainerConfig,
    pub args: BuildArgs,
    /// MAINTAINER, the author of the following commits.
    pub author: String,
    pub cmd_set: bool,
    pub line: usize,
    /// The instruction being built, as written: names its cache explanation record.
    pub step_text: String,
}

impl StageState {
    pub fn parent_id(&self) -> String {
        self.image
            .as_ref()
            .map(|i| i.id.to_string())
            .unwrap_or_default()
    }

    /// The shell of shell-form commands.
    pub fn shell(&self) -> Vec<String> {
        match &self.config.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => vec!["/bin/sh".into(), "-c".into()],
        }
    }

    /// Variables for expanding instruction words: the config's Env plus allowed build args.
    pub fn expansion_env(&self) -> Env {
        let env = self.config.env.clone().unwrap_or_default();
        let mut list = env.clone();
        list.extend(self.args.filter_allowed(&env));
        Env::from_list(list)
    }

    /// The config with the history text as Cmd: `[shell..., "#(nop) ", comment]`.
    pub fn nop_config(&self, comment: &str) -> ContainerConfig {
        let mut cc = self.config.clone();
        let mut cmd = self.shell();
        cmd.push("#(nop) ".into());
        cmd.push(comment.into());
        cc.cmd = Some(cmd);
        cc
    }

    /// The same with one word `#(nop) COMMENT` (WORKDIR, COPY, ADD).
    pub fn nop_config_string(&self, comment: &str) -> ContainerConfig {
        let mut cc = self.config.clone();
        let mut cmd = self.shell();
        cmd.push(format!("#(nop) {comment}"));
        cc.cmd = Some(cmd);
        cc
    }
}

/// What a step does on a cache miss: the changed files to commit as its layer, if any.
pub type StepWork<'f> =
    dyn FnMut(&mut Builder<'_>, &StageState) -> Result<Option<Box<dyn image::ChangeDir>>> + 'f;

pub struct Builder<'a> {
    pub store: &'a Store,
    pub context: &'a BuildContext,
    pub opts: &'a BuildOptions,
    pub progress: &'a mut dyn Progress,
    /// Brings base images the store lacks.
    pub puller: &'a mut dyn ImagePuller,
    pub escape: char,
    pub cache: Cache,
    pub created: String,
    /// Finished stages: name or index → image.
    pub stages_done: BTreeMap<String, Option<Digest>>,
    pub consumed_args: BTreeSet<String>,
    /// Every stage's name, for detecting `--from` cycles.
    pub stage_names: Vec<Option<String>>,
    /// A RUN container to report as removed once its step is committed.
    pub pending_removal: Option<String>,
    pub(crate) cache_from: Vec<Image>,
}

/// Builds the Dockerfile in `opts` with `context`; returns the final image ID. Base images
/// missing from the store (all of them with `opts.pull`) are pulled through `puller`.
pub fn build(
    store: &Store,
    context: &BuildContext,
    opts: &BuildOptions,
    progress: &mut dyn Progress,
    puller: &mut dyn ImagePuller,
) -> Result<Digest> {
    let (dockerfile, mut stages) =
        instructions::parse_file(&opts.dockerfile).map_err(|e| BuildError::Parse {
            line: e.line,
            message: e.message.clone(),
        })?;
    if stages.stages.is_empty() {
        return Err(BuildError::Other(
            "No build stage in current context".into(),
        ));
    }
    let target = match &opts.target {
        Some(t) => {
            let lower = t.to_ascii_lowercase();
            stages
                .stages
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str()))
                .ok_or_else(|| {
                    BuildError::Other(format!("failed to reach build target {t} in Dockerfile"))
                })?
        }
        None => stages.stages.len() - 1,
    };
    stages.stages.truncate(target + 1);
    if let Some(last) = stages.stages.last_mut() {
        for (k, v) in &opts.labels {
            let line = last.commands.last().map_or(last.start_line, |c| c.end_line);
            last.commands.push(Command {
                instruction: Instruction::Label(vec![KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                    legacy: false,
                }]),
                start_line: line,
                end_line: line,
                original: format!("LABEL {k}={v}"),
            });
        }
    }
    let cache =
        Cache::open(store).map_err(BuildError::io("creating cache directory in", store.root()))?;
    let mut cache_from = Vec::new();
    for name in &opts.cache_from {
        match store.resolve_image(name) {
            Ok(id) => cache_from.push(store.image(&id)?),
            Err(e) => tracing::warn!("--cache-from {name}: {e}"),
        }
    }
    let mut b = Builder {
        store,
        context,
        opts,
        progress,
        puller,
        escape: dockerfile.escape,
        cache,
        created: image::created_time(opts.source_date_epoch),
        stages_done: BTreeMap::new(),
        consumed_args: BTreeSet::new(),
        stage_names: stages.stages.iter().map(|s| s.name.clone()).collect(),
        pending_removal: None,
        cache_from,
    };
    let total = stages.meta_args.len()
        + stages.stages.len()
        + stages
            .stages
            .iter()
            .map(|s| s.commands.len())
            .sum::<usize>();
    let mut step = 0;
    let mut args = BuildArgs::new(opts.build_args.clone());
    for def in &stages.meta_args {
        step += 1;
        let text = match &def.default {
            Some(d) => format!("ARG {}={d}", def.name),
            None => format!("ARG {}", def.name),
        };
        b.progress.event(Event::Step {
            index: step,
            total,
            text: &text,
        });
        let meta = args.meta_values();
        let default = match &def.default {
            Some(d) => Some(
                Lex::new(b.escape)
                    .process_word(d, &meta)
                    .map_err(|e| BuildError::Other(e.to_string()))?,
            ),
            None => None,
        };
        args.add_meta(&def.name, default);
        b.consumed_args.insert(def.name.clone());
    }
    let last = parallel::build_stages(&mut b, &stages.stages, &args, step, total)?;
    let Some(st) = last else {
        return Err(BuildError::Other(
            "No build stage in current context".into(),
        ));
    };
    let unused = args.unconsumed(&b.consumed_args);
    if !unused.is_empty() {
        let text = format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        );
        b.progress.event(Event::Warning { text: &text });
    }
    let Some(img) = &st.image else {
        return Err(BuildError::Other(
            "No image was generated. Is your Dockerfile empty?".into(),
        ));
    };
    if opts.squash {
        return crate::squash::squash(store, img, st.base.as_ref(), &b.created);
    }
    Ok(img.id.clone())
}

impl Builder<'_> {
    /// One stage: FROM, then each command as a step.
    pub(crate) fn build_stage(
        &mut self,
        index: usize,
        stage: &Stage,
        args: &BuildArgs,
        first_step: usize,
        total: usize,
    ) -> Result<StageState> {
        let mut step = first_step;
        let mut st = self.begin_stage(index, stage, args, &mut step, total)?;
        for cmd in &stage.commands {
            step += 1;
            self.progress.event(Event::Step {
                index: step,
                total,
                text: &cmd.original,
            });
            st.step_text = cmd.original.clone();
            self.dispatch(&mut st, cmd)
                .map_err(|e| e.at_line(cmd.start_line))?;
        }
        Ok(st)
    }

    /// FROM: the base image (or an earlier stage, or scratch), its config, ONBUILD triggers.
    fn begin_stage(
        &mut self,
        index: usize,
        stage: &Stage,
        args: &BuildArgs,
        step: &mut usize,
        total: usize,
    ) -> Result<StageState> {
        *step += 1;
        self.progress.event(Event::Step {
            index: *step,
            total,
            text: &stage.original,
        });
        let meta = args.meta_values();
        let lex = Lex::new(self.escape);
        let line = stage.start_line;
        let base_name = lex
            .process_word(&stage.base_name, &meta)
            .map_err(|e| BuildError::step(line, e.to_string()))?;
        if base_name.is_empty() {
            return Err(BuildError::step(
                line,
                format!("base name ({}) should not be blank", stage.base_name),
            ));
        }
        if let Some(p) = stage.platform.as_ref().or(self.opts.platform.as_ref()) {
            let p = lex
                .process_word(p, &meta)
                .map_err(|e| BuildError::step(line, e.to_string()))?;
            check_platform(&p).map_err(|m| BuildError::step(line, m))?;
        }
        let image = if base_name.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(done) = self.stages_done.get(&base_name.to_ascii_lowercase()) {
            match done {
                Some(id) => Some(self.store.image(id)?),
                None => None,
            }
        } else {
            Some(self.base_image(&base_name).map_err(|e| e.at_line(line))?)
        };
        let mut config = image
            .as_ref()
            .and_then(|i| i.config.config.clone())
            .unwrap_or_default();
        let env = config.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(format!("PATH={DEFAULT_PATH}"));
        }
        config.open_stdin = false;
        config.stdin_once = false;
        config.image = image.as_ref().map(|i| i.id.to_string()).unwrap_or_default();
        if let Some(img) = &image {
            self.progress.event(Event::StepImage { id: &img.id });
        }
        let mut st = StageState {
            index,
            name: stage.name.clone(),
            base: image.as_ref().map(|i| i.id.clone()),
            image,
            config,
            args: args.for_stage(),
            author: String::new(),
            cmd_set: false,
            line,
            step_text: String::new(),
        };
        self.run_triggers(&mut st)?;
        Ok(st)
    }

    fn run_triggers(&mut self, st: &mut StageState) -> Result<()> {
        let triggers = st.config.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        st.config.on_build = Some(Vec::new());
        self.progress.event(Event::ExecutingTriggers {
            count: triggers.len(),
        });
        for text in triggers {
            let df = strata_dockerfile::parse(text.as_bytes())
                .map_err(|e| BuildError::step(st.line, e.to_string()))?;
            for node in &df.nodes {
                let word = node.instruction.to_ascii_uppercase();
                match word.as_str() {
                    "ONBUILD" => {
                        return Err(BuildError::step(
                            st.line,
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                        ));
                    }
                    "MAINTAINER" | "FROM" => {
                        return Err(BuildError::step(
                            st.line,
                            format!("{word} isn't allowed as an ONBUILD trigger"),
                        ));
                    }
                    _ => {}
                }
                let instruction = instructions::parse_instruction(node)
                    .map_err(|e| BuildError::step(st.line, e.message))?;
                let cmd = Command {
                    instruction,
                    start_line: st.line,
                    end_line: st.line,
                    original: node.original.clone(),
                };
                st.step_text = format!("ONBUILD {}", node.original);
                self.dispatch(st, &cmd)?;
            }
        }
        Ok(())
    }

    fn use_cache(&self, st: &StageState) -> bool {
        if self.opts.no_cache {
            return false;
        }
        !self.opts.no_cache_filter.iter().any(|f| {
            let f = f.to_ascii_lowercase();
            st.name.as_deref() == Some(f.as_str()) || f == st.index.to_string()
        })
    }

    /// Looks the step up in the cache, else produces and commits it; reports the image.
    pub fn finish_step(
        &mut self,
        st: &mut StageState,
        container_config: &ContainerConfig,
        sources: &str,
        mut inputs: StepInputs,
        work: &mut StepWork<'_>,
    ) -> Result<()> {
        let parent = st.parent_id();
        let cc_json =
            serde_json::to_vec(container_config).map_err(|e| BuildError::Other(e.to_string()))?;
        let key = Cache::key(&parent, &cc_json, sources);
        inputs.parent = parent.clone();
        inputs.command = container_config.cmd.clone().unwrap_or_default().join(" ");
        let step_name = format!(
            "{}\n{}\n{}",
            st.index,
            st.name.clone().unwrap_or_default(),
            st.step_text
        );
        let hit = if self.use_cache(st) {
            self.cache
                .get(&key)
                .or_else(|| self.cache_from_hit(st, container_config))
        } else {
            None
        };
        let id = match hit {
            Some(id) => {
                self.progress.event(Event::UsingCache);
                id
            }
            None => {
                let reason = if self.use_cache(st) {
                    inputs.explain_change(self.cache.previous_inputs(&step_name).as_ref())
                } else {
                    "cache disabled for this step".to_string()
                };
                self.progress.event(Event::CacheMiss { reason: &reason });
                let changes = work(self, st)?;
                let author = st.author.clone();
                let created = self.created.clone();
                let id = image::commit_step(
                    self.store,
                    &StepCommit {
                        parent: st.image.as_ref(),
                        config: &st.config,
                        container_config,
                        changes: changes.as_deref(),
                        author: &author,
                        created: &created,
                    },
                )?;
                drop(changes);
                if let Some(c) = self.pending_removal.take() {
                    self.progress
                        .event(Event::RemovingContainer { container: &c });
                }
                self.cache.put(&key, &id);
                id
            }
        };
        self.cache.record_inputs(&step_name, &inputs);
        st.image = Some(self.store.image(&id)?);
        st.config.image = id.to_string();
        self.progress.event(Event::StepImage { id: &id });
        Ok(())
    }

    /// A config-only step with the two-word `#(nop) ` history form.
    pub fn commit_nop(
        &mut self,
        st: &mut StageState,
        comment: &str,
        args: BTreeMap<String, String>,
    ) -> Result<()> {
        let cc = st.nop_config(comment);
        let inputs = StepInputs {
            args,
            ..StepInputs::default()
        };
        self.finish_step(st, &cc, "", inputs, &mut |_, _| Ok(None))
    }

    /// `--cache-from`: an image whose history continues the current image's with this step.
    fn cache_from_hit(&mut self, st: &StageState, cc: &ContainerConfig) -> Option<Digest> {
        let created_by = cc.cmd.clone().unwrap_or_default().join(" ");
        let (history, diff_ids) = match &st.image {
            Some(p) => (p.config.history.clone(), p.config.rootfs.diff_ids.clone()),
            None => (Vec::new(), Vec::new()),
        };
        for source in &self.cache_from {
            let h = &source.config.history;
            if h.len() <= history.len() || !source.config.rootfs.diff_ids.starts_with(&diff_ids) {
                continue;
            }
            let same_prefix = h
                .iter()
                .zip(&history)
                .all(|(a, b)| a.created_by == b.created_by && a.empty_layer == b.empty_layer);
            let next = &h[history.len()];
            if !same_prefix || next.created_by != created_by {
                continue;
            }
            if h.len() == history.len() + 1 {
                return Some(source.id.clone());
            }
            // An intermediate step: restore its image from the source's layers and history.
            let mut config = match &st.image {
                Some(p) => p.config.clone(),
                None => image::scratch_config(),
            };
            if !next.empty_layer {
                let layer_index = h[..=history.len()]
                    .iter()
                    .filter(|e| !e.empty_layer)
                    .count()
                    - 1;
                config
                    .rootfs
                    .diff_ids
                    .push(source.config.rootfs.diff_ids.get(layer_index)?.clone());
            }
            config.history.push(next.clone());
            config.created = next.created.clone();
            config.container_config = Some(cc.clone());
            config.config = Some(st.config.clone());
            let raw = serde_json::to_vec(&config).ok()?;
            return self
                .store
                .create_image(&raw, st.image.as_ref().map(|i| i.id.clone()))
                .ok();
        }
        None
    }

    /// Expands one word with the stage's variables, marking the build args it used.
    pub fn expand(&self, st: &mut StageState, word: &str) -> Result<String> {
        let env = st.expansion_env();
        let exp = Lex::new(self.escape)
            .process(word, &env)
            .map_err(|e| BuildError::Other(e.to_string()))?;
        for name in &exp.matched {
            st.args.mark_referenced(name);
        }
        Ok(exp.word)
    }
}

/// `--platform` must name this machine's platform: strata runs no emulation.
fn check_platform(p: &str) -> std::result::Result<(), String> {
    let host = format!("linux/{}", strata_store::config::host_architecture());
    let normalized = p.trim().to_ascii_lowercase();
    let ok = normalized == host
        || normalized == "linux"
        || (host == "linux/amd64" && normalized == "linux/x86_64")
        || (host == "linux/arm64"
            && (normalized == "linux/aarch64" || normalized == "linux/arm64/v8"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "platform {p} is not supported: strata builds only for the host platform ({host})"
        ))
    }
}

/// ARG definitions as `ARG a=1 b` history text.
pub fn arg_comment(defs: &[ArgDef]) -> String {
    let parts: Vec<String> = defs
        .iter()
        .map(|d| match &d.default {
            Some(v) => format!("{}={v}", d.name),
            None => d.name.clone(),
        })
        .collect();
    format!("ARG {}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_must_be_the_host() {
        let host = format!("linux/{}", strata_store::config::host_architecture());
        assert!(check_platform(&host).is_ok());
        assert!(
            check_platform("linux/s390x")
                .unwrap_err()
                .contains("only for the host platform")
        );
    }
}
