//! Deadline-class invariants (kernel/sched/deadline.c): each dl_rq's EDF tree against the
//! queued entities and `dl_nr_running`, throttling, the CBS runtime bounds, the per-rq
//! active bandwidth (`this_bw`, `running_bw`) against the entities it accounts, and the
//! root domain's admitted bandwidth (`dl_bw.total_bw`).
//!
//! The runtime's lower bound is derived, not tuned: `update_curr_dl_se` throttles as soon as
//! a charge leaves `runtime <= 0`, and a charge is the time since the entity's previous
//! accounting point. A running deadline task (or a fair task run by the fair server) gets
//! a tick every `TICK_NSEC` (NO_HZ stops the tick only on an idle CPU; HRTICK_DL is off),
//! and GRUB's scaled charge never exceeds the time run (`u_act · bw_ratio ≤ 1`). A charged
//! entity is queued, and a queued one has `runtime >= 0` (QUEUED_RUNTIME: the charge that
//! exhausts it dequeues it). One corner lengthens a charge: a running task whose
//! `sched_setattr` gives it a constrained deadline already passed is throttled by
//! `dl_check_constrained_dl` without a reschedule, and keeps running off the dl_rq, where
//! `update_curr_dl` neither charges nor moves `exec_start`, until its timer at the next
//! period (less than `dl_period - dl_deadline` away) queues it again; its first charge
//! then covers that time too. So `runtime >= -(TICK_NSEC + dl_period - dl_deadline)`; the
//! replenishment loop repays it. The other corner is a task that left the class throttled
//! (its `sched_setattr` charge exhausted it) and comes back before its replenishment
//! timer: `enqueue_dl_entity` leaves it off the dl_rq while it keeps running, until the
//! timer; for a task seen so the bound is `-(TICK_NSEC + its time to the timer then)`. The deferred fair server's idle-time discount keeps no
//! negative runtime.
//!
//! That each queued, unthrottled deadline task is in its dl_rq's tree exactly once
//! (`__enqueue_dl_entity`'s `WARN_ON_ONCE(!RB_EMPTY_NODE(&dl_se->rb_node))`) follows
//! from MEMBER and ORDER (every node is a distinct such task whose `rb_node` is that node)
//! together with core's class count (`class_nr_queued`: as many nodes as such tasks).

use std::collections::BTreeMap;

use super::{violation, Violation};
use crate::class::dl::{to_ratio, total_bw, DlEntity, DlKey};
use crate::class::ClassId;
use crate::sched::Sched;
use crate::task::{tstate, OnRq, TaskId};
use schedsim_workload::Policy;

