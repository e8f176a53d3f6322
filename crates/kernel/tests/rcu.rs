//! The RCU grace-period kthread (core/rcu.rs, machine key `rcu_gp_run`): an exit queues a
//! callback; the next tick starts a grace period by waking `rcu_preempt`; the grace period
//! ends when every busy CPU has passed two ticks (it notices, then reports), and that tick
//! wakes the kthread again, which starts the next one if exits came meanwhile. It sleeps in
//! TASK_IDLE (`prev_state=I`) and is in the trace, not in the report's task table.

mod common;

use common::*;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::{state, Event};

const TICK: u64 = 4 * MS;

fn run(program: &str, machine: &str, duration: u64) -> SimResult {
    let text = format!(
        r#"
[[task]]
name = "server"
affinity = [0]
program = {program}

[[task]]
name = "worker"
template = true
affinity = [1]
program = ["run 3ms", "exit"]

[[task]]
name = "hog"
affinity = [0]
program = ["run 1s"]
"#
    );
    let w = schedsim_workload::parse_toml("rcu.toml", &text).expect("valid workload");
    let cfg = Config::parse_machine(machine).expect("machine");
    simulate_workload(w, cfg, duration)
}

/// (time, cpu) of every wakeup of the kthread, and its switch-outs' states.
fn kthread(r: &SimResult) -> (Vec<(u64, u32)>, Vec<u64>) {
    let wakings = trace_find(r, |rec| match &rec.event {
        Event::Waking { comm, .. } if comm.as_str() == "rcu_preempt" => Some((rec.ts, rec.cpu)),
        _ => None,
    });
    let sleeps = trace_find(r, |rec| match &rec.event {
        Event::Switch {
            prev_comm,
            prev_state,
            ..
        } if prev_comm.as_str() == "rcu_preempt" => Some(*prev_state),
        _ => None,
    });
    (wakings, sleeps)
}

const MACHINE: &str = "cpus=2,hz=250,rcu_gp_run=5us,irq_events=on";

#[test]
fn a_stream_of_exits_wakes_the_kthread_every_second_tick() {
    // A worker forked every 5 ms exits 3 ms later: callbacks keep coming.
    let r = run(
        r#"["fork worker", "run 100us", "sleep 5ms"]"#,
        MACHINE,
        200 * MS,
    );
    let (wakings, sleeps) = kthread(&r);
    // The first exit is at ~3 ms; the tick after starts the first grace period.
    assert_eq!(wakings[0].0, TICK, "{wakings:?}");
    // Then one wakeup per grace period, from a tick: two ticks after the last, or one
    // when the last ended with no callback waiting and an exit came just after.
    assert!(wakings.len() >= 200 / 8 - 1, "{wakings:?}");
    assert!(wakings.iter().all(|&(t, _)| t % TICK == 0), "{wakings:?}");
    let gaps: Vec<u64> = wakings
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) / TICK)
        .collect();
    assert!(gaps.iter().all(|&g| g == 1 || g == 2), "{gaps:?}");
    assert!(
        gaps.iter().filter(|&&g| g == 2).count() > gaps.len() / 2,
        "{gaps:?}"
    );
    // It sleeps in TASK_IDLE each time, after its 5 µs.
    assert_eq!(sleeps.len(), wakings.len());
    assert!(sleeps.iter().all(|&s| s == state::IDLE), "{sleeps:?}");
    let rcu = r.sched.rcu.kthread.expect("the machine has the kthread");
    assert_eq!(r.sched.task(rcu).pid, 15);
    assert_eq!(
        r.sched.task_stats[rcu.0 as usize].cpu_time,
        5 * US * wakings.len() as u64
    );
    // Each wakeup ends a grace period, but one that starts the first after a pause.
    assert!(r.sched.rcu.completed as usize >= wakings.len() / 2);
    // Not a task of the workload.
    let report = schedsim_kernel::report::Report::from_result(&r);
    assert!(report.tasks.iter().all(|t| t.comm != "rcu_preempt"));
}

