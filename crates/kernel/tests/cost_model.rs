//! The kernel path cost model (docs/cost-model.md): a reschedule reaches its CPU's switch
//! `resched_latency` later on a busy CPU, `idle_wake_latency` later on an idle one, and a
//! remote CPU only when the IPI lands (`ipi_latency`); with every cost 0 (the default)
//! decisions take effect at once. rt-app's `run` costs its loops at the machine's price.
//! Every run here has the invariant checker on.

mod common;

use common::*;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::{Dur, SchedAttr, Step};

fn machine(spec: &str) -> Config {
    Config::parse_machine(spec).expect("machine spec")
}

/// For every wakeup of `comm`: (CPU of its `sched_waking`, time from the waking to the
/// `sched_switch` that runs it, CPU of that switch).
fn wakeups(r: &SimResult, comm: &str) -> Vec<(u32, u64, u32)> {
    let mut pending = None;
    let mut out = Vec::new();
    for rec in r.sched.trace.merged() {
        match &rec.event {
            Event::Waking { comm: c, .. } if c.as_str() == comm => {
                pending.get_or_insert((rec.cpu, rec.ts));
            }
            Event::Switch { next_comm, .. } if next_comm.as_str() == comm => {
                if let Some((cpu, ts)) = pending.take() {
                    out.push((cpu, rec.ts - ts, rec.cpu));
                }
            }
            _ => {}
        }
    }
    out
}

/// More than `n` wakeups, each `d` from its waking to its switch.
fn all_take(w: &[(u32, u64, u32)], n: usize, d: u64) {
    assert!(w.len() > n && w.iter().all(|&(_, x, _)| x == d), "{w:?}");
}

/// An RT task sleeping 3 ms then running 1 ms, beside a fair hog on the same single CPU:
/// its timer interrupt wakes it on the busy CPU, and it preempts the hog.
fn sleeper_beside_hog(cfg: Config) -> SimResult {
    simulate_workload(sleeper_beside_hog_workload(), cfg, 200 * MS)
}

fn sleeper_beside_hog_workload() -> schedsim_workload::Workload {
    let p = spec(
        "p",
        fifo(10),
        0,
        forever(vec![
            Step::Sleep(Dur::Fixed(3 * MS)),
            Step::Run(Dur::Fixed(MS)),
        ]),
    );
    workload(vec![p, hog("h", 0, None)])
}

#[test]
fn without_costs_a_wakeup_preempts_at_once() {
    let r = sleeper_beside_hog(machine("cpus=1"));
    let w = wakeups(&r, "p");
    assert!(w.len() > 30, "{} wakeups", w.len());
    assert!(w.iter().all(|&(_, d, _)| d == 0), "{w:?}");
}

#[test]
fn a_local_wakeup_on_a_busy_cpu_switches_after_the_resched_path() {
    let r = sleeper_beside_hog(machine(
        "cpus=1,resched_latency=6us,idle_wake_latency=3us,ipi_latency=11us",
    ));
    let w = wakeups(&r, "p");
    assert!(w.len() > 30, "{} wakeups", w.len());
    // The timer interrupt's CPU is this CPU: no IPI, the busy CPU's path.
    assert!(w.iter().all(|&(_, d, _)| d == 6 * US), "{w:?}");
}

/// Ping-pong across two CPUs: each side wakes the other, which sleeps on an idle CPU.
fn pingpong(cfg: Config) -> SimResult {
    // Semaphore 0 wakes ping, 1 wakes pong.
    let ping = vec![
        Step::Run(Dur::Fixed(500 * US)),
        Step::SemPost(1),
        Step::SemWait(0),
    ];
    let pong = vec![
        Step::SemWait(1),
        Step::Run(Dur::Fixed(500 * US)),
        Step::SemPost(0),
    ];
    let side = |name: &str, cpu: u32, body| task(name, 0, Some(vec![cpu]), forever(body));
    let mut w = workload(vec![side("ping", 0, ping), side("pong", 1, pong)]);
    w.sems = ["a", "b"]
        .iter()
        .map(|n| schedsim_workload::SyncDecl {
            name: (*n).into(),
            initial: 0,
        })
        .collect();
    simulate_workload(w, cfg, 100 * MS)
}