/// The rule names, for callers that match on them.
pub mod rule {
    /// `__dl_less` / `__enqueue_dl_entity`: the rb-tree is sorted by `dl_se->deadline`.
    pub const ORDER: &str =
        "dl_rq tree in deadline order, keyed by each entity's deadline (__enqueue_dl_entity/__dl_less)";
    /// `on_dl_rq`: a tree node is a queued entity of this rq with its `rb_node` set.
    pub const MEMBER: &str =
        "a dl_rq tree entity is a queued deadline task of this CPU or its active fair server (on_dl_rq)";
    /// `inc_dl_tasks` / `dec_dl_tasks`.
    pub const NR_RUNNING: &str = "dl_nr_running counts the dl_rq tree (inc_dl_tasks/dec_dl_tasks)";
    /// `inc_dl_deadline` / `dec_dl_deadline`.
    pub const EARLIEST: &str =
        "earliest_dl.curr is the leftmost deadline (inc_dl_deadline/dec_dl_deadline)";
    /// `update_curr_dl_se`: a throttled entity is dequeued until its timer replenishes it.
    pub const THROTTLED: &str =
        "a throttled deadline entity is off the dl_rq (update_curr_dl_se: dl_throttled, dequeue_dl_entity)";
    /// `start_dl_timer`: throttling only sticks when the replenishment timer is armed.
    pub const THROTTLED_TIMER: &str =
        "a throttled deadline entity waits for its armed dl_timer (start_dl_timer)";
    /// `replenish_dl_entity` adds `dl_runtime` only while `runtime <= 0`;
    /// `update_dl_revised_wakeup` gives `dl_density · laxity ≤ dl_runtime`. A parameter
    /// change (`__setparam_dl`) keeps the old runtime until the next refill, so this one
    /// needs history: the `Checker` checks it (`Budgets`), `verify` cannot.
    /// A PI-boosted entity is refilled with its donor's `dl_runtime` (`pi_of`).
    pub const RUNTIME_MAX: &str =
        "runtime <= dl_runtime of its last refill (replenish_dl_entity refills only while runtime <= 0)";
    /// `update_curr_dl_se`: a charge that leaves `runtime <= 0` (`dl_runtime_exceeded`)
    /// throttles and dequeues the entity, so a queued one has not run out (but for a
    /// PI-boosted one woken with an overrun, see `entity`).
    pub const QUEUED_RUNTIME: &str =
        "a deadline entity in the dl_rq tree has runtime >= 0 (update_curr_dl_se: dl_runtime_exceeded throttles and dequeues)";
    /// The overrun is one charge from `runtime >= 0`, and a charge is bounded by the
    /// tick, plus `dl_period - dl_deadline` after `dl_check_constrained_dl`, or the time to
    /// its timer for a task that came back to the class throttled (see the module comment).
    /// Parameter changes keep the overrun, so the `Checker` checks it (`Budgets`).
    pub const RUNTIME_MIN: &str =
        "runtime >= -(TICK_NSEC + dl_period - dl_deadline): the CBS overrun is one charge between accounting points (update_curr_dl_se)";
    /// `task_non_contending` / `task_contending` / `inactive_task_timer`.
    pub const NON_CONTENDING: &str =
        "dl_non_contending only while off the queue with the inactive timer armed (task_non_contending/task_contending)";
    /// `__add_rq_bw` / `__sub_rq_bw`: `this_bw` is the bandwidth assigned to the rq.
    pub const THIS_BW: &str =
        "this_bw == Σ dl_bw of the entities assigned to the rq (__add_rq_bw/__sub_rq_bw)";
    /// `__add_running_bw` / `__sub_running_bw`: `running_bw` is the active bandwidth.
    pub const RUNNING_BW: &str =
        "running_bw == Σ dl_bw of the active entities (__add_running_bw/__sub_running_bw)";
    /// `__add_running_bw`: `WARN_ON_ONCE(dl_rq->running_bw > dl_rq->this_bw)`.
    pub const RUNNING_LE_THIS: &str =
        "running_bw <= this_bw (__add_running_bw: WARN_ON_ONCE(dl_rq->running_bw > dl_rq->this_bw))";
    /// `sched_dl_overflow` (`__dl_add`/`__dl_sub`): total_bw holds each deadline task's
    /// bandwidth, and every fair server's (`dl_server_apply_params`). A task that left
    /// SCHED_DEADLINE may still hold its `dl_bw` until its 0-lag time: while its inactive
    /// timer is armed (even once it has exited), or while PI keeps it in the class
    /// (`switched_from_dl`, `inactive_task_timer`).
    pub const ADMITTED: &str =
        "total_bw == Σ admitted bandwidths: every deadline task's and fair server's dl_bw, a task that left the class until its 0-lag time (sched_dl_overflow: __dl_add/__dl_sub, inactive_task_timer)";
    /// `__dl_overflow`: admission never lets total_bw exceed the root domain's capacity.
    pub const TOTAL_BW_LIMIT: &str = "total_bw <= cap_scale(dl_b->bw, rd capacity) (__dl_overflow)";
}

