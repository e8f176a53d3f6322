//! Synthetic traces for the writer tests, and helpers to find the optional outside tools.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use schedsim_trace::{state, Comm, Event, IrqVector, RecFlags, Record, TraceBuffers};

pub const MS: u64 = 1_000_000;
pub const US: u64 = 1_000;
pub const SEC: u64 = 1_000_000_000;

/// RecFlags from the five characters of the text format (`d`, `N`/`l`/`B`, `h`/`s`/`H`, digits).
pub fn fl(s: &str) -> RecFlags {
    let c: Vec<char> = s.chars().collect();
    let hex = |ch: char| ch.to_digit(16).unwrap_or(0) as u8;
    RecFlags {
        irqs_off: c[0] == 'd',
        need_resched: matches!(c[1], 'N' | 'B'),
        need_resched_lazy: matches!(c[1], 'l' | 'B'),
        hardirq: matches!(c[2], 'h' | 'H'),
        softirq: matches!(c[2], 's' | 'H'),
        preempt_count: hex(c[3]) | hex(c[4]) << 4,
    }
}

#[derive(Clone, Copy)]
pub struct Task {
    pub pid: i32,
    pub comm: Comm,
    pub prio: i32,
}

pub fn task(pid: i32, comm: &str, prio: i32) -> Task {
    Task {
        pid,
        comm: Comm::new(comm),
        prio,
    }
}

/// Builds per-CPU buffers, keeping each CPU's current task so every record's common pid and
/// comm are those of the task running there, as in the kernel.
pub struct Builder {
    pub bufs: TraceBuffers,
    pub cur: Vec<Task>,
}

impl Builder {
    pub fn new(nr_cpus: usize) -> Builder {
        Builder {
            bufs: TraceBuffers::new(nr_cpus, true),
            cur: (0..nr_cpus)
                .map(|c| task(0, &format!("swapper/{c}"), 120))
                .collect(),
        }
    }

    pub fn rec(&mut self, cpu: u32, ts: u64, flags: &str, event: Event) {
        let t = self.cur[cpu as usize];
        self.bufs.push(Record {
            ts,
            cpu,
            pid: t.pid,
            comm: t.comm,
            flags: fl(flags),
            event,
        });
    }

    pub fn switch(&mut self, cpu: u32, ts: u64, next: Task, prev_state: u64) {
        let p = self.cur[cpu as usize];
        self.rec(
            cpu,
            ts,
            "d..2.",
            Event::Switch {
                prev_comm: p.comm,
                prev_pid: p.pid,
                prev_prio: p.prio,
                prev_state,
                next_comm: next.comm,
                next_pid: next.pid,
                next_prio: next.prio,
            },
        );
        self.cur[cpu as usize] = next;
    }

    pub fn idle(&self, cpu: u32) -> Task {
        task(0, &format!("swapper/{cpu}"), 120)
    }

    pub fn waking(&mut self, cpu: u32, ts: u64, flags: &str, t: Task, target_cpu: u32) {
        self.rec(
            cpu,
            ts,
            flags,
            Event::Waking {
                comm: t.comm,
                pid: t.pid,
                prio: t.prio,
                target_cpu,
            },
        );
    }

    pub fn wakeup(&mut self, cpu: u32, ts: u64, flags: &str, t: Task, target_cpu: u32) {
        self.rec(
            cpu,
            ts,
            flags,
            Event::Wakeup {
                comm: t.comm,
                pid: t.pid,
                prio: t.prio,
                target_cpu,
            },
        );
    }

    pub fn print(&mut self, cpu: u32, ts: u64, text: &str) {
        self.rec(
            cpu,
            ts,
            ".....",
            Event::Print {
                text: text.to_string(),
            },
        );
    }
}

/// The analyze.py scenario (2 CPUs). Window = clock_ref 1.000 s .. shutdown 1.096 s.
/// CPU0: t-0 and t-1 alternate 4 ms slices from 1.000 (preempted, `R+`): 12 full slices
/// each, share 0.5 each. CPU1: w-0 woken from idle (hardirq) every 10 ms from 1.002, switched
/// in 50 µs later, runs 1 ms, sleeps (`S`): 10 slices, share 10/96, wakeup latency 50 µs;
/// one sched_migrate_task 0 → 1 before its 6th wakeup.
pub fn analyze_scenario() -> Builder {
    let mut b = Builder::new(2);
    let t0 = task(101, "t-0", 120);
    let t1 = task(102, "t-1", 120);
    let w0 = task(201, "w-0", 120);
    let base = SEC;
    b.print(0, base, "rtapp_main: event=clock_ref data=1000000");
    b.switch(0, base, t0, state::RUNNING);
    for k in 1..=24u64 {
        let next = if k % 2 == 0 { t0 } else { t1 };
        b.switch(0, base + 4 * MS * k, next, state::PREEMPTED);
    }
    b.print(0, base + 96 * MS, "rtapp_main: event=shutdown");
    b.switch(0, base + 100 * MS, b.idle(0), state::INTERRUPTIBLE);

    for k in 0..10u64 {
        let at = base + 2 * MS + 10 * MS * k;
        if k == 5 {
            b.rec(
                1,
                at - 2 * US,
                "d.h4.",
                Event::MigrateTask {
                    comm: w0.comm,
                    pid: w0.pid,
                    prio: w0.prio,
                    orig_cpu: 0,
                    dest_cpu: 1,
                },
            );
        }
        b.waking(1, at, "d.h4.", w0, 1);
        b.wakeup(1, at + 3 * US, "dNh4.", w0, 1);
        b.switch(1, at + 50 * US, w0, state::RUNNING);
        let idle = b.idle(1);
        b.switch(1, at + 1050 * US, idle, state::INTERRUPTIBLE);
    }
    b
}

