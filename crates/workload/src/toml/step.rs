//! Program steps: short strings (`"run 2ms"`, `"wait ping"`, `"policy fifo 10"`) and
//! loop tables (`{ loop = 5, do = [...] }`), resolved straight into `model::Step`.

use crate::model::{Dur, SchedAttr, Step};

use super::attr::{policy_step, setattr_step, NICE_RANGE};
use super::ctx::{get, index, join, Ctx, Res};
use super::dur;
use super::hint::did_you_mean;
use super::names::{Registry, Site};
use super::tree::{Entry, Kind, Node};
use super::values::{self, dur_error};
use crate::error::WorkloadError;

/// Every verb, for "did you mean" (aliases included so `sem_post` is suggested as written).
const VERBS: &[&str] = &[
    "run",
    "runwall",
    "sleep",
    "timer",
    "post",
    "wait",
    "sem_post",
    "sem_wait",
    "signal",
    "broadcast",
    "cond_signal",
    "cond_broadcast",
    "cond_wait",
    "sync",
    "lock",
    "unlock",
    "barrier",
    "suspend",
    "resume",
    "yield",
    "fork",
    "exit",
    "nice",
    "policy",
    "slice",
    "affinity",
    "cgroup",
    "setsid",
    "mlockall",
    "marker",
    "setattr",
];

const STEP_HINT: &str =
    "a step is a string like \"run 2ms\", a loop table like { loop = 3, do = [\"run 1ms\", \"sleep 1ms\"] } or { marker = \"text\" }";

/// Reads the steps of one task's program.
pub(crate) struct Steps<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub reg: &'c mut Registry,
    /// Index and name of the task spec whose program this is.
    pub task: usize,
    pub task_name: &'c str,
    /// Scheduling attributes as of this point of the text: `nice 5` changes only the nice
    /// value of whatever policy the task (or an earlier `policy` step) set.
    pub attr: SchedAttr,
    /// Unnamed timers met so far in this task (each gets its own private timer).
    pub unnamed_timers: usize,
}

/// A step string split into words, each with its byte offset.
struct Words<'s> {
    text: &'s str,
    words: Vec<(usize, &'s str)>,
}

impl<'s> Words<'s> {
    fn new(text: &'s str) -> Self {
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(st)) => {
                    words.push((st, &text[st..i]));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(st) = start {
            words.push((st, &text[st..]));
        }
        Words { text, words }
    }

    /// Everything after the verb, with its offset (durations may contain spaces).
    fn rest(&self) -> (usize, &'s str) {
        let (off, verb) = self.words[0];
        (off + verb.len(), &self.text[off + verb.len()..])
    }
}

/// Steps that let simulated time pass (or end the thread), so a loop containing one
/// cannot spin forever at a single instant.
pub(crate) fn takes_time(steps: &[Step]) -> bool {
    steps.iter().any(|s| match s {
        Step::Run(d) | Step::RunWall(d) | Step::Sleep(d) => *d != Dur::Fixed(0),
        Step::Timer { .. }
        | Step::SemWait(_)
        | Step::CondWait { .. }
        | Step::CondSync { .. }
        | Step::Barrier(_)
        | Step::Suspend
        | Step::Exit => true,
        Step::Loop { count, body } => *count != Some(0) && takes_time(body),
        _ => false,
    })
}

pub(crate) fn spin_error(ctx: &Ctx, at: usize, key: &str) -> WorkloadError {
    ctx.err(at, key, "this loops forever without letting time pass")
        .with_hint("add a run, sleep, timer or wait step, give the loop a count, or end the program with `exit`")
}