/// The runtime bounds across events (RUNTIME_MAX, RUNTIME_MIN): each entity's parameter generation
/// (`DlEntity::params_gen`) and `runtime` at the last check. Runtime only grows at a
/// refill (`replenish_dl_entity`, `replenish_dl_new_period`, `update_dl_revised_wakeup`),
/// each at most the `dl_runtime` then in force; between refills it only shrinks. So
/// between two checks without a parameter change, a runtime above `dl_runtime` is allowed
/// only if it did not grow (it is left over from bigger parameters, which the kernel does
/// not cut: `__setparam_dl`). Likewise runtime only falls by a charge, which starts from
/// `runtime >= 0` and is bounded by the parameters in force: an overrun beyond that bound
/// is allowed only if it did not fall since a check without a parameter change (it is
/// left over from other parameters). A generation rather than the values, because a task
/// may set other parameters and set them back (refilled in between) within one event.
#[derive(Clone, Debug, Default)]
pub struct Budgets {
    /// (params_gen, runtime, the largest `dl_period - dl_deadline` it has had).
    seen: BTreeMap<(u32, DlKey), (u32, i64, u64)>,
    /// Tasks seen running throttled off their dl_rq, until their next charge on it, with
    /// the longest time they had then until their timer.
    off_queue: BTreeMap<TaskId, u64>,
}

impl Budgets {
    pub fn check(&mut self, s: &Sched) -> Result<(), Violation> {
        for cpu in 0..s.nr_cpus() {
            let dl = &s.rq(cpu).dl;
            self.one(s, (cpu, DlKey::Server), &dl.server)?;
            for (p, e) in dl.task_entities() {
                self.one(s, (0, DlKey::Task(p)), e)?;
            }
        }
        Ok(())
    }

    fn one(&mut self, s: &Sched, key: (u32, DlKey), e: &DlEntity) -> Result<(), Violation> {
        // The off-queue run after `dl_check_constrained_dl` ends at the timer set under
        // the parameters of then, which may have changed since (while it ran off-queue).
        // A task that left the class throttled and came back before its timer
        // (sched_setattr: enqueue_dl_entity leaves it off the dl_rq) also runs off-queue
        // until its timer, which replenishment loops may have put several periods away: a
        // task seen running throttled off its dl_rq is allowed the time from then to its
        // timer until its next charge on the queue.
        let slack = e.dl_period.saturating_sub(e.dl_deadline).max(e.max_slack);
        let mut off_queue_period = 0;
        if let DlKey::Task(p) = key.1 {
            let t = s.task(p);
            if e.dl_throttled && e.node().is_none() && t.class == ClassId::Dl && s.curr(t.cpu) == p
            {
                let left = e
                    .timer_at
                    .map_or(e.dl_period.max(e.max_period), |at| at.saturating_sub(s.now));
                let v = self.off_queue.entry(p).or_default();
                *v = (*v).max(left);
            }
            off_queue_period = self.off_queue.get(&p).copied().unwrap_or(0);
        }
        let slack = self.seen.get(&key).map_or(slack, |&(_, _, m)| m.max(slack));
        let prev = self
            .seen
            .insert(key, (e.params_gen, e.runtime, slack))
            .map(|(g, r, _)| (g, r));
        // A new entity got its parameters since the last check, like a changed one.
        let changed = prev.is_none_or(|(gen, _)| gen != e.params_gen);
        let (grew, shrank) = prev.map_or((false, false), |(_, r)| (e.runtime > r, e.runtime < r));
        if let DlKey::Task(p) = key.1 {
            // Its first charge back on the queue ends the off-queue run (checked below).
            if shrank && e.node().is_some() {
                self.off_queue.remove(&p);
            }
        }
        let tick = s.cfg.tick_nsec() as i64;
        let slack = slack.max(off_queue_period);
        let overrun = tick + slack as i64;
        // pi_of: a PI-boosted entity is refilled with its donor's dl_runtime (the boost
        // may have ended since; `refill_runtime` is what the last refill used).
        let max_runtime = e.dl_runtime.max(e.refill_runtime);
        let (r, what) = if e.runtime > max_runtime as i64 && !changed && grew {
            (
                rule::RUNTIME_MAX,
                format!(
                    "dl_runtime={} (its last refill's {})",
                    e.dl_runtime, e.refill_runtime
                ),
            )
        } else if e.runtime < -overrun && !changed && shrank {
            (
                rule::RUNTIME_MIN,
                format!(
                    "below -{overrun} (TICK_NSEC={tick}, largest dl_period - dl_deadline or time to the timer when seen running off the dl_rq: {slack})"
                ),
            )
        } else {
            return Ok(());
        };
        let (cpu, task) = match key.1 {
            DlKey::Server => (key.0, None),
            DlKey::Task(p) => (s.task(p).cpu, Some(p)),
        };
        Err(violation(
            s,
            r,
            Some(cpu),
            task,
            format!(
                "runtime={} {what}, last checked {:?} (params_gen, runtime)",
                e.runtime, prev
            ),
        ))
    }
}

