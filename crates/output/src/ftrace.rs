//! ftrace text: the bytes `cat /sys/kernel/tracing/trace` prints for the nop tracer with the
//! sched events enabled (default trace options: irq-info on, no record-tgid, no sym-offset).
//!
//! Header: `s_show` + `print_trace_header`-less `trace_default_header` →
//! `print_func_help_header_irq` and `print_event_info` (kernel/trace/trace.c).
//! Line: `trace_print_context` (comm-pid, CPU, `trace_print_lat_fmt` flags, `trace_print_time`),
//! then `trace_raw_output_<event>` (`"%s: "` event name + the TP_printk format of
//! include/trace/events/sched.h), or `trace_print_print` for trace_marker writes
//! (kernel/trace/trace_output.c).
//!
//! [`parse_line`] (ftrace/parse.rs) is the inverse, for tests and for reading real traces
//! back into records.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use schedsim_trace::{Event, RecFlags, Record, TraceBuffers};

use crate::spool::Spool;
use crate::stream::{write_kept, TraceWriter};

mod parse;
pub use parse::parse_line;

// TRACE_FLAG_* of kernel/trace/trace.h (6.13+: 0x02 is NEED_RESCHED_LAZY, was IRQS_NOSUPPORT).
pub const TRACE_FLAG_IRQS_OFF: u8 = 0x01;
pub const TRACE_FLAG_NEED_RESCHED_LAZY: u8 = 0x02;
pub const TRACE_FLAG_NEED_RESCHED: u8 = 0x04;
pub const TRACE_FLAG_HARDIRQ: u8 = 0x08;
pub const TRACE_FLAG_SOFTIRQ: u8 = 0x10;
pub const TRACE_FLAG_PREEMPT_RESCHED: u8 = 0x20;
pub const TRACE_FLAG_NMI: u8 = 0x40;
pub const TRACE_FLAG_BH_OFF: u8 = 0x80;

/// `common_flags` as the kernel stores it (`tracing_gen_ctx_irq_test`). On x86 a set
/// TIF_NEED_RESCHED is folded into the preempt count's PREEMPT_NEED_RESCHED bit (resched_curr
/// locally, scheduler_ipi remotely), so `test_preempt_need_resched()` is true with it and the
/// real traces show `N`, never `n`; a lazy request alone is not folded (`l`).
pub fn common_flags(f: &RecFlags) -> u8 {
    let mut bits = f.bits();
    if f.need_resched {
        bits |= TRACE_FLAG_PREEMPT_RESCHED;
    }
    bits
}

/// The five latency-format characters of `trace_print_lat_fmt` (trace_output.c, 6.13+) from
/// `common_flags` and `common_preempt_count` (low nibble: preempt depth, high nibble:
/// migrate-disable depth, each already clamped to 0xf by `tracing_gen_ctx_irq_test`).
pub fn lat_fmt(flags: u8, preempt_count: u8) -> [u8; 5] {
    let bh_off = flags & TRACE_FLAG_BH_OFF != 0;
    let irqs_off = flags & TRACE_FLAG_IRQS_OFF != 0;
    let c0 = match (irqs_off, bh_off) {
        (true, true) => b'D',
        (true, false) => b'd',
        (false, true) => b'b',
        (false, false) => b'.',
    };
    const NR: u8 = TRACE_FLAG_NEED_RESCHED;
    const LZ: u8 = TRACE_FLAG_NEED_RESCHED_LAZY;
    const PR: u8 = TRACE_FLAG_PREEMPT_RESCHED;
    let c1 = match flags & (NR | LZ | PR) {
        x if x == NR | LZ | PR => b'B',
        x if x == NR | PR => b'N',
        x if x == LZ | PR => b'L',
        x if x == NR | LZ => b'b',
        NR => b'n',
        PR => b'p',
        LZ => b'l',
        _ => b'.',
    };
    let nmi = flags & TRACE_FLAG_NMI != 0;
    let hard = flags & TRACE_FLAG_HARDIRQ != 0;
    let soft = flags & TRACE_FLAG_SOFTIRQ != 0;
    let c2 = match (nmi, hard, soft) {
        (true, true, _) => b'Z',
        (true, false, _) => b'z',
        (false, true, true) => b'H',
        (false, true, false) => b'h',
        (false, false, true) => b's',
        _ => b'.',
    };
    let hex = |n: u8| {
        if n == 0 {
            b'.'
        } else {
            b"0123456789abcdef"[n as usize]
        }
    };
    [
        c0,
        c1,
        c2,
        hex(preempt_count & 0xf),
        hex(preempt_count >> 4),
    ]
}

/// The header `s_show` prints before the first line (trace.c: `"# tracer: %s\n#\n"`,
/// `print_event_info`, `print_func_help_header_irq`).
pub fn header(entries: usize, written: usize, nr_cpus: usize) -> String {
    format!(
        "# tracer: nop\n\
         #\n\
         # entries-in-buffer/entries-written: {entries}/{written}   #P:{nr_cpus}\n\
         #\n\
         #                                _-----=> irqs-off/BH-disabled\n\
         #                               / _----=> need-resched\n\
         #                              | / _---=> hardirq/softirq\n\
         #                              || / _--=> preempt-depth\n\
         #                              ||| / _-=> migrate-disable\n\
         #                              |||| /     delay\n\
         #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n\
         #              | |         |   |||||     |         |\n"
    )
}

