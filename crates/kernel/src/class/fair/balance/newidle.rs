//! Newidle balancing (fair.c `sched_balance_newidle`): a CPU about to go idle pulls from
//! its domains while the expected cost fits its idle time, with NI_RANDOM's success-rate gate
//! (`update_newidle_stats`) and the per-domain cost (`update_newidle_cost`).

use super::*;
use crate::class::fair::pelt::update_blocked_averages;
use crate::sched::Sched;
use crate::topology::{sdf, SchedDomain};

/// `update_newidle_stats` (6.18.5+): count a newidle pass and its (weighted) success; every
/// 1024 passes the success count becomes the ratio and both counts halve.
pub(super) fn update_newidle_stats(d: &mut SchedDomain, success: u32) {
    d.newidle_call += 1;
    d.newidle_success += success;
    if d.newidle_call >= 1024 {
        d.newidle_ratio = d.newidle_success;
        d.newidle_call /= 2;
        d.newidle_success /= 2;
    }
}

/// `update_newidle_cost`: decay max_newidle_lb_cost by 1% a second.
pub(super) fn update_newidle_cost(s: &mut Sched, cpu: u32, level: usize, cost: u64) -> bool {
    let j = s.jiffies();
    let hz = s.cfg.hz as u64;
    let d = sd_mut(s, cpu, level);
    if cost > d.max_newidle_lb_cost {
        d.max_newidle_lb_cost = cost;
        d.last_decay_max_lb_cost = j;
    } else if j > d.last_decay_max_lb_cost + hz {
        d.max_newidle_lb_cost = d.max_newidle_lb_cost * 253 / 256;
        d.last_decay_max_lb_cost = j;
        return true;
    }
    false
}

/// `rd->overloaded` (computed on demand): some rq has more than one task, or (what
/// `update_sg_lb_stats` also counts on asymmetric domains) a misfit task.
pub(super) fn rd_overloaded(s: &Sched) -> bool {
    (0..s.nr_cpus()).any(|c| s.rq(c).nr_running >= 2 || s.rq(c).smp.misfit_task_load != 0)
}

/// `sched_balance_newidle`: a CPU about to go idle pulls work. Returns >0 if a fair task
/// was pulled, <0 if a higher class has work.
pub fn sched_balance_newidle(s: &mut Sched, cpu: u32) -> i32 {
    update_misfit_status(s, cpu, None);
    if s.topo.sd[cpu as usize].is_empty() || s.rq(cpu).ttwu_pending > 0 {
        return 0;
    }
    let now = s.now;
    s.rq_mut(cpu).smp.idle_stamp = now;
    let j = s.jiffies();
    let mut next_balance = j + s.cfg.hz as u64;
    let avg_idle = s.rq(cpu).smp.avg_idle;
    let mut pulled = 0;
    if !rd_overloaded(s) || avg_idle < sd(s, cpu, 0).max_newidle_lb_cost {
        update_next_balance(s, cpu, 0, &mut next_balance);
    } else {
        update_blocked_averages(s, cpu);
        let mut curr_cost = 0;
        let mut cont = true;
        for level in 0..s.topo.sd[cpu as usize].len() {
            update_next_balance(s, cpu, level, &mut next_balance);
            let d = sd(s, cpu, level);
            if avg_idle < curr_cost + d.max_newidle_lb_cost {
                break;
            }
            if d.has(sdf::BALANCE_NEWIDLE) {
                let mut weight = 1;
                if s.cfg.features.ni_random {
                    // NI_RANDOM: a 1024-sided die; pass at the domain's success rate, and
                    // weigh a success by the inverse of that chance (rounded).
                    let d1k = s.sched_rng(cpu) % 1024;
                    weight = 1 + sd(s, cpu, level).newidle_ratio;
                    if d1k > weight {
                        update_newidle_stats(sd_mut(s, cpu, level), 0);
                        continue;
                    }
                    weight = (1024 + weight / 2) / weight;
                }
                pulled = sched_balance_rq(s, cpu, level, Idle::NewlyIdle, &mut cont);
                // The simulation charges no time to the balance pass itself; the kernel's
                // pass always costs some, so its statistics always count it.
                update_newidle_stats(sd_mut(s, cpu, level), weight * (pulled > 0) as u32);
                update_newidle_cost(s, cpu, level, 0);
                curr_cost += sd(s, cpu, level).max_newidle_lb_cost;
            }
            if pulled > 0 || s.rq(cpu).nr_running > 0 {
                break;
            }
        }
    }
    let r = &mut s.rq_mut(cpu).smp;
    if r.next_balance > next_balance {
        r.next_balance = next_balance;
    }
    if pulled > 0 {
        r.idle_stamp = 0;
    }
    if s.rq(cpu).nr_running > h_nr_queued(s, cpu) {
        return -1;
    }
    pulled as i32
}
