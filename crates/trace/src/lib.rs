//! schedsim-trace: trace events as the kernel records them (include/trace/events/sched.h): plain records in
//! per-CPU ring buffers, in the order each CPU wrote them. Writers in `schedsim-output` turn
//! them into ftrace text, trace.dat or Perfetto; the records carry exactly the fields the
//! kernel's events carry, plus the common header (current pid and comm, flags, preempt count).

use std::fmt;

/// A task's `comm`: at most 15 bytes and a NUL, as in `task_struct::comm[TASK_COMM_LEN]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Comm {
    bytes: [u8; 16],
    len: u8,
}

impl Comm {
    /// Truncates to 15 bytes like `__set_task_comm` (at a char boundary).
    pub fn new(s: &str) -> Comm {
        let mut end = s.len().min(15);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 16];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        Comm {
            bytes,
            len: end as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("?")
    }

    /// The NUL-padded 16-byte array of the binary formats.
    pub fn raw(&self) -> [u8; 16] {
        self.bytes
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// `prev_state` value of sched_switch as `__trace_sched_switch_state` computes it:
/// 0x100 (TASK_REPORT_MAX) for a preemption (`R+`), else the report bit of the state.
pub mod state {
    pub const RUNNING: u64 = 0;
    pub const INTERRUPTIBLE: u64 = 0x01; // S
    pub const UNINTERRUPTIBLE: u64 = 0x02; // D
    pub const STOPPED: u64 = 0x04; // T
    pub const TRACED: u64 = 0x08; // t
    pub const EXIT_DEAD: u64 = 0x10; // X
    pub const EXIT_ZOMBIE: u64 = 0x20; // Z
    pub const PARKED: u64 = 0x40; // P
    pub const IDLE: u64 = 0x80; // I
    pub const PREEMPTED: u64 = 0x100; // R+
}

/// The common flags of a record (`TRACE_FLAG_*`) and the preempt count, which make the
/// five flag characters of the text format (`d..2.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RecFlags {
    pub irqs_off: bool,
    pub need_resched: bool,
    pub need_resched_lazy: bool,
    pub hardirq: bool,
    pub softirq: bool,
    /// preempt_count & 0xff as the event saw it.
    pub preempt_count: u8,
}

impl RecFlags {
    /// `TRACE_FLAG_*` bits as stored in `common_flags`.
    pub fn bits(&self) -> u8 {
        (self.irqs_off as u8)
            | (self.need_resched_lazy as u8) << 1
            | (self.need_resched as u8) << 2
            | (self.hardirq as u8) << 3
            | (self.softirq as u8) << 4
    }
}

/// One sched event's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Switch {
        prev_comm: Comm,
        prev_pid: i32,
        prev_prio: i32,
        prev_state: u64,
        next_comm: Comm,
        next_pid: i32,
        next_prio: i32,
    },
    Waking {
        comm: Comm,
        pid: i32,
        prio: i32,
        target_cpu: u32,
    },
    Wakeup {
        comm: Comm,
        pid: i32,
        prio: i32,
        target_cpu: u32,
    },
    WakeupNew {
        comm: Comm,
        pid: i32,
        prio: i32,
        target_cpu: u32,
    },
    MigrateTask {
        comm: Comm,
        pid: i32,
        prio: i32,
        orig_cpu: u32,
        dest_cpu: u32,
    },
    ProcessFork {
        parent_comm: Comm,
        parent_pid: i32,
        child_comm: Comm,
        child_pid: i32,
    },
    ProcessExit {
        comm: Comm,
        pid: i32,
        prio: i32,
        group_dead: bool,
    },
    ProcessFree {
        comm: Comm,
        pid: i32,
        prio: i32,
    },
    PiSetprio {
        comm: Comm,
        pid: i32,
        oldprio: i32,
        newprio: i32,
    },
    /// A `trace_marker` write: printed as `print: tracing_mark_write: <text>`.
    Print {
        text: String,
    },
}

impl Event {
    /// The event's name as the kernel registers it.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Switch { .. } => "sched_switch",
            Event::Waking { .. } => "sched_waking",
            Event::Wakeup { .. } => "sched_wakeup",
            Event::WakeupNew { .. } => "sched_wakeup_new",
            Event::MigrateTask { .. } => "sched_migrate_task",
            Event::ProcessFork { .. } => "sched_process_fork",
            Event::ProcessExit { .. } => "sched_process_exit",
            Event::ProcessFree { .. } => "sched_process_free",
            Event::PiSetprio { .. } => "sched_pi_setprio",
            Event::Print { .. } => "print",
        }
    }
}

/// One record in a CPU's ring buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Nanoseconds since boot (the trace clock).
    pub ts: u64,
    pub cpu: u32,
    /// `common_pid`: the task current on `cpu` when the event fired.
    pub pid: i32,
    /// The comm of that task (for the text format's TASK column).
    pub comm: Comm,
    pub flags: RecFlags,
    pub event: Event,
}

/// Per-CPU ring buffers (unbounded here; each keeps its CPU's write order).
#[derive(Clone, Debug, Default)]
pub struct TraceBuffers {
    pub cpus: Vec<Vec<Record>>,
    pub enabled: bool,
    /// Global write order of each record (parallel to `cpus`): the causal order of
    /// records that share a timestamp (see `merged`).
    order: Vec<Vec<u64>>,
    written: u64,
}

impl TraceBuffers {
    pub fn new(nr_cpus: usize, enabled: bool) -> TraceBuffers {
        TraceBuffers {
            cpus: vec![Vec::new(); nr_cpus],
            enabled,
            order: vec![Vec::new(); nr_cpus],
            written: 0,
        }
    }

    pub fn push(&mut self, rec: Record) {
        if self.enabled {
            let cpu = rec.cpu as usize;
            if cpu >= self.cpus.len() {
                self.cpus.resize(cpu + 1, Vec::new());
            }
            if self.order.len() < self.cpus.len() {
                self.order.resize(self.cpus.len(), Vec::new());
            }
            self.cpus[cpu].push(rec);
            self.order[cpu].push(self.written);
            self.written += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.cpus.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All records merged by timestamp as the `trace` file iterator does
    /// (`__find_next_entry`: smallest timestamp first). On a real machine two CPUs never
    /// write the same nanosecond for events that cause one another; in the simulation they
    /// can, so ties go to the record written first (its cause), then to the lowest CPU.
    pub fn merged(&self) -> Vec<&Record> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let order_of = |c: usize, i: usize| self.order.get(c).and_then(|o| o.get(i)).copied();
        let mut heap = BinaryHeap::with_capacity(self.cpus.len());
        for (c, buf) in self.cpus.iter().enumerate() {
            if let Some(r) = buf.first() {
                heap.push(Reverse((r.ts, order_of(c, 0), c, 0usize)));
            }
        }
        let mut out = Vec::with_capacity(self.len());
        while let Some(Reverse((_, _, c, i))) = heap.pop() {
            out.push(&self.cpus[c][i]);
            if let Some(r) = self.cpus[c].get(i + 1) {
                heap.push(Reverse((r.ts, order_of(c, i + 1), c, i + 1)));
            }
        }
        out
    }
}
