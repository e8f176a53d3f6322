//! The discrete-event queue. Time is integer nanoseconds. Events at the same instant run in
//! a fixed order, so every run is reproducible:
//!
//! 1. `WorkDone`: a task's user-mode burst ends (what the CPU was doing up to this instant
//!    completes before any interrupt taken at the same instant);
//! 2. `Timer`, `DlTimer`: hrtimer expiries (sleep and periodic timers, task start delays,
//!    deadline replenishment timers, the RT bandwidth period timer, sched_ext work);
//! 3. `WakeList`: a queued remote wakeup's IPI arrives (`sched_ttwu_pending`);
//! 4. `Resched`: a reschedule reaches its CPU's preemption point (an IPI landing, or the
//!    local path of the cost model, docs/cost-model.md);
//! 5. `Tick`: the scheduler tick. The ticks of several CPUs at one instant all run their
//!    hard-interrupt part first; then, at irq exit, the CPUs whose tick raised no balance
//!    softirq pass their preemption point, then the balance softirqs run (CPU order, then
//!    the NOHZ kicks), then the remaining CPUs pass theirs (`balance::run_tick_softirqs`);
//!    with the cost model each CPU's irq exit comes later, as its own `TickSoftirq`
//!    (one resched path after the tick, or `balance_softirq` when its tick raised the
//!    balance softirq; the CPU passes no preemption point before it), after that
//!    instant's `Resched` events;
//! 6. `End`: the end of the simulated duration.
//!
//! Within one kind, events run in the order they were queued (a sequence number), which
//! for ticks is CPU order because ticks are queued CPU by CPU.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::task::TaskId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    WorkDone {
        task: TaskId,
        gen: u32,
    },
    Timer {
        task: TaskId,
        gen: u32,
        cpu: u32,
    },
    /// A deadline entity's `dl_timer` (replenishment / fair-server deferral): a task's,
    /// or (`task: None`) the fair server of `cpu`.
    DlTimer {
        cpu: u32,
        task: Option<TaskId>,
        gen: u32,
    },
    /// The root task group's RT bandwidth period timer (`sched_rt_period_timer`, with
    /// `Config::rt_group_sched`).
    RtPeriodTimer {
        gen: u32,
    },
    /// A task group's CFS bandwidth period or slack timer.
    CfsBandwidth {
        tg: crate::class::fair::group::TgId,
        timer: crate::class::fair::bandwidth::BwTimer,
        gen: u32,
    },
    /// sched_ext asynchronous work (watchdog, BPF timer, kick irq_work, deferred local
    /// dispatch, disable); see class/ext.
    Scx {
        cpu: u32,
        work: crate::class::ext::ScxWork,
    },
    /// A wakeup's activation on `cpu` (`sched_ttwu_pending`): the wakelist IPI's handler
    /// (`ipi`), or the rest of a timer interrupt's wakeup on an idle CPU.
    WakeList {
        cpu: u32,
        task: TaskId,
        wake_flags: u32,
        ipi: bool,
    },
    /// `cpu` reaches its preemption point; `ipi`: a reschedule IPI from another CPU.
    Resched {
        cpu: u32,
        ipi: bool,
    },
    /// The irq exit of the ticks of an earlier instant, one resched path after them (cost
    /// model): their balance softirqs run (`balance::run_tick_softirqs`).
    TickSoftirq {
        cpu: u32,
    },
    Tick {
        cpu: u32,
    },
    End,
}

impl EventKind {
    fn rank(&self) -> u8 {
        match self {
            EventKind::WorkDone { .. } => 0,
            EventKind::Timer { .. }
            | EventKind::DlTimer { .. }
            | EventKind::RtPeriodTimer { .. }
            | EventKind::CfsBandwidth { .. }
            | EventKind::Scx { .. } => 1,
            EventKind::WakeList { .. } => 2,
            EventKind::Resched { .. } => 3,
            EventKind::TickSoftirq { .. } => 4,
            EventKind::Tick { .. } => 5,
            EventKind::End => 6,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    time: u64,
    rank: u8,
    seq: u64,
    kind: EventKind,
}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time, self.rank, self.seq).cmp(&(o.time, o.rank, o.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Default, Debug)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, time: u64, kind: EventKind) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            time,
            rank: kind.rank(),
            seq: self.seq,
            kind,
        }));
    }

    pub fn pop(&mut self) -> Option<(u64, EventKind)> {
        self.heap.pop().map(|Reverse(e)| (e.time, e.kind))
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(e)| e.time)
    }

    /// The next event is a tick at `time` (another CPU's tick at the same instant).
    pub fn peek_is_tick_at(&self, time: u64) -> bool {
        self.heap
            .peek()
            .is_some_and(|Reverse(e)| e.time == time && matches!(e.kind, EventKind::Tick { .. }))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_time_events_follow_the_documented_order() {
        let mut q = EventQueue::default();
        q.push(10, EventKind::Tick { cpu: 1 });
        q.push(10, EventKind::Tick { cpu: 0 });
        q.push(
            10,
            EventKind::WorkDone {
                task: TaskId(3),
                gen: 0,
            },
        );
        q.push(5, EventKind::End);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order[0], (5, EventKind::End));
        assert_eq!(
            order[1].1,
            EventKind::WorkDone {
                task: TaskId(3),
                gen: 0
            }
        );
        assert_eq!(order[2].1, EventKind::Tick { cpu: 1 });
        assert_eq!(order[3].1, EventKind::Tick { cpu: 0 });
    }
}
