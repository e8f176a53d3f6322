//! `__schedule`, `pick_next_task`, `resched_curr` (kernel/sched/core.c).

use schedsim_trace::{state, Event, RecFlags};

use crate::class::{class_of, dequeue, ClassId};
use crate::config::PreemptModel;
use crate::events::EventKind;
use crate::sched::Sched;
use crate::task::{tstate, OnRq, TaskId};

/// `__schedule` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedMode {
    /// `schedule_idle()` from the idle loop.
    Idle,
    /// `schedule()`: a voluntary call (blocking, yield, return to user with need_resched).
    None,
    /// `preempt_schedule*()`: involuntary, in kernel mode (`prev_state` prints `R+`).
    Preempt,
}

impl Sched {
    /// `resched_curr`: set TIF_NEED_RESCHED on the CPU; a remote CPU gets an IPI.
    pub fn resched_curr(&mut self, cpu: u32) {
        let rq = &mut self.rqs[cpu as usize];
        if rq.need_resched {
            return;
        }
        rq.need_resched = true;
        self.kick_cpu(cpu);
    }

    /// `resched_curr_lazy` (6.13+): in the lazy model a fair preemption only sets the lazy
    /// flag (no IPI; noticed at the next tick or return to user); the idle task always gets
    /// the full flag.
    pub fn resched_curr_lazy(&mut self, cpu: u32) {
        let rq = &self.rqs[cpu as usize];
        if self.cfg.preempt != PreemptModel::Lazy || rq.curr == rq.idle {
            return self.resched_curr(cpu);
        }
        let rq = &mut self.rqs[cpu as usize];
        if rq.need_resched || rq.need_resched_lazy {
            return;
        }
        rq.need_resched_lazy = true;
    }

    /// Makes `cpu` pass a preemption point. With the cost model (docs/cost-model.md) it
    /// gets there later: a remote CPU when the IPI lands, this CPU (`this_cpu`) after its
    /// wakeup, interrupt-exit and `__schedule` path, shorter from idle.
    fn kick_cpu(&mut self, cpu: u32) {
        let rq = &self.rqs[cpu as usize];
        if cpu != self.this_cpu {
            let delay = self.ipi_cost(cpu);
            return self.resched_at(cpu, delay, true);
        }
        let path = if rq.curr == rq.idle {
            match self.cfg.idle_timer_latency {
                Some(timer) if !self.in_ipi => timer,
                _ => self.cfg.idle_wake_latency,
            }
        } else {
            self.cfg.resched_latency
        };
        let delay = self.path_cost(path);
        self.resched_at(cpu, delay, false);
    }

    /// `cpu` passes its preemption point `delay` from now; `ipi`: woken by a reschedule
    /// IPI from another CPU.
    fn resched_at(&mut self, cpu: u32, delay: u64, ipi: bool) {
        let at = self.now + delay;
        self.rqs[cpu as usize].resched_at = at;
        if delay == 0 {
            if ipi {
                self.irq_entry(cpu, schedsim_trace::IrqVector::Reschedule);
            }
            self.mark_dirty(cpu);
        } else {
            self.queue.push(at, EventKind::Resched { cpu, ipi });
        }
    }

    /// What an IPI to `cpu` takes to reach its handler: `ipi_latency`, and `deep_idle_ipi`
    /// (or the step of `deep_idle_steps` its idle time reached) more when the CPU has been
    /// idle for `deep_idle_after` (its idle task arrived then).
    pub fn ipi_cost(&mut self, cpu: u32) -> u64 {
        let rq = &self.rqs[cpu as usize];
        let idle_for = (rq.curr == rq.idle).then(|| self.now - self.task(rq.idle).last_arrival);
        let ipi = self.path_cost(self.cfg.ipi_latency);
        let deep = match (idle_for, self.cfg.deep_idle_after) {
            (Some(d), Some(after)) if d >= after => self
                .cfg
                .deep_idle_steps
                .iter()
                .rev()
                .find(|&&(at, _)| d >= at)
                .map_or(self.cfg.deep_idle_ipi, |&(_, cost)| cost),
            _ => return ipi,
        };
        ipi + self.path_cost(deep)
    }

