//! A record's ring-buffer payload: the 8-byte `struct trace_entry` header
//! (`tracing_generic_entry_update`) followed by the event's `trace_event_raw_<event>` fields at
//! the offsets of formats.rs, little-endian, comms NUL-padded to 16 bytes (`__array(char,
//! comm, TASK_COMM_LEN)` filled by `memcpy`/`strscpy`).

use schedsim_trace::{Comm, Event, Record};

use super::formats::{event_id, MARK_WRITE_IP};
use crate::ftrace::common_flags;

/// Longest `print` text that keeps the record within one 4080-byte page data area
/// (8-byte length-word header + 16-byte entry head + text + `'\n'` + NUL).
pub(crate) const MAX_PRINT_TEXT: usize = 4080 - 8 - 16 - 2;

fn comm(out: &mut Vec<u8>, c: &Comm) {
    out.extend_from_slice(&c.raw());
}

fn i32le(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends the payload of `rec` to `out` (unpadded: the struct's `sizeof`, or for `print`
/// `16 + strlen(buf) + 1` as `tracing_mark_write` reserves it).
pub(crate) fn encode(rec: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(&event_id(&rec.event).to_le_bytes());
    out.push(common_flags(&rec.flags));
    out.push(rec.flags.preempt_count);
    i32le(out, rec.pid);
    match &rec.event {
        Event::Switch {
            prev_comm,
            prev_pid,
            prev_prio,
            prev_state,
            next_comm,
            next_pid,
            next_prio,
        } => {
            comm(out, prev_comm);
            i32le(out, *prev_pid);
            i32le(out, *prev_prio);
            out.extend_from_slice(&prev_state.to_le_bytes());
            comm(out, next_comm);
            i32le(out, *next_pid);
            i32le(out, *next_prio);
        }
        Event::Waking {
            comm: c,
            pid,
            prio,
            target_cpu,
        }
        | Event::Wakeup {
            comm: c,
            pid,
            prio,
            target_cpu,
        }
        | Event::WakeupNew {
            comm: c,
            pid,
            prio,
            target_cpu,
        } => {
            comm(out, c);
            i32le(out, *pid);
            i32le(out, *prio);
            i32le(out, *target_cpu as i32);
        }
        Event::MigrateTask {
            comm: c,
            pid,
            prio,
            orig_cpu,
            dest_cpu,
        } => {
            comm(out, c);
            i32le(out, *pid);
            i32le(out, *prio);
            i32le(out, *orig_cpu as i32);
            i32le(out, *dest_cpu as i32);
        }
        Event::ProcessFork {
            parent_comm,
            parent_pid,
            child_comm,
            child_pid,
        } => {
            comm(out, parent_comm);
            i32le(out, *parent_pid);
            comm(out, child_comm);
            i32le(out, *child_pid);
        }
        Event::ProcessExit {
            comm: c,
            pid,
            prio,
            group_dead,
        } => {
            comm(out, c);
            i32le(out, *pid);
            i32le(out, *prio);
            out.push(*group_dead as u8);
            out.extend_from_slice(&[0; 3]); // sizeof(struct trace_event_raw_sched_process_exit) = 36
        }
        Event::ProcessFree { comm: c, pid, prio } => {
            comm(out, c);
            i32le(out, *pid);
            i32le(out, *prio);
        }
        Event::PiSetprio {
            comm: c,
            pid,
            oldprio,
            newprio,
        } => {
            comm(out, c);
            i32le(out, *pid);
            i32le(out, *oldprio);
            i32le(out, *newprio);
        }
        // struct trace_event_raw_x86_irq_vector: int vector.
        Event::IrqEntry(v) => i32le(out, v.vector() as i32),
        Event::Print { text } => {
            // tracing_mark_write: ip = _THIS_IP_, buf = text, '\n' appended if missing, NUL.
            out.extend_from_slice(&MARK_WRITE_IP.to_le_bytes());
            let mut t = text.as_bytes();
            if t.len() > MAX_PRINT_TEXT {
                let mut end = MAX_PRINT_TEXT;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                t = &t[..end];
            }
            out.extend_from_slice(t);
            if t.last() != Some(&b'\n') {
                out.push(b'\n');
            }
            out.push(0);
        }
    }
}
