//! Helpers the writers share: the CPU check and the pid → comm table.

use std::collections::BTreeMap;
use std::io;

use schedsim_trace::{Comm, Event, Record};

/// Records may sit only on the first `nr_cpus` CPUs.
pub(crate) fn check_cpu(rec: &Record, nr_cpus: usize) -> io::Result<()> {
    if (rec.cpu as usize) < nr_cpus {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("records on CPU {} but nr_cpus is {nr_cpus}", rec.cpu),
    ))
}

/// Every pid > 0 with the comm the kernel's `saved_cmdlines` would end with: the last comm
/// it was current with (`tracing_record_cmdline` on its own events), or, for a task never
/// current, the last comm an event named it by. Fed the records in merged order.
#[derive(Default)]
pub(crate) struct TaskComms {
    named: BTreeMap<i32, Comm>,
    current: BTreeMap<i32, Comm>,
}

impl TaskComms {
    pub(crate) fn note(&mut self, rec: &Record) {
        if rec.pid > 0 {
            self.current.insert(rec.pid, rec.comm);
        }
        let mut name = |pid: i32, c: &Comm| {
            if pid > 0 {
                self.named.insert(pid, *c);
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
            Event::Print { .. } | Event::IrqEntry(_) => {}
        }
    }

    /// The table, sorted by pid (deterministic).
    pub(crate) fn table(&self) -> BTreeMap<i32, Comm> {
        let mut t = self.named.clone();
        t.extend(self.current.iter().map(|(&p, &c)| (p, c)));
        t
    }
}
