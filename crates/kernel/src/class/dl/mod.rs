//! The deadline class, SCHED_DEADLINE (kernel/sched/deadline.c), with global EDF through
//! `cpudl` (kernel/sched/cpudeadline.c, as a scan) and push/pull, and the per-CPU fair
//! server (`dl_server`, 50 ms every 1 s, deferred) that protects fair tasks from RT and DL
//! starvation.
//!
//! A deadline entity follows the constant bandwidth server: `runtime` is charged with the
//! time the entity runs (at update points: the tick, put_prev, dequeue, yield — overruns of
//! up to a tick are repaid by the replenishment loop), it is throttled when it runs out and
//! a timer (`EventKind::DlTimer`) replenishes it at the start of its next period. The rq
//! keeps the queued entities in EDF order (`DlRq::tree`).
//!
//! The fair server is an entity of this class whose "task" is the fair class: when it is
//! picked, `pick_task_fair` supplies the task. Its hooks into the fair and idle classes
//! (`dl_server_start` on the first fair enqueue, `dl_server_update` from fair's
//! `update_curr`, `dl_server_update_idle_time` from `put_prev_task_idle`) sit at the class
//! boundary: `ServedFair` and `ServedIdle` wrap those classes in the class table.
//!
//! Each rq tracks the active bandwidth (`this_bw`, `running_bw`, the inactive timer at the
//! 0-lag time) and SCHED_FLAG_RECLAIM tasks are charged by GRUB (`grub.rs`). Jobs, misses,
//! lateness and throttled time are recorded per task for the report (`stats.rs`).
//!
//! A task leaving the class keeps its share of the root domain's `total_bw` until its
//! 0-lag time (`switched_from_dl`, `inactive_task_timer`). Priority inheritance can move
//! any task into the class, running on its deadline donor's parameters (`pi.rs`, `pi_se`).
//!
//! Simplifications (core-and-classes.md §3): no capacity or frequency scaling of the
//! runtime charge; `cpudl` is a scan; the balance callbacks run at once; a task that
//! leaves the class while blocked past its 0-lag time gives its `total_bw` share back at
//! once (the kernel has no timer left to do it and keeps it).

use std::collections::{BTreeMap, BTreeSet};

use crate::class::fair::pelt::update_dl_rq_load_avg;
use crate::class::fair::FairClass;
use crate::class::idle::IdleClass;
use crate::class::rt::cpupri_set;
use crate::class::{dequeue, enqueue, wf, ClassId, SchedClass};
use crate::cpumask::CpuMask;
use crate::events::EventKind;
use crate::prio::{LoadWeight, MAX_RT_PRIO};
use crate::sched::{Ctx, Sched};
use crate::task::{OnRq, TaskId};

mod admission;
mod cbs;
mod grub;
mod pi;
mod push;
mod server;
mod stats;
mod timer;

pub use admission::{checkparam_dl, dl_param_changed, sched_dl_overflow, setparam_dl, total_bw};
pub use pi::{pi_setprio_dl, pi_unboost_dl, setscheduler_pi_dl};
pub use server::{ServedFair, ServedIdle};
pub use stats::{dl_task_report, DlReport, DlTaskStats, Lateness, LatenessReport};
pub use timer::dl_timer_fired;

use cbs::*;
use grub::*;
use push::*;
use server::*;
use stats::*;

/// `BW_SHIFT`: bandwidths are fixed point with 20 fractional bits.
pub const BW_SHIFT: u32 = 20;
const DL_SCALE: u32 = 10;
/// `SCHED_FLAG_DL_OVERRUN`.
const SCHED_FLAG_DL_OVERRUN: u64 = 0x04;
/// `SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN` (`SCHED_DL_FLAGS` without SUGOV).
const SCHED_DL_FLAGS: u64 = 0x02 | 0x04;
/// `sysctl_sched_dl_period_min` / `_max` (µs).
const DL_PERIOD_MIN_US: u64 = 100;
const DL_PERIOD_MAX_US: u64 = 1 << 22;
/// The fair server's parameters (`sched_init_dl_servers`).
pub const FAIR_SERVER_RUNTIME: u64 = 50_000_000;
pub const FAIR_SERVER_PERIOD: u64 = 1_000_000_000;
/// `dl_server_min_res`.
const DL_SERVER_MIN_RES: u64 = 1_000_000;

