//! The real-time class, SCHED_FIFO and SCHED_RR (kernel/sched/rt.c), with the root
//! domain's priority map (kernel/sched/cpupri.c) and push/pull balancing.
//!
//! Each CPU has an `RtRq` (in `Rq::rt`): 100 FIFO lists indexed by `prio` (0 best) and a
//! bitmap of the non-empty ones. The running task stays on its list, so a task preempted by
//! a higher priority resumes at the head of its level. No RT throttling by default: since
//! 6.12 without RT group scheduling the fair server protects fair tasks instead. With
//! `Config::rt_group_sched` (CONFIG_RT_GROUP_SCHED) the root task group's bandwidth
//! (`sched_rt_runtime_us` per `sched_rt_period_us`) throttles each CPU's rt_rq.
//!
//! Push and pull keep the N highest-priority runnable RT tasks on the N CPUs whenever
//! affinity allows: a task that cannot run where it is queued is "pushable" and makes its
//! rq "overloaded"; a CPU whose RT priority drops pulls from overloaded CPUs.
//!
//! Simplifications (see core-and-classes.md §2): no capacity fitness, no child RT groups; the
//! balance callbacks the kernel queues (`rt_queue_push_tasks`, `rt_queue_pull_task`) run at
//! once with the task being switched in as the rq's current; `pull_rt_task` pulls directly
//! (the `RT_PUSH_IPI` path asks the overloaded CPU to push, which lands on the same CPU when
//! IPIs take no time).

use std::collections::VecDeque;

use crate::class::fair::pelt::update_rt_rq_load_avg;
use crate::class::{enqueue, wf, ClassId, SchedClass};
use crate::cpumask::CpuMask;
use crate::events::EventKind;
use crate::prio::MAX_RT_PRIO;
use crate::sched::{Ctx, Sched};
use crate::stats::MigrationCause;
use crate::task::{OnRq, TaskId};
use schedsim_workload::Policy;

/// `CPUPRI_INVALID`, `CPUPRI_NORMAL`, `CPUPRI_HIGHER` (cpupri.h).
pub const CPUPRI_INVALID: i32 = -1;
pub const CPUPRI_NORMAL: i32 = 0;
pub const CPUPRI_HIGHER: i32 = 100;

/// `struct rt_rq` (the per-CPU part) plus this CPU's entry of the root domain's `cpupri`
/// (`cpu_to_pri`) and its `rto_mask` bit (`overloaded`).
#[derive(Clone, Debug)]
pub struct RtRq {
    /// `rt_prio_array.queue`: one FIFO list per prio.
    queue: Vec<VecDeque<TaskId>>,
    /// `rt_prio_array.bitmap`: bit `prio` set when its list is non-empty.
    bitmap: u128,
    pub rt_nr_running: u32,
    /// `highest_prio.curr`: best queued prio, running task included (99 when empty).
    pub highest_prio_curr: i32,
    /// `highest_prio.next`: best pushable prio (99 when none).
    pub highest_prio_next: i32,
    /// `pushable_tasks` plist: ascending prio, FIFO among equals.
    pushable: Vec<(i32, TaskId)>,
    /// `rt_rq->overloaded` (this CPU's bit in `rd->rto_mask`).
    pub overloaded: bool,
    /// `cpupri.cpu_to_pri[cpu]`: the converted level (−1, 0 normal, 1..99, 100 higher).
    pub cpupri: i32,
    /// `curr->se.exec_start` of the running RT task (`update_curr_rt`).
    exec_start: u64,
    /// RT_GROUP_SCHED (root task group): RT time used in this period and whether the
    /// rt_rq is throttled (dequeued from the rq: `rt_queued == 0`).
    pub rt_time: u64,
    pub rt_throttled: bool,
    /// The root task group's `rt_period_timer` (kept with CPU 0's rt_rq): active, and the
    /// generation of its pending event.
    period_active: bool,
    period_gen: u32,
}

impl Default for RtRq {
    fn default() -> Self {
        RtRq::new()
    }
}

