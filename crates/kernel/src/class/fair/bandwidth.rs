//! CFS bandwidth control (`cpu.max`; fair.c's bandwidth code, 6.18's task-based
//! throttling): a group's quota is a pool refilled every period by the period timer; each
//! CPU's queue of the group draws 5 ms slices from it. A queue whose slice runs out and
//! finds the pool empty is throttled at the next put or pick; from 6.18 nothing is dequeued
//! then: a task picked under a throttled queue leaves for the queue's limbo list when it
//! returns to user space (`throttle_cfs_rq_work`), and the limbo tasks are enqueued again
//! when the period timer (or the slack timer) hands out runtime.
//!
//! Not modelled: the per-queue PELT clock stopping while throttled
//! (`throttled_clock_pelt`), and the unthrottle of a remote CPU's queue is done at once
//! rather than after the async IPI's latency (its `call_function_single_entry` is traced
//! at once too).

use super::entity::CfsRqId;
use super::group::TgId;
use crate::class::{class_of, dequeue, ClassId};
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::TaskId;

/// `min_cfs_rq_runtime`: what an emptied queue keeps (1 ms).
const MIN_CFS_RQ_RUNTIME: i64 = 1_000_000;
/// `cfs_bandwidth_slack_period` (5 ms) and `min_bandwidth_expiration` (2 ms).
const SLACK_PERIOD: u64 = 5_000_000;
const MIN_BANDWIDTH_EXPIRATION: u64 = 2_000_000;
/// `default_cfs_period()`: a new group's period (100 ms).
const DEFAULT_CFS_PERIOD: u64 = 100_000_000;

/// Which of a group's two hrtimers fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BwTimer {
    Period,
    Slack,
}

/// `struct cfs_bandwidth`: a group's quota pool and its `cpu.stat` counters.
#[derive(Clone, Debug, Default)]
pub struct CfsBandwidth {
    /// `cpu.max`: quota per period (None = "max", RUNTIME_INF).
    pub quota: Option<u64>,
    pub period: u64,
    pub burst: u64,
    /// The pool handed out to the per-CPU queues (`runtime`) and its value at the last
    /// refill (`runtime_snap`).
    pub runtime: u64,
    pub runtime_snap: u64,
    /// `idle`: no runtime was handed out since the last period.
    pub idle: bool,
    pub period_active: bool,
    /// When the period timer fires next (its hrtimer expiry). The grid is set at the
    /// group's creation (`init_cfs_bandwidth`) and kept while the timer is stopped.
    pub period_expires: u64,
    pub period_gen: u32,
    /// The CPU the period timer is pinned to (`HRTIMER_MODE_ABS_PINNED`): where it was
    /// started. Its expiry interrupts that CPU; other CPUs' queues are unthrottled by IPI.
    pub timer_cpu: u32,
    pub slack_started: bool,
    pub slack_gen: u32,
    /// Throttled queues, in throttle order (`throttled_cfs_rq`).
    pub throttled_cfs_rq: Vec<CfsRqId>,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_time: u64,
    pub nr_burst: u64,
    pub burst_time: u64,
}

/// The bandwidth part of `struct cfs_rq`.
#[derive(Clone, Debug, Default)]
pub struct CfsRqBandwidth {
    pub runtime_enabled: bool,
    pub runtime_remaining: i64,
    pub throttled: bool,
    /// Throttled ancestors, itself included (`throttle_count`).
    pub throttle_count: u32,
    /// When a task of this throttled queue was first taken off (`throttled_clock`).
    pub throttled_clock: Option<u64>,
    /// Tasks taken off at return to user while throttled, newest first
    /// (`throttled_limbo_list`).
    pub limbo: Vec<TaskId>,
}

fn cfs_b(s: &Sched, c: CfsRqId) -> &CfsBandwidth {
    &s.fair.tg(s.fair.cfs(c).tg).cfs_b
}

fn cfs_b_mut(s: &mut Sched, g: TgId) -> &mut CfsBandwidth {
    &mut s.fair.tg_mut(g).cfs_b
}

