//! The other direction: any [`Workload`] written back in our TOML format, so that parsing
//! the text gives the same model (`schedsim convert`; an rt-app import becomes a file people
//! can read and edit).
//!
//! The writer prefers the short forms a person would write — `run = "10ms"` for a hog,
//! `nice 5` or `policy fifo 10` for an attribute change, unnamed private timers, no
//! declarations — and falls back to the exact ones (`setattr ...`, `{ marker = "..." }`,
//! `loop = "once"`, declaration tables) only where the model needs them. Each choice is
//! made by mirroring what the parser would build from the short form.
//!
//! A few models have no TOML spelling (names with spaces or `#`, a forever loop in which no
//! time passes, a barrier with 0 parties, cgroup settings interleaved between groups, files
//! of a cgroup that is not declared...);
//! the text is then still written, and parsing it fails or gives a different model.
//! `schedsim convert` checks the round trip and says so.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::*;

use super::attr::{check_deadline, flag_names, PRIO_RANGE};
use super::step::takes_time;

/// The workload as TOML text in our format.
pub fn to_toml(w: &Workload) -> String {
    Writer::new(w).write()
}

/// `w` without what a round trip through a file cannot keep: the source name and the
/// line:column locations. Two workloads are the same model when these are equal.
pub fn without_locations(w: &Workload) -> Workload {
    let mut w = w.clone();
    w.source = String::new();
    for t in &mut w.tasks {
        t.loc = Loc::default();
    }
    for s in &mut w.sysctls {
        s.loc = Loc::default();
    }
    for g in &mut w.cgroups {
        g.loc = Loc::default();
    }
    for c in &mut w.cgroup_files {
        c.loc = Loc::default();
    }
    w
}