impl Steps<'_, '_> {
    /// A program: an array of steps, or a single step.
    pub fn list(&mut self, node: &Node, path: &str) -> Res<Vec<Step>> {
        let steps = match &node.kind {
            Kind::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| self.step(n, &index(path, i)))
                .collect::<Res<Vec<_>>>()?,
            _ => vec![self.step(node, path)?],
        };
        if steps.is_empty() {
            return Err(self
                .ctx
                .err(node.span.start, path, "empty program")
                .with_hint(STEP_HINT));
        }
        Ok(steps)
    }

    fn step(&mut self, node: &Node, path: &str) -> Res<Step> {
        match &node.kind {
            Kind::Str(s) => self.text(s, node, path),
            Kind::Table(entries) => self.loop_table(entries, node, path),
            other => Err(self
                .ctx
                .err(
                    node.span.start,
                    path,
                    format!("expected a step, found {}", other.type_name()),
                )
                .with_hint(STEP_HINT)),
        }
    }

    fn loop_table(&mut self, entries: &[Entry], node: &Node, path: &str) -> Res<Step> {
        let ctx = self.ctx;
        if let Some(m) = get(entries, "marker") {
            // `{ marker = "text" }`: the text exactly, spaces at either end included.
            ctx.check_keys(entries, path, &["marker"])?;
            let key = join(path, "marker");
            return Ok(Step::Marker(
                ctx.want_str(&m.value, &key, "the marker text")?.to_string(),
            ));
        }
        ctx.check_keys(entries, path, &["loop", "do"])?;
        let Some(count) = get(entries, "loop") else {
            return Err(ctx
                .err(
                    node.span.start,
                    path,
                    "a table step must be a loop with `loop` and `do`",
                )
                .with_hint(STEP_HINT));
        };
        let Some(body) = get(entries, "do") else {
            return Err(ctx
                .err(node.span.start, path, "loop without `do`")
                .with_hint("list the repeated steps: do = [\"run 1ms\", \"sleep 1ms\"]"));
        };
        let count_key = join(path, "loop");
        let count = loop_count(ctx, &count.value, &count_key)?;
        let body = self.list(&body.value, &join(path, "do"))?;
        if count.is_none() && !takes_time(&body) {
            return Err(spin_error(ctx, node.span.start, path));
        }
        Ok(Step::Loop { count, body })
    }

    fn text(&mut self, s: &str, node: &Node, path: &str) -> Res<Step> {
        let ctx = self.ctx;
        let w = Words::new(s);
        let Some(&(voff, verb)) = w.words.first() else {
            return Err(ctx
                .err(node.span.start, path, "empty step")
                .with_hint(STEP_HINT));
        };
        let args = &w.words[1..];
        let at = |off: usize| ctx.str_pos(node, off);
        let site = Site {
            at: at(voff),
            key: path.to_string(),
        };

        // Between `min` and `max` arguments, else a usage hint.
        let arity = |min: usize, max: usize, usage: &str| -> Res<()> {
            if (min..=max).contains(&args.len()) {
                return Ok(());
            }
            let off = args.get(max).map_or(voff, |a| a.0);
            let msg = if args.len() < min {
                format!("`{verb}` is missing an argument")
            } else {
                format!("`{verb}` has too many arguments")
            };
            Err(ctx
                .err(at(off), path, msg)
                .with_hint(format!("write \"{usage}\"")))
        };
        let name = |i: usize| -> Res<&str> {
            let (off, n) = args[i];
            values::check_name(n)
                .map_err(|m| ctx.err(at(off), path, m).with_hint(values::NAME_HINT))?;
            Ok(n)
        };
        let duration = |usage: &str| -> Res<Dur> {
            let (off, rest) = w.rest();
            if rest.trim().is_empty() {
                return Err(ctx
                    .err(at(voff), path, format!("`{verb}` needs a duration"))
                    .with_hint(format!("write \"{usage}\"; {}", dur::UNITS_HINT)));
            }
            dur::parse_dur(rest).map_err(|e| dur_error(ctx, node, off, path, e))
        };
        let fixed = |i: usize| -> Res<u64> {
            let (off, a) = args[i];
            dur::parse_nanos(a).map_err(|e| dur_error(ctx, node, off, path, e))
        };

        Ok(match verb {
            "run" => Step::Run(duration("run 2ms")?),
            "runwall" => Step::RunWall(duration("runwall 2ms")?),
            "sleep" => Step::Sleep(duration("sleep 2ms")?),
            "timer" => {
                arity(1, 4, "timer 10ms [NAME] [relative] [private]")?;
                let period = fixed(0)?;
                if period == 0 {
                    return Err(ctx
                        .err(at(args[0].0), path, "a timer period must be above 0")
                        .with_hint("write e.g. \"timer 10ms\""));
                }
                let mut absolute = true;
                let mut shared_name = None;
                let mut private = None;
                for i in 1..args.len() {
                    match args[i].1 {
                        "relative" => absolute = false,
                        "absolute" => absolute = true,
                        "private" => private = Some(args[i].0),
                        _ if shared_name.is_none() => shared_name = Some((i, name(i)?)),
                        other => {
                            return Err(ctx
                                .err(at(args[i].0), path, format!("unexpected `{other}`"))
                                .with_hint("write \"timer 10ms\", \"timer 10ms NAME\" or \"timer 10ms NAME relative\""))
                        }
                    }
                }
                let timer = match (shared_name, private) {
                    (None, Some(off)) => {
                        return Err(ctx
                            .err(at(off), path, "`private` needs a timer name")
                            .with_hint("write \"timer 10ms NAME private\" (an unnamed timer is already private to its step)"))
                    }
                    (Some((i, n)), private) => {
                        let shared = private.is_none();
                        let t = self.reg.timer(n, shared);
                        if self.reg.timers.decls[t].shared != shared {
                            let (was, now) = if shared { ("private", "shared") } else { ("shared", "private") };
                            return Err(ctx
                                .err(at(args[i].0), path, format!("timer `{n}` is {was} elsewhere, {now} here"))
                                .with_hint("a named timer is either shared by every thread naming it or private to each thread; write `private` at every use or at none"));
                        }
                        t
                    }
                    (None, None) => {
                        // A private timer per step; `#` cannot occur in user names.
                        self.unnamed_timers += 1;
                        let auto = format!("{}#{}", self.task_name, self.unnamed_timers);
                        self.reg.timer(&auto, false)
                    }
                };
                Step::Timer {
                    timer,
                    period,
                    absolute,
                }
            }
            "post" | "sem_post" => {
                arity(1, 1, "post NAME")?;
                let i = self.reg.sem(name(0)?);
                self.reg.sem_use[i].released = true;
                Step::SemPost(i)
            }
            "wait" | "sem_wait" => {
                arity(1, 1, "wait NAME")?;
                let i = self.reg.sem(name(0)?);
                self.reg.sem_use[i].first_wait.get_or_insert(site);
                Step::SemWait(i)
            }
            "signal" | "cond_signal" => {
                arity(1, 1, "signal NAME")?;
                let i = self.reg.cond(name(0)?);
                self.reg.cond_use[i].released = true;
                Step::CondSignal(i)
            }
            "broadcast" | "cond_broadcast" => {
                arity(1, 1, "broadcast NAME")?;
                let i = self.reg.cond(name(0)?);
                self.reg.cond_use[i].released = true;
                Step::CondBroadcast(i)
            }
            "cond_wait" | "sync" => {
                arity(1, 2, &format!("{verb} COND [MUTEX]"))?;
                let cond = self.reg.cond(name(0)?);
                let mutex = if args.len() == 2 {
                    Some(self.reg.mutex(name(1)?))
                } else {
                    None
                };
                if verb == "sync" {
                    // sync signals before it waits, so it releases its partner.
                    self.reg.cond_use[cond].released = true;
                    Step::CondSync { cond, mutex }
                } else {
                    self.reg.cond_use[cond].first_wait.get_or_insert(site);
                    Step::CondWait { cond, mutex }
                }
            }
            "lock" => {
                arity(1, 1, "lock NAME")?;
                Step::Lock(self.reg.mutex(name(0)?))
            }
            "unlock" => {
                arity(1, 1, "unlock NAME")?;
                Step::Unlock(self.reg.mutex(name(0)?))
            }
            "barrier" => {
                arity(1, 1, "barrier NAME")?;
                let b = self.reg.barrier(name(0)?);
                self.reg.use_barrier(b, self.task, site);
                Step::Barrier(b)
            }
            "suspend" => {
                arity(0, 0, "suspend")?;
                Step::Suspend
            }
            "resume" => {
                arity(1, 1, "resume TASK")?;
                Step::Resume(self.task_ref(node, args[0], path)?)
            }
            "yield" => {
                arity(0, 0, "yield")?;
                Step::Yield
            }
            "exit" => {
                arity(0, 0, "exit")?;
                Step::Exit
            }
            "fork" => {
                arity(1, 1, "fork TEMPLATE")?;
                Step::Fork(self.task_ref(node, args[0], path)?)
            }
            "nice" => {
                arity(1, 1, "nice 5")?;
                let (off, n) = args[0];
                let nice = n
                    .parse::<i32>()
                    .ok()
                    .filter(|v| NICE_RANGE.contains(v))
                    .ok_or_else(|| {
                        ctx.err(at(off), path, format!("`{n}` is not a nice value"))
                            .with_hint("nice values are integers in -20..=19")
                    })?;
                self.attr.nice = nice;
                Step::SetAttr(self.attr)
            }
            "slice" => {
                arity(1, 1, "slice 3ms")?;
                let slice = fixed(0)?;
                if !self.attr.policy.is_fair() || slice == 0 {
                    return Err(ctx
                        .err(at(voff), path, "`slice` sets a custom slice for a normal, batch, idle or ext task")
                        .with_hint("the slice must be above 0; for deadline tasks use \"policy deadline RUNTIME DEADLINE PERIOD\""));
                }
                self.attr.runtime = slice;
                Step::SetAttr(self.attr)
            }
            "policy" => {
                self.attr = policy_step(ctx, node, &w.words, path, self.attr)?;
                Step::SetAttr(self.attr)
            }
            "setattr" => {
                self.attr = setattr_step(ctx, node, &w.words, path)?;
                Step::SetAttr(self.attr)
            }
            "affinity" => {
                let (off, rest) = w.rest();
                let rest_t = rest.trim();
                if rest_t.is_empty() {
                    return Err(ctx
                        .err(at(voff), path, "`affinity` needs a CPU list")
                        .with_hint("write \"affinity 0-3,5\" or \"affinity all\""));
                }
                if rest_t == "all" {
                    Step::SetAffinity(None)
                } else {
                    let cpus = values::parse_cpus(rest).map_err(|(o, m)| {
                        ctx.err(at(off + o), path, m)
                            .with_hint("write \"affinity 0-3,5\" or \"affinity all\"")
                    })?;
                    Step::SetAffinity(Some(cpus))
                }
            }
            "cgroup" => {
                arity(1, 1, "cgroup /path")?;
                let (off, p) = args[0];
                Step::SetCgroup(
                    values::cgroup_path(p)
                        .map_err(|m| ctx.err(at(off), path, m).with_hint(values::CGROUP_HINT))?,
                )
            }
            "setsid" => {
                arity(0, 0, "setsid")?;
                Step::Setsid
            }
            "mlockall" => {
                arity(0, 0, "mlockall")?;
                Step::Mlockall
            }
            "marker" => {
                let text = w.rest().1.trim();
                if text.is_empty() {
                    return Err(ctx
                        .err(at(voff), path, "`marker` needs a text")
                        .with_hint("write \"marker phase 2\""));
                }
                Step::Marker(text.to_string())
            }
            _ => {
                let hint = match did_you_mean(verb, VERBS) {
                    Some(v) => format!("did you mean `{v}`?"),
                    None => format!("steps: {}", VERBS.join(", ")),
                };
                return Err(ctx
                    .err(at(voff), path, format!("unknown step `{verb}`"))
                    .with_hint(hint));
            }
        })
    }

    /// A task named by `fork`/`resume`.
    fn task_ref(&self, node: &Node, (off, name): (usize, &str), path: &str) -> Res<usize> {
        if let Some(&i) = self.reg.tasks.get(name) {
            return Ok(i);
        }
        let mut names: Vec<&str> = self.reg.tasks.keys().map(String::as_str).collect();
        names.sort_unstable();
        let hint = match did_you_mean(name, &names) {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!(
                "define it as a [[task]] with template = true; tasks in this file: {}",
                names.join(", ")
            ),
        };
        Err(self
            .ctx
            .err(
                self.ctx.str_pos(node, off),
                path,
                format!("no task named `{name}`"),
            )
            .with_hint(hint))
    }
}

/// `loop = N` (N >= 1) or `loop = "forever"`; `None` means forever.
pub(crate) fn loop_count(ctx: &Ctx, node: &Node, key: &str) -> Res<Option<u64>> {
    loop_count_or(ctx, node, key, "write loop = 5 or loop = \"forever\"")
}

/// [`loop_count`] with the hint for a value of the wrong type.
pub(crate) fn loop_count_or(ctx: &Ctx, node: &Node, key: &str, hint: &str) -> Res<Option<u64>> {
    match &node.kind {
        Kind::Str(s) if s == "forever" => Ok(None),
        Kind::Int(_) => Ok(Some(
            ctx.want_int(node, key, 1, i64::MAX, "a loop count")? as u64
        )),
        _ => Err(ctx
            .err(
                node.span.start,
                key,
                format!("expected a loop count, found {}", node.kind.type_name()),
            )
            .with_hint(hint)),
    }
}
