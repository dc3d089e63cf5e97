//! Stages that do not depend on each other build at the same time, while the output stays
//! Docker's classic output in stage order: a stage streams its events live only when every
//! earlier stage has been printed, otherwise it buffers them and they are replayed in turn.
//!
//! A stage depends on the earlier stages its FROM or a `COPY --from` names. A stage whose
//! dependencies cannot be known before it runs (a name built from an ARG), or that may have
//! to pull (a base missing from the store, `--pull`, ONBUILD triggers in its base), runs
//! after every earlier stage and on the main thread, where the puller is.

use std::collections::{BTreeMap, BTreeSet};

use strata_dockerfile::instructions::{Instruction, Stage};
use strata_reference::Digest;
use strata_store::{Image, Store};

use crate::args::BuildArgs;
use crate::builder::{Builder, StageState};
use crate::cache::Cache;
use crate::context::BuildContext;
use crate::error::{BuildError, Result};
use crate::{BuildOptions, Event, Progress, Stream};

/// For each stage, the earlier stages it needs, or `None`: "after all of them".
pub fn dependencies(stages: &[Stage], store: &Store, pull: bool) -> Vec<Option<BTreeSet<usize>>> {
    let mut out = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        let earlier = |name: &str| -> Option<usize> {
            let lower = name.to_ascii_lowercase();
            stages[..i]
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str()))
                .or_else(|| lower.parse::<usize>().ok().filter(|n| *n < i))
        };
        // A name that is an image: fine when stored, unless it must be pulled.
        let local_image = |name: &str| {
            !pull
                && store
                    .resolve_image(name)
                    .ok()
                    .and_then(|id| store.image(&id).ok())
                    .is_some_and(|img| {
                        img.config
                            .config
                            .as_ref()
                            .is_none_or(|c| c.on_build.as_ref().is_none_or(Vec::is_empty))
                    })
        };
        let mut deps = BTreeSet::new();
        let mut known = true;
        let mut need = |name: &str, image_ok: bool| {
            if name.contains('$') {
                known = false;
            } else if let Some(j) = earlier(name) {
                deps.insert(j);
            } else if !image_ok && !local_image(name) {
                known = false;
            }
        };
        need(
            &stage.base_name,
            stage.base_name.eq_ignore_ascii_case("scratch"),
        );
        for cmd in &stage.commands {
            match &cmd.instruction {
                Instruction::Copy(c) => {
                    if let Some(from) = &c.from {
                        need(from, false);
                    }
                }
                Instruction::Onbuild(_) => {}
                _ => {}
            }
        }
        out.push(known.then_some(deps));
    }
    out
}

/// Groups stage indexes into rounds: every stage runs after the rounds holding what it needs.
pub fn rounds(deps: &[Option<BTreeSet<usize>>]) -> Vec<Vec<usize>> {
    let mut level = vec![0usize; deps.len()];
    for i in 0..deps.len() {
        level[i] = match &deps[i] {
            Some(d) => d.iter().map(|j| level[*j] + 1).max().unwrap_or(0),
            None => (0..i).map(|j| level[j] + 1).max().unwrap_or(0),
        };
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, l) in level.iter().enumerate() {
        if out.len() <= *l {
            out.resize(*l + 1, Vec::new());
        }
        out[*l].push(i);
    }
    out
}

/// An event kept for later: the owned form of [`Event`].
#[derive(Debug, Clone)]
enum Owned {
    Step(usize, usize, String),
    UsingCache,
    CacheMiss(String),
    RunningIn(String),
    Output(Stream, Vec<u8>),
    RemovingContainer(String),
    StepImage(Digest),
    Downloaded(String),
    ExecutingTriggers(usize),
    Note(String),
    Warning(String),
}

/// Collects a stage's events while earlier stages are still being printed.
#[derive(Default)]
pub struct Buffer {
    events: Vec<Owned>,
}

