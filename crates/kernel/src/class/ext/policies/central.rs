//! scx_central (scheds/c/scx_central.bpf.c): one CPU makes every decision. Wakeups are
//! steered to the central CPU and queued in a BPF queue; the central CPU's ops.dispatch fills
//! the local DSQs of the CPUs that asked ("gimme") with `SCX_DSQ_LOCAL_ON | cpu` and infinite
//! slices, and a 1 ms timer on the central CPU preempts CPUs whose task has run a full slice
//! while work is pending. `SCX_OPS_ENQ_LAST` keeps the last task of a CPU going through the
//! queue.

use std::collections::VecDeque;

use crate::class::ext::dsq::{SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_ON};
use crate::class::ext::kfuncs::ScxCtx;
use crate::class::ext::ops::{enq, kick, opsf, ExtOps, SCX_SLICE_DFL, SCX_SLICE_INF};
use crate::task::TaskId;

use super::time_before;

/// The fallback DSQ for tasks the queue cannot hold or that cannot run where planned.
pub const FALLBACK_DSQ_ID: u64 = 0;
/// `MAX_ENQUEUED_TASKS`: the BPF queue map's size.
pub const MAX_ENQUEUED_TASKS: usize = 4096;
/// `TIMER_INTERVAL_NS`.
pub const TIMER_INTERVAL_NS: u64 = 1_000_000;
/// `BPF_MAX_LOOPS` bound of `dispatch_to_cpu`.
const MAX_LOOPS: u32 = 8 * 1024 * 1024;

pub struct Central {
    central_cpu: u32,
    slice_ns: u64,
    /// `central_q`.
    queue: VecDeque<TaskId>,
    /// `cpu_gimme_task`, `cpu_started_at`.
    gimme: Vec<bool>,
    started_at: Vec<u64>,
    pub nr_total: u64,
    pub nr_queued: u64,
    pub nr_dispatches: u64,
    pub nr_mismatches: u64,
    pub nr_retries: u64,
    pub nr_overflows: u64,
    pub nr_timers: u64,
    pub nr_lost_pids: u64,
}

impl Central {
    pub fn new(central_cpu: u32) -> Central {
        Central {
            central_cpu,
            slice_ns: SCX_SLICE_DFL,
            queue: VecDeque::new(),
            gimme: Vec::new(),
            started_at: Vec::new(),
            nr_total: 0,
            nr_queued: 0,
            nr_dispatches: 0,
            nr_mismatches: 0,
            nr_retries: 0,
            nr_overflows: 0,
            nr_timers: 0,
            nr_lost_pids: 0,
        }
    }

    /// `dispatch_to_cpu`: pop queued tasks until one can run on `cpu`; the others go to
    /// the fallback DSQ.
    fn dispatch_to_cpu(&mut self, cx: &mut ScxCtx, cpu: u32) -> bool {
        for _ in 0..MAX_LOOPS {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            self.nr_queued = self.nr_queued.saturating_sub(1);
            if !cx.task_alive(p) {
                self.nr_lost_pids += 1;
                continue;
            }
            if !cx.task_allows(p, cpu) {
                self.nr_mismatches += 1;
                cx.dsq_insert(p, FALLBACK_DSQ_ID, SCX_SLICE_INF, 0);
                if cx.dispatch_nr_slots() == 0 {
                    break;
                }
                continue;
            }
            cx.dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu as u64, SCX_SLICE_INF, 0);
            if cpu != self.central_cpu {
                cx.kick_cpu(cpu, kick::IDLE);
            }
            return true;
        }
        false
    }
}

impl ExtOps for Central {
    fn name(&self) -> &str {
        "central"
    }

    fn flags(&self) -> u64 {
        opsf::ENQ_LAST
    }

    /// `central_select_cpu`: every wakeup is steered to the central CPU.
    fn select_cpu(&mut self, _cx: &mut ScxCtx, _p: TaskId, _prev: u32, _wf: u64) -> i32 {
        self.central_cpu as i32
    }