/// `init_cfs_bandwidth` for a new group: no quota, the default period, and the period
/// timer's expiry at a random point of the first period ("so that timers interleave"),
/// which sets the phase of every period of the group against the tick and the workload:
/// on the VM the throttled tasks of a group resume at a different point of the tick in
/// each run.
pub fn init_cfs_bandwidth(s: &mut Sched, g: TgId) {
    let offset = s.get_random_u32_below(DEFAULT_CFS_PERIOD as u32);
    let b = cfs_b_mut(s, g);
    b.period = DEFAULT_CFS_PERIOD;
    b.period_expires = u64::from(offset);
}

/// `tg_set_cfs_bandwidth` at set-up: the group's queues are metered from now on.
pub fn set_bandwidth(s: &mut Sched, g: TgId, quota: Option<u64>, period: u64, burst: u64) {
    let b = cfs_b_mut(s, g);
    b.quota = quota;
    b.period = period;
    b.burst = burst;
    // __refill_cfs_bandwidth_runtime
    b.runtime = quota.unwrap_or(0);
    b.runtime_snap = b.runtime;
    for i in 0..s.fair.tg(g).cfs_rq.len() {
        let c = s.fair.tg(g).cfs_rq[i];
        let bw = &mut s.fair.cfs_mut(c).bw;
        bw.runtime_enabled = quota.is_some();
        bw.runtime_remaining = 0;
    }
    // "Restart the period timer (if active) to handle new period expiry": the timer runs
    // from the write, on the grid of the group's creation.
    if quota.is_some() {
        let cpu = if s.this_cpu < s.nr_cpus() {
            s.this_cpu
        } else {
            0
        };
        start_cfs_bandwidth(s, g, cpu);
    }
}

/// `start_cfs_bandwidth` on `cpu`: arm the period timer on its grid if it is not running.
fn start_cfs_bandwidth(s: &mut Sched, g: TgId, cpu: u32) {
    let now = s.now;
    let b = cfs_b_mut(s, g);
    if b.period_active {
        return;
    }
    b.period_active = true;
    b.timer_cpu = cpu;
    // hrtimer_forward_now: an expiry still ahead stays, a past one moves on by whole
    // periods to the first after now.
    if now >= b.period_expires {
        b.period_expires += ((now - b.period_expires) / b.period + 1) * b.period;
    }
    b.period_gen = b.period_gen.wrapping_add(1);
    arm_period_timer(s, g);
}

/// Queues the period timer's expiry at `period_expires`.
fn arm_period_timer(s: &mut Sched, g: TgId) {
    let b = &s.fair.tg(g).cfs_b;
    let (at, gen) = (b.period_expires, b.period_gen);
    s.queue.push(
        at,
        EventKind::CfsBandwidth {
            tg: g,
            timer: BwTimer::Period,
            gen,
        },
    );
}

/// `__assign_cfs_rq_runtime`: top the queue up towards `target` from the pool.
fn assign_runtime(s: &mut Sched, c: CfsRqId, target: i64) -> bool {
    let g = s.fair.cfs(c).tg;
    let min_amount = (target - s.fair.cfs(c).bw.runtime_remaining) as u64;
    let amount = match cfs_b(s, c).quota {
        None => min_amount,
        Some(_) => {
            let cpu = s.fair.cfs(c).cpu;
            start_cfs_bandwidth(s, g, cpu);
            let b = cfs_b_mut(s, g);
            let mut amount = 0;
            if b.runtime > 0 {
                amount = b.runtime.min(min_amount);
                b.runtime -= amount;
                b.idle = false;
            }
            amount
        }
    };
    let bw = &mut s.fair.cfs_mut(c).bw;
    bw.runtime_remaining += amount as i64;
    bw.runtime_remaining > 0
}

/// `account_cfs_rq_runtime`: charge the queue; past its slice it asks the pool for
/// another, and without one the CPU reschedules so the put/pick path can throttle.
pub fn account_cfs_rq_runtime(s: &mut Sched, c: CfsRqId, delta: u64) {
    if !s.fair.cfs(c).bw.runtime_enabled {
        return;
    }
    let bw = &mut s.fair.cfs_mut(c).bw;
    bw.runtime_remaining -= delta as i64;
    if bw.runtime_remaining > 0 || bw.throttled {
        return;
    }
    let slice = s.cfg.cfs_bandwidth_slice_ns() as i64;
    if !assign_runtime(s, c, slice) && s.fair.cfs(c).curr.is_some() {
        let cpu = s.fair.cfs(c).cpu;
        s.resched_curr(cpu);
    }
}