impl Progress for Buffer {
    fn event(&mut self, event: Event<'_>) {
        self.events.push(match event {
            Event::Step { index, total, text } => Owned::Step(index, total, text.to_string()),
            Event::UsingCache => Owned::UsingCache,
            Event::CacheMiss { reason } => Owned::CacheMiss(reason.to_string()),
            Event::RunningIn { container } => Owned::RunningIn(container.to_string()),
            Event::Output { stream, data } => Owned::Output(stream, data.to_vec()),
            Event::RemovingContainer { container } => {
                Owned::RemovingContainer(container.to_string())
            }
            Event::StepImage { id } => Owned::StepImage(id.clone()),
            Event::Downloaded { url } => Owned::Downloaded(url.to_string()),
            Event::ExecutingTriggers { count } => Owned::ExecutingTriggers(count),
            Event::Note { text } => Owned::Note(text.to_string()),
            Event::Warning { text } => Owned::Warning(text.to_string()),
        });
    }
}

impl Buffer {
    /// Sends the kept events on, in the order they came.
    pub fn replay(&self, to: &mut dyn Progress) {
        for e in &self.events {
            to.event(match e {
                Owned::Step(index, total, text) => Event::Step {
                    index: *index,
                    total: *total,
                    text,
                },
                Owned::UsingCache => Event::UsingCache,
                Owned::CacheMiss(reason) => Event::CacheMiss { reason },
                Owned::RunningIn(container) => Event::RunningIn { container },
                Owned::Output(stream, data) => Event::Output {
                    stream: *stream,
                    data,
                },
                Owned::RemovingContainer(container) => Event::RemovingContainer { container },
                Owned::StepImage(id) => Event::StepImage { id },
                Owned::Downloaded(url) => Event::Downloaded { url },
                Owned::ExecutingTriggers(count) => Event::ExecutingTriggers { count: *count },
                Owned::Note(text) => Event::Note { text },
                Owned::Warning(text) => Event::Warning { text },
            });
        }
    }
}

/// The first step number of each stage: the meta ARGs, then per stage its FROM and commands.
pub fn first_steps(meta_args: usize, stages: &[Stage]) -> Vec<usize> {
    let mut step = meta_args;
    stages
        .iter()
        .map(|s| {
            let first = step;
            step += 1 + s.commands.len();
            first
        })
        .collect()
}

/// What finished stages hand to the next rounds: `stages_done` entries by index and name.
pub fn done_entries(
    index: usize,
    name: Option<&String>,
    id: Option<Digest>,
) -> BTreeMap<String, Option<Digest>> {
    let mut out = BTreeMap::new();
    out.insert(index.to_string(), id.clone());
    if let Some(n) = name {
        out.insert(n.clone(), id);
    }
    out
}

/// The parts of a builder another thread needs to build a stage on its own.
struct StageWorker<'a> {
    store: &'a Store,
    context: &'a BuildContext,
    opts: &'a BuildOptions,
    escape: char,
    cache: Cache,
    created: String,
    stages_done: BTreeMap<String, Option<Digest>>,
    stage_names: Vec<Option<String>>,
    cache_from: Vec<Image>,
}

/// A stage that has run: its result, the args it used, and its events if they were kept.
type Finished = (Result<StageState>, BTreeSet<String>, Option<Buffer>);

impl StageWorker<'_> {
    /// Builds one stage with its events kept in a buffer and no registry: the plan runs the
    /// stages that may pull on the main thread.
    fn build(
        self,
        stage: &Stage,
        index: usize,
        args: &BuildArgs,
        first_step: usize,
        total: usize,
    ) -> Finished {
        let mut buffer = Buffer::default();
        let mut no_pull = crate::NoPull;
        let mut b = Builder {
            store: self.store,
            context: self.context,
            opts: self.opts,
            progress: &mut buffer,
            puller: &mut no_pull,
            escape: self.escape,
            cache: self.cache,
            created: self.created,
            stages_done: self.stages_done,
            consumed_args: BTreeSet::new(),
            stage_names: self.stage_names,
            pending_removal: None,
            cache_from: self.cache_from,
        };
        let result = b.build_stage(index, stage, args, first_step, total);
        let consumed = std::mem::take(&mut b.consumed_args);
        drop(b);
        (result, consumed, Some(buffer))
    }
}

