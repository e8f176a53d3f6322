//! schedsim-trace: trace events as the kernel records them (include/trace/events/sched.h): plain records in
//! per-CPU ring buffers, in the order each CPU wrote them, or streamed to a [`TraceSink`] in
//! the `trace` file's order as they become final. Writers in `schedsim-output` turn
//! them into ftrace text, trace.dat or Perfetto; the records carry exactly the fields the
//! kernel's events carry, plus the common header (current pid and comm, flags, preempt count).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io;

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
    /// An x86 interrupt's entry (the `irq_vectors` events, `TP_printk("vector=%d")`).
    IrqEntry(IrqVector),
}

/// The x86 interrupt vectors whose `irq_vectors:*_entry` events the simulator records
/// (arch/x86/include/asm/irq_vectors.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqVector {
    /// The local APIC timer: the tick and every hrtimer (`LOCAL_TIMER_VECTOR`).
    LocalTimer,
    /// A single-CPU function call IPI: a remote wakeup's wakelist, an async unthrottle
    /// (`CALL_FUNCTION_SINGLE_VECTOR`).
    CallFunctionSingle,
    /// The reschedule IPI of a remote `resched_curr` (`RESCHEDULE_VECTOR`).
    Reschedule,
}

impl IrqVector {
    pub const ALL: [IrqVector; 3] = [
        IrqVector::LocalTimer,
        IrqVector::CallFunctionSingle,
        IrqVector::Reschedule,
    ];

    /// The vector number.
    pub fn vector(self) -> u32 {
        match self {
            IrqVector::LocalTimer => 0xec,
            IrqVector::CallFunctionSingle => 0xfb,
            IrqVector::Reschedule => 0xfd,
        }
    }

    /// The entry event's name.
    pub fn entry_name(self) -> &'static str {
        match self {
            IrqVector::LocalTimer => "local_timer_entry",
            IrqVector::CallFunctionSingle => "call_function_single_entry",
            IrqVector::Reschedule => "reschedule_entry",
        }
    }
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
            Event::IrqEntry(v) => v.entry_name(),
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

/// Where finished records go when the trace is streamed ([`TraceBuffers::stream_to`]): each
/// record once, in the `trace` file's order ([`TraceBuffers::merged`]), then `finish` once.
pub trait TraceSink {
    fn record(&mut self, rec: &Record) -> io::Result<()>;
    /// After the last record: complete the output.
    fn finish(&mut self) -> io::Result<()>;
}

/// Several sinks fed the same records, finished in order (the first error stops).
impl TraceSink for Vec<Box<dyn TraceSink>> {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.record(rec))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.finish())
    }
}

/// The streaming form of [`TraceBuffers::merged`]: records come in in write order, each
/// CPU's queue in that CPU's order, and leave in merged order (timestamp, then write order,
/// then CPU) once final, that is once no record can come before them any more. A record
/// stamped at or before the trace clock is final: any later one has a later timestamp or,
/// at the same instant, a later write order. So only records stamped ahead of the clock
/// ever wait here (the simulator stamps every record with the current instant: none do).
#[derive(Clone, Debug, Default)]
pub struct Merger {
    /// Per CPU: (write order, record), oldest first.
    pending: Vec<VecDeque<(u64, Record)>>,
    /// CPUs with pending records (each once).
    active: Vec<usize>,
    len: usize,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
}

impl Merger {
    /// Queues `rec`, the `order`-th record written (orders increase with every push).
    pub fn push(&mut self, order: u64, rec: Record) {
        let cpu = rec.cpu as usize;
        if cpu >= self.pending.len() {
            self.pending.resize_with(cpu + 1, VecDeque::new);
        }
        if self.pending[cpu].is_empty() {
            self.active.push(cpu);
        }
        self.pending[cpu].push_back((order, rec));
        self.len += 1;
    }