#[test]
fn a_cross_cpu_wakeup_of_an_idle_cpu_takes_the_ipi_then_the_idle_exit() {
    let r = pingpong(machine(
        "cpus=2,resched_latency=6us,idle_wake_latency=3us,ipi_latency=11us",
    ));
    for comm in ["ping", "pong"] {
        let w = wakeups(&r, comm);
        assert!(w.len() > 50, "{comm}: {} wakeups", w.len());
        for &(from, d, on) in &w {
            assert_ne!(from, on, "{comm} is woken from the other CPU");
            assert_eq!(d, 14 * US, "{comm}: {w:?}");
        }
    }
    // Each round trip: two runs of 500 µs and two wakeups of 14 µs.
    let n = wakeups(&r, "pong").len() as u64;
    let expect = 100 * MS / (2 * (500 * US + 14 * US));
    assert!(
        n.abs_diff(expect) <= 1,
        "{n} round trips, expected {expect}"
    );
}

/// A cost drawn from a distribution: every wakeup takes its own time, the same ones
/// for the same `cost_seed`, whatever the workload's `--seed`.
#[test]
fn a_path_cost_distribution_draws_from_the_machines_own_stream() {
    let spec = "cpus=1,resched_latency=uniform(2us, 10us)";
    let lat = |spec: &str, seed: u64| {
        let opts = SimOptions {
            duration: Some(200 * MS),
            seed,
            trace: true,
            check: true,
        };
        let r = sim::run(sleeper_beside_hog_workload(), machine(spec), &opts, &mut ())
            .unwrap_or_else(|e| panic!("{}", e.message));
        wakeups(&r, "p")
            .iter()
            .map(|&(_, d, _)| d)
            .collect::<Vec<_>>()
    };
    let a = lat(spec, 1);
    assert!(a.len() > 30, "{} wakeups", a.len());
    assert!(a.iter().all(|&d| (2 * US..=10 * US).contains(&d)), "{a:?}");
    let distinct: std::collections::BTreeSet<_> = a.iter().collect();
    assert!(distinct.len() > 10, "the draws vary: {a:?}");
    assert_eq!(
        a,
        lat(spec, 2),
        "the workload's seed does not move the machine's draws"
    );
    let b = lat(&format!("{spec},cost_seed=5"), 1);
    assert_ne!(a, b, "another cost_seed, other draws");
}

/// rt-app's `run` is a loop count: `d / calibration` loops of the machine's loop cost.
#[test]
fn an_rtapp_run_costs_its_loops_at_the_machine_price() {
    let periodic = |w_cal: Option<u64>, spec: &str| {
        let p = task(
            "p",
            0,
            None,
            forever(vec![
                Step::Run(Dur::Fixed(2 * MS)),
                Step::Sleep(Dur::Fixed(8 * MS)),
            ]),
        );
        let mut w = workload(vec![p]);
        w.calibration_ns = w_cal;
        let r = simulate_workload(w, machine(spec), 100 * MS);
        let report = schedsim_kernel::report::Report::from_result(&r);
        let t = report.tasks.iter().find(|t| t.comm == "p").unwrap();
        t.cpu_time_ns
    };
    // 2 ms at 20 ns per loop = 100000 loops of 21.2 ns: 2.12 ms.
    let cpu = periodic(Some(20), "cpus=1,rtapp_loop=21.2ns");
    let activations = 100 * MS / (2_120 * US + 8 * MS) + 1;
    assert_eq!(cpu, activations * 2_120 * US);
    // Nominal time when the workload has no calibration or the machine no loop cost.
    let cpu = periodic(None, "cpus=1,rtapp_loop=21.2ns");
    assert_eq!(cpu, 10 * 2 * MS);
    let cpu = periodic(Some(20), "cpus=1");
    assert_eq!(cpu, 10 * 2 * MS);
}