/// `check_cfs_rq_runtime`: throttle a queue whose runtime ran out; true if it is
/// throttled.
pub fn check_cfs_rq_runtime(s: &mut Sched, c: CfsRqId) -> bool {
    let bw = &s.fair.cfs(c).bw;
    if !bw.runtime_enabled || bw.runtime_remaining > 0 {
        return false;
    }
    if bw.throttled {
        return true;
    }
    throttle_cfs_rq(s, c)
}

/// `check_enqueue_throttle`: an idle queue that gets its first entity checks its runtime.
pub fn check_enqueue_throttle(s: &mut Sched, c: CfsRqId) {
    let cfs = s.fair.cfs(c);
    if !cfs.bw.runtime_enabled || cfs.curr.is_some() || cfs.bw.throttled {
        return;
    }
    account_cfs_rq_runtime(s, c, 0);
    if s.fair.cfs(c).bw.runtime_remaining <= 0 {
        throttle_cfs_rq(s, c);
    }
}

/// `return_cfs_rq_runtime`: an emptied queue gives back all but 1 ms of its runtime; the
/// slack timer hands it to throttled queues if that is worth it.
pub fn return_cfs_rq_runtime(s: &mut Sched, c: CfsRqId) {
    let cfs = s.fair.cfs(c);
    if !cfs.bw.runtime_enabled || cfs.nr_queued != 0 {
        return;
    }
    let slack = cfs.bw.runtime_remaining - MIN_CFS_RQ_RUNTIME;
    if slack <= 0 {
        return;
    }
    let g = cfs.tg;
    let slice = s.cfg.cfs_bandwidth_slice_ns();
    if cfs_b(s, c).quota.is_some() {
        let b = cfs_b_mut(s, g);
        b.runtime += slack as u64;
        if b.runtime > slice && !b.throttled_cfs_rq.is_empty() {
            start_cfs_slack_bandwidth(s, g);
        }
    }
    s.fair.cfs_mut(c).bw.runtime_remaining -= slack;
}

/// `runtime_refresh_within`: the period timer fires within `min_expire`.
fn runtime_refresh_within(s: &Sched, g: TgId, min_expire: u64) -> bool {
    let b = &s.fair.tg(g).cfs_b;
    b.period_active && b.period_expires.saturating_sub(s.now) < min_expire
}

/// `start_cfs_slack_bandwidth`.
fn start_cfs_slack_bandwidth(s: &mut Sched, g: TgId) {
    if runtime_refresh_within(s, g, SLACK_PERIOD + MIN_BANDWIDTH_EXPIRATION) {
        return;
    }
    let at = s.now + SLACK_PERIOD;
    let b = cfs_b_mut(s, g);
    if b.slack_started {
        return;
    }
    b.slack_started = true;
    b.slack_gen = b.slack_gen.wrapping_add(1);
    let gen = b.slack_gen;
    s.queue.push(
        at,
        EventKind::CfsBandwidth {
            tg: g,
            timer: BwTimer::Slack,
            gen,
        },
    );
}

/// `throttle_cfs_rq` (6.18): unless one more nanosecond can be had, the queue joins the
/// throttled list and every queue below it counts one more throttled ancestor. Nothing
/// is dequeued.
fn throttle_cfs_rq(s: &mut Sched, c: CfsRqId) -> bool {
    if assign_runtime(s, c, 1) {
        return false;
    }
    let g = s.fair.cfs(c).tg;
    cfs_b_mut(s, g).throttled_cfs_rq.push(c);
    let cpu = s.fair.cfs(c).cpu as usize;
    for d in subtree(s, g) {
        let q = s.fair.tg(d).cfs_rq[cpu];
        s.fair.cfs_mut(q).bw.throttle_count += 1;
    }
    s.fair.cfs_mut(c).bw.throttled = true;
    true
}

/// The group and its descendants, parents before children (`walk_tg_tree_from`'s
/// down order; groups are created after their parents).
fn subtree(s: &Sched, g: TgId) -> Vec<TgId> {
    let mut v = vec![g];
    for i in g.0 as usize + 1..s.fair.tg.len() {
        let d = TgId(i as u32);
        if s.fair.tg(d).parent.is_some_and(|p| v.contains(&p)) {
            v.push(d);
        }
    }
    v
}

