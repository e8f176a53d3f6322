//! The per-CPU workqueue workers (`kworker/N:1`, kernel/workqueue.c `worker_thread`), as
//! far as the scheduler sees them: a fair kthread bound to its CPU, woken now and then by a
//! timer of that CPU (delayed work such as `vmstat_update`), which runs a little and sleeps
//! again in TASK_IDLE (`prev_state=I`).
//!
//! What queues the work is the machine's life, not the workload's: on the reference VM
//! each CPU's bound worker wakes 1.6 times a second (417 wakeups in the oracle's 42 runs),
//! from a `timer_list` expiry, so on a jiffy (the tick of a busy CPU, the interrupt the
//! idle CPU programmed for it), whether the CPU is busy (221) or idle (196), and runs 15 µs
//! at the median (p90 122, p99 262 µs). A worker woken on a busy CPU preempts a fair task
//! as any wakeup does (4 µs to its switch at the median); behind an RT task it waits.
//!
//! Machine keys `kworker_interval`: the time from a worker's sleep to its next timer (a
//! duration or a distribution, drawn from the machine's cost stream; the timer expires at
//! the jiffy at or after it; unset or `off`: no workers) and `kworker_run`: its CPU time
//! per wakeup. Unbound workers (`kworker/uN:M`) and the highpri pools are not modelled.

use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, Demand, TaskId};
use crate::user::rng::{stream, Rng};
use schedsim_trace::Comm;

/// The workers of the machine's CPUs, if it has them.
#[derive(Clone, Debug, Default)]
pub struct Kworkers {
    /// Each CPU's worker, by CPU.
    pub task: Vec<TaskId>,
    /// Whether the CPU's worker has been given its CPU time for this wakeup.
    charged: Vec<bool>,
    /// The workers' draws, a stream of the machine's `cost_seed` of their own (so the
    /// kernel paths' costs draw as they would without them).
    rng: Option<Rng>,
}

impl Sched {
    /// `workqueue_init` at boot: each CPU's bound worker exists, bound to its CPU, idle, with
    /// its first timer armed. Pids follow the last kthread made before them (`first_pid`).
    pub(crate) fn kworker_boot(&mut self, first_pid: i32) {
        if self.cfg.kworker_interval.is_none() {
            return;
        }
        let n = self.nr_cpus();
        self.kworkers.rng = Some(Rng::new(self.cfg.cost_seed, stream::KWORKER));
        for cpu in 0..n {
            let k = self.new_kthread(
                Comm::new(&format!("kworker/{cpu}:1")),
                cpu,
                first_pid + cpu as i32,
            );
            let t = self.task_mut(k);
            t.state = tstate::IDLE;
            t.cpus_allowed = CpuMask::from_list(n as usize, &[cpu]);
            t.nr_cpus_allowed = 1;
            self.kworkers.task.push(k);
            self.kworkers.charged.push(false);
            self.arm_kworker_timer(cpu);
        }
    }

    /// The number of workers `kworker_boot` makes.
    pub(crate) fn nr_kworkers(&self) -> i32 {
        if self.cfg.kworker_interval.is_some() {
            self.nr_cpus() as i32
        } else {
            0
        }
    }

    fn kworker_draw(&mut self, d: schedsim_workload::Dur) -> u64 {
        self.kworkers.rng.as_mut().expect("made at boot").sample(d)
    }

    /// Arms `cpu`'s worker timer: an interval drawn from `kworker_interval`, expiring at the
    /// jiffy at or after its end (`timer_list` granularity).
    fn arm_kworker_timer(&mut self, cpu: u32) {
        let interval = self.cfg.kworker_interval.expect("the machine has workers");
        // At least the next jiffy: a timer_list never fires in the jiffy that armed it.
        let at = self.now + self.kworker_draw(interval).max(1);
        let at = self.cfg.tick_at_or_after(at);
        let k = self.kworkers.task[cpu as usize];
        let t = self.task_mut(k);
        t.timer_gen = t.timer_gen.wrapping_add(1);
        let gen = t.timer_gen;
        self.queue
            .push(at, crate::events::EventKind::Timer { task: k, gen, cpu });
    }

    /// `cpu`'s worker timer (a `Timer` event of a worker, false for any other task): the
    /// timer interrupt queues the delayed work, which wakes the worker.
    pub fn kworker_timer_fired(&mut self, task: TaskId, gen: u32, cpu: u32) -> bool {
        if self.kworkers.task.get(cpu as usize) != Some(&task) {
            return false;
        }
        if self.task(task).timer_gen != gen {
            return true;
        }
        self.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
        self.update_rq_clock(cpu);
        self.kworkers.charged[cpu as usize] = false;
        self.try_to_wake_up(Ctx::HardIrq(cpu), task, tstate::IDLE, 0);
        self.mark_dirty(cpu);
        true
    }

    /// `worker_thread` when it is `cpu`'s current task: its CPU time (`kworker_run`), then
    /// it sleeps in TASK_IDLE with its next timer armed. Returns true when it slept (the
    /// CPU has scheduled), false if it is not current or still runs.
    pub fn run_kworker(&mut self, cpu: u32) -> bool {
        let k = self.curr(cpu);
        if self.kworkers.task.get(cpu as usize) != Some(&k) || self.task(k).demand != Demand::None {
            return false;
        }
        if !self.kworkers.charged[cpu as usize] {
            self.kworkers.charged[cpu as usize] = true;
            let w = self.kworker_draw(self.cfg.kworker_run);
            if w > 0 {
                self.task_mut(k).demand = Demand::Work(w);
                self.arm_demand(k);
                return false;
            }
        }
        self.task_mut(k).state = tstate::IDLE;
        self.arm_kworker_timer(cpu);
        self.schedule(cpu, crate::core::schedule::SchedMode::None);
        true
    }
}