/// `to_ratio(period, runtime)`.
pub fn to_ratio(period: u64, runtime: u64) -> u64 {
    if period == 0 {
        return 0;
    }
    ((runtime as u128) << BW_SHIFT).div_euclid(period as u128) as u64
}

/// `dl_time_before(a, b)`.
fn dl_time_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

/// Which deadline entity: a task's or this CPU's fair server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DlKey {
    Task(TaskId),
    Server,
}

/// `struct sched_dl_entity`.
#[derive(Clone, Debug, Default)]
pub struct DlEntity {
    pub dl_runtime: u64,
    pub dl_deadline: u64,
    pub dl_period: u64,
    pub dl_bw: u64,
    pub dl_density: u64,
    /// Remaining runtime (negative after an overrun).
    pub runtime: i64,
    /// Absolute deadline.
    pub deadline: u64,
    pub flags: u64,
    pub dl_throttled: bool,
    pub dl_yielded: bool,
    /// Blocked before its 0-lag time: still in `running_bw` until the inactive timer.
    pub dl_non_contending: bool,
    pub dl_overrun: bool,
    pub dl_server: bool,
    pub dl_defer: bool,
    pub dl_defer_armed: bool,
    pub dl_defer_running: bool,
    pub dl_server_active: bool,
    /// The deferred server restarted its period because idle time used it up (6.17+):
    /// its timer then stops it instead of running it.
    pub dl_defer_idle: bool,
    /// Bandwidth this entity holds in the root domain's `dl_bw.total_bw`.
    pub admitted_bw: u64,
    /// Counts `__setparam_dl` calls (not in the kernel): the invariant checker tells a
    /// runtime left over from bigger parameters by it (check/dl.rs, `Budgets`).
    pub params_gen: u32,
    /// The largest `dl_period - dl_deadline` and `dl_period` the task has had (not in the
    /// kernel): the checker's overrun bound (a timer set under parameters changed since,
    /// even within one event, ends an off-queue run).
    pub max_slack: u64,
    pub max_period: u64,
    /// The `dl_runtime` its last refill used (not in the kernel): its own, or a PI donor's
    /// (`pi_of`); the checker's upper bound on the runtime.
    pub refill_runtime: u64,
    /// The pending `dl_timer` expiry.
    pub timer_at: Option<u64>,
    /// Invalidates a cancelled timer's event.
    pub timer_gen: u32,
    /// The pending `inactive_timer` expiry (the 0-lag time) and its generation.
    pub inactive_at: Option<u64>,
    pub inactive_gen: u32,
    /// `pi_se`: the deadline task whose parameters this entity runs with while it is
    /// boosted by priority inheritance (`pi_of(dl_se)`, the end of the donor chain); None
    /// when it points to itself.
    pub pi_se: Option<TaskId>,
    /// A waking task's bandwidth left its old rq (`migrate_task_rq_dl`) and waits for the
    /// enqueue's `task_contending(ENQUEUE_MIGRATED)` on the new one (not in the kernel: a
    /// PI class change in between must neither add it twice nor take it off a rq that
    /// does not have it).
    migrated_bw: bool,
    /// Its key in `DlRq::tree` while queued (`!RB_EMPTY_NODE`).
    node: Option<(u64, u64)>,
}

impl DlEntity {
    /// Its key in the EDF tree while queued (`!RB_EMPTY_NODE`): (deadline, insertion order).
    pub fn node(&self) -> Option<(u64, u64)> {
        self.node
    }

    /// Test-only: sets the tree key it believes it has.
    #[doc(hidden)]
    pub fn test_set_node(&mut self, node: Option<(u64, u64)>) {
        self.node = node;
    }

    /// `dl_is_implicit`: deadline equals period.
    fn is_implicit(&self) -> bool {
        self.dl_deadline == self.dl_period
    }

    /// `dl_next_period`.
    fn next_period(&self) -> u64 {
        self.deadline
            .wrapping_sub(self.dl_deadline)
            .wrapping_add(self.dl_period)
    }

    /// `dl_entity_overflow(dl_se, t)`: the remaining runtime over the remaining time to the
    /// deadline exceeds the reserved bandwidth, that of `pi` (`pi_of(dl_se)`'s
    /// `(dl_runtime, dl_deadline, dl_period)`, see `pi_params`).
    fn overflow(&self, t: u64, pi: (u64, u64, u64)) -> bool {
        let (pi_runtime, pi_deadline, _) = pi;
        // The runtime is shifted as the signed value it is (an overrun stays negative).
        let left = (pi_deadline >> DL_SCALE).wrapping_mul((self.runtime >> DL_SCALE) as u64);
        let right =
            (self.deadline.wrapping_sub(t) >> DL_SCALE).wrapping_mul(pi_runtime >> DL_SCALE);
        dl_time_before(right, left)
    }

