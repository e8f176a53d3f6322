//! The machine's background kthreads (core/kthreads.rs). The per-CPU workqueue workers
//! (machine keys `kworker_interval`, `kworker_run`): each CPU's `kworker/N:1` is bound to
//! its CPU, woken by a timer of that CPU on a jiffy, whether the CPU is busy or idle, runs
//! its CPU time and sleeps in TASK_IDLE (`prev_state=I`); a fair worker preempts a fair
//! task and waits behind an RT one. DAMON's `kdamond.0` (`kdamond_interval`,
//! `kdamond_run`) wakes every 128 jiffies, unbound. Their draws leave the kernel paths' own
//! draws as they were.

mod common;

use common::*;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::Config;
use schedsim_trace::{state, Event};

const TICK: u64 = 4 * MS;

fn run(tasks: &str, machine: &str, duration: u64) -> SimResult {
    let w = schedsim_workload::parse_toml("kworker.toml", tasks).expect("valid workload");
    let cfg = Config::parse_machine(machine).expect("machine");
    simulate_workload(w, cfg, duration)
}

/// (time, cpu, comm) of every wakeup of a worker.
fn wakeups(r: &SimResult) -> Vec<(u64, u32, String)> {
    trace_find(r, |rec| match &rec.event {
        Event::Wakeup {
            comm, target_cpu, ..
        } if comm.as_str().starts_with("kworker/") => {
            Some((rec.ts, *target_cpu, comm.as_str().to_string()))
        }
        _ => None,
    })
}

/// (time, cpu, prev_comm, prev_state, next_comm) of every switch.
fn switches(r: &SimResult) -> Vec<(u64, u32, String, u64, String)> {
    trace_find(r, |rec| match &rec.event {
        Event::Switch {
            prev_comm,
            prev_state,
            next_comm,
            ..
        } => Some((
            rec.ts,
            rec.cpu,
            prev_comm.as_str().to_string(),
            *prev_state,
            next_comm.as_str().to_string(),
        )),
        _ => None,
    })
}

const HOG_ON_0: &str = r#"
[[task]]
name = "hog"
affinity = [0]
program = ["run 10s"]
"#;

#[test]
fn each_cpu_worker_wakes_on_jiffies_on_its_cpu_busy_or_idle() {
    // CPU 0 runs a hog, CPU 1 idles; workers every 100 ms on average for 10 s.
    let r = run(
        HOG_ON_0,
        "cpus=2,hz=250,kworker_interval=exp(100ms),kworker_run=20us",
        10_000 * MS,
    );
    let w = wakeups(&r);
    for cpu in 0..2u32 {
        let mine: Vec<&(u64, u32, String)> = w.iter().filter(|x| x.1 == cpu).collect();
        // 100 expected: an exponential count's spread is its square root.
        assert!(
            (60..=140).contains(&mine.len()),
            "cpu {cpu}: {}",
            mine.len()
        );
        // Bound: its own worker only, woken on the tick grid (a timer_list expiry).
        assert!(
            mine.iter().all(|x| x.2 == format!("kworker/{cpu}:1")),
            "{mine:?}"
        );
        assert!(mine.iter().all(|x| x.0 % TICK == 0), "{mine:?}");
    }
    // Each wakeup runs its 20 µs and sleeps in TASK_IDLE; on CPU 0 it preempts the hog.
    let sw = switches(&r);
    let sleeps: Vec<_> = sw.iter().filter(|s| s.2.starts_with("kworker/")).collect();
    assert_eq!(sleeps.len(), w.len());
    assert!(sleeps.iter().all(|s| s.3 == state::IDLE), "{sleeps:?}");
    let preempted = sw
        .iter()
        .filter(|s| s.1 == 0 && s.2 == "hog" && s.4 == "kworker/0:1")
        .count();
    assert_eq!(preempted, w.iter().filter(|x| x.1 == 0).count());
    for cpu in 0..2usize {
        let k = r
            .sched
            .kthreads
            .kworker(cpu as u32)
            .expect("a worker per CPU");
        let woken = w.iter().filter(|x| x.1 as usize == cpu).count() as u64;
        assert_eq!(r.sched.task_stats[k.0 as usize].cpu_time, 20 * US * woken);
        assert_eq!(r.sched.task(k).nr_cpus_allowed, 1);
    }
    // Kernel threads, not tasks of the workload: the report lists them apart, with their
    // wakeups and CPU time, and the summary says so.
    let report = schedsim_kernel::report::Report::from_result(&r);
    assert!(report.tasks.iter().all(|t| !t.comm.starts_with("kworker/")));
    for cpu in 0..2u32 {
        let k = report
            .kthreads
            .iter()
            .find(|k| k.comm == format!("kworker/{cpu}:1"))
            .expect("listed");
        let woken = w.iter().filter(|x| x.1 == cpu).count() as u64;
        assert_eq!((k.runs, k.cpu_time_ns), (woken, 20 * US * woken));
    }
    assert!(report.summary().contains("the kernel thread kworker/0:1"));
}