#[test]
fn the_cost_keys_parse_and_bad_values_are_named() {
    let c = machine(
        "cpus=2,ipi_latency=11us,resched_latency=6us,idle_wake_latency=3us,rtapp_loop=21.2ns",
    );
    assert_eq!(
        (
            c.ipi_latency,
            c.resched_latency,
            c.idle_wake_latency,
            c.rtapp_loop_ps
        ),
        (
            Dur::Fixed(11_000),
            Dur::Fixed(6_000),
            Dur::Fixed(3_000),
            Some(21_200)
        )
    );
    // A distribution keeps its comma inside the comma-separated spec.
    let c = machine("cpus=2,resched_latency=lognormal(5.5us, 2.6us),cost_seed=7,hz=1000");
    assert_eq!(
        (c.resched_latency, c.cost_seed, c.hz),
        (
            Dur::LogNormal {
                mean: 5_500,
                stddev: 2_600
            },
            7,
            1000
        )
    );
    let e = Config::parse_machine("ipi_latency=lognormal(5us")
        .unwrap_err()
        .0;
    assert!(
        e.contains("ipi_latency") && e.contains("missing closing"),
        "{e}"
    );
    let e = Config::parse_machine("ipi_latency=gamma(5us, 1us)")
        .unwrap_err()
        .0;
    assert!(e.contains("ipi_latency") && e.contains("gamma"), "{e}");
    let e = Config::parse_machine("rtapp_loop=0ns").unwrap_err().0;
    assert!(
        e.contains("rtapp_loop=0ns") && e.contains("one loop"),
        "{e}"
    );
    let e = Config::parse_machine("resched_latency=soon").unwrap_err().0;
    assert!(
        e.contains("resched_latency=soon") && e.contains("duration"),
        "{e}"
    );
    // The two machine-state keys.
    let c = machine("cpus=2,vcpu_pack=15,newidle_ratio=175");
    assert_eq!((c.vcpu_pack, c.newidle_ratio), (15, Some(175)));
    let e = Config::parse_machine("newidle_ratio=2000").unwrap_err().0;
    assert!(
        e.contains("newidle_ratio=2000") && e.contains("0 to 1024"),
        "{e}"
    );
    let e = Config::parse_machine("vcpu_pack=16").unwrap_err().0;
    assert!(e.contains("vcpu_pack=16") && e.contains("0 to 15"), "{e}");
    // A CPU's own activation cost names a CPU of the machine.
    let c = machine("cpus=2,idle_timer_activate=2us;1:6us");
    assert_eq!(
        (c.idle_timer_activate, c.idle_timer_activate_cpus),
        (Some(Dur::Fixed(2_000)), vec![(1, Dur::Fixed(6_000))])
    );
    let e = Config::parse_machine("cpus=2,idle_timer_activate=2us;2:6us")
        .unwrap_err()
        .0;
    assert!(
        e.contains("idle_timer_activate") && e.contains("CPU 2"),
        "{e}"
    );
    let e = Config::parse_machine("cpus=2,idle_timer_activate=2us;6us")
        .unwrap_err()
        .0;
    assert!(e.contains("CPU:COST"), "{e}");
}

/// rt-app's main thread ends the run when it marks the shutdown, even when its wakeup
/// path puts that past the workload's duration.
#[test]
fn the_run_ends_at_the_launchers_shutdown() {
    let mut w = workload(vec![hog("h", 0, None)]);
    w.duration = Some(50 * MS);
    w.ftrace_markers.main = true;
    let opts = schedsim_kernel::sim::SimOptions {
        duration: None,
        seed: 1,
        trace: true,
        check: true,
    };
    let cfg = machine("cpus=1,resched_latency=6us,idle_wake_latency=3us");
    let r = schedsim_kernel::sim::run(w, cfg, &opts, &mut ()).expect("runs");
    let shutdown = r
        .sched
        .trace
        .merged()
        .into_iter()
        .find_map(|rec| match &rec.event {
            Event::Print { text } if text == "rtapp_main: event=shutdown" => Some(rec.ts),
            _ => None,
        });
    // The launcher started 3 µs in (idle exit), slept 50 ms and its 50 µs timer slack,
    // and preempted the hog 6 µs after its timer; the run ends there.
    assert_eq!(shutdown, Some(50 * MS + 3 * US + 50 * US + 6 * US));
    assert_eq!(r.end, 50 * MS + 59 * US);
}