#[test]
fn one_exit_is_one_grace_period_woken_at_its_start_and_end() {
    let r = run(r#"["fork worker", "sleep 1s"]"#, MACHINE, 100 * MS);
    let (wakings, _) = kthread(&r);
    let times: Vec<u64> = wakings.iter().map(|&(t, _)| t).collect();
    // Exit at ~3 ms; start at the 4 ms tick; the busy CPU 0 notices at 8 ms and reports
    // at 12 ms (CPU 1 is idle, quiet): the end wakes it at 12 ms. Nothing after.
    assert_eq!(times, vec![TICK, 3 * TICK]);
    assert_eq!(r.sched.rcu.completed, 1);
}

#[test]
fn without_exits_or_without_the_key_there_is_no_grace_period() {
    let (wakings, _) = kthread(&run(r#"["run 1ms", "sleep 5ms"]"#, MACHINE, 100 * MS));
    assert!(wakings.is_empty());
    let r = run(
        r#"["fork worker", "run 100us", "sleep 5ms"]"#,
        "cpus=2",
        100 * MS,
    );
    assert!(r.sched.rcu.kthread.is_none());
    assert!(r
        .sched
        .tasks
        .iter()
        .all(|t| t.comm.as_str() != "rcu_preempt"));
    let e = Config::parse_machine("rcu_gp_run=soon").unwrap_err().0;
    assert!(e.contains("rcu_gp_run=soon"), "{e}");
}

#[test]
fn a_cpu_with_callbacks_keeps_its_tick_when_it_goes_idle() {
    // No hog: once the worker has exited every CPU is idle, and NO_HZ would stop their
    // ticks; the exit's CPU keeps ticking (rcu_needs_cpu) until its callback is done.
    let text = r#"
[[task]]
name = "server"
affinity = [0]
program = ["fork worker", "sleep 1s"]

[[task]]
name = "worker"
template = true
affinity = [1]
program = ["run 3ms", "exit"]
"#;
    let w = schedsim_workload::parse_toml("rcu.toml", text).expect("valid workload");
    let r = simulate_workload(w, Config::parse_machine(MACHINE).unwrap(), 100 * MS);
    let (wakings, _) = kthread(&r);
    // Started at CPU 1's first tick after the exit, ended at its next (all idle, quiet).
    let times: Vec<u64> = wakings.iter().map(|&(t, _)| t).collect();
    assert_eq!(times, vec![TICK, 2 * TICK]);
    assert_eq!(r.sched.rcu.completed, 1);
    // Then CPU 1's tick stops again: no tick interrupt on it for the rest of the run.
    let ticks_after = trace_find(&r, |rec| {
        (rec.cpu == 1 && rec.ts > 3 * TICK && matches!(rec.event, Event::IrqEntry(_)))
            .then_some(rec.ts)
    });
    assert!(ticks_after.is_empty(), "{ticks_after:?}");
}

#[test]
fn an_exit_whose_callbacks_chain_needs_grace_periods_in_a_row() {
    // rcu_exit_gps=3: the exit's callback frees what needs the next grace period, twice.
    // Start at the 4 ms tick, then each end starts the next: wakeups at 4, 12, 20 and 28 ms.
    let m = format!("{MACHINE},rcu_exit_gps=3");
    let r = run(r#"["fork worker", "sleep 1s"]"#, &m, 100 * MS);
    let (wakings, _) = kthread(&r);
    let times: Vec<u64> = wakings.iter().map(|&(t, _)| t).collect();
    assert_eq!(times, vec![TICK, 3 * TICK, 5 * TICK, 7 * TICK]);
    assert_eq!(r.sched.rcu.completed, 3);
    let e = Config::parse_machine("rcu_exit_gps=0").unwrap_err().0;
    assert!(e.contains("rcu_exit_gps=0") && e.contains("1 to 16"), "{e}");
}
