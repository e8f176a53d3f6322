//! Periodic balancing (fair.c): `sched_balance_trigger` raises SCHED_SOFTIRQ on the jiffies
//! grid, `sched_balance_softirq` runs `sched_balance_domains` over the CPU's domains at each
//! one's interval, and the tick's softirq half runs after the CPUs that only rescheduled.

use super::*;
use crate::class::fair::pelt::update_blocked_averages;
use crate::sched::Sched;
use schedsim_workload::Dur;

/// `sched_balance_trigger` (from `sched_tick`, in the tick's hard interrupt, which read
/// `jiffies`): raise the balance softirq when due, and check whether to kick an idle CPU
/// for NOHZ balancing. Both run later, at irq exit (`run_tick_softirqs`).
pub fn sched_balance_trigger(s: &mut Sched, cpu: u32, jiffies: u64) {
    if s.topo.sd[cpu as usize].is_empty() {
        return;
    }
    s.rq_mut(cpu).smp.idle_balance = s.idle_cpu(cpu);
    if jiffies >= s.rq(cpu).smp.next_balance {
        s.rq_mut(cpu).smp.balance_softirq = true;
    }
    s.rq_mut(cpu).smp.nohz_kick_check = true;
    s.fair.tick_softirq_cpus.push(cpu);
}

/// Once every tick of this instant ran its hard-interrupt part: when each CPU's irq-exit
/// half runs. Without the cost model all of them at once (`run_tick_softirqs`). With it
/// each CPU's at its own time (`TickSoftirq { cpu }`): one resched path after the tick,
/// or, when its tick raised the balance softirq, that softirq's way to its pull
/// (`balance_softirq`). Meanwhile the CPUs it may pull from pass their own preemption
/// point (`resched_latency`), or their own balance softirq first: on the VM a tick's pull
/// comes 14 µs after it at the median and the other CPU's tick preemption 5 µs, so the
/// task a pull finds waiting is mostly the one that CPU's tick just switched out, cache
/// hot; when both CPUs balance at one tick, which of the pull and the other CPU's switch
/// comes first is a race.
pub fn queue_tick_softirqs(s: &mut Sched) {
    for i in 0..s.fair.tick_softirq_cpus.len() {
        let cpu = s.fair.tick_softirq_cpus[i];
        if s.rq(cpu).smp.softirq_queued {
            continue;
        }
        let cost = match s.cfg.balance_softirq {
            Some(c) if softirq_pending(s, cpu) => c,
            _ => s.cfg.resched_latency,
        };
        if cost == Dur::Fixed(0) {
            s.fair.tick_softirq_ready = true;
        } else {
            s.rq_mut(cpu).smp.softirq_queued = true;
            let lat = s.path_cost(cost);
            s.queue
                .push(s.now + lat, crate::events::EventKind::TickSoftirq { cpu });
        }
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

/// The irq-exit half of the ticks of one instant without the cost model: each raised
/// balance softirq (`sched_balance_softirq`), in CPU order, then the NOHZ kicks (the
/// kicked idle CPU balances after the IPI reaches it).
///
/// The event loop runs this after the CPUs whose tick raised no softirq have passed their
/// preemption point: on the hardware their `schedule()` at irq exit follows the tick
/// handler at once, while a balancing CPU first runs the softirq (blocked-load decay, the
/// domain walk, the group statistics) before it looks at a remote runqueue. So a task that
/// a remote tick just switched out is seen as the tail of that CPU's `cfs_tasks`, cache hot
/// (`exec_start` = now), as the kernel sees it.
pub fn run_tick_softirqs(s: &mut Sched) {
    // The CPUs whose irq exit is a `TickSoftirq` event of its own wait for it.
    let (mut cpus, queued): (Vec<u32>, Vec<u32>) = std::mem::take(&mut s.fair.tick_softirq_cpus)
        .into_iter()
        .partition(|&c| !s.rq(c).smp.softirq_queued);
    s.fair.tick_softirq_cpus = queued;
    cpus.sort_unstable();
    for &cpu in &cpus {
        if std::mem::take(&mut s.rq_mut(cpu).smp.balance_softirq) {
            balance_softirq_on(s, cpu);
        }
    }
    for &cpu in &cpus {
        nohz_kick_on(s, cpu);
    }
}

/// One CPU's irq-exit half with the cost model (`TickSoftirq { cpu }`): its balance
/// softirq, if raised, then its NOHZ kick check; then it returns to its task.
pub fn run_tick_softirq(s: &mut Sched, cpu: u32) {
    s.fair.tick_softirq_cpus.retain(|&c| c != cpu);
    s.rq_mut(cpu).smp.softirq_queued = false;
    if std::mem::take(&mut s.rq_mut(cpu).smp.balance_softirq) {
        balance_softirq_on(s, cpu);
    }
    nohz_kick_on(s, cpu);
    s.mark_dirty(cpu);
}

/// Each softirq runs on its own CPU (`smp_processor_id()`: a pulled task's
/// `wakeup_preempt` is local there).
fn balance_softirq_on(s: &mut Sched, cpu: u32) {
    s.this_cpu = cpu;
    s.update_rq_clock(cpu);
    sched_balance_softirq(s, cpu);
}

fn nohz_kick_on(s: &mut Sched, cpu: u32) {
    if std::mem::take(&mut s.rq_mut(cpu).smp.nohz_kick_check) {
        s.this_cpu = cpu;
        nohz_balancer_kick(s, cpu);
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