/// The sleep timer slack (`timer_slack_ns`, 50 µs): a SCHED_OTHER sleep ends at its hard
/// expiry 50 µs late, or at a tick of its busy CPU that comes first; an RT sleep has none.
#[test]
fn a_fair_sleep_ends_with_its_timer_slack_an_rt_one_on_time() {
    let first_wake = |attr: SchedAttr, sleep: u64, with_hog: bool| -> u64 {
        let p = spec(
            "p",
            attr,
            0,
            vec![Step::Sleep(Dur::Fixed(sleep)), Step::Run(Dur::Fixed(MS))],
        );
        let mut tasks = vec![p];
        if with_hog {
            tasks.push(hog("h", 0, None));
        }
        let r = simulate_cfg(tasks, machine("cpus=1"), 20 * MS);
        r.sched
            .trace
            .merged()
            .into_iter()
            .find_map(|rec| match &rec.event {
                Event::Waking { comm, .. } if comm.as_str() == "p" => Some(rec.ts),
                _ => None,
            })
            .expect("p wakes")
    };
    let fair = SchedAttr::default();
    assert_eq!(first_wake(fair, 3 * MS, false), 3 * MS + 50 * US);
    assert_eq!(first_wake(fifo(10), 3 * MS, false), 3 * MS);
    // Beside a hog the CPU's tick runs: the tick at 4 ms comes inside [3.98, 4.03] ms.
    assert_eq!(first_wake(fair, 3_980 * US, true), 4 * MS);
    assert_eq!(first_wake(fair, 3_900 * US, true), 3_950 * US);
    let slackless = machine("cpus=1,timer_slack=0");
    assert_eq!(slackless.timer_slack_ns, 0);
}

#[test]
fn the_tick_grid_sits_tick_phase_before_the_start() {
    // Two nice-0 hogs on one CPU: each runs past its 0.7 ms slice, so every tick switches.
    let run = |spec: &str| {
        let cfg = machine(spec);
        let r = simulate_cfg(vec![hog("a", 0, None), hog("b", 0, None)], cfg, 20 * MS);
        preempted(&r, None)
    };
    assert_eq!(
        run("cpus=1"),
        vec![4 * MS, 8 * MS, 12 * MS, 16 * MS, 20 * MS]
    );
    // The last tick was 1 ms before the start: the next ones are 3 ms, 7 ms... in.
    assert_eq!(
        run("cpus=1,tick_phase=1ms"),
        vec![3 * MS, 7 * MS, 11 * MS, 15 * MS, 19 * MS]
    );
}

#[test]
fn a_tick_phase_of_a_tick_or_more_is_refused() {
    let e = Config::parse_machine("tick_phase=4ms").unwrap_err().0;
    assert!(
        e.contains("tick_phase=4ms") && e.contains("less than one tick"),
        "{e}"
    );
    // Checked again when HZ shrinks the tick under it, whatever the order of the keys.
    let e = Config::parse_machine("tick_phase=2ms,hz=1000")
        .unwrap_err()
        .0;
    assert!(e.contains("hz=1000") && e.contains("tick_phase"), "{e}");
    assert_eq!(machine("hz=1000,tick_phase=0.5ms").tick_phase_ns, 500 * US);
}

/// The balancer's keys are checked like the others: the key and the rule in the message.
#[test]
fn bad_balance_keys_are_refused_naming_the_key() {
    for (spec, rule) in [
        ("tick_stale_jiffies=2", "a fraction from 0 to 1"),
        ("tick_stale_jiffies=often", "a fraction from 0 to 1"),
        ("balance_softirq=lognormal(bad)", "balance_softirq"),
        ("balance_softirq=fast", "a duration or a distribution"),
    ] {
        let e = Config::parse_machine(spec).unwrap_err().0;
        assert!(e.contains(spec) && e.contains(rule), "{spec}: {e}");
    }
}