    /// Records queued and not yet released.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hands `out`, in merged order, every queued record stamped at or before `clock`: the
    /// caller promises that no record pushed later is stamped before `clock`. The order is
    /// `merged`'s (a heap of each CPU's oldest record keyed by timestamp, write order, CPU).
    pub fn release(&mut self, clock: u64, out: impl FnMut(Record)) {
        self.release_while(|ts| ts <= clock, out);
    }

    /// Hands `out` every queued record, in merged order (the end of the trace).
    pub fn release_all(&mut self, out: impl FnMut(Record)) {
        self.release_while(|_| true, out);
    }

    fn release_while(&mut self, fin: impl Fn(u64) -> bool, mut out: impl FnMut(Record)) {
        if self.len == 0 {
            return;
        }
        let key = |q: &VecDeque<(u64, Record)>, c: usize| {
            q.front()
                .filter(|(_, r)| fin(r.ts))
                .map(|(o, r)| Reverse((r.ts, *o, c)))
        };
        for &c in &self.active {
            if let Some(k) = key(&self.pending[c], c) {
                self.heap.push(k);
            }
        }
        while let Some(Reverse((_, _, c))) = self.heap.pop() {
            let q = &mut self.pending[c];
            if let Some((_, rec)) = q.pop_front() {
                self.len -= 1;
                out(rec);
            }
            if let Some(k) = key(q, c) {
                self.heap.push(k);
            }
        }
        let pending = &self.pending;
        self.active.retain(|&c| !pending[c].is_empty());
    }
}

/// A streamed trace: the trace clock, the records not yet final, the sink, the first error
/// the sink returned.
struct Stream {
    clock: u64,
    merger: Merger,
    sink: Box<dyn TraceSink>,
    error: Option<io::Error>,
}

impl Stream {
    fn send(sink: &mut dyn TraceSink, error: &mut Option<io::Error>, rec: &Record) {
        if error.is_none() {
            if let Err(e) = sink.record(rec) {
                *error = Some(e);
            }
        }
    }
}

/// Per-CPU ring buffers (unbounded here; each keeps its CPU's write order), or, once
/// [`stream_to`](TraceBuffers::stream_to) is called, a stream: records are handed to a
/// [`TraceSink`] in merged order as soon as they are final (see [`Merger`] and
/// [`advance`](TraceBuffers::advance)), so none is held: a record stamped with the current
/// instant goes straight to the sink.
#[derive(Default)]
pub struct TraceBuffers {
    /// The records kept in memory, per CPU (empty while streaming).
    pub cpus: Vec<Vec<Record>>,
    pub enabled: bool,
    /// Global write order of each record (parallel to `cpus`): the causal order of
    /// records that share a timestamp (see `merged`).
    order: Vec<Vec<u64>>,
    written: u64,
    stream: Option<Stream>,
}

/// A clone holds the in-memory records only (a stream's sink is not cloned).
impl Clone for TraceBuffers {
    fn clone(&self) -> TraceBuffers {
        TraceBuffers {
            cpus: self.cpus.clone(),
            enabled: self.enabled,
            order: self.order.clone(),
            written: self.written,
            stream: None,
        }
    }
}

impl fmt::Debug for TraceBuffers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceBuffers")
            .field("cpus", &self.cpus)
            .field("enabled", &self.enabled)
            .field("written", &self.written)
            .field("streaming", &self.stream.is_some())
            .finish()
    }
}

impl TraceBuffers {
    pub fn new(nr_cpus: usize, enabled: bool) -> TraceBuffers {
        TraceBuffers {
            cpus: vec![Vec::new(); nr_cpus],
            enabled,
            order: vec![Vec::new(); nr_cpus],
            written: 0,
            stream: None,
        }
    }

