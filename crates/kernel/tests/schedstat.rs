//! The balancing metrics of the report and `/proc/schedstat` (docs/metrics.md): the
//! schedstat counters are kept where the kernel keeps them, so they add up as the kernel's
//! do; migrations are split by cause; wasted idle is idle time beside a waiting task.

mod common;

use common::*;
use schedsim_kernel::report::Report;
use schedsim_kernel::schedstat::proc_schedstat;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_workload::{Dur, Step};

fn machine(spec: &str) -> Config {
    Config::parse_machine(spec).expect("machine spec")
}

/// Three hogs on two CPUs: every pass is balanced, failed or moved tasks; every task
/// moved by balancing is some CPU's `lb_gained` and its `balance` migration; the text
/// has the kernel's version 17 layout.
#[test]
fn balance_counters_add_up_as_the_kernels_do() {
    let r = simulate_cfg(
        vec![hog("a", 0, None), hog("b", 0, None), hog("c", 0, None)],
        machine("cpus=2,hz=250"),
        3000 * MS,
    );
    let rep = Report::from_result(&r);
    let mut gained = 0;
    for c in &rep.cpus {
        let d = &c.schedstat.domains[0];
        assert_eq!(d.name, "MC");
        for i in 0..3 {
            let st = &d.stat;
            let moved_passes = st.lb_count[i] - st.lb_balanced[i] - st.lb_failed[i];
            assert!(moved_passes <= st.lb_gained[i], "cpu{} {st:?}", c.cpu);
            assert!(st.lb_hot_gained[i] <= st.lb_gained[i]);
            assert!(st.lb_nobusyg[i] + st.lb_nobusyq[i] <= st.lb_balanced[i]);
        }
        gained += d.stat.moved();
        assert_eq!(c.balance.moved, d.stat.moved());
        assert!(c.balance.imbalanced > 0 && c.balance.attempts > c.balance.imbalanced);
        assert!(c.schedstat.rq.sched_count >= c.nr_switches);
        assert_eq!(c.schedstat.rq_cpu_time, c.busy_ns);
    }
    let by_balance: u64 = rep
        .tasks
        .iter()
        .map(|t| t.migrations_by_cause.balance)
        .sum();
    let all: u64 = rep.tasks.iter().map(|t| t.nr_migrations).sum();
    assert!(gained >= 15, "{gained}");
    assert_eq!(gained, by_balance);
    assert_eq!(
        all, by_balance,
        "hogs never sleep: only balancing moves them"
    );
    // Waiting hogs are pulled at the third pass, once hotness no longer holds them.
    let hot: u64 = rep
        .cpus
        .iter()
        .map(|c| c.schedstat.domains[0].stat.lb_hot_gained[0])
        .sum();
    assert!(hot > 0);
    let text = proc_schedstat(&rep.cpus, 750);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "version 17");
    assert_eq!(lines[1], "timestamp 750");
    assert_eq!(lines.len(), 2 + 2 * 2);
    assert_eq!(lines[2].split(' ').count(), 10);
    let dom: Vec<&str> = lines[3].split(' ').collect();
    assert_eq!(&dom[..3], &["domain0", "MC", "3"]);
    assert_eq!(dom.len(), 3 + 3 * 11 + 12);
}

/// The wakeup counters: the waking CPU counts each wakeup, local or not; one woken onto
/// another CPU counts in the waking CPU's lowest domain that spans both.
#[test]
fn wakeup_counters_follow_the_waking_cpu() {
    let sleeper = |name: &str, cpu: u32| {
        task(
            name,
            0,
            Some(vec![cpu]),
            forever(vec![
                Step::Run(Dur::Fixed(MS)),
                Step::Sleep(Dur::Fixed(3 * MS)),
            ]),
        )
    };
    let r = simulate_cfg(
        vec![sleeper("s0", 0), sleeper("s1", 1)],
        machine("cpus=2,hz=250"),
        1000 * MS,
    );
    let rep = Report::from_result(&r);
    for c in &rep.cpus {
        let rq = &c.schedstat.rq;
        let remote = c.schedstat.domains[0].stat.ttwu_wake_remote;
        assert!(rq.ttwu_count >= 200, "{rq:?}");
        assert_eq!(rq.ttwu_count, rq.ttwu_local + remote);
        // The sleepers' timers fire on their own CPUs.
        assert!(rq.ttwu_local * 10 > rq.ttwu_count * 9, "{rq:?}");
        assert!(rq.sched_goidle > 0);
    }
}

