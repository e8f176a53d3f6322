//! The stall detector (`scx_watchdog_workfn`, `check_rq_for_timeouts`): every half
//! timeout, a runnable ext task that has not run for longer than the timeout (counted in
//! jiffies from when it became runnable, `p->scx.runnable_at`) ejects the policy with
//! `SCX_EXIT_ERROR_STALL`. With the default 30 s timeout the checks run at 15 s, 30 s,
//! 45 s...: a task stalled from boot is reported at the 45 s check, as in the kernel
//! (`time_after(jiffies, runnable_at + timeout)` is still false at exactly 30 s).

use crate::class::ClassId;
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::TaskId;

use super::ops::ScxExitKind;
use super::ScxWork;

/// Queues the next check, half a timeout from now.
pub fn arm(s: &mut Sched) {
    let e = &mut s.ext;
    e.watchdog_gen = e.watchdog_gen.wrapping_add(1);
    let half = e.timeout_ms as u64 * 1_000_000 / 2;
    let work = ScxWork::Watchdog(e.watchdog_gen);
    let at = s.now + half;
    s.ext.periodic_pending += 1;
    s.queue.push(at, EventKind::Scx { cpu: 0, work });
}

/// One check: CPUs in order, each rq's runnable tasks in the order they became runnable.
pub fn run(s: &mut Sched, gen: u32) {
    if !s.ext.enabled || s.ext.exit.is_some() || gen != s.ext.watchdog_gen {
        return;
    }
    let jiffies = s.jiffies();
    let hz = s.cfg.hz as u64;
    let timeout = s.ext.timeout_ms as u64 * hz / 1000;
    for cpu in 0..s.nr_cpus() {
        let mut list: Vec<(u64, TaskId)> = s
            .tasks
            .iter()
            .filter(|t| t.class == ClassId::Ext && t.cpu == cpu && !t.exited)
            .filter(|t| s.ext.ent(t.id).on_runnable_list)
            .map(|t| (s.ext.ent(t.id).runnable_at, t.id))
            .collect();
        list.sort();
        for (at, p) in list {
            if jiffies > at + timeout {
                let ms = (jiffies - at) * 1000 / hz;
                let t = s.task(p);
                let msg = format!(
                    "{}[{}] failed to run for {}.{:03}s",
                    t.comm,
                    t.pid,
                    ms / 1000,
                    ms % 1000
                );
                s.scx_error(ScxExitKind::ErrorStall, msg, Some(p));
                return;
            }
        }
    }
    if s.scx_has_future() {
        arm(s);
    }
}
