//! Perfetto protobuf trace (`perfetto.protos.Trace`), hand-encoded. Field numbers are those
//! of protos/perfetto/trace/{trace,trace_packet}.proto, ftrace/{ftrace_event_bundle,
//! ftrace_event,sched,ftrace}.proto, ps/process_tree.proto and system_info.proto (checked
//! against the compiled descriptors in PyPI's `perfetto` package; see
//! docs/trace-formats.md). Packets, in order:
//!
//! 1. `SystemInfo{utsname}`: trace_processor decodes sched_switch `prev_state` bits by the
//!    kernel release (`release` ≥ 4.14 → TASK_REPORT_MAX 0x100 is "R+").
//! 2. `ProcessTree{processes}`: one process per pid with its comm (records carry no tgid)
//!    and its parent from sched_process_fork.
//! 3. Per CPU, `FtraceEventBundle{cpu, event*}` packets of at most [`BUNDLE_EVENTS`] events,
//!    each `FtraceEvent{timestamp (ns), pid, common_flags, <event>}` in the CPU's write order,
//!    as traced's ftrace reader emits them (one bundle per ring-buffer read).

pub mod proto;

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use schedsim_trace::{Event, Record, TraceBuffers};

use crate::common::{check_cpu, TaskComms};
use crate::ftrace::common_flags;
use crate::spool::Spool;
use crate::stream::{write_kept, TraceWriter};
use proto::Msg;

/// Events per FtraceEventBundle packet.
pub const BUNDLE_EVENTS: usize = 1024;
/// `trusted_packet_sequence_id` of every packet (one writer).
const SEQ_ID: u32 = 1;
/// The kernel this simulator models (utsname.release).
pub const UTS_RELEASE: &str = "6.18.0-schedsim";

// TracePacket
const TP_FTRACE_EVENTS: u32 = 1;
const TP_PROCESS_TREE: u32 = 2;
const TP_TIMESTAMP: u32 = 8;
const TP_TRUSTED_SEQ_ID: u32 = 10;
const TP_SYSTEM_INFO: u32 = 45;
// FtraceEventBundle
const B_CPU: u32 = 1;
const B_EVENT: u32 = 2;
// FtraceEvent
const FE_TIMESTAMP: u32 = 1;
const FE_PID: u32 = 2;
const FE_PRINT: u32 = 3;
const FE_SCHED_SWITCH: u32 = 4;
const FE_COMMON_FLAGS: u32 = 5;
const FE_SCHED_WAKEUP: u32 = 17;
const FE_SCHED_WAKING: u32 = 20;
const FE_SCHED_WAKEUP_NEW: u32 = 114;
const FE_SCHED_PROCESS_EXIT: u32 = 238;
const FE_SCHED_PROCESS_FORK: u32 = 239;
const FE_SCHED_PROCESS_FREE: u32 = 240;
const FE_SCHED_PI_SETPRIO: u32 = 353;
const FE_SCHED_MIGRATE_TASK: u32 = 491;
/// `GenericFtraceEvent` (generic.proto): an event without its own message, by name.
const FE_GENERIC: u32 = 327;

/// Writes the Perfetto trace of `bufs` (`nr_cpus` goes into SystemInfo.num_cpus).
pub fn write_perfetto<W: Write + ?Sized>(
    w: &mut W,
    bufs: &TraceBuffers,
    nr_cpus: usize,
) -> io::Result<()> {
    write_kept(w, bufs, PerfettoWriter::new(nr_cpus, None)?)
}

/// [`write_perfetto`] record by record: each CPU's bundles are spooled (in memory, or in a
/// temporary file in `spool_dir`) until the process tree, which comes first, is known.
pub struct PerfettoWriter {
    nr_cpus: usize,
    first_ts: Option<u64>,
    comms: TaskComms,
    ppid: BTreeMap<i32, i32>,
    /// Per CPU: the bundle being filled and its event count.
    bundles: Vec<(Msg, usize)>,
    packets: Spool,
}

impl PerfettoWriter {
    pub fn new(nr_cpus: usize, spool_dir: Option<&Path>) -> io::Result<PerfettoWriter> {
        Ok(PerfettoWriter {
            nr_cpus,
            first_ts: None,
            comms: TaskComms::default(),
            ppid: BTreeMap::new(),
            bundles: (0..nr_cpus).map(|_| (Msg::new(), 0)).collect(),
            packets: Spool::new(spool_dir, nr_cpus)?,
        })
    }