/// Every event type, several pages on CPU0, sub-µs timestamps, gaps of 0.5 s (TIME_EXTEND), a
/// print longer than 112 bytes (length-word records), comms with spaces and '-', an RT prio,
/// and an empty CPU2 (3 CPUs).
pub fn full_trace() -> Builder {
    let mut b = analyze_scenario();
    b.bufs.cpus.push(Vec::new());
    b.cur.push(task(0, "swapper/2", 120));
    let t0 = task(101, "t-0", 120);
    let t1 = task(102, "t-1", 120);
    let sh = task(300, "sh", 120);
    let kid = task(301, "Web Content-1", 120);
    // Half a second later (gap > 2^27 ns on both CPUs).
    let mut ts = 2 * SEC + 123;
    b.switch(0, ts, sh, state::RUNNING);
    ts += 7 * US + 1;
    b.rec(
        0,
        ts,
        ".....",
        Event::ProcessFork {
            parent_comm: sh.comm,
            parent_pid: sh.pid,
            child_comm: sh.comm,
            child_pid: kid.pid,
        },
    );
    ts += 4 * US;
    b.rec(
        0,
        ts,
        "d..2.",
        Event::WakeupNew {
            comm: sh.comm,
            pid: kid.pid,
            prio: 120,
            target_cpu: 0,
        },
    );
    ts += 500;
    b.rec(
        0,
        ts,
        "d..2.",
        Event::PiSetprio {
            comm: sh.comm,
            pid: sh.pid,
            oldprio: 120,
            newprio: 89,
        },
    );
    ts += 20 * US + 499;
    b.switch(0, ts, kid, state::UNINTERRUPTIBLE);
    ts += 2 * US;
    b.print(
        0,
        ts,
        &format!("rtapp_task: long marker {}", "x".repeat(150)),
    );
    // A burst of 400 switches 10 µs apart: several 4 KiB pages.
    let mut prev = kid;
    for k in 0..400u64 {
        ts += 10 * US + (k % 7);
        let next = if k % 2 == 0 { t0 } else { t1 };
        let st = if prev.pid == kid.pid {
            state::RUNNING
        } else {
            state::PREEMPTED
        };
        b.switch(0, ts, next, st);
        prev = next;
    }
    ts += 3 * US;
    b.rec(
        0,
        ts,
        "dN.5.",
        Event::Wakeup {
            comm: kid.comm,
            pid: kid.pid,
            prio: 120,
            target_cpu: 0,
        },
    );
    ts += 3 * US;
    b.switch(0, ts, kid, state::PREEMPTED);
    ts += 5 * US;
    b.rec(
        0,
        ts,
        ".....",
        Event::ProcessExit {
            comm: kid.comm,
            pid: kid.pid,
            prio: 120,
            group_dead: true,
        },
    );
    ts += 5 * US;
    b.switch(0, ts, sh, state::EXIT_ZOMBIE);
    ts += 1;
    b.rec(
        0,
        ts,
        ".....",
        Event::ProcessExit {
            comm: sh.comm,
            pid: sh.pid,
            prio: 89,
            group_dead: false,
        },
    );
    ts += 1;
    let idle = b.idle(0);
    b.switch(0, ts, idle, state::EXIT_DEAD);
    // CPU1, half a second after its last record; RT task with idle/parked states.
    let rt = task(400, "fifo-0", 9);
    let mut ts1 = 2 * SEC + 600 * MS;
    // The x86 irq_vectors entries (an idle CPU's interrupts).
    for (k, v) in IrqVector::ALL.into_iter().enumerate() {
        b.rec(1, ts1 - 3 * US + k as u64, "d.h..", Event::IrqEntry(v));
    }
    b.waking(1, ts1, "dNs5.", rt, 1);
    ts1 += US;
    b.switch(1, ts1, rt, state::RUNNING);
    ts1 += 300 * MS; // > 2^27 ns
    b.switch(1, ts1, b.idle(1), state::IDLE);
    ts1 += MS;
    b.rec(
        1,
        ts1,
        "..s1.",
        Event::ProcessFree {
            comm: kid.comm,
            pid: kid.pid,
            prio: 120,
        },
    );
    ts1 += 1;
    b.rec(
        1,
        ts1,
        ".Ns1.",
        Event::ProcessFree {
            comm: sh.comm,
            pid: sh.pid,
            prio: 120,
        },
    );
    b
}

fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SCHEDSIM_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}

/// A file under ../shared (beside the repository), if present.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    shared_dir().map(|d| d.join(rel)).filter(|p| p.is_file())
}

/// Whether `cmd args` runs and exits 0.
pub fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("schedsim-output-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The names in `dir`, sorted.
pub fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Removes a scratch directory unless SCHEDSIM_KEEP_TEST_OUTPUT is set (to inspect files).
pub fn cleanup(dir: PathBuf) {
    if std::env::var_os("SCHEDSIM_KEEP_TEST_OUTPUT").is_none() {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
}