impl RtRq {
    /// `init_rt_rq` + `rq_online_rt`: empty, at cpupri NORMAL.
    pub fn new() -> RtRq {
        RtRq {
            queue: vec![VecDeque::new(); MAX_RT_PRIO as usize],
            bitmap: 0,
            rt_nr_running: 0,
            highest_prio_curr: MAX_RT_PRIO - 1,
            highest_prio_next: MAX_RT_PRIO - 1,
            pushable: Vec::new(),
            overloaded: false,
            cpupri: CPUPRI_NORMAL,
            exec_start: 0,
            rt_time: 0,
            rt_throttled: false,
            period_active: false,
            period_gen: 0,
        }
    }

    /// `sched_find_first_bit(array->bitmap)`.
    fn first_prio(&self) -> Option<i32> {
        (self.bitmap != 0).then(|| self.bitmap.trailing_zeros() as i32)
    }

    /// `pick_next_rt_entity`: the head of the best non-empty list.
    pub fn peek(&self) -> Option<TaskId> {
        self.first_prio()
            .and_then(|pr| self.queue[pr as usize].front().copied())
    }

    /// The tasks on the list of `prio`, head first.
    pub fn list(&self, prio: i32) -> impl Iterator<Item = TaskId> + '_ {
        self.queue[prio as usize].iter().copied()
    }

    /// Test-only: the list of `prio` and the bitmap, to corrupt them.
    #[doc(hidden)]
    pub fn test_lists_mut(&mut self, prio: i32) -> (&mut VecDeque<TaskId>, &mut u128) {
        (&mut self.queue[prio as usize], &mut self.bitmap)
    }

    fn has_pushable_tasks(&self) -> bool {
        !self.pushable.is_empty()
    }
}

/// `convert_prio` (cpupri.c): task prio to cpupri level.
pub fn convert_prio(prio: i32) -> i32 {
    match prio {
        CPUPRI_INVALID => CPUPRI_INVALID,
        0..=98 => MAX_RT_PRIO - 1 - prio,
        99 => CPUPRI_NORMAL,
        _ => CPUPRI_HIGHER,
    }
}

/// `cpupri_set(cp, cpu, newpri)`: records the CPU's level (newpri is a task prio, 99 for
/// no RT task, `MAX_RT_PRIO` for "deadline present").
pub fn cpupri_set(s: &mut Sched, cpu: u32, newpri: i32) {
    s.rq_mut(cpu).rt.cpupri = convert_prio(newpri);
}

/// `cpupri_find(cp, p, lowest_mask)`: the CPUs (in `p`'s affinity) of the lowest level
/// below `p`'s own, or None.
pub fn cpupri_find(s: &Sched, p: TaskId) -> Option<CpuMask> {
    let t = s.task(p);
    let task_pri = convert_prio(t.prio);
    let n = s.nr_cpus();
    for idx in 0..task_pri {
        let mut mask = CpuMask::empty(n as usize);
        for c in 0..n {
            if s.rq(c).rt.cpupri == idx && t.cpus_allowed.test(c) {
                mask.set(c);
            }
        }
        if mask.weight() > 0 {
            return Some(mask);
        }
    }
    None
}

fn rt_rq(s: &Sched, cpu: u32) -> &RtRq {
    &s.rq(cpu).rt
}

fn rt_rq_mut(s: &mut Sched, cpu: u32) -> &mut RtRq {
    &mut s.rq_mut(cpu).rt
}

/// `rt_task`: a task whose prio is in the RT range (deadline tasks excluded, 6.11+).
fn rt_task(s: &Sched, p: TaskId) -> bool {
    (0..MAX_RT_PRIO).contains(&s.task(p).prio)
}

/// `on_rt_rq`: the task is on its prio list of its CPU.
pub fn on_rt_rq(s: &Sched, p: TaskId) -> bool {
    let t = s.task(p);
    (0..MAX_RT_PRIO).contains(&t.prio) && rt_rq(s, t.cpu).list(t.prio).any(|q| q == p)
}

/// `move_entity`: a SAVE without MOVE keeps the list position.
fn move_entity(flags: u32) -> bool {
    flags & (enqueue::RESTORE | enqueue::MOVE) != enqueue::RESTORE
}