/// Whether `p` died (its bandwidth leaves at once or at its 0-lag time).
fn dead(s: &Sched, p: TaskId) -> bool {
    let t = s.task(p);
    t.exited || t.state & tstate::DEAD != 0
}

pub fn verify(s: &Sched) -> Result<(), Violation> {
    // Every task entity, by task (whichever CPU keeps it).
    let mut ents: BTreeMap<TaskId, &DlEntity> = BTreeMap::new();
    for cpu in 0..s.nr_cpus() {
        for (p, e) in s.rq(cpu).dl.task_entities() {
            ents.insert(p, e);
        }
    }
    for cpu in 0..s.nr_cpus() {
        tree(s, cpu, &ents)?;
    }
    for cpu in 0..s.nr_cpus() {
        let server = &s.rq(cpu).dl.server;
        entity(s, cpu, None, server, server.dl_server_active)?;
    }
    for (&p, e) in &ents {
        let t = s.task(p);
        entity(s, t.cpu, Some(p), e, t.class == ClassId::Dl && !dead(s, p))?;
    }
    for cpu in 0..s.nr_cpus() {
        bandwidth(s, cpu, &ents)?;
    }
    admission(s, &ents)
}

/// One dl_rq's tree: order, members, `dl_nr_running`, `earliest_dl.curr`.
fn tree(s: &Sched, cpu: u32, ents: &BTreeMap<TaskId, &DlEntity>) -> Result<(), Violation> {
    let dl = &s.rq(cpu).dl;
    let mut prev: Option<u64> = None;
    let mut count = 0u32;
    for (d, seq, k) in dl.tree_nodes() {
        count += 1;
        let (e, task) = match k {
            DlKey::Server => (&dl.server, None),
            DlKey::Task(p) => match ents.get(&p) {
                Some(e) => (*e, Some(p)),
                None => {
                    return Err(violation(
                        s,
                        rule::MEMBER,
                        Some(cpu),
                        Some(p),
                        "in the tree without a deadline entity".into(),
                    ))
                }
            },
        };
        if e.node() != Some((d, seq)) || e.deadline != d {
            return Err(violation(
                s,
                rule::ORDER,
                Some(cpu),
                task,
                format!(
                    "tree key ({d}, {seq}) but the entity's node is {:?} and deadline {}",
                    e.node(),
                    e.deadline
                ),
            ));
        }
        if let Some(pd) = prev {
            if (d.wrapping_sub(pd) as i64) < 0 {
                return Err(violation(
                    s,
                    rule::ORDER,
                    Some(cpu),
                    task,
                    format!("deadline {d} follows {pd}"),
                ));
            }
        }
        prev = Some(d);
        if let Some(p) = task {
            let t = s.task(p);
            if t.class != ClassId::Dl || t.on_rq != OnRq::Queued || t.cpu != cpu {
                return Err(violation(
                    s,
                    rule::MEMBER,
                    Some(cpu),
                    Some(p),
                    format!(
                        "in the tree: class={:?} on_rq={:?} cpu={}",
                        t.class, t.on_rq, t.cpu
                    ),
                ));
            }
        } else if !dl.server.dl_server_active {
            return Err(violation(
                s,
                rule::MEMBER,
                Some(cpu),
                None,
                "the fair server is in the tree but not dl_server_active".into(),
            ));
        }
    }
    if dl.dl_nr_running != count {
        return Err(violation(
            s,
            rule::NR_RUNNING,
            Some(cpu),
            None,
            format!(
                "dl_nr_running={} but the tree holds {count}",
                dl.dl_nr_running
            ),
        ));
    }
    let first = dl.tree_nodes().next().map_or(0, |(d, _, _)| d);
    if dl.earliest_curr != first {
        return Err(violation(
            s,
            rule::EARLIEST,
            Some(cpu),
            None,
            format!(
                "earliest_dl.curr={} but the leftmost deadline is {first}",
                dl.earliest_curr
            ),
        ));
    }
    Ok(())
}

