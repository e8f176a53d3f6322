//! What the machine's tracing records besides the sched events, and what it loses:
//! `irq_events` adds the x86 interrupt entries (`local_timer_entry` at every tick and timer
//! expiry, `call_function_single_entry` where a wakelist IPI or an async unthrottle lands,
//! `reschedule_entry` where a remote `resched_curr`'s IPI lands), and `untraced_idle` drops
//! what a CPU's idle task records outside an interrupt (on the reference VM, CPU 1's
//! switches from idle), without changing a single scheduling decision.

mod common;

use common::*;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::{Event, IrqVector, Record};
use schedsim_workload::{Dur, Step};

fn machine(spec: &str) -> Config {
    Config::parse_machine(spec).expect("machine spec")
}

/// A sleeper pinned to CPU 1 (woken by its timer on an idle CPU), and a poster on CPU 0
/// that wakes a waiter on CPU 1 (a wakelist IPI to an idle CPU) or a busy one.
fn scenario(spec: &str) -> SimResult {
    let sleeper = vec![Step::Sleep(Dur::Fixed(3 * MS)), Step::Run(Dur::Fixed(MS))];
    let poster = vec![Step::Sleep(Dur::Fixed(5 * MS)), Step::SemPost(0)];
    let waiter = vec![Step::SemWait(0), Step::Run(Dur::Fixed(100 * US))];
    let mut w = workload(vec![
        task("sleeper", 0, Some(vec![1]), forever(sleeper)),
        task("poster", 0, Some(vec![0]), forever(poster)),
        task("waiter", 0, Some(vec![1]), forever(waiter)),
    ]);
    w.sems = vec![schedsim_workload::SyncDecl {
        name: "s".into(),
        initial: 0,
    }];
    simulate_workload(w, machine(spec), 200 * MS)
}

const COSTS: &str = "cpus=2,hz=250,ipi_latency=10us,resched_latency=5us,idle_wake_latency=3us";

fn records(r: &SimResult) -> Vec<Record> {
    r.sched.trace.merged().into_iter().cloned().collect()
}

fn irqs(r: &SimResult, v: IrqVector) -> Vec<(u32, u64)> {
    trace_find(r, |rec| {
        (rec.event == Event::IrqEntry(v)).then_some((rec.cpu, rec.ts))
    })
}

#[test]
fn interrupt_entries_mark_ticks_timers_and_ipis() {
    let r = scenario(&format!("{COSTS},irq_events=on"));
    let recs = records(&r);
    // Every entry is in hardirq context with interrupts off.
    for rec in recs
        .iter()
        .filter(|r| matches!(r.event, Event::IrqEntry(_)))
    {
        assert!(rec.flags.hardirq && rec.flags.irqs_off, "{rec:?}");
    }
    // A timer wakeup comes out of a local_timer_entry on its CPU at the same instant.
    let timers = irqs(&r, IrqVector::LocalTimer);
    let wakings: Vec<_> = recs
        .iter()
        .filter(|r| r.flags.hardirq)
        .filter_map(|r| match &r.event {
            Event::Waking { comm, .. } if comm.as_str() == "sleeper" => Some((r.cpu, r.ts)),
            _ => None,
        })
        .collect();
    assert!(wakings.len() > 30);
    assert!(wakings.iter().all(|w| timers.contains(w)), "{wakings:?}");
    // The ticks are there too: 50 a CPU in 200 ms at HZ=250, less an idle CPU's.
    assert!(timers.len() > 50 + wakings.len(), "{}", timers.len());
    // The waiter's wakeups on its idle CPU are activated in the wakelist IPI's handler.
    let csd = irqs(&r, IrqVector::CallFunctionSingle);
    let ipi_wakeups: Vec<_> = recs
        .iter()
        .filter_map(|r| match &r.event {
            Event::Wakeup { comm, .. } if comm.as_str() == "waiter" && r.cpu == 1 => {
                Some((r.cpu, r.ts))
            }
            _ => None,
        })
        .collect();
    assert!(!ipi_wakeups.is_empty());
    assert!(
        ipi_wakeups.iter().all(|w| csd.contains(w)),
        "{ipi_wakeups:?} {csd:?}"
    );
    assert_eq!(
        csd.len(),
        ipi_wakeups.len(),
        "one IPI per wakelist wakeup here"
    );
    // One entry per vector per CPU per instant.
    let mut seen = timers.clone();
    seen.dedup();
    assert_eq!(seen.len(), timers.len());
    // Off: none.
    let r = scenario(COSTS);
    assert!(trace_find(&r, |rec| matches!(rec.event, Event::IrqEntry(_))
        .then_some(()))
    .is_empty());
}

