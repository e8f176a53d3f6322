//! Periodic balancing (fair.c): `sched_balance_trigger` raises SCHED_SOFTIRQ on the jiffies
//! grid, `sched_balance_softirq` runs `sched_balance_domains` over the CPU's domains at each
//! one's interval, and the tick's softirq half runs after the CPUs that only rescheduled.

use super::*;
use crate::class::fair::pelt::update_blocked_averages;
use crate::sched::Sched;
use schedsim_workload::Dur;

/// `sched_balance_trigger` (from `sched_tick`, in the tick's hard interrupt): raise the
/// balance softirq when due, and check whether to kick an idle CPU for NOHZ balancing.
/// Both run later, at irq exit (`run_tick_softirqs`).
pub fn sched_balance_trigger(s: &mut Sched, cpu: u32) {
    if s.topo.sd[cpu as usize].is_empty() {
        return;
    }
    s.rq_mut(cpu).smp.idle_balance = s.idle_cpu(cpu);
    if s.jiffies() >= s.rq(cpu).smp.next_balance {
        s.rq_mut(cpu).smp.balance_softirq = true;
    }
    s.rq_mut(cpu).smp.nohz_kick_check = true;
    s.fair.tick_softirq_cpus.push(cpu);
    // The softirq runs at irq exit, which the cost model puts one resched path later
    // (once per instant: the ticks of one instant exit together).
    if s.cfg.resched_latency == Dur::Fixed(0) {
        s.fair.tick_softirq_ready = true;
    } else if s.fair.tick_softirq_cpus.len() == 1 {
        let lat = s.path_cost(s.cfg.resched_latency);
        s.queue
            .push(s.now + lat, crate::events::EventKind::TickSoftirq);
    }
}

/// Whether a tick raised a balance softirq that has not run yet.
pub fn softirq_pending(s: &Sched, cpu: u32) -> bool {
    s.rq(cpu).smp.balance_softirq
}

/// Whether some tick of this instant raised a balance softirq.
pub fn any_softirq_pending(s: &Sched) -> bool {
    s.fair
        .tick_softirq_cpus
        .iter()
        .any(|&c| s.rq(c).smp.balance_softirq)
}

/// The irq-exit half of the ticks of one instant: each raised balance softirq
/// (`sched_balance_softirq`), in CPU order, then the NOHZ kicks (the kicked idle CPU
/// balances after the IPI reaches it).
///
/// The event loop runs this after the CPUs whose tick raised no softirq have passed their
/// preemption point: on the hardware their `schedule()` at irq exit follows the tick
/// handler at once, while a balancing CPU first runs the softirq (blocked-load decay, the
/// domain walk, the group statistics) before it looks at a remote runqueue. So a task that
/// a remote tick just switched out is seen as the tail of that CPU's `cfs_tasks`, cache hot
/// (`exec_start` = now), as the kernel sees it.
pub fn run_tick_softirqs(s: &mut Sched) {
    if s.fair.tick_softirq_cpus.is_empty() {
        return;
    }
    let mut cpus = std::mem::take(&mut s.fair.tick_softirq_cpus);
    cpus.sort_unstable();
    // Each softirq runs on its own CPU (`smp_processor_id()`: a pulled task's
    // `wakeup_preempt` is local there).
    for &cpu in &cpus {
        if std::mem::take(&mut s.rq_mut(cpu).smp.balance_softirq) {
            s.this_cpu = cpu;
            s.update_rq_clock(cpu);
            sched_balance_softirq(s, cpu);
        }
    }
    for &cpu in &cpus {
        if std::mem::take(&mut s.rq_mut(cpu).smp.nohz_kick_check) {
            s.this_cpu = cpu;
            nohz_balancer_kick(s, cpu);
        }
    }
}

/// `sched_balance_softirq`.
pub(super) fn sched_balance_softirq(s: &mut Sched, cpu: u32) {
    let idle = if s.rq(cpu).smp.idle_balance {
        Idle::Idle
    } else {
        Idle::NotIdle
    };
    update_blocked_averages(s, cpu);
    sched_balance_domains(s, cpu, idle);
}

/// `sched_balance_domains`: balance each level whose interval elapsed, bottom-up.
pub(super) fn sched_balance_domains(s: &mut Sched, cpu: u32, mut idle: Idle) {
    let mut busy = idle != Idle::Idle && !sched_idle_cpu(s, cpu);
    let j = s.jiffies();
    let mut next_balance = j + 60 * s.cfg.hz as u64;
    let mut update_next = false;
    let mut continue_balancing = true;
    let mut need_decay = false;
    let mut max_cost = 0;
    for level in 0..s.topo.sd[cpu as usize].len() {
        need_decay = update_newidle_cost(s, cpu, level, 0);
        max_cost += sd(s, cpu, level).max_newidle_lb_cost;
        if !continue_balancing {
            if need_decay {
                continue;
            }
            break;
        }
        let mut iv = sd_balance_interval(s, sd(s, cpu, level), busy);
        if j >= sd(s, cpu, level).last_balance + iv {
            if sched_balance_rq(s, cpu, level, idle, &mut continue_balancing) > 0 {
                idle = if s.idle_cpu(cpu) {
                    Idle::Idle
                } else {
                    Idle::NotIdle
                };
                busy = idle != Idle::Idle && !sched_idle_cpu(s, cpu);
            }
            sd_mut(s, cpu, level).last_balance = j;
            iv = sd_balance_interval(s, sd(s, cpu, level), busy);
        }
        let last = sd(s, cpu, level).last_balance;
        if next_balance > last + iv {
            next_balance = last + iv;
            update_next = true;
        }
    }
    if need_decay {
        let mc = s.cfg.migration_cost_ns;
        s.rq_mut(cpu).smp.max_idle_balance_cost = mc.max(max_cost);
    }
    if update_next {
        s.rq_mut(cpu).smp.next_balance = next_balance;
    }
}

/// `update_next_balance`.
pub(super) fn update_next_balance(s: &Sched, cpu: u32, level: usize, next: &mut u64) {
    let d = sd(s, cpu, level);
    let n = d.last_balance + sd_balance_interval(s, d, false);
    if *next > n {
        *next = n;
    }
}
