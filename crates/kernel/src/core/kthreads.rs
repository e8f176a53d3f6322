//! The machine's background kernel threads woken by their own timers, as far as the
//! scheduler sees them: each sleeps, a `timer_list` of the CPU it slept on wakes it on a
//! jiffy, it runs a little and sleeps again. Their work is the machine's life, not the
//! workload's, and each wakeup preempts or waits like any fair wakeup. Two kinds, both
//! measured on the reference VM (docs/cost-model.md):
//!
//! - the per-CPU workqueue workers (`kworker/N:1`, kernel/workqueue.c `worker_thread`),
//!   bound to their CPU, woken by delayed work (`vmstat_update` and others) at no steady
//!   period: on the VM 1.6 times a second per CPU, 15 µs at the median (p90 122 µs); they
//!   sleep in TASK_IDLE. Machine keys `kworker_interval` (the time from a sleep to the next
//!   timer, a duration or a distribution; unset or `off`: none) and `kworker_run` (CPU
//!   time per wakeup);
//! - DAMON's monitoring thread (`kdamond.0`, mm/damon/core.c `kdamond_fn`), unbound (it
//!   starts on the last CPU), woken every 128 jiffies (512 ms at HZ=250) to run about
//!   1.2 ms, sleeping in TASK_IDLE. Machine keys `kdamond_interval` and `kdamond_run`.
//!
//! A timer's expiry is `jiffies + msecs_to_jiffies(interval)` (at least one jiffy); the
//! first is a random part of a drawn interval, where the thread's cycle stands when the
//! workload starts. The draws come from a stream of the machine's `cost_seed` of their own,
//! so the kernel paths' costs draw as they would without these threads. Unbound workers
//! (`kworker/uN:M`), the highpri pools and kcompactd (7 µs every 512 ms) are not modelled.

use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, Demand, TaskId};
use crate::user::rng::{stream, Rng};
use schedsim_trace::Comm;
use schedsim_workload::Dur;

/// One background kthread.
#[derive(Clone, Debug)]
pub struct Kthread {
    pub task: TaskId,
    interval: Dur,
    run: Dur,
    /// It has been given its CPU time for this wakeup.
    charged: bool,
}

/// The machine's background kthreads.
#[derive(Clone, Debug, Default)]
pub struct Kthreads {
    pub list: Vec<Kthread>,
    /// The index in `list` of each kthread, by `TaskId`.
    index: Vec<Option<u32>>,
    /// The per-CPU workers' indices in `list`, by CPU.
    kworker: Vec<u32>,
    rng: Option<Rng>,
}

impl Kthreads {
    fn slot(&self, t: TaskId) -> Option<usize> {
        self.index
            .get(t.0 as usize)
            .copied()
            .flatten()
            .map(|i| i as usize)
    }

    /// Whether `t` is one of them.
    pub fn contains(&self, t: TaskId) -> bool {
        self.slot(t).is_some()
    }

    /// The per-CPU worker of `cpu`, if the machine has workers.
    pub fn kworker(&self, cpu: u32) -> Option<TaskId> {
        let i = *self.kworker.get(cpu as usize)?;
        Some(self.list[i as usize].task)
    }
}

impl Sched {
    /// At boot (`workqueue_init`, `damon_start`): the machine's background kthreads exist,
    /// asleep in TASK_IDLE, each with its first timer armed. Pids follow the last kthread
    /// made before them (`first_pid`); returns how many were made.
    pub(crate) fn kthreads_boot(&mut self, first_pid: i32) -> i32 {
        let n = self.nr_cpus();
        let mut pid = first_pid;
        self.kthreads.rng = Some(Rng::new(self.cfg.cost_seed, stream::KTHREADS));
        if let Some(interval) = self.cfg.kworker_interval {
            for cpu in 0..n {
                let comm = format!("kworker/{cpu}:1");
                let i = self.kthread_new(&comm, cpu, pid, interval, self.cfg.kworker_run);
                let t = self.task_mut(self.kthreads.list[i].task);
                t.cpus_allowed = CpuMask::from_list(n as usize, &[cpu]);
                t.nr_cpus_allowed = 1;
                self.kthreads.kworker.push(i as u32);
                pid += 1;
            }
        }
        if let Some(interval) = self.cfg.kdamond_interval {
            self.kthread_new("kdamond.0", n - 1, pid, interval, self.cfg.kdamond_run);
            pid += 1;
        }
        pid - first_pid
    }