    /// `is_dl_boosted`.
    pub fn is_boosted(&self) -> bool {
        self.pi_se.is_some()
    }

    /// `dl_runtime_exceeded`.
    fn runtime_exceeded(&self) -> bool {
        self.runtime <= 0
    }

    /// The fair server as `sched_init_dl_servers` sets it up at boot
    /// (`dl_server_apply_params(init)` + `setup_new_dl_entity`).
    fn fair_server() -> DlEntity {
        let mut e = DlEntity {
            dl_runtime: FAIR_SERVER_RUNTIME,
            dl_deadline: FAIR_SERVER_PERIOD,
            dl_period: FAIR_SERVER_PERIOD,
            dl_server: true,
            dl_defer: true,
            ..DlEntity::default()
        };
        e.dl_bw = to_ratio(e.dl_period, e.dl_runtime);
        e.dl_density = to_ratio(e.dl_deadline, e.dl_runtime);
        e.admitted_bw = e.dl_bw;
        // setup_new_dl_entity at boot (clock 0): a deferred period starting now.
        e.deadline = e.dl_deadline;
        e.runtime = e.dl_runtime as i64;
        e.dl_throttled = true;
        e.dl_defer_armed = true;
        e
    }
}

/// `struct dl_rq` plus this CPU's `cpudl` element and `dlo_mask` bit.
#[derive(Clone, Debug)]
pub struct DlRq {
    /// The EDF tree: (deadline, insertion order, entity).
    tree: BTreeSet<(u64, u64, DlKey)>,
    seq: u64,
    /// Queued entities, the fair server included.
    pub dl_nr_running: u32,
    /// `this_bw`: the bandwidth of the entities assigned to this rq (active or not);
    /// `running_bw`: of the active ones (contending, or blocked before their 0-lag time).
    pub this_bw: u64,
    pub running_bw: u64,
    /// `earliest_dl.curr` (0 when empty) and `.next` (earliest pushable, 0 when none).
    pub earliest_curr: u64,
    pub earliest_next: u64,
    /// `pushable_dl_tasks_root`.
    pushable: BTreeSet<(u64, u64, TaskId)>,
    /// `dl_rq->overloaded` (this CPU's bit in `rd->dlo_mask`).
    pub overloaded: bool,
    /// The deadline entities of tasks created on this CPU (an entity stays where it was
    /// created; `dl_home` finds it).
    entities: BTreeMap<TaskId, DlEntity>,
    /// The deadline statistics of those tasks (stats.rs).
    stats: BTreeMap<TaskId, DlTaskStats>,
    /// `rq->fair_server`.
    pub server: DlEntity,
    /// `exec_start` of the running deadline task, of the running fair task (for the fair
    /// server's charge) and of the idle task (`dl_server_update_idle_time`).
    exec_start: u64,
    fair_exec_start: u64,
    idle_exec_start: u64,
}

impl Default for DlRq {
    fn default() -> Self {
        DlRq::new()
    }
}

impl DlRq {
    /// `init_dl_rq` + `sched_init_dl_servers`.
    pub fn new() -> DlRq {
        let server = DlEntity::fair_server();
        DlRq {
            // dl_server_apply_params(init): the server's bandwidth is this rq's.
            this_bw: server.dl_bw,
            running_bw: 0,
            tree: BTreeSet::new(),
            seq: 0,
            dl_nr_running: 0,
            earliest_curr: 0,
            earliest_next: 0,
            pushable: BTreeSet::new(),
            overloaded: false,
            entities: BTreeMap::new(),
            stats: BTreeMap::new(),
            server,
            exec_start: 0,
            fair_exec_start: 0,
            idle_exec_start: 0,
        }
    }

    /// Deadline tasks in the tree: this class's share of `nr_running` (the server is not
    /// counted, nor is a throttled task, which stays `on_rq` off the tree: `dec_dl_tasks`).
    pub fn nr_tasks(&self) -> u32 {
        self.tree
            .iter()
            .filter(|(_, _, k)| matches!(k, DlKey::Task(_)))
            .count() as u32
    }