/// rt-app's `lock_pages`: an RT thread's `mlockall` takes the machine's `mlock_cost` per
/// thread of the process before its first loop, on the CPU it starts on; a distribution is
/// drawn once per call.
#[test]
fn mlockall_costs_the_machine_price_per_thread() {
    let first_run = |m: &str| {
        let rt = spec(
            "rt",
            fifo(10),
            0,
            vec![Step::Mlockall, Step::Run(Dur::Fixed(MS))],
        );
        let r = simulate_cfg(vec![rt, hog("h", 0, None)], machine(m), 50 * MS);
        let pid = r
            .sched
            .tasks
            .iter()
            .find(|t| t.comm.as_str() == "rt")
            .unwrap()
            .pid;
        // It exits after its run: mlockall then 1 ms of work.
        r.sched
            .trace
            .merged()
            .into_iter()
            .find(|rec| matches!(rec.event, Event::ProcessExit { pid: p, .. } if p == pid))
            .map(|rec| rec.ts)
            .unwrap()
    };
    assert_eq!(first_run("cpus=2"), MS);
    // Two threads in the process: 2 × 5 ms, then the run.
    assert_eq!(first_run("cpus=2,mlock_cost=5ms"), 11 * MS);
    // A distribution: one draw of the per-thread price per call, times the threads (so the
    // set-up is twice one draw, an even number of ns), from the machine's cost stream.
    let drawn: Vec<u64> = (0..5)
        .map(|seed| {
            first_run(&format!(
                "cpus=2,mlock_cost=uniform(4ms, 6ms),cost_seed={seed}"
            ))
        })
        .collect();
    for &t in &drawn {
        assert!((9 * MS..=13 * MS).contains(&t), "{drawn:?}");
        assert_eq!((t - MS) % 2, 0, "{drawn:?}");
    }
    assert!(drawn.windows(2).any(|w| w[0] != w[1]), "{drawn:?}");
    assert_eq!(
        first_run("cpus=2,mlock_cost=uniform(4ms, 6ms),cost_seed=3"),
        drawn[3]
    );
}

/// After a post that wakes a thread on its own CPU, the waker runs `wake_return` (its
/// syscall's return and the path to its next call) before it blocks and the wakee runs.
/// Both are SCHED_BATCH, so no wakeup preempts the waker.
#[test]
fn a_waker_runs_its_wake_return_before_it_blocks() {
    let handoff = |m: &str| {
        let waker = vec![
            Step::Run(Dur::Fixed(MS)),
            Step::SemPost(0),
            Step::SemWait(1),
        ];
        let wakee = vec![
            Step::SemWait(0),
            Step::Run(Dur::Fixed(MS)),
            Step::SemPost(1),
        ];
        let batch = SchedAttr {
            policy: schedsim_workload::Policy::Batch,
            ..SchedAttr::default()
        };
        let mut w = workload(vec![
            spec("waker", batch, MS, forever(waker)),
            spec("wakee", batch, 0, forever(wakee)),
        ]);
        w.sems = ["s0", "s1"]
            .iter()
            .map(|n| schedsim_workload::SyncDecl {
                name: (*n).into(),
                initial: 0,
            })
            .collect();
        let r = simulate_workload(w, machine(m), 100 * MS);
        wakeups(&r, "wakee")
    };
    let w = handoff("cpus=1");
    all_take(&w, 30, 0);
    let w = handoff("cpus=1,wake_return=5us");
    all_take(&w, 30, 5 * US);
}

/// A timer interrupt that wakes a task on its idle CPU costs `idle_timer_latency` to the
/// switch (the handler reprograms the clockevent; the tick restarts on the way out);
/// without that key, `idle_wake_latency` as for the wakelist IPI's handler.
#[test]
fn a_timer_wakeup_on_an_idle_cpu_takes_the_idle_timer_path() {
    let sleeper = || {
        spec(
            "p",
            fifo(10),
            0,
            forever(vec![
                Step::Sleep(Dur::Fixed(3 * MS)),
                Step::Run(Dur::Fixed(MS)),
            ]),
        )
    };
    let lat = |m: &str| {
        let r = simulate_cfg(vec![sleeper()], machine(m), 100 * MS);
        wakeups(&r, "p")
    };
    let w = lat("cpus=1,idle_wake_latency=3us,idle_timer_latency=8us");
    all_take(&w, 20, 8 * US);
    let w = lat("cpus=1,idle_wake_latency=3us");
    all_take(&w, 20, 3 * US);
}