/// One entity (a task's or a fair server): throttling, its runtime in the tree, the non-contending
/// state. `active`: a deadline task alive in the class, or a started server.
fn entity(
    s: &Sched,
    cpu: u32,
    task: Option<TaskId>,
    e: &DlEntity,
    active: bool,
) -> Result<(), Violation> {
    let err = |r, what: String| Err(violation(s, r, Some(cpu), task, what));
    if e.dl_runtime == 0 {
        return Ok(());
    }
    if e.dl_throttled && e.node().is_some() {
        return err(
            rule::THROTTLED,
            format!("dl_throttled but in the tree at {:?}", e.node()),
        );
    }
    if active && e.dl_throttled && e.timer_at.is_none() {
        return err(
            rule::THROTTLED_TIMER,
            format!("dl_throttled with no dl_timer (runtime={})", e.runtime),
        );
    }
    // A boosted entity may be queued with an overrun: `enqueue_task_dl` lets the boost
    // override the throttle of a task that blocked overrun, and its wakeup keeps the
    // runtime if the deadline is still ahead; its next charge refills it.
    if e.node().is_some() && e.runtime < 0 && !e.is_boosted() {
        return err(
            rule::QUEUED_RUNTIME,
            format!(
                "runtime={} in the tree (deadline {})",
                e.runtime, e.deadline
            ),
        );
    }
    if e.dl_non_contending {
        let queued = match task {
            Some(p) => s.task(p).on_rq == OnRq::Queued,
            None => e.dl_server_active,
        };
        if queued || e.inactive_at.is_none() {
            return err(
                rule::NON_CONTENDING,
                format!(
                    "dl_non_contending with queued={queued} inactive timer={:?}",
                    e.inactive_at
                ),
            );
        }
    }
    Ok(())
}

