//! Helpers the binary writers share: input checks and the pid → comm table.

use std::collections::BTreeMap;
use std::io;

use schedsim_trace::{Comm, Event, TraceBuffers};

/// Records may sit only in the first `nr_cpus` buffers.
pub(crate) fn check_cpus(bufs: &TraceBuffers, nr_cpus: usize) -> io::Result<()> {
    match bufs
        .cpus
        .iter()
        .enumerate()
        .skip(nr_cpus)
        .find(|(_, b)| !b.is_empty())
    {
        Some((c, _)) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("records on CPU {c} but nr_cpus is {nr_cpus}"),
        )),
        None => Ok(()),
    }
}

/// Every pid > 0 with the comm the kernel's `saved_cmdlines` would end with: the last comm
/// it was current with (`tracing_record_cmdline` on its own events), or, for a task never
/// current, the last comm an event named it by. Sorted by pid (deterministic).
pub(crate) fn task_comms(bufs: &TraceBuffers) -> BTreeMap<i32, Comm> {
    let mut named: BTreeMap<i32, Comm> = BTreeMap::new();
    let mut current: BTreeMap<i32, Comm> = BTreeMap::new();
    for rec in bufs.merged() {
        if rec.pid > 0 {
            current.insert(rec.pid, rec.comm);
        }
        let mut name = |pid: i32, c: &Comm| {
            if pid > 0 {
                named.insert(pid, *c);
            }
        };
        match &rec.event {
            Event::Switch {
                prev_comm,
                prev_pid,
                next_comm,
                next_pid,
                ..
            } => {
                name(*prev_pid, prev_comm);
                name(*next_pid, next_comm);
            }
            Event::Waking { comm, pid, .. }
            | Event::Wakeup { comm, pid, .. }
            | Event::WakeupNew { comm, pid, .. }
            | Event::MigrateTask { comm, pid, .. }
            | Event::ProcessExit { comm, pid, .. }
            | Event::ProcessFree { comm, pid, .. }
            | Event::PiSetprio { comm, pid, .. } => name(*pid, comm),
            Event::ProcessFork {
                parent_comm,
                parent_pid,
                child_comm,
                child_pid,
            } => {
                name(*parent_pid, parent_comm);
                name(*child_pid, child_comm);
            }
            Event::Print { .. } => {}
        }
    }
    named.extend(current);
    named
}