/// The wakeup's own path in a timer interrupt on an idle CPU (`idle_timer_activate`): the
/// task is activated (`sched_wakeup`) that long after its `sched_waking`, then the idle
/// exit (`idle_timer_latency`) runs it; a CPU may have its own cost (`;CPU:COST`).
#[test]
fn a_timer_wakeup_on_an_idle_cpu_activates_after_its_own_path() {
    let sleeper = |cpu: u32| {
        task(
            &format!("p{cpu}"),
            0,
            Some(vec![cpu]),
            forever(vec![
                Step::Sleep(Dur::Fixed(3 * MS)),
                Step::Run(Dur::Fixed(MS)),
            ]),
        )
    };
    let m = "cpus=2,idle_timer_latency=8us,idle_timer_activate=2us;1:6us";
    let r = simulate_cfg(vec![sleeper(0), sleeper(1)], machine(m), 100 * MS);
    for (comm, activate) in [("p0", 2 * US), ("p1", 6 * US)] {
        let mut waking = None;
        let mut gaps = Vec::new();
        for rec in r.sched.trace.merged() {
            match &rec.event {
                Event::Waking { comm: c, .. } if c.as_str() == comm => waking = Some(rec.ts),
                Event::Wakeup { comm: c, .. } if c.as_str() == comm => {
                    gaps.push(rec.ts - waking.take().expect("a waking first"));
                }
                _ => {}
            }
        }
        assert!(
            gaps.len() > 20 && gaps.iter().all(|&g| g == activate),
            "{comm}: {gaps:?}"
        );
        all_take(&wakeups(&r, comm), 20, activate + 8 * US);
    }
}