#[test]
fn a_remote_resched_is_a_reschedule_ipi() {
    // The waiter (woken by the poster on CPU 0) preempts nothing on an idle CPU, but a
    // hog beside it on CPU 1 is preempted from CPU 0 when the waiter wakes there.
    let poster = vec![Step::Sleep(Dur::Fixed(5 * MS)), Step::SemPost(0)];
    let waiter = vec![Step::SemWait(0), Step::Run(Dur::Fixed(100 * US))];
    let mut w = workload(vec![
        task("poster", 0, Some(vec![0]), forever(poster)),
        spec("waiter", fifo(10), 0, forever(waiter)),
        hog("hog", 0, Some(vec![1])),
    ]);
    w.tasks[1].affinity = Some(vec![1]);
    w.sems = vec![schedsim_workload::SyncDecl {
        name: "s".into(),
        initial: 0,
    }];
    let r = simulate_workload(w, machine(&format!("{COSTS},irq_events=on")), 100 * MS);
    let resched = irqs(&r, IrqVector::Reschedule);
    assert!(resched.len() > 10, "{resched:?}");
    assert!(resched.iter().all(|&(cpu, _)| cpu == 1));
    // Each lands ipi_latency after the waking on CPU 0, and the switch follows it.
    let wakings = trace_find(&r, |rec| match &rec.event {
        Event::Waking { comm, .. } if comm.as_str() == "waiter" => Some(rec.ts),
        _ => None,
    });
    for &(_, at) in resched.iter().filter(|&&(_, at)| at > wakings[0]) {
        assert!(wakings.contains(&(at - 10 * US)), "{at} {wakings:?}");
    }
}

#[test]
fn an_untraced_idle_cpu_loses_only_its_idle_tasks_own_records() {
    let spec = format!("{COSTS},irq_events=on");
    let full = scenario(&spec);
    let lossy = scenario(&format!("{spec},untraced_idle=1"));
    let kept =
        |rec: &Record| rec.cpu != 1 || rec.pid != 0 || rec.flags.hardirq || rec.flags.softirq;
    let want: Vec<_> = records(&full).into_iter().filter(kept).collect();
    let got = records(&lossy);
    assert!(got.len() < records(&full).len(), "something was lost");
    // The same schedule, minus exactly those records.
    assert_eq!(got, want);
    // What is lost is CPU 1's switches from idle; its switches to idle stay.
    let from_idle = |r: &SimResult, cpu: u32| {
        trace_find(r, |rec| match &rec.event {
            Event::Switch { prev_pid: 0, .. } if rec.cpu == cpu => Some(()),
            _ => None,
        })
        .len()
    };
    assert_eq!(from_idle(&lossy, 1), 0);
    assert!(from_idle(&full, 1) > 30);
    assert_eq!(from_idle(&lossy, 0), from_idle(&full, 0));
    // The report comes from the simulation, not the trace: the same.
    assert_eq!(
        schedsim_kernel::report::Report::from_result(&full).tasks,
        schedsim_kernel::report::Report::from_result(&lossy).tasks
    );
}

#[test]
fn untraced_idle_names_a_cpu_of_the_machine() {
    let e = Config::parse_machine("cpus=2,untraced_idle=2")
        .unwrap_err()
        .0;
    assert!(e.contains("untraced_idle") && e.contains("CPU 2"), "{e}");
    let e = Config::parse_machine("cpus=2,untraced_idle=x")
        .unwrap_err()
        .0;
    assert!(
        e.contains("untraced_idle=x") && e.contains("joined by `+`"),
        "{e}"
    );
    assert_eq!(
        machine("cpus=4,untraced_idle=1+3").untraced_idle,
        vec![1, 3]
    );
    assert!(machine("cpus=2,untraced_idle=off").untraced_idle.is_empty());
    let e = Config::parse_machine("cpus=2,irq_events=maybe")
        .unwrap_err()
        .0;
    assert!(e.contains("irq_events") && e.contains("on or off"), "{e}");
}