/// The `[cgroup."/path"]` tables to write, in order: one per declared group (empty when it
/// has no files), in declaration order, with the groups that only have files (the root `/`)
/// placed where they first appear among the files.
fn cgroup_tables(w: &Workload) -> Vec<&str> {
    let mut by_files: Vec<&str> = Vec::new();
    for c in &w.cgroup_files {
        if !by_files.contains(&c.path.as_str()) {
            by_files.push(&c.path);
        }
    }
    let declared = |p: &str| w.cgroups.iter().any(|g| g.path == p);
    let mut out: Vec<&str> = Vec::new();
    for g in &w.cgroups {
        let before = by_files.iter().position(|p| *p == g.path).unwrap_or(0);
        for p in &by_files[..before] {
            if !declared(p) && !out.contains(p) {
                out.push(p);
            }
        }
        if !out.contains(&g.path.as_str()) {
            out.push(&g.path);
        }
    }
    for p in by_files {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Lines longer than this are broken, one item per line.
const WIDTH: usize = 92;

/// Written for an index the model does not declare: `#` makes the text fail to parse, so
/// the broken model is reported instead of silently becoming another.
const MISSING: &str = "#undeclared";

/// The name of object (or task) `i`.
fn name<T>(list: &[T], i: usize, f: impl Fn(&T) -> &String) -> &str {
    list.get(i).map_or(MISSING, |d| f(d).as_str())
}

/// A duration in the largest unit that keeps it exact: `2ms`, `1500us`, `7ns`.
fn dur_text(n: Nanos) -> String {
    if n == 0 {
        return "0s".into();
    }
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if n.is_multiple_of(scale) {
            return format!("{}{unit}", n / scale);
        }
    }
    format!("{n}ns")
}

fn dist_text(d: Dur) -> String {
    match d {
        Dur::Fixed(n) => dur_text(n),
        Dur::Uniform { lo, hi } => format!("uniform({}, {})", dur_text(lo), dur_text(hi)),
        Dur::Exponential { mean } => format!("exp({})", dur_text(mean)),
        Dur::Normal { mean, stddev } => {
            format!("normal({}, {})", dur_text(mean), dur_text(stddev))
        }
        Dur::LogNormal { mean, stddev } => {
            format!("lognormal({}, {})", dur_text(mean), dur_text(stddev))
        }
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

/// The kernel's cpulist syntax: `0-3,5`.
fn cpulist(cpus: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn policy_word(p: Policy) -> &'static str {
    match p {
        Policy::Normal => "normal",
        Policy::Batch => "batch",
        Policy::Idle => "idle",
        Policy::Fifo => "fifo",
        Policy::Rr => "rr",
        Policy::Deadline => "deadline",
        Policy::Ext => "ext",
    }
}

/// A setting's value: an integer when the text is one, else a string.
fn setting_value(v: &str) -> String {
    match v.parse::<i64>() {
        Ok(i) if i.to_string() == v => v.to_string(),
        _ => quote(v),
    }
}

/// `[a, b]` on one line when it fits after `prefix`, else one item per line.
fn array(items: &[String], indent: usize, prefix_len: usize) -> String {
    let one_line = format!("[{}]", items.join(", "));
    if prefix_len + one_line.len() <= WIDTH && !one_line.contains('\n') {
        return one_line;
    }
    let pad = " ".repeat(indent + 2);
    let mut s = String::from("[\n");
    for it in items {
        let _ = writeln!(s, "{pad}{it},");
    }
    s.push_str(&" ".repeat(indent));
    s.push(']');
    s
}

/// The order in which the parser meets the objects of one kind, and how many of them the
/// file must declare up front so that each gets the model's index.
struct Order {
    /// Indices below this are declared in the kind's table, in index order.
    declared: usize,
}

impl Order {
    /// `first_use`: indices in order of first use in the programs; `must`: indices whose
    /// properties only a declaration can give.
    fn new(n: usize, first_use: &[usize], must: impl Iterator<Item = usize>) -> Order {
        let min = must.map(|i| i + 1).max().unwrap_or(0);
        let declared = (min..=n)
            .find(|&k| first_use.iter().copied().filter(|&i| i >= k).eq(k..n))
            .unwrap_or(n);
        Order { declared }
    }
}

/// First uses of each kind of object, walking the programs in file order.
#[derive(Default)]
struct Uses {
    sems: Vec<usize>,
    conds: Vec<usize>,
    mutexes: Vec<usize>,
    barriers: Vec<usize>,
    timers: Vec<usize>,
    /// Sessions in the order tasks name them.
    sessions: Vec<usize>,
    /// Barrier index → the tasks that name it.
    barrier_tasks: Vec<BTreeSet<usize>>,
}

fn push_first(v: &mut Vec<usize>, i: usize) {
    if !v.contains(&i) {
        v.push(i);
    }
}

impl Uses {
    fn walk(&mut self, task: usize, steps: &[Step]) {
        for s in steps {
            match s {
                Step::Timer { timer, .. } => push_first(&mut self.timers, *timer),
                Step::SemPost(i) | Step::SemWait(i) => push_first(&mut self.sems, *i),
                Step::CondSignal(i) | Step::CondBroadcast(i) => push_first(&mut self.conds, *i),
                Step::CondWait { cond, mutex } | Step::CondSync { cond, mutex } => {
                    push_first(&mut self.conds, *cond);
                    if let Some(m) = mutex {
                        push_first(&mut self.mutexes, *m);
                    }
                }
                Step::Lock(i) | Step::Unlock(i) => push_first(&mut self.mutexes, *i),
                Step::Barrier(i) => {
                    push_first(&mut self.barriers, *i);
                    if self.barrier_tasks.len() <= *i {
                        self.barrier_tasks.resize(*i + 1, BTreeSet::new());
                    }
                    self.barrier_tasks[*i].insert(task);
                }
                Step::Loop { body, .. } => self.walk(task, body),
                _ => {}
            }
        }
    }
}

struct Writer<'a> {
    w: &'a Workload,
    sems: Order,
    conds: Order,
    mutexes: Order,
    barriers: Order,
    timers: Order,
    sessions: Order,
    /// The naming written at the top level (tasks say theirs only when it differs).
    naming: Naming,
}

/// Per-task state while writing a program, mirroring the parser's.
struct ProgramState<'t> {
    task: &'t str,
    /// Attributes as of this point of the text (what `nice 5` would change).
    attr: SchedAttr,
    /// Unnamed timers written so far in this task.
    unnamed: usize,
}

impl<'a> Writer<'a> {
    fn new(w: &'a Workload) -> Self {
        let mut u = Uses::default();
        for (ti, t) in w.tasks.iter().enumerate() {
            if let Some(i) = t.session {
                push_first(&mut u.sessions, i);
            }
            u.walk(ti, &t.program);
        }
        let derived = |b: usize| -> u64 {
            u.barrier_tasks
                .get(b)
                .into_iter()
                .flatten()
                .map(|&t| u64::from(w.tasks[t].count))
                .sum()
        };
        let naming = if !w.tasks.is_empty() && w.tasks.iter().all(|t| t.naming == Naming::RtApp) {
            Naming::RtApp
        } else {
            Naming::Plain
        };
        Writer {
            w,
            sems: Order::new(
                w.sems.len(),
                &u.sems,
                w.sems
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.initial != 0)
                    .map(|x| x.0),
            ),
            conds: Order::new(w.conds.len(), &u.conds, std::iter::empty()),
            mutexes: Order::new(
                w.mutexes.len(),
                &u.mutexes,
                w.mutexes
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.pi)
                    .map(|x| x.0),
            ),
            barriers: Order::new(
                w.barriers.len(),
                &u.barriers,
                w.barriers
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| u64::from(b.parties) != derived(*i) || b.parties == 0)
                    .map(|x| x.0),
            ),
            timers: Order::new(w.timers.len(), &u.timers, std::iter::empty()),
            sessions: Order::new(
                w.sessions.len(),
                &u.sessions,
                w.sessions
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.nice != 0)
                    .map(|x| x.0),
            ),
            naming,
        }
    }

    fn write(&self) -> String {
        let w = self.w;
        let mut out = String::new();
        if let Some(d) = w.duration {
            let _ = writeln!(out, "duration = {}", quote(&dur_text(d)));
        }
        if w.launcher_comm != "schedsim" {
            let _ = writeln!(out, "launcher = {}", quote(&w.launcher_comm));
        }
        if let Some(c) = w.calibration_ns {
            let _ = writeln!(out, "calibration = {}", quote(&dur_text(c)));
        }
        if self.naming == Naming::RtApp {
            out.push_str("naming = \"rt-app\"\n");
        }
        let m = w.ftrace_markers;
        let cats: Vec<String> = [
            (m.main, "main"),
            (m.task, "task"),
            (m.looping, "loop"),
            (m.event, "event"),
            (m.stats, "stats"),
        ]
        .iter()
        .filter(|c| c.0)
        .map(|c| quote(c.1))
        .collect();
        if !cats.is_empty() {
            let _ = writeln!(out, "markers = [{}]", cats.join(", "));
        }
        let lo = w.launcher_output;
        if lo != LauncherOutput::default() {
            let _ = writeln!(
                out,
                "launcher_output = {{ before_start = {}, at_start = {}, per_thread = {} }}",
                lo.before_start, lo.after_start, lo.per_thread
            );
        }
        if self.conds.declared > 0 {
            let names: Vec<String> = w.conds[..self.conds.declared]
                .iter()
                .map(|c| quote(&c.name))
                .collect();
            let _ = writeln!(out, "cond = {}", array(&names, 0, 7));
        }

        for t in &w.tasks {
            if !out.is_empty() {
                out.push('\n');
            }
            self.task(&mut out, t);
        }

        self.declarations(&mut out);

        if !w.sysctls.is_empty() {
            out.push_str("\n[sysctl]\n");
            for s in &w.sysctls {
                let _ = writeln!(out, "{} = {}", quote(&s.name), setting_value(&s.value));
            }
        }
        for g in cgroup_tables(w) {
            let _ = writeln!(out, "\n[cgroup.{}]", quote(g));
            for c in w.cgroup_files.iter().filter(|c| c.path == g) {
                let _ = writeln!(out, "{} = {}", quote(&c.file), setting_value(&c.value));
            }
        }
        out
    }

    fn declarations(&self, out: &mut String) {
        let w = self.w;
        if self.sems.declared > 0 {
            out.push_str("\n[sem]\n");
            for s in &w.sems[..self.sems.declared] {
                let _ = writeln!(out, "{} = {}", key(&s.name), s.initial);
            }
        }
        if self.mutexes.declared > 0 {
            out.push_str("\n[mutex]\n");
            for m in &w.mutexes[..self.mutexes.declared] {
                let _ = writeln!(out, "{} = {{ pi = {} }}", key(&m.name), m.pi);
            }
        }
        if self.barriers.declared > 0 {
            out.push_str("\n[barrier]\n");
            for b in &w.barriers[..self.barriers.declared] {
                let _ = writeln!(out, "{} = {}", key(&b.name), b.parties);
            }
        }
        if self.timers.declared > 0 {
            out.push_str("\n[timer]\n");
            for t in &w.timers[..self.timers.declared] {
                let kind = if t.shared { "shared" } else { "private" };
                let _ = writeln!(out, "{} = \"{kind}\"", key(&t.name));
            }
        }
        for d in &w.sessions[..self.sessions.declared] {
            let _ = writeln!(out, "\n[session.{}]\nnice = {}", key(&d.name), d.nice);
        }
    }

    fn task(&self, out: &mut String, t: &TaskSpec) {
        out.push_str("[[task]]\n");
        let _ = writeln!(out, "name = {}", quote(&t.name));
        if t.count != 1 {
            let _ = writeln!(out, "count = {}", t.count);
        }
        if t.naming != self.naming {
            let n = match t.naming {
                Naming::Plain => "plain",
                Naming::RtApp => "rt-app",
            };
            let _ = writeln!(out, "naming = \"{n}\"");
        }
        let a = t.attr;
        if a.policy != Policy::Normal {
            let _ = writeln!(out, "policy = \"{}\"", policy_word(a.policy));
        }
        if a.nice != 0 {
            let _ = writeln!(out, "nice = {}", a.nice);
        }
        if a.rt_priority != 0 {
            let _ = writeln!(out, "priority = {}", a.rt_priority);
        }
        if a.runtime != 0 {
            let k = if a.policy == Policy::Deadline {
                "runtime"
            } else {
                "slice"
            };
            let _ = writeln!(out, "{k} = {}", quote(&dur_text(a.runtime)));
        }
        if a.deadline != 0 {
            let _ = writeln!(out, "deadline = {}", quote(&dur_text(a.deadline)));
        }
        if a.period != 0 && a.period != a.deadline {
            let _ = writeln!(out, "period = {}", quote(&dur_text(a.period)));
        }
        if a.flags != 0 {
            let f: Vec<String> = flag_names(a.flags).iter().map(|f| quote(f)).collect();
            let _ = writeln!(out, "flags = [{}]", f.join(", "));
        }
        if let Some(cpus) = &t.affinity {
            let list = cpulist(cpus);
            if list.contains('-') || cpus.len() > 8 {
                let _ = writeln!(out, "affinity = {}", quote(&list));
            } else {
                let _ = writeln!(out, "affinity = [{}]", list.replace(',', ", "));
            }
        }
        if let Some(g) = &t.cgroup {
            let _ = writeln!(out, "cgroup = {}", quote(g));
        }
        if let Some(i) = t.session {
            let _ = writeln!(
                out,
                "session = {}",
                quote(name(&self.w.sessions, i, |d| &d.name))
            );
        }
        if t.start_delay != 0 {
            let _ = writeln!(out, "delay = {}", quote(&dur_text(t.start_delay)));
        }

        // How the program repeats: the parser wraps a program in a forever loop unless it
        // ends in `exit` or the task says `loop`.
        let (loop_key, body): (Option<String>, &[Step]) = match t.program.as_slice() {
            [Step::Loop { count: None, body }]
                if body.last() != Some(&Step::Exit) && takes_time(body) =>
            {
                (None, body)
            }
            [Step::Loop { count: None, body }] if takes_time(body) => {
                (Some("\"forever\"".into()), body)
            }
            [Step::Loop {
                count: Some(n),
                body,
            }] if *n >= 1 && !body.is_empty() => (Some(n.to_string()), body),
            p if p.last() == Some(&Step::Exit) => (None, p),
            p => (Some("\"once\"".into()), p),
        };
        if let Some(l) = &loop_key {
            let _ = writeln!(out, "loop = {l}");
        }
        let mut st = ProgramState {
            task: &t.name,
            attr: t.attr,
            unnamed: 0,
        };
        if let [Step::Run(d)] = body {
            let _ = writeln!(out, "run = {}", quote(&dist_text(*d)));
            return;
        }
        let items = self.steps(body, &mut st, 0);
        let _ = writeln!(out, "program = {}", array(&items, 0, 10));
    }

    /// Each step as a TOML value (a string or an inline table), `indent` deep.
    fn steps(&self, steps: &[Step], st: &mut ProgramState, indent: usize) -> Vec<String> {
        steps.iter().map(|s| self.step(s, st, indent)).collect()
    }

    fn step(&self, s: &Step, st: &mut ProgramState, indent: usize) -> String {
        let w = self.w;
        let text = match s {
            Step::Run(d) => format!("run {}", dist_text(*d)),
            Step::RunWall(d) => format!("runwall {}", dist_text(*d)),
            Step::Sleep(d) => format!("sleep {}", dist_text(*d)),
            Step::Timer {
                timer,
                period,
                absolute,
            } => {
                let mode = if *absolute { "" } else { " relative" };
                let Some(decl) = w.timers.get(*timer) else {
                    return quote(&format!("timer {} {MISSING}", dur_text(*period)));
                };
                let auto = format!("{}#{}", st.task, st.unnamed + 1);
                if !decl.shared && *timer >= self.timers.declared && decl.name == auto {
                    st.unnamed += 1;
                    format!("timer {}{mode}", dur_text(*period))
                } else {
                    let private = if decl.shared { "" } else { " private" };
                    format!("timer {} {}{mode}{private}", dur_text(*period), decl.name)
                }
            }
            Step::SemPost(i) => format!("post {}", name(&w.sems, *i, |d| &d.name)),
            Step::SemWait(i) => format!("wait {}", name(&w.sems, *i, |d| &d.name)),
            Step::CondSignal(i) => format!("signal {}", name(&w.conds, *i, |d| &d.name)),
            Step::CondBroadcast(i) => format!("broadcast {}", name(&w.conds, *i, |d| &d.name)),
            Step::CondWait { cond, mutex } | Step::CondSync { cond, mutex } => {
                let verb = if matches!(s, Step::CondSync { .. }) {
                    "sync"
                } else {
                    "cond_wait"
                };
                match mutex {
                    Some(m) => format!(
                        "{verb} {} {}",
                        name(&w.conds, *cond, |d| &d.name),
                        name(&w.mutexes, *m, |d| &d.name)
                    ),
                    None => format!("{verb} {}", name(&w.conds, *cond, |d| &d.name)),
                }
            }
            Step::Lock(i) => format!("lock {}", name(&w.mutexes, *i, |d| &d.name)),
            Step::Unlock(i) => format!("unlock {}", name(&w.mutexes, *i, |d| &d.name)),
            Step::Barrier(i) => format!("barrier {}", name(&w.barriers, *i, |d| &d.name)),
            Step::Suspend => "suspend".into(),
            Step::Resume(i) => format!("resume {}", name(&w.tasks, *i, |d| &d.name)),
            Step::Yield => "yield".into(),
            Step::Fork(i) => format!("fork {}", name(&w.tasks, *i, |d| &d.name)),
            Step::Exit => "exit".into(),
            Step::SetAttr(a) => {
                let text = attr_step(&st.attr, a);
                st.attr = *a;
                text
            }
            Step::SetAffinity(None) => "affinity all".into(),
            Step::SetAffinity(Some(cpus)) => format!("affinity {}", cpulist(cpus)),
            Step::SetCgroup(g) => format!("cgroup {g}"),
            Step::Setsid => "setsid".into(),
            Step::Mlockall => "mlockall".into(),
            Step::Marker(m) => {
                if !m.is_empty() && m.trim() == m {
                    format!("marker {m}")
                } else {
                    return format!("{{ marker = {} }}", quote(m));
                }
            }
            Step::Loop { count, body } => {
                let n = count.map_or("\"forever\"".to_string(), |n| n.to_string());
                let prefix = format!("{{ loop = {n}, do = ");
                let items = self.steps(body, st, indent + 2);
                return format!(
                    "{prefix}{} }}",
                    array(&items, indent + 2, indent + 2 + prefix.len() + 3)
                );
            }
        };
        quote(&text)
    }
}

