//! The launcher's output reader (machine key `reader_run`): the process that started the
//! workload waits in `read` on the pipe from rt-app's standard error; each line rt-app
//! prints (its main thread's `pLoad` and `thread_data_set_unique_name` lines, each thread's
//! "starting thread", "Starting with ... policy", "Locking pages", "Exiting") wakes it, or
//! waits in the pipe while it runs, and each read costs it `reader_run`.

mod common;

use schedsim_kernel::report::Report;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::rtapp::{output, parse_rtapp};
use schedsim_workload::Step;

const US: u64 = 1_000;

fn run(json: &str, machine: &str) -> SimResult {
    let w = parse_rtapp("t.json", json).expect("imports");
    let cfg = Config::parse_machine(machine).expect("machine");
    common::simulate_workload(w, cfg, 20_000 * US)
}

/// Two threads of one 1 ms run each: the main thread prints "configuring ftrace" before
/// its start, then 3 lines (pLoad, and a name before each thread it creates), each thread 3
/// ("starting thread", "Starting with", "Exiting"): 10 writes.
const TWO: &str = r#"{ "global": { "ftrace": "main,task" },
    "tasks": { "t": { "instance": 2, "loop": 1, "run": 1000 } } }"#;

#[test]
fn each_line_rt_app_prints_is_read_by_the_reader() {
    // Fork packing keeps the launcher on its parent's (the reader's) CPU.
    let r = run(TWO, "cpus=4,vcpu_pack=8,reader_run=10us,rtapp_create=100us");
    let reader = r.user.reader.expect("a reader");
    let t = r.sched.task(reader);
    assert_eq!((t.comm.as_str(), t.pid), ("reader", 998));
    // It is in the launcher's session: its autogroup.
    let launcher = r.sched.task(r.user.launcher.unwrap());
    assert_eq!(t.sched_task_group, launcher.sched_task_group);
    // Its wakeups, and each of its runs (switch-in to switch-out). In the first it reads
    // the line printed before the start, before the launcher runs.
    let wakeups = common::trace_find(&r, |rec| match &rec.event {
        Event::Wakeup { pid: 998, .. } => Some(rec.ts),
        _ => None,
    });
    let mut ins = Vec::new();
    let runs: Vec<u64> = common::trace_find(&r, |rec| match &rec.event {
        Event::Switch { next_pid: 998, .. } => {
            ins.push(rec.ts);
            None
        }
        Event::Switch { prev_pid: 998, .. } => Some(rec.ts - ins.last().unwrap()),
        _ => None,
    });
    assert_eq!(runs[0], 10 * US, "{runs:?}");
    let marker = common::trace_find(&r, |rec| match &rec.event {
        Event::Print { text } if text.starts_with("rtapp_main: event=start") => Some(rec.ts),
        _ => None,
    });
    assert_eq!(marker, vec![10 * US]);
    // The launcher's first line wakes it (it does not preempt the launcher: both start
    // with no lag, and the launcher's deadline is the nearer); the next ones wait in the
    // pipe until it runs, when the launcher sleeps. The threads' lines wake it again.
    assert_eq!(wakeups[0], 10 * US, "{wakeups:?}");
    assert!(
        wakeups.len() < 9,
        "lines written before it ran are read without a wakeup"
    );
    // Each read is 10 µs; a line that came while it ran makes one more read, so the CPU
    // time is 10 µs a read, between one read a wakeup (and the first) and one a line.
    let cpu: u64 = runs.iter().sum();
    assert_eq!(cpu % (10 * US), 0, "{runs:?}");
    let reads = cpu / (10 * US);
    assert!(
        (wakeups.len() as u64 + 2..=10).contains(&reads),
        "{reads} reads, {} wakeups",
        wakeups.len()
    );
    // Not a task of the workload: reported apart.
    let report = Report::from_result(&r);
    assert!(report.tasks.iter().all(|t| t.comm != "reader"));
    let line = report.reader.as_ref().expect("the reader's line");
    // Its runs: its start, then one a wakeup.
    let runs = wakeups.len() as u64 + 1;
    assert_eq!((line.pid, line.runs, line.cpu_time_ns), (998, runs, cpu));
    assert!(report
        .summary()
        .contains("the launcher's output reader reader[998] ran"));
}

#[test]
fn without_a_reader_or_without_lines_nothing_wakes() {
    // No reader: the lines are written, nobody reads them, and nothing else changes: the
    // trace is that of the same workload without its printed lines.
    let machine = "cpus=4,rtapp_create=100us,wake_return=5us";
    let plain = run(TWO, machine);
    assert!(plain.user.reader.is_none());
    let mut silent = parse_rtapp("t.json", TWO).expect("imports");
    silent.launcher_output = Default::default();
    for t in &mut silent.tasks {
        t.program
            .retain(|s| *s != Step::Marker(output::MARKER.into()));
    }
    let silent =
        common::simulate_workload(silent, Config::parse_machine(machine).unwrap(), 20_000 * US);
    let records = |r: &SimResult| common::trace_find(r, |rec| Some(rec.clone()));
    assert!(!records(&plain).is_empty());
    assert_eq!(records(&plain), records(&silent));
    assert!(Config::parse_machine("cpus=2,reader_run=off")
        .unwrap()
        .reader_run
        .is_none());
    // A TOML workload prints nothing: the reader blocks at once and stays there.
    let w =
        schedsim_workload::parse_toml("t.toml", "[[task]]\nname = \"a\"\nrun = \"1ms\"\n").unwrap();
    let cfg = Config::parse_machine("cpus=2,reader_run=10us").unwrap();
    let r = common::simulate_workload(w, cfg, 10_000 * US);
    let report = Report::from_result(&r);
    let line = report.reader.as_ref().expect("a reader");
    // Its start only.
    assert_eq!((line.runs, line.cpu_time_ns), (1, 0));
    // A bad cost names the key.
    let e = Config::parse_machine("reader_run=soon").unwrap_err().0;
    assert!(e.contains("reader_run"), "{e}");
}