    /// From now on, hand records to `sink` instead of keeping them (and enable tracing).
    /// Records already kept move to the stream, so the sink sees the whole trace.
    pub fn stream_to(&mut self, sink: Box<dyn TraceSink>) {
        let mut merger = Merger::default();
        let n = self.cpus.len();
        let cpus = std::mem::take(&mut self.cpus);
        let order = std::mem::take(&mut self.order);
        for (recs, ords) in cpus.into_iter().zip(order) {
            for (rec, o) in recs.into_iter().zip(ords) {
                merger.push(o, rec);
            }
        }
        self.cpus = vec![Vec::new(); n];
        self.order = vec![Vec::new(); n];
        self.enabled = true;
        self.stream = Some(Stream {
            clock: 0,
            merger,
            sink,
            error: None,
        });
    }

    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// Records written so far (kept or streamed).
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn push(&mut self, rec: Record) {
        if !self.enabled {
            return;
        }
        if let Some(st) = &mut self.stream {
            if rec.ts <= st.clock {
                // Final: whatever waits is stamped later, whatever comes is written later.
                Stream::send(st.sink.as_mut(), &mut st.error, &rec);
            } else {
                st.merger.push(self.written, rec);
            }
            self.written += 1;
            return;
        }
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

    /// The trace clock reached `now`: no record written from here on is stamped earlier,
    /// so every streamed record stamped up to `now` is final and goes to the sink. (The
    /// event loop calls this as it takes each event; nothing to do when not streaming.)
    pub fn advance(&mut self, now: u64) {
        if let Some(st) = &mut self.stream {
            st.clock = st.clock.max(now);
            let (sink, error) = (&mut st.sink, &mut st.error);
            st.merger
                .release(now, |rec| Stream::send(sink.as_mut(), error, &rec));
        }
    }

    /// Ends a stream: the remaining records go to the sink, which then finishes its output.
    /// Returns the sink's first error. Without a stream, does nothing.
    pub fn finish(&mut self) -> io::Result<()> {
        let Some(mut st) = self.stream.take() else {
            return Ok(());
        };
        let (sink, error) = (&mut st.sink, &mut st.error);
        st.merger
            .release_all(|rec| Stream::send(sink.as_mut(), error, &rec));
        match st.error {
            Some(e) => Err(e),
            None => st.sink.finish(),
        }
    }

    /// Records kept in memory (none while streaming; see `written`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn rec(ts: u64, cpu: u32, pid: i32) -> Record {
        Record {
            ts,
            cpu,
            pid,
            comm: Comm::new("t"),
            flags: RecFlags::default(),
            event: Event::Print {
                text: format!("{ts} {cpu} {pid}"),
            },
        }
    }

    /// A run's records in write order, each with the trace clock when it was written:
    /// the clock never goes back, several CPUs write at the same instant in any CPU order
    /// (a wakeup on CPU 3 before the switch it causes on CPU 0), sometimes many records
    /// per instant, sometimes instants with none. With `ahead`, some records are stamped
    /// later than the clock (each CPU's stamps still in order), as a writer that stamps
    /// an event with its future time would.
    fn run_records(seed: u64, n: usize, nr_cpus: u32, ahead: bool) -> Vec<(u64, Record)> {
        let mut x = seed | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut now = 0;
        let mut last = vec![0; nr_cpus as usize];
        (0..n as i32)
            .map(|i| {
                if rnd() % 3 == 0 {
                    now += rnd() % 4; // often 0: the same instant again
                }
                let cpu = (rnd() % nr_cpus as u64) as u32;
                let mut ts = now.max(last[cpu as usize]);
                if ahead && rnd() % 4 == 0 {
                    ts += rnd() % 6;
                }
                last[cpu as usize] = ts;
                (now, rec(ts, cpu, i))
            })
            .collect()
    }

    #[derive(Clone, Default)]
    struct Collect(Rc<RefCell<Vec<Record>>>, Rc<RefCell<bool>>);

    impl TraceSink for Collect {
        fn record(&mut self, rec: &Record) -> io::Result<()> {
            assert!(!*self.1.borrow(), "record after finish");
            self.0.borrow_mut().push(rec.clone());
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            *self.1.borrow_mut() = true;
            Ok(())
        }
    }

