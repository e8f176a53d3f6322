//! `Sched`: the whole simulated kernel state (every rq, the task arena, the class arenas,
//! the event queue and the trace buffers), and the small helpers the core and the classes
//! share. The scheduling paths themselves are in `core/`.

use std::collections::VecDeque;

use schedsim_trace::{Comm, Event, IrqVector, RecFlags, Record, TraceBuffers};
use schedsim_workload::Policy;

use crate::class::ext::ScxState;
use crate::class::fair::entity::{CfsRq, CfsRqId, SchedEntity, SeId};
use crate::class::fair::group::ROOT_TG;
use crate::class::fair::FairState;
use crate::class::ClassId;
use crate::config::Config;
use crate::core::stopper::{STOPPER_PID_BASE, STOPPER_PID_STRIDE};
use crate::cpumask::CpuMask;
use crate::events::{EventKind, EventQueue};
use crate::prio::{LoadWeight, DEFAULT_PRIO, MAX_RT_PRIO};
use crate::rq::Rq;
use crate::stats::{CpuStats, TaskStats};
use crate::task::{tstate, Demand, OnRq, Task, TaskId};
use crate::user::rng::{stream, Rng};

/// Where an event is emitted from: the CPU and the kind of context, which give the trace
/// record's current task and flag columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    /// A task in a syscall on this CPU (`current` is rq.curr).
    Task(u32),
    /// A hard interrupt on this CPU (hrtimer expiry, IPI).
    HardIrq(u32),
}

impl Ctx {
    pub fn cpu(self) -> u32 {
        match self {
            Ctx::Task(c) | Ctx::HardIrq(c) => c,
        }
    }
}

pub struct Sched {
    pub cfg: Config,
    /// The current simulated instant (ns).
    pub now: u64,
    pub rqs: Vec<Rq>,
    pub tasks: Vec<Task>,
    pub task_stats: Vec<TaskStats>,
    pub cpu_stats: Vec<CpuStats>,
    pub fair: FairState,
    /// The RCU grace-period kthread's state (core/rcu.rs).
    pub rcu: crate::core::rcu::RcuState,
    /// The machine's background kthreads: workqueue workers, kdamond (core/kthreads.rs).
    pub kthreads: crate::core::kthreads::Kthreads,
    /// sched_ext: the loaded policy, the global and user DSQs, the per-task entities.
    pub ext: ScxState,
    /// The machine topology and every CPU's sched domains (with their balancing state).
    pub topo: crate::topology::Topology,
    pub queue: EventQueue,
    pub trace: TraceBuffers,
    /// CPUs that must pass a preemption point / resume user code, in order.
    pub dirty: VecDeque<u32>,
    /// `smp_processor_id()` of the path in progress where a class needs it (the waking
    /// CPU during `select_task_rq`).
    pub this_cpu: u32,
    /// The event in progress is an IPI's handler (the wakelist's), not a timer's.
    pub in_ipi: bool,
    dirty_flag: Vec<bool>,
    /// Draws the machine's path costs (`Config::cost_seed`), apart from the workload's.
    cost_rng: Rng,
    /// `sched_rnd_state`: each CPU's own stream for the scheduler's random choices
    /// (`sched_rng`), also from `cost_seed`.
    sched_rnd_state: Vec<Rng>,
    /// The kernel's `get_random_u32()` generator, also from `cost_seed`.
    crng: Rng,
    /// Which same-instant ticks read `jiffies` stale (`Config::tick_stale_ppm`), also
    /// from `cost_seed`.
    pub(crate) tick_race_rng: Rng,
    /// `tick_do_timer_cpu`: the CPU whose tick advances `jiffies`; None
    /// (`TICK_DO_TIMER_NONE`) until a CPU's tick takes the duty, and again when that CPU
    /// stops its tick in NO_HZ idle.
    pub tick_do_timer_cpu: Option<u32>,
    /// Idle time while another CPU of the LLC had a task waiting (core/wasted_idle.rs).
    pub wasted_idle: crate::core::wasted_idle::WastedIdle,
    /// The cgroups' `cpuset.cpus` (core/cpuset.rs).
    pub cpusets: crate::core::cpuset::Cpusets,
    next_pid: i32,
    /// The first pid of the workload's tasks.
    user_pid_base: i32,
    /// Live user tasks (`nr_threads`), bounded by `pid_max`.
    pub nr_threads: u32,
}

impl Sched {
    /// One pass through a kernel path that costs `d` (docs/cost-model.md): its fixed
    /// time, or a draw from the machine's stream.
    pub fn path_cost(&mut self, d: schedsim_workload::Dur) -> u64 {
        self.cost_rng.sample(d)
    }