    /// A background kthread on `cpu`, asleep, with its first timer a random part of an
    /// interval away.
    fn kthread_new(&mut self, comm: &str, cpu: u32, pid: i32, interval: Dur, run: Dur) -> usize {
        let k = self.new_kthread(Comm::new(comm), cpu, pid);
        self.task_mut(k).state = tstate::IDLE;
        let i = self.kthreads.list.len();
        self.kthreads.list.push(Kthread {
            task: k,
            interval,
            run,
            charged: false,
        });
        let slot = k.0 as usize;
        if self.kthreads.index.len() <= slot {
            self.kthreads.index.resize(slot + 1, None);
        }
        self.kthreads.index[slot] = Some(i as u32);
        let whole = self.kthread_draw(interval);
        let part = self.kthread_draw(Dur::Uniform { lo: 0, hi: whole });
        self.arm_kthread_timer(i, part);
        i
    }

    fn kthread_draw(&mut self, d: Dur) -> u64 {
        self.kthreads.rng.as_mut().expect("made at boot").sample(d)
    }

    /// Arms kthread `i`'s timer `after` from now on the CPU it is on: `jiffies +
    /// msecs_to_jiffies(after)`, at least the next jiffy (a `timer_list`).
    fn arm_kthread_timer(&mut self, i: usize, after: u64) {
        let tick = self.cfg.tick_nsec();
        let jiffies = after.div_ceil(tick).max(1);
        let at = self.cfg.jiffy_time(self.cfg.jiffies_at(self.now) + jiffies);
        let k = self.kthreads.list[i].task;
        let t = self.task_mut(k);
        t.timer_gen = t.timer_gen.wrapping_add(1);
        let (gen, cpu) = (t.timer_gen, t.cpu);
        self.queue
            .push(at, crate::events::EventKind::Timer { task: k, gen, cpu });
    }

    /// A background kthread's timer (a `Timer` event of one of them; false for any other
    /// task): the interrupt on `cpu` wakes it, wherever the wakeup path places it.
    pub fn kthread_timer_fired(&mut self, task: TaskId, gen: u32, cpu: u32) -> bool {
        let Some(i) = self.kthreads.slot(task) else {
            return false;
        };
        if self.task(task).timer_gen != gen {
            return true;
        }
        self.irq_entry(cpu, schedsim_trace::IrqVector::LocalTimer);
        self.update_rq_clock(cpu);
        self.kthreads.list[i].charged = false;
        self.try_to_wake_up(Ctx::HardIrq(cpu), task, tstate::IDLE, 0);
        self.mark_dirty(cpu);
        true
    }

    /// A background kthread when it is `cpu`'s current task: its CPU time, then it sleeps
    /// in TASK_IDLE with its next timer armed. Returns true when it slept (the CPU has
    /// scheduled), false if none is current or it still runs.
    pub fn run_kthread(&mut self, cpu: u32) -> bool {
        let k = self.curr(cpu);
        let Some(i) = self.kthreads.slot(k) else {
            return false;
        };
        if self.task(k).demand != Demand::None {
            return false;
        }
        if !self.kthreads.list[i].charged {
            self.kthreads.list[i].charged = true;
            let w = self.kthread_draw(self.kthreads.list[i].run);
            if self.give_kthread_work(k, w) {
                return false;
            }
        }
        self.task_mut(k).state = tstate::IDLE;
        let after = self.kthread_draw(self.kthreads.list[i].interval);
        self.arm_kthread_timer(i, after);
        self.schedule(cpu, crate::core::schedule::SchedMode::None);
        true
    }
}