    /// `update_rq_clock`.
    pub fn update_rq_clock(&mut self, cpu: u32) {
        let now = self.now;
        let rq = &mut self.rqs[cpu as usize];
        rq.clock = now;
        rq.clock_task = now;
    }

    /// `__schedule(mode)`: block prev if it is going to sleep, pick, switch.
    pub fn schedule(&mut self, cpu: u32, mode: SchedMode) {
        // schedule_debug's schedstat_inc(this_rq()->sched_count).
        self.rqs[cpu as usize].stat.sched_count += 1;
        self.update_rq_clock(cpu);
        let prev = self.curr(cpu);
        let prev_state = self.task(prev).state;
        let mut voluntary = false;
        if mode == SchedMode::Idle {
            // With sched_ext loaded an idle CPU always picks: its balance may dispatch.
            if self.rq(cpu).nr_running == 0 && !self.ext.enabled {
                self.clear_need_resched(cpu);
                return;
            }
        } else if mode != SchedMode::Preempt && prev_state != tstate::RUNNING {
            self.try_to_block_task(cpu, prev);
            voluntary = true;
        }
        let next = self.pick_next_task(cpu, prev);
        self.clear_need_resched(cpu);
        if next != prev {
            if next == self.rq(cpu).idle {
                // set_next_task_idle.
                self.rqs[cpu as usize].stat.sched_goidle += 1;
            }
            self.rqs[cpu as usize].nr_switches += 1;
            self.cpu_stats[cpu as usize].nr_switches += 1;
            let preempt = mode == SchedMode::Preempt;
            self.trace_switch(cpu, prev, next, preempt);
            self.context_switch(cpu, prev, next, voluntary);
        }
        if next != self.rq(cpu).idle {
            let c = self.task(next).class;
            class_of(c).return_to_user(self, cpu, next);
            if !self.task(next).throttled {
                self.account_wakeup_latency(next);
            }
            // exit_to_user_mode_loop: task work that asked for a reschedule (a task taken
            // off by bandwidth throttling) schedules again before user space is reached.
            if self.rq(cpu).need_resched {
                self.schedule(cpu, SchedMode::None);
            }
        }
    }

    /// The wakeup is complete when the woken task runs in user space: at its switch-in,
    /// unless CFS bandwidth throttling takes it off again on the way (6.18), in which
    /// case the latency runs on to its next switch-in.
    fn account_wakeup_latency(&mut self, p: TaskId) {
        if let Some(w) = self.task_mut(p).waking_ts.take() {
            let now = self.now;
            let _ = self.task_stats[p.0 as usize]
                .wakeup_latency
                .record((now - w).max(1));
        }
    }

    fn clear_need_resched(&mut self, cpu: u32) {
        let rq = &mut self.rqs[cpu as usize];
        rq.need_resched = false;
        rq.need_resched_lazy = false;
    }

    /// `try_to_block_task`: dequeue a task going to sleep. Fair may keep it queued (delayed
    /// dequeue), in which case `on_rq` stays set.
    fn try_to_block_task(&mut self, cpu: u32, p: TaskId) {
        let class = self.task(p).class;
        let flags = dequeue::SLEEP | dequeue::NOCLOCK;
        if class_of(class).dequeue_task(self, cpu, p, flags) {
            self.task_mut(p).on_rq = OnRq::No;
        }
    }

    /// `__pick_next_task`: the fair fast path when only fair tasks are queued, else every
    /// class from the highest down.
    fn pick_next_task(&mut self, cpu: u32, prev: TaskId) -> TaskId {
        let mut start = self.task(prev).class;
        if self.ext.enabled && start > ClassId::Ext {
            // ext balances (dispatches) before every pick, even from idle.
            start = ClassId::Ext;
        }
        for c in ClassId::ALL {
            if c < start || !self.class_active(c) {
                continue;
            }
            if class_of(c).balance(self, cpu, prev) {
                break;
            }
        }
        for c in ClassId::ALL {
            if !self.class_active(c) {
                // next_active_class: fair once ext switched all, ext while unloaded.
                continue;
            }
            if let Some(p) = class_of(c).pick_task(self, cpu) {
                self.put_prev_set_next_task(cpu, prev, p);
                return p;
            }
        }
        unreachable!("the idle class always has a task")
    }