/// Builds every stage, independent ones at the same time (see `parallel`), printing in stage
/// order; returns the last stage.
pub fn build_stages(
    b: &mut Builder<'_>,
    stages: &[Stage],
    args: &BuildArgs,
    meta_steps: usize,
    total: usize,
) -> Result<Option<StageState>> {
    let deps = dependencies(stages, b.store, b.opts.pull);
    let firsts = first_steps(meta_steps, stages);
    let mut finished: BTreeMap<usize, Finished> = BTreeMap::new();
    let mut next_print = 0;
    let mut last = None;
    for round in rounds(&deps) {
        // The round's first stage streams live when every earlier stage has been printed.
        let live = round.first().copied().filter(|i| *i == next_print);
        let workers: Vec<(usize, StageWorker<'_>)> = round
            .iter()
            .copied()
            .filter(|i| Some(*i) != live)
            .map(|i| {
                let worker = StageWorker {
                    store: b.store,
                    context: b.context,
                    opts: b.opts,
                    escape: b.escape,
                    cache: b.cache.clone(),
                    created: b.created.clone(),
                    stages_done: b.stages_done.clone(),
                    stage_names: b.stage_names.clone(),
                    cache_from: b.cache_from.clone(),
                };
                (i, worker)
            })
            .collect();
        let results: Vec<(usize, Finished)> = std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .into_iter()
                .map(|(i, worker)| {
                    let (first, stage) = (firsts[i], &stages[i]);
                    scope.spawn(move || (i, worker.build(stage, i, args, first, total)))
                })
                .collect();
            let mut out = Vec::new();
            if let Some(i) = live {
                let result = b.build_stage(i, &stages[i], args, firsts[i], total);
                out.push((i, (result, std::mem::take(&mut b.consumed_args), None)));
            }
            for h in handles {
                if let Ok(done) = h.join() {
                    out.push(done);
                }
            }
            out
        });
        if results.len() != round.len() {
            return Err(BuildError::Other("a stage's build thread panicked".into()));
        }
        for (i, (result, consumed, buffer)) in results {
            if let Ok(st) = &result {
                let id = st.image.as_ref().map(|img| img.id.clone());
                b.stages_done.extend(done_entries(i, st.name.as_ref(), id));
                b.consumed_args
                    .extend(st.args.declared_names().map(str::to_string));
            }
            b.consumed_args.extend(consumed);
            finished.insert(i, (result, BTreeSet::new(), buffer));
        }
        // Print what can be printed in order; the first failure in stage order ends the build.
        let failed = finished.iter().find(|(_, f)| f.0.is_err()).map(|(i, _)| *i);
        while let Some((result, _, buffer)) = finished.remove(&next_print) {
            if let Some(buffer) = &buffer {
                buffer.replay(b.progress);
            }
            next_print += 1;
            last = Some(result?);
        }
        if let Some(i) = failed
            && let Some((result, _, buffer)) = finished.remove(&i)
        {
            if let Some(buffer) = &buffer {
                buffer.replay(b.progress);
            }
            result?;
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(v: &[&[usize]]) -> Vec<Option<BTreeSet<usize>>> {
        v.iter()
            .map(|d| Some(d.iter().copied().collect()))
            .collect()
    }

    #[test]
    fn independent_stages_share_a_round() {
        // 0 and 1 independent; 2 needs both; 3 needs 0.
        let r = rounds(&sets(&[&[], &[], &[0, 1], &[0]]));
        assert_eq!(r, vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn an_unknown_stage_waits_for_all_before_it() {
        let mut deps = sets(&[&[], &[], &[]]);
        deps[1] = None;
        let r = rounds(&deps);
        assert_eq!(r, vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn steps_are_numbered_as_in_sequence() {
        let parse = |text: &str| {
            strata_dockerfile::instructions::parse_file(text.as_bytes())
                .expect("parse")
                .1
                .stages
        };
        let stages = parse("FROM a AS x\nRUN 1\nRUN 2\nFROM b\nCOPY --from=x / /\n");
        assert_eq!(first_steps(1, &stages), vec![1, 4]);
    }
}
