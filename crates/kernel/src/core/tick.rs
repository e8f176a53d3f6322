//! The scheduler tick (`sched_tick`) and NO_HZ idle: an idle CPU stops its tick and restarts
//! it, on the jiffies grid, when it gets work (`tick_nohz_idle_enter/exit`).

use crate::class::class_of;
use crate::config::PreemptModel;
use crate::events::EventKind;
use crate::sched::Sched;

impl Sched {
    /// `jiffies` now (the tick grid, `Config::jiffies_at`).
    pub fn jiffies(&self) -> u64 {
        self.cfg.jiffies_at(self.now)
    }

    /// `jiffies` as `sched_tick` on `cpu` reads it. The timekeeper (`tick_do_timer_cpu`,
    /// taken by the first CPU whose tick finds it free: `tick_sched_do_timer`) advances it
    /// at the top of its own handler; another CPU's handler at the same instant reaches the
    /// scheduler first, and reads the jiffy before, with the machine's `tick_stale_jiffies`
    /// chance. On the VM the non-timekeeper's periodic balance came one tick late at 106
    /// of 585 due times (nine runs of oracle 03, scripts/measure-balance-lateness.bt), the
    /// timekeeper's never.
    fn tick_jiffies(&mut self, cpu: u32) -> u64 {
        let j = self.jiffies();
        let tk = *self.tick_do_timer_cpu.get_or_insert(cpu);
        if tk == cpu || !self.rqs[tk as usize].tick_running || self.cfg.tick_stale_ppm == 0 {
            return j;
        }
        let draw = ((self.tick_race_rng.next_u64() >> 32) * 1_000_000) >> 32;
        if draw < u64::from(self.cfg.tick_stale_ppm) {
            j.saturating_sub(1)
        } else {
            j
        }
    }

    /// Restarts the tick of a CPU that leaves idle, at the next jiffy boundary.
    pub fn start_tick(&mut self, cpu: u32) {
        if self.rqs[cpu as usize].tick_running {
            return;
        }
        self.rqs[cpu as usize].tick_running = true;
        let next = self.cfg.jiffy_time(self.jiffies() + 1);
        self.queue.push(next, EventKind::Tick { cpu });
    }

    /// Starts the ticks of every CPU at boot (CPU order, so same-instant ticks run in CPU
    /// order).
    pub fn boot_ticks(&mut self) {
        if !self.cfg.nohz_idle {
            for cpu in 0..self.nr_cpus() {
                self.start_tick(cpu);
            }
        }
    }

    /// `sched_tick`: account curr, let its class act (slice expiry, RR), then re-arm unless
    /// the CPU is idle under NO_HZ.
    pub fn sched_tick(&mut self, cpu: u32) {
        self.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
        self.update_rq_clock(cpu);
        let rq = &mut self.rqs[cpu as usize];
        // 6.13+: the tick promotes a pending lazy reschedule to a full one.
        if self.cfg.preempt == PreemptModel::Lazy && rq.need_resched_lazy {
            rq.need_resched = true;
        }
        let curr = rq.curr;
        let idle = curr == rq.idle;
        if !idle {
            let c = self.task(curr).class;
            class_of(c).task_tick(self, cpu, curr);
        }
        let jiffies = self.tick_jiffies(cpu);
        crate::class::fair::balance::sched_balance_trigger(self, cpu, jiffies);
        // rcu_sched_clock_irq (update_process_times), its wakeup from the RCU softirq.
        self.rcu_sched_clock_irq(cpu);
        if idle && self.cfg.nohz_idle && !self.rcu_needs_cpu(cpu) {
            self.rqs[cpu as usize].tick_running = false;
            // tick_nohz_stop_tick: the timekeeper gives up its duty.
            if self.tick_do_timer_cpu == Some(cpu) {
                self.tick_do_timer_cpu = None;
            }
        } else {
            let t = self.cfg.tick_nsec();
            self.queue.push(self.now + t, EventKind::Tick { cpu });
        }
        // Return from the interrupt: a preemption point.
        self.mark_dirty(cpu);
    }
}