    #[test]
    fn streaming_merge_equals_end_of_run_merge() {
        for seed in 1..60u64 {
            let nr_cpus = 1 + (seed % 5) as u32;
            let ahead = seed % 2 == 0;
            let recs = run_records(seed, 2_000, nr_cpus, ahead);
            let mut whole = TraceBuffers::new(nr_cpus as usize, true);
            let sink = Collect::default();
            let mut streamed = TraceBuffers::new(nr_cpus as usize, true);
            streamed.stream_to(Box::new(sink.clone()));
            let mut most_pending = 0;
            for (now, r) in &recs {
                // The event loop: the clock moves to the next event's instant first.
                streamed.advance(*now);
                whole.push(r.clone());
                streamed.push(r.clone());
                let pending = streamed.stream.as_ref().unwrap().merger.len();
                most_pending = most_pending.max(pending);
            }
            assert_eq!(streamed.written(), recs.len() as u64);
            assert!(streamed.is_empty(), "nothing kept in memory");
            streamed.finish().unwrap();
            assert!(*sink.1.borrow());
            let want: Vec<Record> = whole.merged().into_iter().cloned().collect();
            assert_eq!(*sink.0.borrow(), want, "seed {seed}");
            // Only records stamped ahead of the clock ever wait.
            if ahead {
                assert!(most_pending > 0, "seed {seed}: the merge was exercised");
            } else {
                assert_eq!(most_pending, 0, "seed {seed}");
            }
        }
    }

    #[test]
    fn same_instant_records_leave_in_write_order_across_cpus() {
        let mut m = Merger::default();
        // At t=5: CPU 2 writes first (the cause), then CPU 0, then CPU 2, then CPU 1.
        m.push(0, rec(4, 1, 0));
        m.push(1, rec(5, 2, 1));
        m.push(2, rec(5, 0, 2));
        m.push(3, rec(5, 2, 3));
        m.push(4, rec(5, 1, 4));
        m.push(5, rec(6, 0, 5));
        let mut out = Vec::new();
        m.release(4, |r| out.push(r.pid));
        assert_eq!(out, [0], "t=5 is not final while the clock is at 4");
        m.release(5, |r| out.push(r.pid));
        assert_eq!(out, [0, 1, 2, 3, 4]);
        assert_eq!(m.len(), 1);
        m.release_all(|r| out.push(r.pid));
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        assert!(m.is_empty());
    }

    #[test]
    fn records_kept_before_streaming_reach_the_sink() {
        let mut b = TraceBuffers::new(2, true);
        b.push(rec(1, 1, 0));
        b.push(rec(1, 0, 1));
        let sink = Collect::default();
        b.stream_to(Box::new(sink.clone()));
        b.push(rec(2, 1, 2));
        b.finish().unwrap();
        let pids: Vec<i32> = sink.0.borrow().iter().map(|r| r.pid).collect();
        assert_eq!(pids, [0, 1, 2]);
        // A second finish has nothing left to do.
        b.finish().unwrap();
    }

    #[test]
    fn a_sink_error_is_kept_and_returned_by_finish() {
        struct Fail(u32);
        impl TraceSink for Fail {
            fn record(&mut self, _: &Record) -> io::Result<()> {
                self.0 += 1;
                assert_eq!(self.0, 1, "no record after the first error");
                Err(io::Error::other("disk full"))
            }
            fn finish(&mut self) -> io::Result<()> {
                panic!("finish after an error")
            }
        }
        let mut b = TraceBuffers::new(1, false);
        b.stream_to(Box::new(Fail(0)));
        b.push(rec(1, 0, 0));
        b.advance(2);
        b.push(rec(2, 0, 1));
        assert_eq!(b.finish().unwrap_err().to_string(), "disk full");
    }
}
