//! `struct rq`: the per-CPU run queue. Each class keeps its sub-queue here (the fair root
//! cfs_rq by id into the fair arena).

use crate::class::dl::DlRq;
use crate::class::ext::dsq::ScxRq;
use crate::class::fair::entity::CfsRqId;
use crate::class::rt::RtRq;
use crate::core::stopper::CpuStopWork;
use crate::task::TaskId;
use schedsim_trace::IrqVector;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Rq {
    pub cpu: u32,
    /// Tasks queued on this CPU in every class, the running one included.
    pub nr_running: u32,
    pub nr_switches: u64,
    pub curr: TaskId,
    pub idle: TaskId,
    /// The stopper kthread `migration/N` (`rq->stop`), set at boot.
    pub stop: Option<TaskId>,
    /// The stopper's pending works (`struct cpu_stopper`'s `works` list).
    pub stop_works: VecDeque<CpuStopWork>,
    /// `distribute_cpu_mask_prev` of this CPU (`cpumask_any_and_distribute`).
    pub distribute_cpu_mask_prev: u32,
    /// The interrupt vectors recorded at `irq_traced_at` (one entry per vector per
    /// instant: coinciding expiries are one interrupt).
    pub irq_traced: Vec<IrqVector>,
    pub irq_traced_at: u64,
    pub clock: u64,
    pub clock_task: u64,
    /// Root cfs_rq (`rq->cfs`).
    pub cfs: CfsRqId,
    /// The RT priority array and push/pull state (`rq->rt`).
    pub rt: RtRq,
    /// The deadline queue, push/pull state and the fair server (`rq->dl`,
    /// `rq->fair_server`).
    pub dl: DlRq,
    /// sched_ext: the local DSQ and per-CPU state (`rq->scx`).
    pub scx: ScxRq,
    /// `TIF_NEED_RESCHED` of curr.
    pub need_resched: bool,
    /// `TIF_NEED_RESCHED_LAZY` of curr (lazy preemption model).
    pub need_resched_lazy: bool,
    /// When a reschedule asked for reaches the CPU's preemption point (the cost model's
    /// IPI and resched latencies; `now` when they are 0).
    pub resched_at: u64,
    /// Wakeups queued on this CPU's wakelist, not yet activated (`ttwu_pending`).
    pub ttwu_pending: u32,
    /// The tick is running (not stopped by NO_HZ idle).
    pub tick_running: bool,
    /// Time-weighted sum of nr_running (run-queue length metric) and its last update.
    pub nr_running_integral: u128,
    pub nr_running_since: u64,
    pub nr_running_max: u32,
    /// PELT clock, balancing state and the MRU list of fair tasks (SMP fields of rq).
    pub smp: crate::class::fair::balance::RqSmp,
    /// The run queue's `/proc/schedstat` counters.
    pub stat: crate::schedstat::RqStat,
}

impl Rq {
    pub fn new(cpu: u32, idle: TaskId, cfs: CfsRqId) -> Rq {
        Rq {
            cpu,
            nr_running: 0,
            nr_switches: 0,
            curr: idle,
            idle,
            stop: None,
            stop_works: VecDeque::new(),
            distribute_cpu_mask_prev: 0,
            irq_traced: Vec::new(),
            irq_traced_at: 0,
            clock: 0,
            clock_task: 0,
            cfs,
            rt: RtRq::new(),
            dl: DlRq::new(),
            scx: ScxRq::default(),
            need_resched: false,
            need_resched_lazy: false,
            resched_at: 0,
            ttwu_pending: 0,
            tick_running: false,
            nr_running_integral: 0,
            nr_running_since: 0,
            nr_running_max: 0,
            smp: Default::default(),
            stat: Default::default(),
        }
    }
}