/// `unthrottle_cfs_rq`: account the throttled time, then re-enqueue the limbo tasks of
/// every queue below that is no longer under a throttled ancestor (children first).
fn unthrottle_cfs_rq(s: &mut Sched, c: CfsRqId) {
    let bw = &s.fair.cfs(c).bw;
    if bw.runtime_enabled && bw.runtime_remaining <= 0 {
        return;
    }
    let (g, cpu) = (s.fair.cfs(c).tg, s.fair.cfs(c).cpu);
    if cpu != s.fair.tg(g).cfs_b.timer_cpu {
        // unthrottle_cfs_rq_async: another CPU's queue is unthrottled in its CSD handler.
        s.irq_entry(cpu, schedsim_trace::IrqVector::CallFunctionSingle);
    }
    s.update_rq_clock(cpu);
    s.fair.cfs_mut(c).bw.throttled = false;
    if let Some(t0) = s.fair.cfs_mut(c).bw.throttled_clock.take() {
        let now = s.rq(cpu).clock;
        cfs_b_mut(s, g).throttled_time += now - t0;
    }
    cfs_b_mut(s, g).throttled_cfs_rq.retain(|&q| q != c);
    for d in subtree(s, g).into_iter().rev() {
        let q = s.fair.tg(d).cfs_rq[cpu as usize];
        let bw = &mut s.fair.cfs_mut(q).bw;
        bw.throttle_count -= 1;
        if bw.throttle_count > 0 {
            continue;
        }
        // tg_unthrottle_up: the limbo list is walked from its head (newest first).
        for p in std::mem::take(&mut bw.limbo) {
            s.task_mut(p).throttled = false;
            class_of(ClassId::Fair).enqueue_task(s, cpu, p, crate::class::enqueue::WAKEUP);
        }
    }
    let root = s.rq(cpu).cfs;
    if s.curr(cpu) == s.rq(cpu).idle && s.fair.cfs(root).nr_queued > 0 {
        s.resched_curr(cpu);
    }
}

/// `distribute_cfs_runtime`: hand the pool to the throttled queues in throttle order,
/// each getting what it overran plus one nanosecond; true if some stay throttled.
fn distribute_cfs_runtime(s: &mut Sched, g: TgId) -> bool {
    let mut throttled = false;
    for c in s.fair.tg(g).cfs_b.throttled_cfs_rq.clone() {
        if !s.fair.cfs(c).bw.throttled {
            continue;
        }
        let want = (-s.fair.cfs(c).bw.runtime_remaining + 1) as u64;
        let b = cfs_b_mut(s, g);
        let runtime = want.min(b.runtime);
        b.runtime -= runtime;
        let remaining = b.runtime;
        s.fair.cfs_mut(c).bw.runtime_remaining += runtime as i64;
        if s.fair.cfs(c).bw.runtime_remaining > 0 {
            unthrottle_cfs_rq(s, c);
        } else {
            throttled = true;
        }
        if remaining == 0 {
            break;
        }
    }
    throttled
}

/// `sched_cfs_period_timer` → `do_sched_cfs_period_timer`, and `sched_cfs_slack_timer`.
pub fn timer_fired(s: &mut Sched, g: TgId, timer: BwTimer, gen: u32) {
    match timer {
        BwTimer::Period => {
            let b = &s.fair.tg(g).cfs_b;
            if !b.period_active || b.period_gen != gen {
                return;
            }
            let cpu = b.timer_cpu;
            s.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
            if do_period_timer(s, g) {
                cfs_b_mut(s, g).period_active = false;
                return;
            }
            let b = cfs_b_mut(s, g);
            b.period_expires += b.period;
            arm_period_timer(s, g);
        }
        BwTimer::Slack => {
            if s.fair.tg(g).cfs_b.slack_gen != gen || !s.fair.tg(g).cfs_b.slack_started {
                return;
            }
            // do_sched_cfs_slack_timer
            let refresh_soon = runtime_refresh_within(s, g, MIN_BANDWIDTH_EXPIRATION);
            let slice = s.cfg.cfs_bandwidth_slice_ns();
            let b = cfs_b_mut(s, g);
            b.slack_started = false;
            if refresh_soon || b.quota.is_none() || b.runtime <= slice {
                return;
            }
            distribute_cfs_runtime(s, g);
        }
    }
}