    /// Spools CPU `cpu`'s bundle as one packet.
    fn put_bundle(&mut self, cpu: usize) -> io::Result<()> {
        let (bundle, n) = std::mem::replace(&mut self.bundles[cpu], (Msg::new(), 0));
        if n == 0 {
            return Ok(());
        }
        let mut pkt = Msg::new();
        pkt.message(TP_FTRACE_EVENTS, &bundle)
            .uint32(TP_TRUSTED_SEQ_ID, SEQ_ID);
        put_packet(&mut SpoolLane(&mut self.packets, cpu), &pkt)
    }
}

/// One lane of a spool as an `io::Write`.
struct SpoolLane<'a>(&'a mut Spool, usize);

impl Write for SpoolLane<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(self.1, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TraceWriter for PerfettoWriter {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        check_cpu(rec, self.nr_cpus)?;
        self.first_ts.get_or_insert(rec.ts);
        self.comms.note(rec);
        if let Event::ProcessFork {
            parent_pid,
            child_pid,
            ..
        } = rec.event
        {
            self.ppid.insert(child_pid, parent_pid);
        }
        let cpu = rec.cpu as usize;
        let (bundle, n) = &mut self.bundles[cpu];
        if *n == 0 {
            bundle.uint32(B_CPU, rec.cpu);
        }
        bundle.message(B_EVENT, &ftrace_event(rec));
        *n += 1;
        if *n == BUNDLE_EVENTS {
            self.put_bundle(cpu)?;
        }
        Ok(())
    }

    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let nr_cpus = self.nr_cpus;
        for cpu in 0..nr_cpus {
            self.put_bundle(cpu)?;
        }
        let mut w = BufWriter::with_capacity(1 << 16, w);

        // SystemInfo{utsname=1{sysname=1, version=2, release=3, machine=4}, page_size=6, num_cpus=8}
        let mut uts = Msg::new();
        uts.string(1, "Linux")
            .string(2, "#1 SMP PREEMPT_DYNAMIC schedsim")
            .string(3, UTS_RELEASE)
            .string(4, "x86_64");
        let mut si = Msg::new();
        si.message(1, &uts)
            .uint32(6, 4096)
            .uint32(8, nr_cpus as u32);
        let mut pkt = Msg::new();
        pkt.message(TP_SYSTEM_INFO, &si)
            .uint32(TP_TRUSTED_SEQ_ID, SEQ_ID);
        put_packet(&mut w, &pkt)?;

        // ProcessTree{processes=1: Process{pid=1, ppid=2, cmdline=3}}
        let mut tree = Msg::new();
        for (pid, comm) in self.comms.table() {
            let mut p = Msg::new();
            p.int32(1, pid);
            if let Some(&pp) = self.ppid.get(&pid) {
                p.int32(2, pp);
            }
            p.string(3, comm.as_str());
            tree.message(1, &p);
        }
        let mut pkt = Msg::new();
        pkt.message(TP_PROCESS_TREE, &tree)
            .uint64(TP_TIMESTAMP, self.first_ts.unwrap_or(0))
            .uint32(TP_TRUSTED_SEQ_ID, SEQ_ID);
        put_packet(&mut w, &pkt)?;

        // Per CPU, its FtraceEventBundle packets in write order.
        for cpu in 0..nr_cpus {
            self.packets.copy_lane(cpu, &mut w)?;
        }
        w.flush()
    }
}

/// `Trace{packet=1}`: each packet is one length-delimited field 1 of the top-level message.
fn put_packet<W: Write + ?Sized>(w: &mut W, pkt: &Msg) -> io::Result<()> {
    let mut m = Msg::new();
    m.message(1, pkt);
    w.write_all(&m.buf)
}