    /// The leftmost (earliest-deadline) entity.
    pub fn leftmost(&self) -> Option<DlKey> {
        self.tree.first().map(|&(_, _, k)| k)
    }

    /// The EDF tree in order, as (deadline key, insertion order, entity), for the checker.
    pub fn tree_nodes(&self) -> impl Iterator<Item = (u64, u64, DlKey)> + '_ {
        self.tree.iter().copied()
    }

    /// The deadline entities of the tasks created on this CPU, for the checker.
    pub fn task_entities(&self) -> impl Iterator<Item = (TaskId, &DlEntity)> + '_ {
        self.entities.iter().map(|(&p, e)| (p, e))
    }

    /// Test-only: the EDF tree, to corrupt it.
    #[doc(hidden)]
    pub fn test_tree_mut(&mut self) -> &mut BTreeSet<(u64, u64, DlKey)> {
        &mut self.tree
    }

    /// Test-only: task `p`'s entity if this rq keeps it, to corrupt it.
    #[doc(hidden)]
    pub fn test_entity_mut(&mut self, p: TaskId) -> Option<&mut DlEntity> {
        self.entities.get_mut(&p)
    }
}

/// The CPU whose `DlRq::entities` holds task `p`'s entity.
fn dl_home(s: &Sched, p: TaskId) -> Option<u32> {
    let c = s.task(p).cpu;
    if s.rq(c).dl.entities.contains_key(&p) {
        return Some(c);
    }
    (0..s.nr_cpus()).find(|&c| s.rq(c).dl.entities.contains_key(&p))
}

/// The entity `k` of rq `cpu`.
fn se(s: &Sched, cpu: u32, k: DlKey) -> &DlEntity {
    match k {
        DlKey::Server => &s.rq(cpu).dl.server,
        DlKey::Task(p) => {
            let h = dl_home(s, p).expect("deadline entity exists");
            &s.rq(h).dl.entities[&p]
        }
    }
}

fn se_mut(s: &mut Sched, cpu: u32, k: DlKey) -> &mut DlEntity {
    match k {
        DlKey::Server => &mut s.rq_mut(cpu).dl.server,
        DlKey::Task(p) => {
            let h = dl_home(s, p).expect("deadline entity exists");
            s.rq_mut(h).dl.entities.get_mut(&p).unwrap()
        }
    }
}

/// Task `p`'s deadline entity (a default one for a task that never was SCHED_DEADLINE).
pub fn task_dl(s: &Sched, p: TaskId) -> DlEntity {
    dl_home(s, p).map_or_else(DlEntity::default, |h| s.rq(h).dl.entities[&p].clone())
}

/// `pi_of(dl_se)`'s static parameters `(dl_runtime, dl_deadline, dl_period)`: the donor's
/// while the entity is boosted, else its own.
fn pi_params(s: &Sched, cpu: u32, k: DlKey) -> (u64, u64, u64) {
    let e = se(s, cpu, k);
    let d = match e.pi_se {
        Some(d) => se(s, cpu, DlKey::Task(d)),
        None => e,
    };
    (d.dl_runtime, d.dl_deadline, d.dl_period)
}

/// `is_dl_boosted(dl_se)`.
fn is_dl_boosted(s: &Sched, cpu: u32, k: DlKey) -> bool {
    se(s, cpu, k).is_boosted()
}

fn task_se(s: &Sched, p: TaskId) -> &DlEntity {
    se(s, s.task(p).cpu, DlKey::Task(p))
}

/// `dl_task`: prio in the deadline range.
fn dl_task(s: &Sched, p: TaskId) -> bool {
    s.task(p).prio < 0
}

/// `on_dl_rq`.
fn on_dl_rq(s: &Sched, cpu: u32, k: DlKey) -> bool {
    match k {
        DlKey::Task(p) if dl_home(s, p).is_none() => false,
        _ => se(s, cpu, k).node.is_some(),
    }
}

/// `dl_entity_preempt(a, b)`: a's deadline is earlier.
fn dl_entity_preempt(a: &DlEntity, b: &DlEntity) -> bool {
    dl_time_before(a.deadline, b.deadline)
}