    /// `sched_rng`: a random 32-bit value from `cpu`'s own stream.
    pub fn sched_rng(&mut self, cpu: u32) -> u32 {
        (self.sched_rnd_state[cpu as usize].next_u64() >> 32) as u32
    }

    /// `get_random_u32_below(ceil)`: uniform in [0, ceil), by the kernel's multiply-shift
    /// with its rejection of the draws whose low half falls under `2^32 mod ceil` (the
    /// ones that would make the result biased).
    pub fn get_random_u32_below(&mut self, ceil: u32) -> u32 {
        let ceil = u64::from(ceil.max(1));
        let bound = (1u64 << 32) % ceil;
        loop {
            let mult = (self.crng.next_u64() >> 32) * ceil;
            if mult & 0xffff_ffff >= bound {
                return (mult >> 32) as u32;
            }
        }
    }

    /// Boots the machine: one rq, one idle task (`swapper/N`, pid 0) and one stopper
    /// (`migration/N`) per CPU.
    pub fn new(mut cfg: Config, tracing: bool) -> Sched {
        let n = cfg.nr_cpus as usize;
        if let Some(d) = cfg.tick_phase_dist {
            // Where this run starts on the tick grid: one draw of the machine's.
            let draw = Rng::new(cfg.cost_seed, stream::TICK_PHASE).sample(d);
            cfg.tick_phase_ns = draw % cfg.tick_nsec();
        }
        let mut s = Sched {
            rqs: Vec::with_capacity(n),
            tasks: Vec::new(),
            task_stats: Vec::new(),
            cpu_stats: vec![CpuStats::default(); n],
            fair: FairState::default(),
            rcu: Default::default(),
            kthreads: Default::default(),
            ext: ScxState::default(),
            topo: crate::topology::Topology::build(&cfg.machine, cfg.nr_cpus),
            queue: EventQueue::default(),
            trace: TraceBuffers::new(n, tracing),
            dirty: VecDeque::new(),
            dirty_flag: vec![false; n],
            cost_rng: Rng::new(cfg.cost_seed, stream::PATH_COST),
            sched_rnd_state: (0..n as u64)
                .map(|cpu| Rng::new(cfg.cost_seed, stream::SCHED_RND - cpu))
                .collect(),
            crng: Rng::new(cfg.cost_seed, stream::GET_RANDOM),
            tick_race_rng: Rng::new(cfg.cost_seed, stream::TICK_RACE),
            tick_do_timer_cpu: None,
            wasted_idle: Default::default(),
            cpusets: Default::default(),
            next_pid: 1000,
            user_pid_base: 1000,
            nr_threads: 0,
            this_cpu: 0,
            in_ipi: false,
            now: 0,
            cfg,
        };
        s.wasted_idle = crate::core::wasted_idle::WastedIdle::new(&s.topo);
        for cpu in 0..n as u32 {
            let cfs = CfsRqId(s.fair.cfs_rq.len() as u32);
            s.fair.cfs_rq.push(CfsRq::new(cpu, ROOT_TG));
            let idle = s.alloc_task(0, Comm::new(&format!("swapper/{cpu}")), cpu, cfs);
            let t = &mut s.tasks[idle.0 as usize];
            t.class = ClassId::Idle;
            t.on_cpu = true;
            t.state = tstate::RUNNING;
            s.rqs.push(Rq::new(cpu, idle, cfs));
        }
        for cpu in 0..n as u32 {
            s.create_stopper(cpu);
        }
        s.rcu_boot();
        // The background kthreads' pids follow the last stopper's.
        let last_stopper = STOPPER_PID_BASE + STOPPER_PID_STRIDE * (n as i32 - 1);
        let last_kthread = last_stopper + s.kthreads_boot(last_stopper + 1);
        // User pids start at 1000, or at the next thousand above the last kthread's.
        s.next_pid = s.next_pid.max((last_kthread / 1000 + 1) * 1000);
        s.user_pid_base = s.next_pid;
        let root_cfs = s.rqs.iter().map(|rq| rq.cfs).collect();
        s.fair.init_root_group(root_cfs);
        crate::class::fair::balance::init_rq(&mut s);
        s
    }

    pub fn nr_cpus(&self) -> u32 {
        self.cfg.nr_cpus
    }

    /// `pid_max` as the kernel sizes it at boot (`pid_idr_init`): the default 32768, or
    /// 1024 per possible CPU if that is more.
    pub fn pid_max(&self) -> u32 {
        32_768.max(1024 * self.nr_cpus())
    }