/// `this_bw` and `running_bw` of one rq against the entities assigned to it.
fn bandwidth(s: &Sched, cpu: u32, ents: &BTreeMap<TaskId, &DlEntity>) -> Result<(), Violation> {
    let dl = &s.rq(cpu).dl;
    let server = &dl.server;
    // this_bw: the server always (dl_server_apply_params at boot); every deadline task of
    // this CPU, but a dead one only until its inactive timer. A waking task may have
    // left it already (migrate_task_rq_dl) and joins the new rq at its enqueue
    // (task_contending(ENQUEUE_MIGRATED)); a new task joins at wake_up_new_task.
    let mut this = server.dl_bw;
    let mut maybe = 0u64;
    // running_bw: the started server, or one non contending; queued tasks (throttled
    // too) and blocked ones before their 0-lag time.
    let mut running = 0u64;
    if server.dl_runtime != 0 && (server.dl_server_active || server.dl_non_contending) {
        running += server.dl_bw;
    }
    let mut list = Vec::new();
    for (&p, e) in ents {
        let t = s.task(p);
        if t.class != ClassId::Dl || t.cpu != cpu {
            continue;
        }
        list.push(format!("{}:{}", super::task_name(s, p), e.dl_bw));
        if dead(s, p) {
            if e.dl_non_contending {
                this += e.dl_bw;
            }
        } else if t.state & (tstate::WAKING | tstate::NEW) != 0 {
            maybe += e.dl_bw;
        } else {
            this += e.dl_bw;
        }
        if t.on_rq == OnRq::Queued || e.dl_non_contending {
            running += e.dl_bw;
        }
    }
    if dl.running_bw > dl.this_bw {
        return Err(violation(
            s,
            rule::RUNNING_LE_THIS,
            Some(cpu),
            None,
            format!("running_bw={} this_bw={}", dl.running_bw, dl.this_bw),
        ));
    }
    if dl.this_bw < this || dl.this_bw > this + maybe {
        return Err(violation(
            s,
            rule::THIS_BW,
            Some(cpu),
            None,
            format!(
                "this_bw={} but the assigned entities make {this} (+ up to {maybe} waking or new); server {} tasks [{}]",
                dl.this_bw,
                server.dl_bw,
                list.join(", ")
            ),
        ));
    }
    if dl.running_bw != running {
        return Err(violation(
            s,
            rule::RUNNING_BW,
            Some(cpu),
            None,
            format!(
                "running_bw={} but the active entities make {running}; server active={} non_contending={} tasks [{}]",
                dl.running_bw,
                server.dl_server_active,
                server.dl_non_contending,
                list.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The root domain: what each entity holds in `total_bw` against its parameters, and the
/// admission limit.
fn admission(s: &Sched, ents: &BTreeMap<TaskId, &DlEntity>) -> Result<(), Violation> {
    let mut want = 0u64;
    for cpu in 0..s.nr_cpus() {
        let server = &s.rq(cpu).dl.server;
        if server.admitted_bw != server.dl_bw {
            return Err(violation(
                s,
                rule::ADMITTED,
                Some(cpu),
                None,
                format!(
                    "the fair server holds {} but its dl_bw is {}",
                    server.admitted_bw, server.dl_bw
                ),
            ));
        }
        want += server.dl_bw;
    }
    for (&p, e) in ents {
        let t = s.task(p);
        let bw = if t.policy == Policy::Deadline && !dead(s, p) {
            to_ratio(e.dl_period, e.dl_runtime)
        } else if e.admitted_bw == e.dl_bw
            && (e.inactive_at.is_some() || (t.class == ClassId::Dl && !dead(s, p)))
        {
            // Left the class, still before its 0-lag time: released by its inactive timer,
            // also once it has exited (inactive_task_timer's TASK_DEAD case), or kept in
            // the class by PI until it dies (task_dead_dl).
            e.dl_bw
        } else {
            0
        };
        if e.admitted_bw != bw {
            return Err(violation(
                s,
                rule::ADMITTED,
                Some(t.cpu),
                Some(p),
                format!(
                    "holds {} in total_bw but its bandwidth is {bw} (class={:?} dead={})",
                    e.admitted_bw,
                    t.class,
                    dead(s, p)
                ),
            ));
        }
        want += bw;
    }
    let total = total_bw(s);
    if total != want {
        return Err(violation(
            s,
            rule::ADMITTED,
            None,
            None,
            format!("total_bw={total} but the admitted entities make {want}"),
        ));
    }
    if s.cfg.rt_runtime_us >= 0 {
        let bw = to_ratio(s.cfg.rt_period_us, s.cfg.rt_runtime_us as u64);
        let cap = 1024 * s.nr_cpus() as u64;
        if total > (bw * cap) >> 10 {
            return Err(violation(
                s,
                rule::TOTAL_BW_LIMIT,
                None,
                None,
                format!(
                    "total_bw={total} above the root domain's {} ({} CPUs at {bw})",
                    (bw * cap) >> 10,
                    s.nr_cpus()
                ),
            ));
        }
    }
    Ok(())
}