/// `inc_rt_prio` / `dec_rt_prio`: recompute `highest_prio.curr` and tell cpupri.
fn update_highest_prio(s: &mut Sched, cpu: u32) {
    let rt = rt_rq(s, cpu);
    let prev = rt.highest_prio_curr;
    let curr = if rt.rt_nr_running == 0 {
        MAX_RT_PRIO - 1
    } else {
        rt.first_prio().unwrap_or(MAX_RT_PRIO - 1)
    };
    rt_rq_mut(s, cpu).highest_prio_curr = curr;
    if curr != prev {
        cpupri_set(s, cpu, curr);
    }
}

/// `enqueue_pushable_task`.
fn enqueue_pushable_task(s: &mut Sched, cpu: u32, p: TaskId) {
    let prio = s.task(p).prio;
    let rt = rt_rq_mut(s, cpu);
    rt.pushable.retain(|&(_, q)| q != p);
    let at = rt.pushable.partition_point(|&(pr, _)| pr <= prio);
    rt.pushable.insert(at, (prio, p));
    if prio < rt.highest_prio_next {
        rt.highest_prio_next = prio;
    }
    // rt_set_overload
    rt.overloaded = true;
}

/// `dequeue_pushable_task`.
fn dequeue_pushable_task(s: &mut Sched, cpu: u32, p: TaskId) {
    let rt = rt_rq_mut(s, cpu);
    rt.pushable.retain(|&(_, q)| q != p);
    if let Some(&(pr, _)) = rt.pushable.first() {
        rt.highest_prio_next = pr;
    } else {
        rt.highest_prio_next = MAX_RT_PRIO - 1;
        // rt_clear_overload
        rt.overloaded = false;
    }
}

/// `requeue_task_rt`: move a listed task to the head or the tail of its list.
fn requeue_task_rt(s: &mut Sched, cpu: u32, p: TaskId, head: bool) {
    let prio = s.task(p).prio as usize;
    let q = &mut rt_rq_mut(s, cpu).queue[prio];
    if let Some(i) = q.iter().position(|&x| x == p) {
        q.remove(i);
        if head {
            q.push_front(p);
        } else {
            q.push_back(p);
        }
    }
}

/// `find_lowest_rq(task)`: a CPU of the lowest cpupri level below the task, preferring the
/// task's last CPU, then the executing CPU (`this_cpu`, when known), then a spread pick
/// (one LLC domain with SD_WAKE_AFFINE spans every CPU here).
fn find_lowest_rq(s: &mut Sched, p: TaskId, this_cpu: Option<u32>) -> Option<u32> {
    if s.task(p).nr_cpus_allowed == 1 {
        return None;
    }
    let lowest = cpupri_find(s, p)?;
    let cpu = s.task(p).cpu;
    if lowest.test(cpu) {
        return Some(cpu);
    }
    if let Some(tc) = this_cpu.filter(|&c| lowest.test(c)) {
        return Some(tc);
    }
    let from = this_cpu.unwrap_or(cpu);
    s.cpumask_any_and_distribute(from, &lowest)
}

/// `find_lock_lowest_rq`: a lower-priority rq for `p` other than its own. Nothing drops
/// the rq locks here, so the first of the kernel's `RT_MAX_TRIES` decides.
fn find_lock_lowest_rq(s: &mut Sched, p: TaskId, cpu: u32) -> Option<u32> {
    let target = find_lowest_rq(s, p, Some(cpu))?;
    if target == cpu || rt_rq(s, target).highest_prio_curr <= s.task(p).prio {
        return None;
    }
    Some(target)
}

/// `move_queued_task_locked`: deactivate on `src`, `set_task_cpu`, activate on `dst`.
fn move_queued_task_locked(s: &mut Sched, src: u32, dst: u32, p: TaskId) {
    s.migrate_queued_task(Ctx::Task(src), p, dst, 0, 0, MigrationCause::PushPull);
}