/// Writes the whole `trace` file: header, then every record merged across CPUs by timestamp
/// (`__find_next_entry`, see [`TraceBuffers::merged`]). `nr_cpus` is the `#P:` figure
/// (`num_online_cpus()`).
pub fn write_ftrace_text<W: Write + ?Sized>(
    w: &mut W,
    bufs: &TraceBuffers,
    nr_cpus: usize,
) -> io::Result<()> {
    write_kept(w, bufs, FtraceWriter::new(nr_cpus, None)?)
}

/// [`write_ftrace_text`] record by record: the lines are spooled (in memory, or in a
/// temporary file in `spool_dir`) until the count the header starts with is known.
pub struct FtraceWriter {
    nr_cpus: usize,
    n: usize,
    body: Spool,
    line: String,
}

impl FtraceWriter {
    pub fn new(nr_cpus: usize, spool_dir: Option<&Path>) -> io::Result<FtraceWriter> {
        Ok(FtraceWriter {
            nr_cpus,
            n: 0,
            body: Spool::new(spool_dir, 1)?,
            line: String::with_capacity(256),
        })
    }
}

impl TraceWriter for FtraceWriter {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        self.line.clear();
        format_record(&mut self.line, rec);
        self.n += 1;
        self.body.write(0, self.line.as_bytes())
    }

    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        w.write_all(header(self.n, self.n, self.nr_cpus).as_bytes())?;
        self.body.copy_lane(0, &mut w)?;
        w.flush()
    }
}

/// Appends one record's line, newline included.
pub fn format_record(out: &mut String, rec: &Record) {
    use std::fmt::Write as _;
    // trace_print_context: trace_find_cmdline() then "%16s-%-7d ".
    let comm = task_comm(rec);
    pad_left(out, comm, 16);
    let _ = write!(out, "-{:<7} [{:03}] ", rec.pid, rec.cpu);
    let lat = lat_fmt(common_flags(&rec.flags), rec.flags.preempt_count);
    out.push_str(std::str::from_utf8(&lat).unwrap_or("....."));
    // trace_print_time: ns2usecs() rounds to the nearest µs, then " %5lu.%06lu".
    let us = (rec.ts + 500) / 1000;
    let _ = write!(out, " {:5}.{:06}: ", us / 1_000_000, us % 1_000_000);
    format_event(out, &rec.event);
}

/// The event part of a line after the timestamp's `": "`: `"<name>: <TP_printk>\n"`, or for
/// a trace_marker write `"tracing_mark_write: <buf>"` (`trace_print_print`: `%ps` of the ip,
/// then `": %s"` of the buffer, which `tracing_mark_write` ended with a `'\n'`).
pub fn format_event(out: &mut String, ev: &Event) {
    use std::fmt::Write as _;
    if let Event::Print { text } = ev {
        out.push_str("tracing_mark_write: ");
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        return;
    }
    // trace_raw_output_prep: "%s: " with the event's name.
    out.push_str(ev.name());
    out.push_str(": ");
    let _ = match ev {
        Event::Switch {
            prev_comm,
            prev_pid,
            prev_prio,
            prev_state,
            next_comm,
            next_pid,
            next_prio,
        } => {
            let _ = write!(
                out,
                "prev_comm={prev_comm} prev_pid={prev_pid} prev_prio={prev_prio} prev_state="
            );
            push_prev_state(out, *prev_state);
            write!(
                out,
                " ==> next_comm={next_comm} next_pid={next_pid} next_prio={next_prio}"
            )
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
            // DECLARE_EVENT_CLASS(sched_wakeup_template): "target_cpu=%03d".
            write!(
                out,
                "comm={comm} pid={pid} prio={prio} target_cpu={target_cpu:03}"
            )
        }
        Event::MigrateTask {
            comm,
            pid,
            prio,
            orig_cpu,
            dest_cpu,
        } => write!(
            out,
            "comm={comm} pid={pid} prio={prio} orig_cpu={orig_cpu} dest_cpu={dest_cpu}"
        ),
        Event::ProcessFork {
            parent_comm,
            parent_pid,
            child_comm,
            child_pid,
        } => write!(
            out,
            "comm={parent_comm} pid={parent_pid} child_comm={child_comm} child_pid={child_pid}"
        ),
        Event::ProcessExit {
            comm,
            pid,
            prio,
            group_dead,
        } => write!(
            out,
            "comm={comm} pid={pid} prio={prio} group_dead={}",
            if *group_dead { "true" } else { "false" }
        ),
        Event::ProcessFree { comm, pid, prio } => write!(out, "comm={comm} pid={pid} prio={prio}"),
        Event::PiSetprio {
            comm,
            pid,
            oldprio,
            newprio,
        } => write!(
            out,
            "comm={comm} pid={pid} oldprio={oldprio} newprio={newprio}"
        ),
        // DECLARE_EVENT_CLASS(x86_irq_vector): "vector=%d".
        Event::IrqEntry(v) => write!(out, "vector={}", v.vector()),
        Event::Print { .. } => unreachable!(),
    };
    out.push('\n');
}