#[test]
fn a_worker_waits_behind_an_rt_task() {
    let r = run(
        r#"
[[task]]
name = "rt"
policy = "fifo"
priority = 10
affinity = [0]
program = ["run 300ms", "exit"]
"#,
        "cpus=2,hz=250,kworker_interval=exp(50ms),kworker_run=20us",
        400 * MS,
    );
    let w0: Vec<u64> = wakeups(&r)
        .iter()
        .filter(|x| x.1 == 0)
        .map(|x| x.0)
        .collect();
    assert!(!w0.is_empty());
    // A worker woken on CPU 0 while the FIFO task runs (until ~300 ms) runs only after it.
    let runs: Vec<u64> = switches(&r)
        .iter()
        .filter(|s| s.1 == 0 && s.4 == "kworker/0:1")
        .map(|s| s.0)
        .collect();
    let rt_end = trace_find(&r, |rec| match &rec.event {
        Event::Switch { prev_comm, .. } if prev_comm.as_str() == "rt" => Some(rec.ts),
        _ => None,
    })[0];
    assert!(w0[0] < rt_end, "{w0:?}");
    assert!(
        runs.iter().all(|&t| t >= rt_end),
        "{runs:?} before {rt_end}"
    );
}

#[test]
fn the_workers_draw_from_their_own_stream() {
    // The same machine with and without workers draws its path costs alike: the
    // workload's first wakeup latencies (before any worker runs) are the same.
    let tasks = r#"
[[task]]
name = "a"
affinity = [1]
program = [{ loop = 20, do = ["sleep 1ms", "run 100us"] }]
"#;
    let costs =
        "cpus=2,hz=250,resched_latency=lognormal(5us, 2us),idle_timer_latency=lognormal(8us, 5us)";
    let first = |r: &SimResult| -> Vec<u64> {
        trace_find(r, |rec| match &rec.event {
            Event::Switch { next_comm, .. } if next_comm.as_str() == "a" => Some(rec.ts),
            _ => None,
        })
    };
    let plain = first(&run(tasks, costs, 10 * MS));
    let with = first(&run(
        tasks,
        &format!("{costs},kworker_interval=exp(10s),kworker_run=20us"),
        10 * MS,
    ));
    assert_eq!(plain, with);
}

#[test]
fn bad_worker_keys_are_refused() {
    // Each message names the key at fault (and the one it needs).
    for (spec, names) in [
        (
            "cpus=2,kworker_run=20us",
            ["kworker_run", "kworker_interval"],
        ),
        (
            "cpus=2,kworker_interval=0",
            ["kworker_interval", "kworker_interval"],
        ),
        (
            "cpus=2,kdamond_run=1ms",
            ["kdamond_run", "kdamond_interval"],
        ),
    ] {
        let e = Config::parse_machine(spec).unwrap_err().0;
        assert!(names.iter().all(|n| e.contains(n)), "{spec}: {e}");
    }
    let r = run(
        HOG_ON_0,
        "cpus=2,kworker_interval=off,kdamond_interval=off",
        100 * MS,
    );
    assert!(r.sched.kthreads.list.is_empty());
    assert!(r
        .sched
        .tasks
        .iter()
        .all(|t| !t.comm.as_str().starts_with("kworker/")));
}

#[test]
fn kdamond_wakes_every_128_jiffies_wherever_the_wakeup_puts_it() {
    // Both CPUs busy with hogs: kdamond preempts one every 512 ms for its 1.2 ms.
    let r = run(
        r#"
[[task]]
name = "hog"
count = 2
program = ["run 10s"]
"#,
        "cpus=2,hz=250,kdamond_interval=512ms,kdamond_run=1200us",
        5_000 * MS,
    );
    let w: Vec<(u64, u32, String)> = trace_find(&r, |rec| match &rec.event {
        Event::Wakeup {
            comm, target_cpu, ..
        } if comm.as_str() == "kdamond.0" => Some((rec.ts, *target_cpu, String::new())),
        _ => None,
    });
    // Its first timer is a random part of the interval; then every 128 jiffies exactly.
    assert!(w.len() >= 9 && w.len() <= 10, "{w:?}");
    assert!(w[0].0 < 512 * MS + TICK, "{w:?}");
    assert!(w.windows(2).all(|p| p[1].0 - p[0].0 == 128 * TICK), "{w:?}");
    // It runs its 1.2 ms each time, preempting a hog, and sleeps in TASK_IDLE.
    let sw = switches(&r);
    let outs: Vec<_> = sw.iter().filter(|s| s.2 == "kdamond.0").collect();
    assert_eq!(outs.len(), w.len());
    assert!(outs.iter().all(|s| s.3 == state::IDLE), "{outs:?}");
    let k = r.sched.kthreads.list[0].task;
    assert_eq!(
        r.sched.task_stats[k.0 as usize].cpu_time,
        1200 * US * w.len() as u64
    );
    assert!(sw
        .iter()
        .any(|s| s.2.starts_with("hog") && s.4 == "kdamond.0"));
    assert_eq!(r.sched.task(k).nr_cpus_allowed, 2);
}