/// The shortest step that makes the parser, with attributes `cur` before it, build `a`.
fn attr_step(cur: &SchedAttr, a: &SchedAttr) -> String {
    // `policy ...`: like sched_setscheduler, keeps nice and flags, sets the parameters.
    let mut p = SchedAttr {
        policy: a.policy,
        nice: cur.nice,
        flags: cur.flags,
        ..SchedAttr::default()
    };
    let mut words = format!("policy {}", policy_word(a.policy));
    let expressible = match a.policy {
        Policy::Fifo | Policy::Rr => {
            p.rt_priority = a.rt_priority;
            let _ = write!(words, " {}", a.rt_priority);
            PRIO_RANGE.contains(&a.rt_priority)
        }
        Policy::Deadline => {
            p.runtime = a.runtime;
            p.deadline = a.deadline;
            p.period = a.period;
            let _ = write!(words, " {} {}", dur_text(a.runtime), dur_text(a.deadline));
            if a.period != a.deadline {
                let _ = write!(words, " {}", dur_text(a.period));
            }
            check_deadline(a.runtime, a.deadline, a.period).is_ok()
        }
        _ => true,
    };
    if expressible && p == *a {
        return words;
    }
    if (SchedAttr {
        nice: a.nice,
        ..*cur
    }) == *a
    {
        return format!("nice {}", a.nice);
    }
    if cur.policy.is_fair()
        && a.runtime > 0
        && (SchedAttr {
            runtime: a.runtime,
            ..*cur
        }) == *a
    {
        return format!("slice {}", dur_text(a.runtime));
    }
    let mut s = format!("setattr {}", policy_word(a.policy));
    if a.nice != 0 {
        let _ = write!(s, " nice={}", a.nice);
    }
    if a.rt_priority != 0 {
        let _ = write!(s, " priority={}", a.rt_priority);
    }
    for (k, v) in [
        ("runtime", a.runtime),
        ("deadline", a.deadline),
        ("period", a.period),
    ] {
        if v != 0 {
            let _ = write!(s, " {k}={}", dur_text(v));
        }
    }
    if a.flags != 0 {
        let _ = write!(s, " flags={}", flag_names(a.flags).join(","));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact() {
        assert_eq!(dur_text(0), "0s");
        assert_eq!(dur_text(2_000_000), "2ms");
        assert_eq!(dur_text(1_500_000), "1500us");
        assert_eq!(dur_text(1_000_000_007), "1000000007ns");
        assert_eq!(dur_text(u64::MAX), format!("{}ns", u64::MAX));
        assert_eq!(
            super::super::dur::parse_nanos(&dur_text(u64::MAX)).unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn cpulists() {
        assert_eq!(cpulist(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
        assert_eq!(cpulist(&[4]), "4");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n\u{7f}"), "\"a\\\"b\\\\c\\n\\u007F\"");
        assert_eq!(key("cpu.max"), "\"cpu.max\"");
        assert_eq!(key("ping-1"), "ping-1");
    }
}