    /// `central_enqueue`: per-CPU kthreads run at once; the rest wait in the queue and the
    /// central CPU is told.
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        self.nr_total += 1;
        if cx.task_is_kthread(p) && cx.task_nr_cpus_allowed(p) == 1 {
            cx.dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_INF, enq_flags | enq::PREEMPT);
            return;
        }
        if self.queue.len() >= MAX_ENQUEUED_TASKS {
            self.nr_overflows += 1;
            cx.dsq_insert(p, FALLBACK_DSQ_ID, SCX_SLICE_INF, enq_flags);
            return;
        }
        self.queue.push_back(p);
        self.nr_queued += 1;
        if !cx.task_running(p) {
            cx.kick_cpu(self.central_cpu, kick::PREEMPT);
        }
    }

    /// `central_dispatch`: the central CPU serves every CPU that asked, then itself; the
    /// others only take from the fallback DSQ, raise their flag and kick the central CPU.
    fn dispatch(&mut self, cx: &mut ScxCtx, cpu: u32, _prev: Option<TaskId>) {
        if cpu == self.central_cpu {
            self.nr_dispatches += 1;
            for c in 0..cx.nr_cpu_ids() {
                if cx.dispatch_nr_slots() == 0 {
                    break;
                }
                if !self.gimme[c as usize] {
                    continue;
                }
                if self.dispatch_to_cpu(cx, c) {
                    self.gimme[c as usize] = false;
                }
            }
            if cx.dispatch_nr_slots() == 0 {
                self.nr_retries += 1;
                cx.kick_cpu(self.central_cpu, kick::PREEMPT);
                return;
            }
            if cx.dsq_move_to_local(FALLBACK_DSQ_ID) {
                return;
            }
            let me = self.central_cpu;
            self.dispatch_to_cpu(cx, me);
        } else {
            if cx.dsq_move_to_local(FALLBACK_DSQ_ID) {
                return;
            }
            self.gimme[cpu as usize] = true;
            cx.kick_cpu(self.central_cpu, kick::PREEMPT);
        }
    }

    /// `central_running`: note when the CPU's task started (0 means idle).
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        let c = cx.task_cpu(p) as usize;
        self.started_at[c] = cx.now().max(1);
    }

    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, _runnable: bool) {
        let c = cx.task_cpu(p) as usize;
        self.started_at[c] = 0;
    }

    /// `central_timerfn`: preempt CPUs whose task used a full slice while work waits.
    fn timer(&mut self, cx: &mut ScxCtx) {
        let now = cx.now();
        let mut nr_to_kick = self.nr_queued;
        let n = cx.nr_cpu_ids();
        if cx.this_cpu() != self.central_cpu {
            let msg = format!(
                "Central timer ran on CPU {}, not central CPU {}",
                cx.this_cpu(),
                self.central_cpu
            );
            cx.error(&msg);
            return;
        }
        for i in 0..n {
            let cpu = ((self.nr_timers + i as u64) % n as u64) as u32;
            if cpu == self.central_cpu {
                continue;
            }
            let started = self.started_at[cpu as usize];
            if started != 0 && time_before(now, started + self.slice_ns) {
                continue;
            }
            if cx.dsq_nr_queued(FALLBACK_DSQ_ID) > 0
                || cx.dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu as u64) > 0
            {
            } else if nr_to_kick > 0 {
                nr_to_kick -= 1;
            } else {
                continue;
            }
            cx.kick_cpu(cpu, kick::PREEMPT);
        }
        cx.timer_start(TIMER_INTERVAL_NS);
        self.nr_timers += 1;
    }

    /// `central_init`: the fallback DSQ and the pinned timer (ops.init runs on the central
    /// CPU here).
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        let n = cx.nr_cpu_ids() as usize;

        self.gimme = vec![false; n];
        self.started_at = vec![0; n];
        cx.create_dsq(FALLBACK_DSQ_ID)?;
        cx.timer_start(TIMER_INTERVAL_NS);
        Ok(())
    }
}