    pub fn task(&self, p: TaskId) -> &Task {
        &self.tasks[p.0 as usize]
    }

    pub fn task_mut(&mut self, p: TaskId) -> &mut Task {
        &mut self.tasks[p.0 as usize]
    }

    pub fn rq(&self, cpu: u32) -> &Rq {
        &self.rqs[cpu as usize]
    }

    pub fn rq_mut(&mut self, cpu: u32) -> &mut Rq {
        &mut self.rqs[cpu as usize]
    }

    pub fn curr(&self, cpu: u32) -> TaskId {
        self.rqs[cpu as usize].curr
    }

    /// Allocates a task in the arena with a fresh fair entity; `pid` 0 is an idle task.
    fn alloc_task(&mut self, pid: i32, comm: Comm, cpu: u32, cfs: CfsRqId) -> TaskId {
        let id = TaskId(self.tasks.len() as u32);
        let se = SeId(self.fair.se.len() as u32);
        self.fair.se.push(SchedEntity::new(
            cfs,
            Some(id),
            LoadWeight::for_task(0, false),
        ));
        let n = self.nr_cpus() as usize;
        self.tasks.push(Task {
            id,
            pid,
            tgid: pid,
            comm,
            state: tstate::NEW,
            on_rq: OnRq::No,
            on_cpu: false,
            cpu,
            wake_cpu: cpu,
            policy: Policy::Normal,
            prio: DEFAULT_PRIO,
            static_prio: DEFAULT_PRIO,
            normal_prio: DEFAULT_PRIO,
            rt_priority: 0,
            class: ClassId::Fair,
            cpus_allowed: CpuMask::full(n),
            nr_cpus_allowed: n as u32,
            user_cpus: None,
            se,
            sched_task_group: ROOT_TG,
            cgroup: ROOT_TG,
            autogroup: None,
            throttled: false,
            pi_task: None,
            rt_time_slice: 0,
            sched_reset_on_fork: false,
            exited: false,
            demand: Demand::None,
            demand_since: 0,
            demand_gen: 0,
            timer_gen: 0,
            waking_ts: None,
            last_queued: None,
            last_arrival: 0,
        });
        self.task_stats.push(TaskStats {
            first_seen: self.now,
            ..TaskStats::default()
        });
        id
    }

    /// The stopper kthread of `cpu`, asleep in its loop (smpboot's `migration/N`, made a
    /// SCHED_FIFO 99 stop-class task by `sched_set_stop_task`), bound to its CPU.
    fn create_stopper(&mut self, cpu: u32) {
        let pid = STOPPER_PID_BASE + STOPPER_PID_STRIDE * cpu as i32;
        let cfs = self.rqs[cpu as usize].cfs;
        let p = self.alloc_task(pid, Comm::new(&format!("migration/{cpu}")), cpu, cfs);
        let n = self.nr_cpus() as usize;
        let t = &mut self.tasks[p.0 as usize];
        t.state = tstate::INTERRUPTIBLE;
        t.policy = Policy::Fifo;
        t.rt_priority = MAX_RT_PRIO as u32 - 1;
        t.normal_prio = 0;
        t.prio = 0;
        t.class = ClassId::Stop;
        t.cpus_allowed = CpuMask::from_list(n, &[cpu]);
        t.nr_cpus_allowed = 1;
        self.rqs[cpu as usize].stop = Some(p);
    }

    /// A new user task (for fork and for the launcher), not yet runnable.
    pub fn new_task(&mut self, comm: Comm, cpu: u32) -> TaskId {
        let pid = self.next_pid;
        self.next_pid += 1;
        self.new_task_pid(comm, cpu, pid)
    }

    /// A user task of the machine, started before the workload: the pid `below` under the
    /// first one the workload's tasks get, so theirs stay what they are without it.
    pub fn new_system_task(&mut self, comm: Comm, cpu: u32, below: i32) -> TaskId {
        let pid = self.user_pid_base - below;
        self.new_task_pid(comm, cpu, pid)
    }

    /// A kernel thread made at boot with its pid, in the root task group.
    pub(crate) fn new_kthread(&mut self, comm: Comm, cpu: u32, pid: i32) -> TaskId {
        self.new_task_pid(comm, cpu, pid)
    }

    fn new_task_pid(&mut self, comm: Comm, cpu: u32, pid: i32) -> TaskId {
        self.nr_threads += 1;
        let cfs = self.rqs[cpu as usize].cfs;
        self.alloc_task(pid, comm, cpu, cfs)
    }