/// One `FtraceEvent`, fields as the kernel's format (sched.proto, ftrace.proto).
fn ftrace_event(rec: &Record) -> Msg {
    let mut e = Msg::new();
    e.uint64(FE_TIMESTAMP, rec.ts)
        .uint32(FE_PID, rec.pid as u32);
    e.uint32(FE_COMMON_FLAGS, common_flags(&rec.flags) as u32);
    let mut m = Msg::new();
    let field = match &rec.event {
        Event::Switch {
            prev_comm,
            prev_pid,
            prev_prio,
            prev_state,
            next_comm,
            next_pid,
            next_prio,
        } => {
            // SchedSwitchFtraceEvent{prev_comm=1, prev_pid=2, prev_prio=3, prev_state=4 (int64),
            // next_comm=5, next_pid=6, next_prio=7}
            m.string(1, prev_comm.as_str())
                .int32(2, *prev_pid)
                .int32(3, *prev_prio)
                .int64(4, *prev_state as i64)
                .string(5, next_comm.as_str())
                .int32(6, *next_pid)
                .int32(7, *next_prio);
            FE_SCHED_SWITCH
        }
        Event::Waking {
            comm,
            pid,
            prio,
            target_cpu,
        }
        | Event::Wakeup {
            comm,
            pid,
            prio,
            target_cpu,
        }
        | Event::WakeupNew {
            comm,
            pid,
            prio,
            target_cpu,
        } => {
            // Sched{Waking,Wakeup,WakeupNew}FtraceEvent{comm=1, pid=2, prio=3, success=4,
            // target_cpu=5}; success is always 1 since 4.x (ttwu_do_wakeup).
            m.string(1, comm.as_str())
                .int32(2, *pid)
                .int32(3, *prio)
                .int32(4, 1)
                .int32(5, *target_cpu as i32);
            match rec.event {
                Event::Waking { .. } => FE_SCHED_WAKING,
                Event::Wakeup { .. } => FE_SCHED_WAKEUP,
                _ => FE_SCHED_WAKEUP_NEW,
            }
        }
        Event::MigrateTask {
            comm,
            pid,
            prio,
            orig_cpu,
            dest_cpu,
        } => {
            // SchedMigrateTaskFtraceEvent{comm=1, pid=2, prio=3, orig_cpu=4, dest_cpu=5}
            m.string(1, comm.as_str())
                .int32(2, *pid)
                .int32(3, *prio)
                .int32(4, *orig_cpu as i32)
                .int32(5, *dest_cpu as i32);
            FE_SCHED_MIGRATE_TASK
        }
        Event::ProcessFork {
            parent_comm,
            parent_pid,
            child_comm,
            child_pid,
        } => {
            // SchedProcessForkFtraceEvent{parent_comm=1, parent_pid=2, child_comm=3, child_pid=4}
            m.string(1, parent_comm.as_str())
                .int32(2, *parent_pid)
                .string(3, child_comm.as_str())
                .int32(4, *child_pid);
            FE_SCHED_PROCESS_FORK
        }
        Event::ProcessExit {
            comm, pid, prio, ..
        } => {
            // SchedProcessExitFtraceEvent{comm=1, pid=2, tgid=3, prio=4}: no group_dead field;
            // tgid unknown to the records, left out.
            m.string(1, comm.as_str()).int32(2, *pid).int32(4, *prio);
            FE_SCHED_PROCESS_EXIT
        }
        Event::ProcessFree { comm, pid, prio } => {
            // SchedProcessFreeFtraceEvent{comm=1, pid=2, prio=3}
            m.string(1, comm.as_str()).int32(2, *pid).int32(3, *prio);
            FE_SCHED_PROCESS_FREE
        }
        Event::PiSetprio {
            comm,
            pid,
            oldprio,
            newprio,
        } => {
            // SchedPiSetprioFtraceEvent{comm=1, newprio=2, oldprio=3, pid=4}
            m.string(1, comm.as_str())
                .int32(2, *newprio)
                .int32(3, *oldprio)
                .int32(4, *pid);
            FE_SCHED_PI_SETPRIO
        }
        Event::IrqEntry(v) => {
            // GenericFtraceEvent{event_name=1, field=2 {name=1, int_value=4}}: Perfetto has
            // no message of its own for the x86 irq_vectors events.
            let mut f = Msg::new();
            f.string(1, "vector").int64(4, v.vector() as i64);
            m.string(1, v.entry_name()).message(2, &f);
            FE_GENERIC
        }
        Event::Print { text } => {
            // PrintFtraceEvent{ip=1, buf=2}: buf as tracing_mark_write stores it ('\n'-ended).
            let mut buf = text.clone();
            if !buf.ends_with('\n') {
                buf.push('\n');
            }
            m.uint64(1, 0).string(2, &buf);
            FE_PRINT
        }
    };
    e.message(field, &m);
    e
}