/// `do_sched_cfs_period_timer` for one period: refill, count, distribute; true when the
/// timer may stop (a whole period without use and nothing throttled). The simulated hrtimer
/// never fires late, so `hrtimer_forward_now`'s overrun is always 1 and the kernel's
/// doubling of period and quota after more than 3 overruns in one callback cannot happen.
fn do_period_timer(s: &mut Sched, g: TgId) -> bool {
    let b = cfs_b_mut(s, g);
    let Some(quota) = b.quota else {
        return true;
    };
    let mut throttled = !b.throttled_cfs_rq.is_empty();
    b.nr_periods += 1;
    // __refill_cfs_bandwidth_runtime, with burst accounting.
    b.runtime += quota;
    if b.runtime_snap > b.runtime {
        b.burst_time += b.runtime_snap - b.runtime;
        b.nr_burst += 1;
    }
    b.runtime = b.runtime.min(quota + b.burst);
    b.runtime_snap = b.runtime;
    if b.idle && !throttled {
        return true;
    }
    if !throttled {
        b.idle = true;
        return false;
    }
    b.nr_throttled += 1;
    while throttled && s.fair.tg(g).cfs_b.runtime > 0 {
        throttled = distribute_cfs_runtime(s, g);
    }
    cfs_b_mut(s, g).idle = false;
    false
}

/// `task_throttle_setup_work` + `throttle_cfs_rq_work`: a task picked under a throttled
/// queue leaves for that queue's limbo list when it returns to user space. Returns true
/// when the task was taken off (the CPU must reschedule).
pub fn throttle_at_return_to_user(s: &mut Sched, cpu: u32, p: TaskId) -> bool {
    let c = s.fair.cfs_rq_of(s.task(p).se);
    if s.fair.cfs(c).bw.throttle_count == 0 || s.task(p).throttled {
        return false;
    }
    s.update_rq_clock(cpu);
    class_of(ClassId::Fair).dequeue_task(s, cpu, p, dequeue::SLEEP | dequeue::THROTTLE);
    s.fair.cfs_mut(c).bw.limbo.insert(0, p);
    s.task_mut(p).throttled = true;
    record_throttle_clock(s, c);
    s.resched_curr(cpu);
    true
}

/// The throttled queues above a task that just left start counting throttled time.
fn record_throttle_clock(s: &mut Sched, c: CfsRqId) {
    let now = s.rq(s.fair.cfs(c).cpu).clock;
    let mut q = Some(c);
    while let Some(cq) = q {
        let bw = &mut s.fair.cfs_mut(cq).bw;
        if bw.throttled && bw.throttled_clock.is_none() {
            bw.throttled_clock = Some(now);
        }
        let g = s.fair.cfs(cq).tg;
        q = s.fair.tg(g).se[s.fair.cfs(cq).cpu as usize].map(|e| s.fair.cfs_rq_of(e));
    }
}

/// 6.18 `enqueue_throttled_task`: a task taken off while throttled goes straight back to
/// the limbo list of its (new) queue if that is still throttled.
pub fn enqueue_throttled_task(s: &mut Sched, cpu: u32, p: TaskId) -> bool {
    if !s.task(p).throttled {
        return false;
    }
    let c = s.fair.cfs_rq_of(s.task(p).se);
    if s.fair.throttled_hierarchy(c) && s.curr(cpu) != p {
        s.fair.cfs_mut(c).bw.limbo.insert(0, p);
        return true;
    }
    s.task_mut(p).throttled = false;
    false
}

/// 6.18 `dequeue_throttled_task`: a task in limbo is dequeued again (class, group or
/// affinity change, migration): it leaves the limbo list; it stays marked throttled so the
/// enqueue that follows puts it back in limbo if its queue is still throttled.
pub fn dequeue_throttled_task(s: &mut Sched, p: TaskId, flags: u32) {
    let c = s.fair.cfs_rq_of(s.task(p).se);
    s.fair.cfs_mut(c).bw.limbo.retain(|&x| x != p);
    if flags & dequeue::SLEEP != 0 {
        s.task_mut(p).throttled = false;
    }
}
