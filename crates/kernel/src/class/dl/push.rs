//! SMP: `cpudl` (cpudeadline.c, as a scan), `find_later_rq`, push and pull.

use super::*;
use crate::stats::MigrationCause;

/// `enqueue_pushable_dl_task`.
pub(super) fn enqueue_pushable_dl_task(s: &mut Sched, cpu: u32, p: TaskId) {
    dequeue_pushable_dl_task(s, cpu, p);
    let d = task_se(s, p).deadline;
    let dl = &mut s.rq_mut(cpu).dl;
    dl.seq += 1;
    dl.pushable.insert((d, dl.seq, p));
    dl.earliest_next = dl.pushable.first().map_or(0, |&(d, _, _)| d);
    dl.overloaded = true;
}

/// `dequeue_pushable_dl_task`.
pub(super) fn dequeue_pushable_dl_task(s: &mut Sched, cpu: u32, p: TaskId) {
    let dl = &mut s.rq_mut(cpu).dl;
    dl.pushable.retain(|&(_, _, q)| q != p);
    dl.earliest_next = dl.pushable.first().map_or(0, |&(d, _, _)| d);
    if dl.pushable.is_empty() {
        dl.overloaded = false;
    }
}

/// `cpudl_find(cp, p, later_mask)`: with a mask, the CPUs without deadline work in `p`'s
/// affinity; else (or if none) the CPU with the latest earliest deadline if `p` beats it.
pub(super) fn cpudl_find(s: &Sched, p: TaskId, with_mask: bool) -> Option<CpuMask> {
    let n = s.nr_cpus();
    let t = s.task(p);
    let mut m = CpuMask::empty(n as usize);
    if with_mask {
        for c in (0..n).filter(|&c| s.rq(c).dl.dl_nr_running == 0 && t.cpus_allowed.test(c)) {
            m.set(c);
        }
        if m.weight() > 0 {
            return Some(m);
        }
    }
    // cpudl_maximum: the root of the max-heap of earliest deadlines.
    let best = (0..n)
        .filter(|&c| s.rq(c).dl.dl_nr_running > 0)
        .max_by(|&a, &b| {
            let (da, db) = (s.rq(a).dl.earliest_curr, s.rq(b).dl.earliest_curr);
            (da.wrapping_sub(db) as i64).cmp(&0).then(b.cmp(&a))
        })?;
    if t.cpus_allowed.test(best)
        && dl_time_before(task_se(s, p).deadline, s.rq(best).dl.earliest_curr)
    {
        m.set(best);
        return Some(m);
    }
    None
}

/// `find_later_rq`: a CPU where `p` would run earliest (its last CPU first, then the
/// executing CPU, then a spread pick).
pub(super) fn find_later_rq(s: &mut Sched, p: TaskId, this_cpu: Option<u32>) -> Option<u32> {
    if s.task(p).nr_cpus_allowed == 1 {
        return None;
    }
    let later = cpudl_find(s, p, true)?;
    let cpu = s.task(p).cpu;
    if later.test(cpu) {
        return Some(cpu);
    }
    if let Some(tc) = this_cpu.filter(|&c| later.test(c)) {
        return Some(tc);
    }
    let from = this_cpu.unwrap_or(cpu);
    s.cpumask_any_and_distribute(from, &later)
}

/// `dl_task_is_earliest_deadline(p, rq)`.
pub(super) fn dl_task_is_earliest_deadline(s: &Sched, p: TaskId, cpu: u32) -> bool {
    let dl = &s.rq(cpu).dl;
    dl.dl_nr_running == 0 || dl_time_before(task_se(s, p).deadline, dl.earliest_curr)
}

/// `find_lock_later_rq` (one try decides; nothing drops the locks).
pub(super) fn find_lock_later_rq(s: &mut Sched, p: TaskId, cpu: u32) -> Option<u32> {
    let later = find_later_rq(s, p, Some(cpu))?;
    if later == cpu || !dl_task_is_earliest_deadline(s, p, later) {
        return None;
    }
    Some(later)
}

/// `deactivate_task` / `set_task_cpu` / `activate_task` from `src` to `dst`.
pub(super) fn move_queued_task(s: &mut Sched, src: u32, dst: u32, p: TaskId) {
    s.migrate_queued_task(
        Ctx::Task(src),
        p,
        dst,
        dequeue::MIGRATING,
        enqueue::MIGRATING,
        MigrationCause::PushPull,
    );
}

/// `push_dl_task`: move the earliest pushable task to a CPU where it would run first.
pub(super) fn push_dl_task(s: &mut Sched, cpu: u32, curr: TaskId) -> bool {
    let Some(&(_, _, next)) = s.rq(cpu).dl.pushable.first() else {
        return false;
    };
    if dl_task(s, curr)
        && dl_time_before(task_se(s, next).deadline, task_se(s, curr).deadline)
        && s.task(curr).nr_cpus_allowed > 1
    {
        s.resched_curr(cpu);
        return false;
    }
    if next == curr {
        return false;
    }
    let Some(later) = find_lock_later_rq(s, next, cpu) else {
        return false;
    };
    move_queued_task(s, cpu, later, next);
    s.resched_curr(later);
    true
}

pub(super) fn push_dl_tasks(s: &mut Sched, cpu: u32, curr: TaskId) {
    while push_dl_task(s, cpu, curr) {}
}

/// `pull_dl_task`: from overloaded CPUs, pull the earliest pushable task that would run
/// first here (and beats earlier pulls) unless it beats its own CPU's current.
pub(super) fn pull_dl_task(s: &mut Sched, this_cpu: u32) {
    let n = s.nr_cpus();
    if !(0..n).any(|c| s.rq(c).dl.overloaded) {
        return;
    }
    let mut dmin: Option<u64> = None;
    let mut resched = false;
    for src in 0..n {
        if src == this_cpu || !s.rq(src).dl.overloaded {
            continue;
        }
        let this = &s.rq(this_cpu).dl;
        if this.dl_nr_running > 0 && dl_time_before(this.earliest_curr, s.rq(src).dl.earliest_next)
        {
            continue;
        }
        if s.rq(src).dl.dl_nr_running <= 1 {
            continue;
        }
        let p = s
            .rq(src)
            .dl
            .pushable
            .iter()
            .map(|&(_, _, p)| p)
            .find(|&p| !s.task(p).on_cpu && s.task(p).cpus_allowed.test(this_cpu));
        let Some(p) = p else { continue };
        let d = task_se(s, p).deadline;
        if dmin.is_none_or(|m| dl_time_before(d, m)) && dl_task_is_earliest_deadline(s, p, this_cpu)
        {
            let sc = s.curr(src);
            if dl_task(s, sc) && dl_time_before(d, task_se(s, sc).deadline) {
                continue;
            }
            s.update_rq_clock(src);
            move_queued_task(s, src, this_cpu, p);
            dmin = Some(d);
            resched = true;
        }
    }
    if resched {
        s.resched_curr(this_cpu);
    }
}

/// `check_preempt_equal_dl`.
pub(super) fn check_preempt_equal_dl(s: &mut Sched, cpu: u32, p: TaskId) {
    let curr = s.curr(cpu);
    if s.task(curr).nr_cpus_allowed == 1 || cpudl_find(s, curr, false).is_none() {
        return;
    }
    if s.task(p).nr_cpus_allowed != 1 && cpudl_find(s, p, false).is_some() {
        return;
    }
    s.resched_curr(cpu);
}