/// `push_rt_task(rq, false)`: move the best pushable task to a CPU running something lower.
/// `curr` is the rq's current task (the task being switched in when called from
/// `set_next_task_rt`).
fn push_rt_task(s: &mut Sched, cpu: u32, curr: TaskId) -> bool {
    if !rt_rq(s, cpu).overloaded {
        return false;
    }
    let Some(&(_, next)) = rt_rq(s, cpu).pushable.first() else {
        return false;
    };
    if next == curr {
        return false;
    }
    if s.task(next).prio < s.task(curr).prio {
        // The pushable task slipped in above current: just reschedule.
        s.resched_curr(cpu);
        return false;
    }
    let Some(lowest) = find_lock_lowest_rq(s, next, cpu) else {
        return false;
    };
    move_queued_task_locked(s, cpu, lowest, next);
    s.resched_curr(lowest);
    true
}

/// `push_rt_tasks`.
fn push_rt_tasks(s: &mut Sched, cpu: u32, curr: TaskId) {
    while push_rt_task(s, cpu, curr) {}
}

/// `pick_highest_pushable_task(src, cpu)`: the best pushable task of `src` allowed on `cpu`.
fn pick_highest_pushable_task(s: &Sched, src: u32, cpu: u32) -> Option<TaskId> {
    rt_rq(s, src)
        .pushable
        .iter()
        .map(|&(_, p)| p)
        .find(|&p| !s.task(p).on_cpu && s.task(p).cpus_allowed.test(cpu))
}

/// `pull_rt_task(this_rq)`: take from each overloaded CPU the best pushable task that beats
/// this rq but not the current task of its own CPU.
fn pull_rt_task(s: &mut Sched, this_cpu: u32) {
    let n = s.nr_cpus();
    let count = (0..n).filter(|&c| rt_rq(s, c).overloaded).count();
    if count == 0 || (count == 1 && rt_rq(s, this_cpu).overloaded) {
        return;
    }
    let mut resched = false;
    for src in 0..n {
        if src == this_cpu || !rt_rq(s, src).overloaded {
            continue;
        }
        if rt_rq(s, src).highest_prio_next >= rt_rq(s, this_cpu).highest_prio_curr {
            continue;
        }
        let Some(p) = pick_highest_pushable_task(s, src, this_cpu) else {
            continue;
        };
        if s.task(p).prio < rt_rq(s, this_cpu).highest_prio_curr {
            // It would preempt its own CPU's current: leave it there.
            if s.task(p).prio < s.task(s.curr(src)).prio {
                continue;
            }
            s.update_rq_clock(src);
            move_queued_task_locked(s, src, this_cpu, p);
            resched = true;
        }
    }
    if resched {
        s.resched_curr(this_cpu);
    }
}

/// `check_preempt_equal_prio`: an equal-priority wakee preempts only if current could move
/// elsewhere and the wakee could not.
fn check_preempt_equal_prio(s: &mut Sched, cpu: u32, p: TaskId) {
    let curr = s.curr(cpu);
    if s.task(curr).nr_cpus_allowed == 1 || cpupri_find(s, curr).is_none() {
        return;
    }
    if s.task(p).nr_cpus_allowed != 1 && cpupri_find(s, p).is_some() {
        return;
    }
    requeue_task_rt(s, cpu, p, true);
    s.resched_curr(cpu);
}

// ---------------------------------------------------------------------------------------
// RT_GROUP_SCHED bandwidth of the root task group (`Config::rt_group_sched`).

/// `rt_bandwidth_enabled()` with RT group scheduling: the root group's runtime in ns, or
/// None when throttling is off.
fn rt_group_runtime(s: &Sched) -> Option<u64> {
    (s.cfg.rt_group_sched && s.cfg.rt_runtime_us >= 0).then(|| s.cfg.rt_runtime_us as u64 * 1000)
}

/// `sched_rt_runtime_exceeded`: over its runtime in this period, the rt_rq is throttled
/// and leaves the rq (`sched_rt_rq_dequeue` → `dequeue_top_rt_rq`).
fn sched_rt_runtime_exceeded(s: &mut Sched, cpu: u32, runtime: u64) -> bool {
    let rt = rt_rq(s, cpu);
    if rt.rt_throttled {
        return true;
    }
    if runtime >= s.cfg.rt_period_us * 1000 {
        return false;
    }
    if rt.rt_time > runtime {
        if runtime == 0 {
            rt_rq_mut(s, cpu).rt_time = 0;
            return false;
        }
        // "sched: RT throttling activated"
        let n = rt.rt_nr_running;
        rt_rq_mut(s, cpu).rt_throttled = true;
        s.add_nr_running(cpu, -(n as i32));
        return true;
    }
    false
}

