//! NOHZ idle balancing (fair.c `nohz_balancer_kick`): a busy CPU kicks an idle one to
//! balance for all the idle CPUs; `note_wakeup` tracks the wakeups that clear it.

use super::*;
use crate::class::fair::pelt::{check_cpu_capacity, update_blocked_averages};
use crate::sched::Sched;

/// The wakeup side of idle_stamp/avg_idle (`ttwu_do_activate`): a CPU that went newly idle
/// gets work.
pub fn note_wakeup(s: &mut Sched, cpu: u32) {
    let now = s.now;
    let r = &mut s.rq_mut(cpu).smp;
    if r.idle_stamp != 0 {
        let delta = now - r.idle_stamp;
        let max = 2 * r.max_idle_balance_cost;
        // update_avg: avg += (sample − avg)/8
        let avg = r.avg_idle as i64 + (delta as i64 - r.avg_idle as i64) / 8;
        r.avg_idle = (avg.max(0) as u64).min(max);
        r.idle_stamp = 0;
    }
}

/// NOHZ idle balance (`nohz_balancer_kick` + `kick_ilb` + `nohz_idle_balance`): a busy CPU
/// whose rq holds two or more tasks kicks the first tickless idle CPU, which balances for
/// every idle CPU that is due.
pub(super) fn nohz_balancer_kick(s: &mut Sched, cpu: u32) {
    if s.idle_cpu(cpu) || !s.cfg.nohz_idle {
        return;
    }
    let j = s.jiffies();
    if j < s.fair.nohz_next_balance {
        return;
    }
    let idle: Vec<u32> = (0..s.nr_cpus())
        .filter(|&c| c != cpu && s.idle_cpu(c) && !s.rq(c).tick_running)
        .collect();
    let Some(&ilb) = idle.first() else {
        return;
    };
    let mut kick = s.rq(cpu).nr_running >= 2;
    // A CFS task on a CPU whose capacity rt/dl pressure reduced: see if a better CPU can
    // take it.
    if !kick && !s.topo.sd[cpu as usize].is_empty() {
        kick = h_nr_queued(s, cpu) >= 1 && check_cpu_capacity(s, cpu, sd(s, cpu, 0).imbalance_pct);
    }
    if !kick {
        if s.topo.sd_asym_cpucapacity(cpu).is_some() {
            // Asymmetric capacity: only a misfit task calls for a bigger CPU (no LLC
            // spreading).
            kick = s.rq(cpu).smp.misfit_task_load != 0;
        } else {
            // More than one busy CPU in the LLC (sd_llc_shared->nr_busy_cpus > 1).
            let llc = s.topo.llc_span(cpu);
            kick = llc.iter().filter(|&c| !s.idle_cpu(c)).count() > 1;
        }
    }
    if !kick {
        return;
    }
    // nohz_idle_balance on the ilb CPU, for each tickless idle CPU due.
    let mut next = j + 60 * s.cfg.hz as u64;
    for c in idle {
        if !s.idle_cpu(c) {
            continue;
        }
        update_blocked_averages(s, c);
        if j >= s.rq(c).smp.next_balance {
            s.update_rq_clock(c);
            sched_balance_domains(s, c, Idle::Idle);
        }
        next = next.min(s.rq(c).smp.next_balance);
    }
    let _ = ilb;
    s.fair.nohz_next_balance = next.max(j + 1);
}