/// An IPI to a CPU idle for at least `deep_idle_after` also takes `deep_idle_ipi` (the
/// VM's host wakes the halted vCPU); one to a CPU idle for less, `ipi_latency` alone.
#[test]
fn an_ipi_to_a_long_idle_cpu_takes_the_deep_idle_path() {
    let lat = |m: &str| {
        let poster = vec![Step::Sleep(Dur::Fixed(5 * MS)), Step::SemPost(0)];
        let waiter = vec![Step::SemWait(0), Step::Run(Dur::Fixed(100 * US))];
        let mut w = workload(vec![
            task("poster", 0, Some(vec![0]), forever(poster)),
            task("waiter", 0, Some(vec![1]), forever(waiter)),
        ]);
        w.sems = vec![schedsim_workload::SyncDecl {
            name: "s".into(),
            initial: 0,
        }];
        let r = simulate_workload(w, machine(m), 100 * MS);
        wakeups(&r, "waiter")
    };
    // The waiter's CPU has been idle ~4.9 ms at each wakeup.
    let w = lat("cpus=2,ipi_latency=10us,deep_idle_after=1ms,deep_idle_ipi=20us");
    all_take(&w, 10, 30 * US);
    let w = lat("cpus=2,ipi_latency=10us,deep_idle_after=10ms,deep_idle_ipi=20us");
    all_take(&w, 10, 10 * US);
    // Steps: the cost of the last step the idle time reached (4.9 ms: the 4 ms one).
    let steps = "cpus=2,ipi_latency=10us,deep_idle_after=1ms,deep_idle_ipi=5us;4ms:20us;16ms:40us";
    all_take(&lat(steps), 10, 30 * US);
    let steps = "cpus=2,ipi_latency=10us,deep_idle_after=1ms,deep_idle_ipi=5us;8ms:20us";
    all_take(&lat(steps), 10, 15 * US);
    for (bad, why) in [
        ("deep_idle_after=1ms,deep_idle_ipi=5us;4ms", "IDLE:COST"),
        (
            "deep_idle_after=1ms,deep_idle_ipi=5us;8ms:20us;4ms:30us",
            "must grow",
        ),
        (
            "deep_idle_after=5ms,deep_idle_ipi=5us;4ms:20us",
            "not after `deep_idle_after`",
        ),
        ("deep_idle_ipi=0us;4ms:20us", "needs `deep_idle_after`"),
    ] {
        let e = Config::parse_machine(bad).unwrap_err().0;
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn a_deep_idle_ipi_without_its_threshold_is_refused() {
    let e = Config::parse_machine("deep_idle_ipi=20us").unwrap_err().0;
    assert!(
        e.contains("deep_idle_ipi") && e.contains("deep_idle_after"),
        "{e}"
    );
    // In either order, with its threshold.
    let c = machine("deep_idle_ipi=20us,deep_idle_after=1ms");
    assert_eq!(
        (c.deep_idle_after, c.deep_idle_ipi),
        (Some(MS), Dur::Fixed(20 * US))
    );
}

/// The launcher starts on the machine's `launcher_cpu` and forks from there: with vCPU
/// packing a forked thread stays on its parent's CPU while it has room.
#[test]
fn the_launcher_starts_on_launcher_cpu() {
    let first_fork_cpu = |spec: &str| {
        let r = simulate_cfg(vec![hog("a", 0, None)], machine(spec), 5 * MS);
        let launcher = trace_find(&r, |rec| match &rec.event {
            Event::ProcessFork { .. } => Some(rec.cpu),
            _ => None,
        });
        let child = trace_find(&r, |rec| match &rec.event {
            Event::WakeupNew {
                comm, target_cpu, ..
            } if comm.as_str() == "a" => Some(*target_cpu),
            _ => None,
        });
        (launcher.first().copied(), child.first().copied())
    };
    assert_eq!(first_fork_cpu("cpus=4,vcpu_pack=8"), (Some(0), Some(0)));
    assert_eq!(
        first_fork_cpu("cpus=4,vcpu_pack=8,launcher_cpu=3"),
        (Some(3), Some(3))
    );
    let e = Config::parse_machine("launcher_cpu=2").unwrap_err().0;
    assert!(
        e.contains("launcher_cpu=2") && e.contains("CPUs 0 to 1"),
        "{e}"
    );
    // Checked once every key is read: `cpus` may come after it.
    assert_eq!(machine("launcher_cpu=5,cpus=8").launcher_cpu, 5);
}

/// The machine's daemon (`daemon_period`, `daemon_run`): a fair thread of the root task
/// group (the workload's are in their session's autogroup) and a pid under the workload's, that sleeps its period, runs, and sleeps again; the
/// report leaves it out.
#[test]
fn the_daemon_wakes_every_period_and_stays_out_of_the_report() {
    let spec = "cpus=2,daemon_period=50ms,daemon_run=20us";
    let r = simulate_cfg(vec![hog("a", 0, Some(vec![0]))], machine(spec), 1000 * MS);
    let daemon = r.user.daemon.expect("a daemon");
    let d = r.sched.task(daemon);
    assert_eq!((d.comm.as_str(), d.pid), ("daemon", 999));
    assert!(task_named(&r, "a").pid >= 1000);
    assert_eq!(
        d.sched_task_group,
        schedsim_kernel::class::fair::group::ROOT_TG
    );
    assert_ne!(d.sched_task_group, task_named(&r, "a").sched_task_group);
    // Switch-ins of the daemon, each followed by 20 µs of running.
    let ins = trace_find(&r, |rec| match &rec.event {
        Event::Switch { next_pid, .. } if *next_pid == 999 => Some(rec.ts),
        _ => None,
    });
    // The start (a random part of the period), then every 50 ms plus the run, the timer
    // slack and the wakeup.
    assert!((20..=21).contains(&ins.len()), "{ins:?}");
    for w in ins[1..].windows(2) {
        let gap = w[1] - w[0];
        assert!((50_020 * US..50_100 * US).contains(&gap), "{gap}");
    }
    let report = schedsim_kernel::report::Report::from_result(&r);
    assert!(report.tasks.iter().all(|t| t.comm != "daemon"));
    // Reported apart: its runs and their CPU time.
    let d = report.daemon.as_ref().expect("the daemon's line");
    assert_eq!((d.pid, d.runs), (999, ins.len() as u64));
    // 20 µs a run, the last one perhaps cut by the end.
    assert!((20 * US * (d.runs - 1)..=20 * US * d.runs).contains(&d.cpu_time_ns));
    assert!(report
        .summary()
        .contains("the machine's daemon daemon[999] ran"));
    // Off, or with no key: no daemon.
    let r = simulate_cfg(vec![hog("a", 0, None)], machine("cpus=2"), 10 * MS);
    assert!(r.user.daemon.is_none());
    assert!(machine("refvm,daemon_period=off").daemon_period.is_none());
    // Refused, naming the key; a run with no period would be ignored, so it is refused too.
    for (bad, key) in [
        ("daemon_period=0", "daemon_period"),
        ("daemon_period=soon", "daemon_period"),
        ("daemon_run=lognormal(1us)", "daemon_run"),
        ("daemon_run=20us", "daemon_run"),
        ("refvm,daemon_period=off,daemon_run=20us", "daemon_run"),
    ] {
        let e = Config::parse_machine(bad).unwrap_err().0;
        assert!(e.contains(key), "{bad}: {e}");
    }
}

/// The periodic balance's pull comes `balance_softirq` after the tick (its softirq's way
/// to `detach_tasks`), while the source CPU's own tick switches its running hog out one
/// resched path after the tick: three hogs on two CPUs, and every pull takes place 15 µs
/// after a tick, from a CPU whose switch 5 µs after that tick put the pulled hog back
/// on its queue (cache hot, so it goes only once balancing there has failed past
/// `cache_nice_tries`), unless that CPU was balancing at the same tick itself.
#[test]
fn a_tick_pull_comes_after_the_source_cpus_tick_switch() {
    // With a free resched path too: the switch at the tick itself.
    for resched in [5, 0] {
        tick_pulls_after_the_switch(resched);
    }
}

fn tick_pulls_after_the_switch(resched_us: u64) {
    let cfg = machine(&format!(
        "cpus=2,hz=250,resched_latency={resched_us}us,balance_softirq=15us"
    ));
    let r = simulate_cfg(
        vec![hog("a", 0, None), hog("b", 0, None), hog("c", 0, None)],
        cfg,
        3000 * MS,
    );
    let tick = 4 * MS;
    let mut last_switch_out = [None, None];
    let (mut pulls, mut hot) = (0, 0);
    for rec in r.sched.trace.merged() {
        match &rec.event {
            Event::Switch { prev_comm, .. } => {
                last_switch_out[rec.cpu as usize] = Some((rec.ts, prev_comm.as_str().to_string()))
            }
            Event::MigrateTask {
                comm,
                orig_cpu,
                dest_cpu,
                ..
            } if *orig_cpu != *dest_cpu => {
                pulls += 1;
                assert_eq!(rec.ts % tick, 15 * US, "pull of {comm} at {}", rec.ts);
                let at_tick = rec.ts - 15 * US;
                if last_switch_out[*orig_cpu as usize]
                    == Some((at_tick + resched_us * US, comm.as_str().to_string()))
                {
                    hot += 1;
                }
            }
            _ => {}
        }
    }
    assert!(pulls >= 15, "{pulls} pulls");
    assert!(
        hot * 10 >= pulls * 8,
        "{hot} of {pulls} pulls took the task just switched out"
    );
}

/// `tick_phase` as a distribution: one draw per run from the machine's `cost_seed`,
/// modulo one tick; the same seed gives the same phase, another seed another one.
#[test]
fn a_drawn_tick_phase_is_one_draw_per_cost_seed() {
    let phase = |seed: u64| {
        let cfg = machine(&format!(
            "cpus=1,hz=250,tick_phase=normal(2.85ms, 0.65ms),cost_seed={seed}"
        ));
        schedsim_kernel::sched::Sched::new(cfg, false)
            .cfg
            .tick_phase_ns
    };
    let all: Vec<u64> = (0..20).map(phase).collect();
    assert!(all.iter().all(|&p| p < 4 * MS), "{all:?}");
    assert_eq!(phase(3), phase(3));
    let mut distinct = all.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 15, "{all:?}");
    let mean = all.iter().sum::<u64>() / 20;
    assert!(mean.abs_diff(2850 * US) < 600 * US, "{mean}");
    // A fixed phase is taken as is, and a bad one refused with the key.
    let fixed = machine("cpus=1,hz=250,tick_phase=1ms");
    assert_eq!(
        schedsim_kernel::sched::Sched::new(fixed, false)
            .cfg
            .tick_phase_ns,
        MS
    );
    let e = Config::parse_machine("cpus=1,tick_phase=normal(bad)").unwrap_err();
    assert!(e.to_string().contains("tick_phase"), "{e}");
}