/// `update_curr_rt`: account the running RT task and, with RT group scheduling, its
/// rt_rq's `rt_time` (throttling it over the runtime).
fn update_curr_rt(s: &mut Sched, cpu: u32) {
    let curr = s.curr(cpu);
    if s.task(curr).class != ClassId::Rt {
        return;
    }
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - rt_rq(s, cpu).exec_start as i64;
    if delta <= 0 {
        return;
    }
    rt_rq_mut(s, cpu).exec_start = now;
    let Some(runtime) = rt_group_runtime(s) else {
        return;
    };
    rt_rq_mut(s, cpu).rt_time += delta as u64;
    if sched_rt_runtime_exceeded(s, cpu, runtime) {
        s.resched_curr(cpu);
        do_start_rt_bandwidth(s);
    }
}

/// `do_start_rt_bandwidth`: (re)start the period timer; it fires at once (the kernel
/// forwards it to now), then every `rt_period`.
fn do_start_rt_bandwidth(s: &mut Sched) {
    let rt0 = rt_rq_mut(s, 0);
    if rt0.period_active {
        return;
    }
    rt0.period_active = true;
    rt0.period_gen = rt0.period_gen.wrapping_add(1);
    let gen = rt0.period_gen;
    let now = s.now;
    s.queue.push(now, EventKind::RtPeriodTimer { gen });
}

/// `sched_rt_period_timer` → `do_sched_rt_period_timer(overrun = 1)`: every CPU's rt_rq
/// pays back one period's runtime and is unthrottled (re-enqueued, with a reschedule if it
/// beats the current task) once under it; the timer stops when no CPU has RT time or RT
/// tasks.
pub fn sched_rt_period_timer(s: &mut Sched, gen: u32) {
    let rt0 = rt_rq(s, 0);
    if !rt0.period_active || rt0.period_gen != gen {
        return;
    }
    let runtime = rt_group_runtime(s);
    let mut idle = true;
    let mut throttled = false;
    for cpu in 0..s.nr_cpus() {
        let rt = rt_rq(s, cpu);
        if rt.rt_time == 0 && rt.rt_nr_running == 0 {
            continue;
        }
        s.update_rq_clock(cpu);
        let mut enqueue = false;
        let rt = rt_rq(s, cpu);
        if rt.rt_time > 0 {
            let rtime = runtime.unwrap_or(u64::MAX);
            let left = rt.rt_time - rt.rt_time.min(rtime);
            let was_throttled = rt.rt_throttled;
            let nr = rt.rt_nr_running;
            rt_rq_mut(s, cpu).rt_time = left;
            if was_throttled && left < rtime {
                rt_rq_mut(s, cpu).rt_throttled = false;
                enqueue = true;
            }
            if left > 0 || nr > 0 {
                idle = false;
            }
        } else if rt.rt_nr_running > 0 {
            idle = false;
        }
        if rt_rq(s, cpu).rt_throttled {
            throttled = true;
        }
        if enqueue {
            // sched_rt_rq_enqueue → enqueue_top_rt_rq
            let rt = rt_rq(s, cpu);
            let (n, hp) = (rt.rt_nr_running, rt.highest_prio_curr);
            if n > 0 {
                s.add_nr_running(cpu, n as i32);
                if hp < s.task(s.curr(cpu)).prio {
                    s.resched_curr(cpu);
                }
            }
        }
    }
    if (!throttled && runtime.is_none()) || idle {
        rt_rq_mut(s, 0).period_active = false;
        return;
    }
    let at = s.now + s.cfg.rt_period_us * 1000;
    s.queue.push(at, EventKind::RtPeriodTimer { gen });
}

pub struct RtClass;