/// The deadline entity the running task of `cpu` is scheduled by, if any (a deadline task,
/// or a fair task run by the fair server).
fn curr_dl_entity(s: &Sched, cpu: u32) -> Option<DlEntity> {
    let curr = s.curr(cpu);
    if dl_task(s, curr) {
        Some(task_se(s, curr).clone())
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// The class.

pub struct DlClass;

impl SchedClass for DlClass {
    /// `enqueue_task_dl`.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        enqueue_task_dl(s, cpu, p, flags);
    }

    /// `dequeue_task_dl`; a sleeping dequeue ends the task's job.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        update_curr_dl(s, cpu);
        if flags & dequeue::SLEEP != 0 {
            job_finish(s, p);
        }
        dequeue_dl_entity(s, cpu, DlKey::Task(p), flags);
        dequeue_pushable_dl_task(s, cpu, p);
        true
    }

    /// `yield_task_dl`: give up the rest of this period's runtime.
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        let curr = s.curr(cpu);
        job_finish(s, curr);
        se_mut(s, cpu, DlKey::Task(curr)).dl_yielded = true;
        update_curr_dl(s, cpu);
    }

    /// `wakeup_preempt_dl`: an earlier deadline preempts; an equal one may (SMP rule).
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, _wake_flags: u32) {
        let curr = s.curr(cpu);
        let (pe, ce) = (task_se(s, p).clone(), task_se(s, curr).clone());
        if dl_entity_preempt(&pe, &ce) {
            s.resched_curr(cpu);
            return;
        }
        if pe.deadline == ce.deadline && !s.rq(cpu).need_resched {
            check_preempt_equal_dl(s, cpu, p);
        }
    }

    /// `balance_dl`: pull when the previous deadline task left the queue.
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        if dl_task(s, prev) && !on_dl_rq(s, cpu, DlKey::Task(prev)) {
            pull_dl_task(s, cpu);
        }
        s.rq(cpu).dl.dl_nr_running > 0
    }

    /// `pick_task_dl`: the earliest deadline; the fair server supplies a fair task, or
    /// stops when there is none.
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        loop {
            match s.rq(cpu).dl.leftmost()? {
                DlKey::Task(p) => return Some(p),
                DlKey::Server => match FairClass.pick_task(s, cpu) {
                    Some(p) => return Some(p),
                    None => dl_server_stop(s, cpu),
                },
            }
        }
    }

    /// `put_prev_task_dl`.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, _next: TaskId) {
        update_curr_dl(s, cpu);
        update_dl_rq_load_avg(s, cpu, true);
        if on_dl_rq(s, cpu, DlKey::Task(prev)) && s.task(prev).nr_cpus_allowed > 1 {
            enqueue_pushable_dl_task(s, cpu, prev);
        }
    }

    /// `set_next_task_dl`.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        s.rq_mut(cpu).dl.exec_start = s.rq(cpu).clock_task;
        dequeue_pushable_dl_task(s, cpu, p);
        if first {
            if s.task(s.curr(cpu)).class != ClassId::Dl {
                update_dl_rq_load_avg(s, cpu, false);
            }
            push_dl_tasks(s, cpu, p);
        }
    }

    /// `select_task_rq_dl`: on wakeup, leave a CPU whose current deadline task would not
    /// be preempted (or cannot move) for a CPU where this task would be earliest.
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, cpu: u32, wake_flags: u32) -> u32 {
        if wake_flags & wf::TTWU == 0 {
            return cpu;
        }
        let curr = s.curr(cpu);
        let select = dl_task(s, curr)
            && (s.task(curr).nr_cpus_allowed < 2
                || !dl_entity_preempt(task_se(s, p), task_se(s, curr)))
            && s.task(p).nr_cpus_allowed > 1;
        if select {
            if let Some(target) = find_later_rq(s, p, None) {
                if dl_task_is_earliest_deadline(s, p, target) {
                    return target;
                }
            }
        }
        cpu
    }

    /// `task_tick_dl`: the tick is where runtime runs out (HRTICK_DL is off).
    fn task_tick(&self, s: &mut Sched, cpu: u32, _p: TaskId) {
        update_curr_dl(s, cpu);
        update_dl_rq_load_avg(s, cpu, true);
    }

    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        update_curr_dl(s, cpu);
    }

    /// `task_woken_dl`.
    fn task_woken(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        let curr = s.curr(cpu);
        if !s.task(p).on_cpu
            && !s.rq(cpu).need_resched
            && s.task(p).nr_cpus_allowed > 1
            && dl_task(s, curr)
            && (s.task(curr).nr_cpus_allowed < 2
                || !dl_entity_preempt(task_se(s, p), task_se(s, curr)))
        {
            push_dl_tasks(s, cpu, curr);
        }
    }

    /// A task created straight into SCHED_DEADLINE starts a new period (a deadline task
    /// itself cannot fork; `setup_new_dl_entity` as at its first wakeup).
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        let cpu = s.task(p).cpu;
        s.update_rq_clock(cpu);
        replenish_dl_new_period(s, cpu, DlKey::Task(p));
    }

    /// `task_dead_dl`: the bandwidth is released.
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        let cpu = s.task(p).cpu;
        cancel_dl_timer(s, cpu, DlKey::Task(p));
        se_mut(s, cpu, DlKey::Task(p)).admitted_bw = 0;
    }

    /// `prio_changed_dl`: new parameters of a queued task.
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, _oldprio: i32) {
        if s.task(p).on_rq != OnRq::Queued {
            return;
        }
        if !s.rq(cpu).dl.overloaded {
            pull_dl_task(s, cpu);
        }
        let d = task_se(s, p).deadline;
        if s.curr(cpu) == p {
            if dl_time_before(s.rq(cpu).dl.earliest_curr, d) {
                s.resched_curr(cpu);
            }
        } else {
            let curr = s.curr(cpu);
            if !dl_task(s, curr) || dl_time_before(d, task_se(s, curr).deadline) {
                s.resched_curr(cpu);
            }
        }
    }

    /// `switched_from_dl`: a queued task becomes non contending (its rq bandwidth left at
    /// its DEQUEUE_SAVE; the root domain's stays reserved until its 0-lag time, when the
    /// inactive timer gives it back); a blocked task takes its bandwidth off this rq now,
    /// the root domain's again at its pending inactive timer. The last deadline task left:
    /// maybe pull.
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        let k = DlKey::Task(p);
        if s.task(p).on_rq == OnRq::Queued {
            if se(s, cpu, k).dl_runtime != 0 {
                task_non_contending(s, cpu, k);
            }
        } else if std::mem::take(&mut se_mut(s, cpu, k).migrated_bw) {
            // Waking on a new rq: its bandwidth already left the old one, and the wakeup
            // (now in another class) will not bring it here.
        } else {
            if se(s, cpu, k).dl_non_contending {
                sub_running_bw(s, cpu, k);
            } else if se(s, cpu, k).inactive_at.is_none() && !dl_task(s, p) {
                // Blocked past its 0-lag time: no timer will come (the kernel keeps the
                // bandwidth in total_bw here); it is given back now.
                admission::release_bw(s, p);
            }
            sub_rq_bw(s, cpu, k);
        }
        // The inactive timer stays armed: it cannot touch this rq's running_bw any more
        // (the task may migrate meanwhile), only the root domain's bandwidth.
        se_mut(s, cpu, k).dl_non_contending = false;
        // A throttled task stays throttled with its replenishment timer armed: coming back
        // before the timer it waits for it (enqueue_dl_entity skips a throttled entity),
        // instead of running on an exhausted budget.
        job_abandon(s, p);
        if s.task(p).on_rq != OnRq::Queued || s.rq(cpu).dl.dl_nr_running > 0 {
            return;
        }
        pull_dl_task(s, cpu);
    }

    /// `switched_to_dl`: a blocked task brings its bandwidth to this rq (a queued one did
    /// at its ENQUEUE_RESTORE); a queued task may push others away or preempt.
    fn switched_to(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        cancel_inactive_timer(s, cpu, DlKey::Task(p));
        if s.task(p).on_rq != OnRq::Queued {
            add_rq_bw(s, cpu, DlKey::Task(p));
            return;
        }
        if !job_open(s, p) {
            job_release(s, p);
        }
        let curr = s.curr(cpu);
        if curr == p {
            update_dl_rq_load_avg(s, cpu, false);
        } else {
            if s.task(p).nr_cpus_allowed > 1 && s.rq(cpu).dl.overloaded {
                push_dl_tasks(s, cpu, curr);
            }
            if dl_task(s, curr) {
                self.wakeup_preempt(s, cpu, p, 0);
            } else {
                s.resched_curr(cpu);
            }
        }
    }

    /// `set_task_rq` (core, every class): the fair entity follows the task's CPU.
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        migrate_task_rq_dl(s, p, new_cpu);
        crate::class::fair::group::set_task_rq(s, p, new_cpu);
    }
}
