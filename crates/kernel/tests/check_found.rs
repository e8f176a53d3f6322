//! States the invariant checker found that the simulator should not reach, kept as
//! reproducers (ignored until fixed).

mod common;
use common::*;
use schedsim_kernel::check::dl::rule;
use schedsim_kernel::sim::{self, SimError, SimOptions};
use schedsim_kernel::Config;

/// A SCHED_DEADLINE task (148 µs every 592 µs) that leaves the class at the end of each
/// 444 µs burst (`policy normal`) and comes back (`policy deadline`) before its deadline,
/// beside a SCHED_FIFO task. Leaving throttles it (the charge at DEQUEUE_SAVE exhausts the
/// budget), then `switched_from` clears `dl_throttled` and cancels the replenishment timer
/// but keeps the negative runtime; coming back (ENQUEUE_RESTORE, deadline not yet passed)
/// queues it unthrottled with that runtime (QUEUED_RUNTIME fires there, at 5.159 ms). No
/// refill ever happens, so every round overruns by another burst: runtime would reach
/// -4.1 ms (more than a tick, RUNTIME_MIN) at 144.58 ms.
/// The kernel leaves the timer to replenish (`dl_task_timer`) and keeps `dl_throttled`
/// through the class change, so such a task is not run on an exhausted budget.
#[test]
fn dl_reentry_before_the_deadline_keeps_the_overrun() {
    let text = r#"
[[task]]
name = "t0"
program = [{loop = "forever", do = ["policy fifo 1", "sleep 10us", "run 345us", "run 10us"]}]
[[task]]
name = "t1"
delay = "50us"
program = [{loop = "forever", do = ["policy normal", "policy deadline 148us 592us 592us", "run 444us"]}]
"#;
    let w = schedsim_workload::parse_toml("reentry.toml", text).unwrap();
    let cfg = Config::parse_machine("cpus=1,hz=250,preempt=none,nohz=0").unwrap();
    let opts = SimOptions {
        duration: Some(300 * MS),
        seed: 1,
        trace: false,
        check: true,
    };
    match sim::try_run(w, cfg, &opts, &mut ()) {
        Err(SimError::Check(c)) => panic!("{c}\n(rule {})", rule::QUEUED_RUNTIME),
        Err(SimError::User(e)) => panic!("{}", e.message),
        Ok(_) => {}
    }
}