/// Two hogs pinned to CPU 0 and nothing on CPU 1: CPU 1 idles beside a waiting task the
/// whole run. Two unpinned hogs spread at once: no waste past the start.
#[test]
fn wasted_idle_is_idle_time_beside_a_waiting_task() {
    let pinned = |n: &str| hog(n, 0, Some(vec![0]));
    let r = simulate_cfg(
        vec![pinned("a"), pinned("b")],
        machine("cpus=2,hz=250"),
        1000 * MS,
    );
    let rep = Report::from_result(&r);
    assert!(rep.cpus[1].wasted_idle_ns > 990 * MS, "{:?}", rep.cpus[1]);
    assert_eq!(rep.cpus[0].wasted_idle_ns, 0);
    let r = simulate_cfg(
        vec![hog("a", 0, None), hog("b", 0, None)],
        machine("cpus=2,hz=250"),
        1000 * MS,
    );
    let rep = Report::from_result(&r);
    assert!(
        rep.cpus.iter().all(|c| c.wasted_idle_ns < MS),
        "{:?}",
        rep.cpus
    );
}

/// Everything pinned to CPU 0 (a hog and a sleeper, whose sleeps begin as delayed
/// dequeues while the hog runs): CPU 1's wasted idle is exactly the time a task of CPU 0
/// waited runnable, the two tasks' run delays, and not the time a delayed sleeper sat
/// queued.
#[test]
fn wasted_idle_counts_runnable_waiters_not_delayed_sleepers() {
    let sleeper = task(
        "s",
        0,
        Some(vec![0]),
        forever(vec![
            Step::Run(Dur::Fixed(MS)),
            Step::Sleep(Dur::Fixed(3 * MS)),
        ]),
    );
    let r = simulate_cfg(
        vec![hog("h", 0, Some(vec![0])), sleeper],
        machine("cpus=2,hz=250"),
        1000 * MS,
    );
    let sleeps = r
        .sched
        .trace
        .merged()
        .iter()
        .filter(|rec| {
            matches!(&rec.event, schedsim_trace::Event::Switch { prev_comm, prev_state, .. }
            if prev_comm.as_str() == "s" && *prev_state != 0)
        })
        .count();
    assert!(sleeps > 100, "{sleeps} sleeps");
    let rep = Report::from_result(&r);
    let waited: u64 = rep
        .tasks
        .iter()
        .filter(|t| t.comm == "h" || t.comm == "s")
        .map(|t| t.run_delay_ns)
        .sum();
    let wasted = rep.cpus[1].wasted_idle_ns;
    assert!(
        wasted.abs_diff(waited) < MS,
        "wasted {wasted}, run delays {waited}"
    );
    assert!(wasted < 500 * MS, "{wasted}");
}