    /// `put_prev_set_next_task`.
    fn put_prev_set_next_task(&mut self, cpu: u32, prev: TaskId, next: TaskId) {
        if prev == next {
            return;
        }
        let pc = self.task(prev).class;
        class_of(pc).put_prev_task(self, cpu, prev, next);
        let nc = self.task(next).class;
        class_of(nc).set_next_task(self, cpu, next, true);
    }

    /// `trace_sched_switch` with `__trace_sched_switch_state`.
    fn trace_switch(&mut self, cpu: u32, prev: TaskId, next: TaskId, preempt: bool) {
        let (p, n) = (self.task(prev), self.task(next));
        let prev_state = if preempt {
            state::PREEMPTED
        } else if p.exited || p.state == tstate::DEAD {
            // do_task_dead: TASK_DEAD with exit_state EXIT_DEAD (threads are auto-reaped).
            state::EXIT_DEAD
        } else if p.state == tstate::IDLE {
            // task_state_index: TASK_IDLE reports as TASK_REPORT_IDLE.
            state::IDLE
        } else {
            match p.state & 0x7f {
                0 => state::RUNNING,
                s => 1u64 << (31 - s.leading_zeros()),
            }
        };
        let ev = Event::Switch {
            prev_comm: p.comm,
            prev_pid: p.pid,
            prev_prio: p.prio,
            prev_state,
            next_comm: n.comm,
            next_pid: n.pid,
            next_prio: n.prio,
        };
        let flags = RecFlags {
            irqs_off: true,
            preempt_count: 2,
            ..RecFlags::default()
        };
        self.trace_event(cpu, prev, flags, ev);
    }

    /// `context_switch` + `finish_task_switch`, with the simulation's bookkeeping of user
    /// execution and sched_info.
    fn context_switch(&mut self, cpu: u32, prev: TaskId, next: TaskId, voluntary: bool) {
        let now = self.now;
        self.rqs[cpu as usize].curr = next;
        self.note_wasted_idle(cpu);
        self.settle_demand(prev);
        // sched_info_switch: depart prev, arrive next.
        {
            let pt = &mut self.tasks[prev.0 as usize];
            pt.on_cpu = false;
            let ran = now - pt.last_arrival;
            let still_queued = pt.on_rq != OnRq::No && pt.state == tstate::RUNNING;
            if still_queued {
                pt.last_queued = Some(now);
            }
            let idle = pt.pid == 0;
            let st = &mut self.task_stats[prev.0 as usize];
            st.cpu_time += ran;
            if !idle {
                let _ = st.slices.record(ran.max(1));
                if voluntary {
                    st.nvcsw += 1;
                } else {
                    st.nivcsw += 1;
                }
                self.cpu_stats[cpu as usize].busy += ran;
            } else {
                self.cpu_stats[cpu as usize].idle += ran;
            }
        }
        {
            let nt = &mut self.tasks[next.0 as usize];
            let nt_pid = nt.pid;
            nt.on_cpu = true;
            nt.last_arrival = now;
            let queued = nt.last_queued.take();
            let st = &mut self.task_stats[next.0 as usize];
            st.pcount += 1;
            let delay = queued.map_or(0, |q| now - q);
            st.run_delay += delay;
            if nt_pid != 0 {
                // rq_sched_info_arrive.
                let c = &mut self.cpu_stats[cpu as usize];
                c.pcount += 1;
                c.run_delay += delay;
            }
        }
        if self.task(next).pid != 0 {
            self.arm_demand(next);
            self.start_tick(cpu);
        }
        if self.task(prev).state == tstate::DEAD && !self.task(prev).exited {
            // finish_task_switch: the dead task's last switch-out.
            self.task_mut(prev).exited = true;
            self.nr_threads -= 1;
            self.task_stats[prev.0 as usize].exited_at = Some(now);
            let c = self.task(prev).class;
            class_of(c).task_dead(self, prev);
        }
        self.mark_dirty(cpu);
    }
}