    /// Marks a CPU to pass a preemption point after the current event.
    pub fn mark_dirty(&mut self, cpu: u32) {
        if !self.dirty_flag[cpu as usize] {
            self.dirty_flag[cpu as usize] = true;
            self.dirty.push_back(cpu);
        }
    }

    pub fn pop_dirty(&mut self) -> Option<u32> {
        let c = self.dirty.pop_front()?;
        self.dirty_flag[c as usize] = false;
        Some(c)
    }

    /// `add_nr_running` / `sub_nr_running`, keeping the run-queue length integral.
    pub fn add_nr_running(&mut self, cpu: u32, delta: i32) {
        let now = self.now;
        let rq = &mut self.rqs[cpu as usize];
        rq.nr_running_integral += rq.nr_running as u128 * (now - rq.nr_running_since) as u128;
        rq.nr_running_since = now;
        rq.nr_running = (rq.nr_running as i64 + delta as i64) as u32;
        rq.nr_running_max = rq.nr_running_max.max(rq.nr_running);
        self.note_wasted_idle(cpu);
    }

    /// Records a trace event on `cpu` with `current` as the common pid.
    pub fn trace_event(&mut self, cpu: u32, current: TaskId, mut flags: RecFlags, event: Event) {
        if !self.trace.enabled {
            return;
        }
        let rq = &self.rqs[cpu as usize];
        if current == rq.idle
            && !flags.hardirq
            && !flags.softirq
            && self.cfg.untraced_idle.contains(&cpu)
        {
            // The machine's tracing loses what this CPU's idle task records itself.
            return;
        }
        flags.need_resched |= rq.need_resched;
        flags.need_resched_lazy |= rq.need_resched_lazy;
        let t = &self.tasks[current.0 as usize];
        self.trace.push(Record {
            ts: self.now,
            cpu,
            pid: t.pid,
            comm: t.comm,
            flags,
            event,
        });
    }

    /// An interrupt's entry on `cpu` (`irq_vectors:*_entry`), recorded when the machine
    /// traces them (`irq_events`): once per vector per CPU per instant.
    pub fn irq_entry(&mut self, cpu: u32, v: IrqVector) {
        if !self.cfg.irq_events || !self.trace.enabled {
            return;
        }
        let now = self.now;
        let rq = &mut self.rqs[cpu as usize];
        if rq.irq_traced_at != now {
            rq.irq_traced_at = now;
            rq.irq_traced.clear();
        }
        if rq.irq_traced.contains(&v) {
            return;
        }
        rq.irq_traced.push(v);
        self.trace_in(Ctx::HardIrq(cpu), 0, Event::IrqEntry(v));
    }

    /// Records an event from a context (task or hardirq on a CPU).
    pub fn trace_in(&mut self, ctx: Ctx, preempt_count: u8, event: Event) {
        let cpu = ctx.cpu();
        let flags = RecFlags {
            irqs_off: true,
            hardirq: matches!(ctx, Ctx::HardIrq(_)),
            preempt_count,
            ..RecFlags::default()
        };
        let cur = self.curr(cpu);
        self.trace_event(cpu, cur, flags, event);
    }

    /// Arms a task's user-mode demand on its CPU (called when it gets the CPU or is given
    /// new work while running).
    pub fn arm_demand(&mut self, p: TaskId) {
        let now = self.now;
        let t = &mut self.tasks[p.0 as usize];
        t.demand_gen = t.demand_gen.wrapping_add(1);
        t.demand_since = now;
        let end = match t.demand {
            Demand::None => return,
            Demand::Work(w) => now + w,
            Demand::Until(u) => u.max(now),
        };
        let gen = t.demand_gen;
        self.queue.push(end, EventKind::WorkDone { task: p, gen });
    }

    /// A kernel thread's CPU time for its wakeup (rcu_preempt, the background kthreads):
    /// `w` of work armed at once on its CPU; false when there is none to run.
    pub(crate) fn give_kthread_work(&mut self, k: TaskId, w: u64) -> bool {
        if w == 0 {
            return false;
        }
        self.task_mut(k).demand = Demand::Work(w);
        self.arm_demand(k);
        true
    }

    /// Charges the progress of a running task's demand up to now (at switch-out).
    pub fn settle_demand(&mut self, p: TaskId) {
        let now = self.now;
        let t = &mut self.tasks[p.0 as usize];
        t.demand_gen = t.demand_gen.wrapping_add(1);
        if let Demand::Work(w) = t.demand {
            t.demand = Demand::Work(w.saturating_sub(now - t.demand_since));
        }
        t.demand_since = now;
    }
}