/// `__print_flags` table of sched_switch's prev_state (TASK_REPORT bits, TASK_REPORT_MAX 0x100).
pub(crate) const PREV_STATE_FLAGS: [(u64, &str); 8] = [
    (0x01, "S"),
    (0x02, "D"),
    (0x04, "T"),
    (0x08, "t"),
    (0x10, "X"),
    (0x20, "Z"),
    (0x40, "P"),
    (0x80, "I"),
];

/// sched_switch's `prev_state=%s%s`: `(state & 0xff) ? __print_flags(state & 0xff, "|", …) :
/// "R"`, then `"+"` if `state & 0x100` (trace_print_flags_seq joins set bits with `|`).
pub fn push_prev_state(out: &mut String, state: u64) {
    let mut low = state & 0xff;
    if low == 0 {
        out.push('R');
    } else {
        let mut first = true;
        for (mask, name) in PREV_STATE_FLAGS {
            if low & mask == mask {
                if !first {
                    out.push('|');
                }
                out.push_str(name);
                first = false;
                low &= !mask;
            }
        }
    }
    if state & 0x100 != 0 {
        out.push('+');
    }
}

/// The TASK column's comm: `trace_find_cmdline` gives `<idle>` for pid 0, `<XXX>` for a
/// negative pid, `<...>` when the pid has no saved cmdline.
fn task_comm(rec: &Record) -> &str {
    if rec.pid == 0 {
        "<idle>"
    } else if rec.pid < 0 {
        "<XXX>"
    } else if rec.comm.as_str().is_empty() {
        "<...>"
    } else {
        rec.comm.as_str()
    }
}

/// C's `%<n>s`: right-aligned in `n` bytes (not chars).
fn pad_left(out: &mut String, s: &str, n: usize) {
    for _ in s.len()..n {
        out.push(' ');
    }
    out.push_str(s);
}

#[cfg(test)]
mod tests {
    use super::parse::parse_prev_state;
    use super::*;

    #[test]
    fn lat_fmt_matches_kernel_table() {
        assert_eq!(&lat_fmt(0x01, 2), b"d..2.");
        assert_eq!(&lat_fmt(0x01 | 0x04 | 0x20 | 0x10, 5), b"dNs5.");
        assert_eq!(&lat_fmt(0x01 | 0x04 | 0x20 | 0x08 | 0x10, 4), b"dNH4.");
        assert_eq!(&lat_fmt(0x04, 0), b".n...");
        assert_eq!(&lat_fmt(0x02, 0), b".l...");
        assert_eq!(&lat_fmt(0x02 | 0x20, 0), b".L...");
        assert_eq!(&lat_fmt(0x02 | 0x04, 0), b".b...");
        assert_eq!(&lat_fmt(0x02 | 0x04 | 0x20, 0), b".B...");
        assert_eq!(&lat_fmt(0x20, 0), b".p...");
        assert_eq!(&lat_fmt(0x81, 0x21), b"D..12");
        assert_eq!(&lat_fmt(0x80, 0xf0), b"b...f");
        assert_eq!(&lat_fmt(0x48, 0), b"..Z..");
        assert_eq!(&lat_fmt(0x40, 0), b"..z..");
    }

    #[test]
    fn prev_state_letters() {
        let s = |v| {
            let mut o = String::new();
            push_prev_state(&mut o, v);
            o
        };
        assert_eq!(s(0), "R");
        assert_eq!(s(0x100), "R+");
        assert_eq!(s(0x01), "S");
        assert_eq!(s(0x02), "D");
        assert_eq!(s(0x20), "Z");
        assert_eq!(s(0x80), "I");
        assert_eq!(s(0x03), "S|D");
        assert_eq!(s(0x101), "S+");
        for v in [0, 0x100, 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x03, 0x101] {
            assert_eq!(parse_prev_state(&s(v)), Some(v));
        }
    }

    #[test]
    fn timestamp_rounds_like_ns2usecs() {
        let mut r = parse_line(
            "          <idle>-0       [002] d..2.  1234.567890: sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=sh next_pid=160 next_prio=120",
        )
        .unwrap();
        let mut out = String::new();
        r.ts = 1_234_567_890_499;
        format_record(&mut out, &r);
        assert!(out.contains(" 1234.567890: "), "{out}");
        out.clear();
        r.ts = 1_234_567_890_500;
        format_record(&mut out, &r);
        assert!(out.contains(" 1234.567891: "), "{out}");
        out.clear();
        r.ts = 999_999_500;
        format_record(&mut out, &r);
        assert!(out.contains("[002] d..2.     1.000000: "), "{out}");
    }
}