impl SchedClass for RtClass {
    /// `enqueue_task_rt` → `__enqueue_rt_entity`: HEAD → head of the list, else tail (a
    /// SAVE without MOVE keeps the position); a queued task that is not running and may
    /// migrate becomes pushable.
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        let prio = s.task(p).prio;
        let rt = rt_rq_mut(s, cpu);
        let q = &mut rt.queue[prio as usize];
        if move_entity(flags) || !q.contains(&p) {
            if flags & enqueue::HEAD != 0 {
                q.push_front(p);
            } else {
                q.push_back(p);
            }
            rt.bitmap |= 1u128 << prio;
        }
        rt.rt_nr_running += 1;
        // enqueue_top_rt_rq: a throttled rt_rq stays off the rq's count.
        if !rt.rt_throttled {
            s.add_nr_running(cpu, 1);
        }
        update_highest_prio(s, cpu);
        if s.curr(cpu) != p && s.task(p).nr_cpus_allowed > 1 {
            enqueue_pushable_task(s, cpu, p);
        }
        // inc_rt_group → start_rt_bandwidth
        if rt_group_runtime(s).is_some() {
            do_start_rt_bandwidth(s);
        }
    }

    /// `dequeue_task_rt` → `__dequeue_rt_entity`.
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        update_curr_rt(s, cpu);
        let prio = s.task(p).prio;
        let rt = rt_rq_mut(s, cpu);
        if move_entity(flags) {
            let q = &mut rt.queue[prio as usize];
            q.retain(|&x| x != p);
            if q.is_empty() {
                rt.bitmap &= !(1u128 << prio);
            }
        }
        rt.rt_nr_running -= 1;
        if !rt.rt_throttled {
            s.add_nr_running(cpu, -1);
        }
        update_highest_prio(s, cpu);
        dequeue_pushable_task(s, cpu, p);
        true
    }

    /// `yield_task_rt`: current goes to the tail of its list.
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        let curr = s.curr(cpu);
        requeue_task_rt(s, cpu, curr, false);
    }

    /// `wakeup_preempt_rt`: a better prio preempts; an equal one may (SMP rule).
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, _wake_flags: u32) {
        let curr = s.curr(cpu);
        let (pp, cp) = (s.task(p).prio, s.task(curr).prio);
        if pp < cp {
            s.resched_curr(cpu);
            return;
        }
        if pp == cp && !s.rq(cpu).need_resched {
            check_preempt_equal_prio(s, cpu, p);
        }
    }

    /// `balance_rt`: pull when the previous task left the rt queue and this rq's RT
    /// priority is now below it; true if this class or a higher one has work.
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        if !on_rt_rq(s, prev) && rt_rq(s, cpu).highest_prio_curr > s.task(prev).prio {
            pull_rt_task(s, cpu);
        }
        rt_rq(s, cpu).rt_nr_running > 0 && !rt_rq(s, cpu).rt_throttled
    }

    /// `pick_task_rt`: the head of the best list (nothing while throttled).
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        if rt_rq(s, cpu).rt_throttled {
            return None;
        }
        rt_rq(s, cpu).peek()
    }

    /// `put_prev_task_rt`: a preempted task that may migrate becomes pushable.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, _next: TaskId) {
        update_curr_rt(s, cpu);
        update_rt_rq_load_avg(s, cpu, true);
        if on_rt_rq(s, prev) && s.task(prev).nr_cpus_allowed > 1 {
            enqueue_pushable_task(s, cpu, prev);
        }
    }

    /// `set_next_task_rt`: the running task is never pushable; a first switch-in pushes
    /// away what can run elsewhere (`rt_queue_push_tasks`).
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        rt_rq_mut(s, cpu).exec_start = s.rq(cpu).clock_task;
        dequeue_pushable_task(s, cpu, p);
        if !first {
            return;
        }
        // An rt task starts to run: close the not-running stretch of avg_rt (a previous
        // rt task's put_prev_task already did).
        if s.task(s.curr(cpu)).class != ClassId::Rt {
            update_rt_rq_load_avg(s, cpu, false);
        }
        if rt_rq(s, cpu).has_pushable_tasks() {
            push_rt_tasks(s, cpu, p);
        }
    }

    /// `select_task_rq_rt`: for wakeups and forks, move off a CPU whose current RT task
    /// would not be preempted (or cannot move) to the lowest-priority CPU, if it is lower.
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, cpu: u32, wake_flags: u32) -> u32 {
        if wake_flags & (wf::TTWU | wf::FORK) == 0 {
            return cpu;
        }
        let curr = s.curr(cpu);
        let test = rt_task(s, curr)
            && (s.task(curr).nr_cpus_allowed < 2 || s.task(curr).prio <= s.task(p).prio);
        if test {
            if let Some(target) = find_lowest_rq(s, p, None) {
                if s.task(p).prio < rt_rq(s, target).highest_prio_curr {
                    return target;
                }
            }
        }
        cpu
    }

    /// `task_tick_rt`: FIFO has no slice; RR counts ticks down, refills at zero and
    /// requeues at the tail (with a reschedule) only if not alone on its list.
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        update_curr_rt(s, cpu);
        update_rt_rq_load_avg(s, cpu, true);
        if s.task(p).policy != Policy::Rr {
            return;
        }
        let full = s.cfg.rr_timeslice_ticks();
        let t = s.task_mut(p);
        if t.rt_time_slice == 0 {
            // Every task gets a full slice at fork (`__sched_fork`); 0 means never set.
            t.rt_time_slice = full;
        }
        t.rt_time_slice -= 1;
        if t.rt_time_slice > 0 {
            return;
        }
        t.rt_time_slice = full;
        let prio = t.prio;
        if rt_rq(s, cpu).list(prio).nth(1).is_some() {
            requeue_task_rt(s, cpu, p, false);
            s.resched_curr(cpu);
        }
    }

    /// `update_curr_rt`.
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        update_curr_rt(s, cpu);
    }

    /// `task_woken_rt`: push if the woken task will not run soon here.
    fn task_woken(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        let curr = s.curr(cpu);
        // dl_task(curr) || rt_task(curr): by prio, so the stopper (prio 0) counts.
        let need_to_push = !s.task(p).on_cpu
            && !s.rq(cpu).need_resched
            && s.task(p).nr_cpus_allowed > 1
            && (rt_task(s, curr) || s.task(curr).prio < 0)
            && (s.task(curr).nr_cpus_allowed < 2 || s.task(curr).prio <= s.task(p).prio);
        if need_to_push {
            push_rt_tasks(s, cpu, curr);
        }
    }

    /// `__sched_fork`: a new task starts with a full RR slice.
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        let full = s.cfg.rr_timeslice_ticks();
        s.task_mut(p).rt_time_slice = full;
    }

    /// `prio_changed_rt`: a running task whose prio dropped pulls and yields to a better
    /// queued task; a queued one preempts a worse current.
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, oldprio: i32) {
        if s.task(p).on_rq != OnRq::Queued {
            return;
        }
        if s.curr(cpu) == p {
            if oldprio < s.task(p).prio {
                pull_rt_task(s, cpu);
            }
            if s.task(p).prio > rt_rq(s, cpu).highest_prio_curr {
                s.resched_curr(cpu);
            }
        } else if s.task(p).prio < s.task(s.curr(cpu)).prio {
            s.resched_curr(cpu);
        }
    }

    /// `switched_from_rt`: the last RT task left; maybe pull others' RT work.
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        if s.task(p).on_rq != OnRq::Queued || rt_rq(s, cpu).rt_nr_running > 0 {
            return;
        }
        pull_rt_task(s, cpu);
    }

    /// `switched_to_rt`: a queued, not running task may overload the rq (push) or preempt.
    fn switched_to(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        let curr = s.curr(cpu);
        if curr == p {
            // From now on its running time is accounted to avg_rt.
            update_rt_rq_load_avg(s, cpu, false);
            return;
        }
        if s.task(p).on_rq == OnRq::Queued {
            if s.task(p).nr_cpus_allowed > 1 && rt_rq(s, cpu).overloaded {
                push_rt_tasks(s, cpu, curr);
            }
            if s.task(p).prio < s.task(curr).prio {
                s.resched_curr(cpu);
            }
        }
    }

    /// `set_task_rq` (core, every class): the fair entity follows the task's CPU.
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        crate::class::fair::group::set_task_rq(s, p, new_cpu);
    }
}
