//! RT-class invariants (kernel/sched/rt.c): the per-CPU priority lists against the tasks
//! queued in the class, `rt_nr_running` and `highest_prio.curr`.

use super::{violation, Violation};
use crate::class::ClassId;
use crate::prio::MAX_RT_PRIO;
use crate::sched::Sched;
use crate::task::OnRq;

/// The rule names, for callers that match on them.
pub mod rule {
    /// `__enqueue_rt_entity`: `WARN_ON_ONCE(rt_se->on_list)` — a task is listed once.
    pub const ONCE: &str = "a queued RT task is on exactly one prio list (__enqueue_rt_entity: WARN_ON_ONCE(rt_se->on_list))";
    /// `on_rt_rq`: a listed entity belongs to this rq at its task's prio.
    pub const MEMBER: &str =
        "a prio-list member is a queued RT task of this CPU at its prio (on_rt_rq)";
    /// `inc_rt_tasks` / `dec_rt_tasks`.
    pub const NR_RUNNING: &str = "rt_nr_running counts the prio lists (inc_rt_tasks/dec_rt_tasks)";
    /// `inc_rt_prio` / `dec_rt_prio`.
    pub const HIGHEST: &str = "highest_prio.curr is the best listed prio (inc_rt_prio/dec_rt_prio)";
    /// `pick_next_rt_entity`: the head of the first non-empty list.
    pub const PEEK: &str = "pick_next_rt_entity is the head of the best list";
}

pub fn verify(s: &Sched) -> Result<(), Violation> {
    let mut seen = vec![0u32; s.tasks.len()];
    for cpu in 0..s.nr_cpus() {
        let rt = &s.rq(cpu).rt;
        let mut count = 0u32;
        let mut best: Option<i32> = None;
        let mut head = None;
        for prio in 0..MAX_RT_PRIO {
            for p in rt.list(prio) {
                count += 1;
                if best.is_none() {
                    best = Some(prio);
                    head = Some(p);
                }
                seen[p.0 as usize] += 1;
                let t = s.task(p);
                if t.class != ClassId::Rt
                    || t.on_rq != OnRq::Queued
                    || t.cpu != cpu
                    || t.prio != prio
                {
                    return Err(violation(
                        s,
                        rule::MEMBER,
                        Some(cpu),
                        Some(p),
                        format!(
                            "on list {prio}: class={:?} on_rq={:?} cpu={} prio={}",
                            t.class, t.on_rq, t.cpu, t.prio
                        ),
                    ));
                }
            }
        }
        if rt.rt_nr_running != count {
            return Err(violation(
                s,
                rule::NR_RUNNING,
                Some(cpu),
                None,
                format!(
                    "rt_nr_running={} but the lists hold {count}",
                    rt.rt_nr_running
                ),
            ));
        }
        let want = best.unwrap_or(MAX_RT_PRIO - 1);
        if rt.highest_prio_curr != want {
            return Err(violation(
                s,
                rule::HIGHEST,
                Some(cpu),
                None,
                format!(
                    "highest_prio.curr={} but the best list is {want}",
                    rt.highest_prio_curr
                ),
            ));
        }
        if rt.peek() != head {
            return Err(violation(
                s,
                rule::PEEK,
                Some(cpu),
                None,
                format!("peek={:?} but the best list's head is {head:?}", rt.peek()),
            ));
        }
    }
    for t in &s.tasks {
        let want = (t.class == ClassId::Rt && t.on_rq == OnRq::Queued) as u32;
        if seen[t.id.0 as usize] != want {
            return Err(violation(
                s,
                rule::ONCE,
                Some(t.cpu.min(s.nr_cpus() - 1)),
                Some(t.id),
                format!(
                    "class={:?} on_rq={:?} listed {} times",
                    t.class, t.on_rq, seen[t.id.0 as usize]
                ),
            ));
        }
    }
    Ok(())
}