/// A task whose affinity moves it counts as an affinity migration, one woken elsewhere by
/// placement as a wakeup migration.
#[test]
fn migrations_are_split_by_cause() {
    let mover = task(
        "m",
        0,
        Some(vec![0]),
        vec![
            Step::Run(Dur::Fixed(5 * MS)),
            Step::SetAffinity(Some(vec![1])),
            Step::Run(Dur::Fixed(5 * MS)),
        ],
    );
    let r = simulate_cfg(vec![mover], machine("cpus=2,hz=250"), 50 * MS);
    let rep = Report::from_result(&r);
    let m = rep.tasks.iter().find(|t| t.comm == "m").expect("m");
    assert_eq!(m.nr_migrations, 1);
    // It changed its own affinity: the stopper found it asleep on the completion and set
    // its wake_cpu, and its wakeup moved it, for its affinity.
    assert_eq!(m.migrations_by_cause.affinity, 1);
    // A sleeper starts on the idle CPU 1; once a hog pinned there arrives, its next
    // wakeup places it on the idle CPU 0.
    let sleeper = task(
        "s",
        0,
        None,
        forever(vec![
            Step::Run(Dur::Fixed(MS)),
            Step::Sleep(Dur::Fixed(3 * MS)),
        ]),
    );
    let mut h = hog("h", 0, Some(vec![1]));
    h.start_delay = 20 * MS;
    let r = simulate_cfg(vec![sleeper, h], machine("cpus=2,hz=250"), 200 * MS);
    let rep = Report::from_result(&r);
    let s = rep.tasks.iter().find(|t| t.comm == "s").expect("s");
    let c = &s.migrations_by_cause;
    assert!(c.wakeup >= 1, "{s:?}");
    assert_eq!((c.push_pull, c.affinity, c.ext), (0, 0, 0));
    // An RT hog preempted by a higher RT task pinned to its CPU is pushed to the other
    // CPU, where only a fair hog runs.
    let hi = |name: &str, cpu: u32, start: u64| {
        let mut t = spec(
            name,
            fifo(50),
            start,
            forever(vec![
                Step::Run(Dur::Fixed(MS)),
                Step::Sleep(Dur::Fixed(4 * MS)),
            ]),
        );
        t.affinity = Some(vec![cpu]);
        t
    };
    let lo = spec(
        "lo",
        fifo(10),
        0,
        forever(vec![Step::Run(Dur::Fixed(10 * MS))]),
    );
    let r = simulate_cfg(
        vec![
            lo,
            hi("hi0", 0, 0),
            hi("hi1", 1, 2500 * US),
            hog("h", 0, None),
        ],
        machine("cpus=2,hz=250"),
        200 * MS,
    );
    let rep = Report::from_result(&r);
    let lo = rep.tasks.iter().find(|t| t.comm == "lo").expect("lo");
    let (moved, all) = (
        lo.migrations_by_cause.push_pull + lo.migrations_by_cause.wakeup,
        lo.nr_migrations,
    );
    assert!(lo.migrations_by_cause.push_pull > 0, "{lo:?}");
    assert!(all > 0);
    assert_eq!(moved, all, "RT tasks move by their wakeup or by push/pull");
}

/// Periodic balancing of the CPU that is not the timekeeper (CPU 1: CPU 0's tick takes the
/// duty first) comes a tick late when its tick reads `jiffies` before the timekeeper's
/// advanced it: with every such read stale, CPU 1 balances every 16 jiffies instead of 15
/// (two pinned hogs, balanced, so the interval stays at its busy maximum). With CPU 0 idle,
/// its tick stops and gives the duty up, and CPU 1's reads are its own, never stale.
#[test]
fn a_stale_jiffies_read_delays_the_other_cpus_balance() {
    let count = |r: &SimResult, cpu: usize| -> u64 {
        Report::from_result(r).cpus[cpu].schedstat.domains[0]
            .stat
            .lb_count[0]
    };
    let two = || vec![hog("a", 0, Some(vec![0])), hog("b", 0, Some(vec![1]))];
    let fresh = simulate_cfg(two(), machine("cpus=2,hz=250"), 6000 * MS);
    let stale = simulate_cfg(
        two(),
        machine("cpus=2,hz=250,tick_stale_jiffies=1"),
        6000 * MS,
    );
    let (f0, f1) = (count(&fresh, 0), count(&fresh, 1));
    let (s0, s1) = (count(&stale, 0), count(&stale, 1));
    // 1500 ticks: one balance each 15 jiffies (each 16 when late).
    assert!(f0.abs_diff(100) <= 2 && f1.abs_diff(100) <= 2, "{f0} {f1}");
    assert_eq!(s0, f0);
    assert!(s1.abs_diff(94) <= 2, "{s1}");
    let alone = || vec![hog("b", 0, Some(vec![1]))];
    let nohz = machine("cpus=2,hz=250,tick_stale_jiffies=1");
    let r = simulate_cfg(alone(), nohz, 6000 * MS);
    assert_eq!(r.sched.tick_do_timer_cpu, Some(1));
    let base = simulate_cfg(alone(), machine("cpus=2,hz=250"), 6000 * MS);
    assert_eq!(count(&r, 1), count(&base, 1));
}
