//! Simulator throughput: `cargo bench -p schedsim-kernel --bench sim`.
//!
//! Two workloads built in code (no file parsing in the timed path):
//!
//! * `mixed_2cpu_10s`: 2 CPUs, 10 simulated seconds: three CPU hogs at nice -5/0/5, two
//!   periodic tasks (fixed and random run/sleep) and a semaphore ping-pong pair.
//! * `gen_64cpu_5000`: 64 CPUs, 1 simulated second, 5,000 generated tasks (hogs, periodic
//!   tasks with random run/sleep lengths and ping-pong pairs) from a fixed seed.
//!
//! For each it first times whole runs with `std::time::Instant` and prints the figures the
//! docs quote (docs/benchmarks.md): wall time, simulated time per wall time, and simulated
//! scheduler events per wall second, counted two ways: trace records (tracing on) and
//! context switches + wakeups from the report (tracing off), per wall second and per
//! second of this thread's CPU time. Then criterion times the small workload (and the large
//! one only with `SCHEDSIM_BENCH_LARGE=1`, it takes seconds per run). Criterion measures
//! this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time, because the machines
//! it runs on are 2 shared cores where wall time mostly measures the neighbours;
//! `SCHEDSIM_BENCH_WALL=1` switches it back to wall time. Without `--bench` (e.g.
//! `cargo test --benches`) everything runs once on shortened durations as a smoke test.
//!
//! Environment: `SCHEDSIM_BENCH_ONLY=<case>` runs one case; `SCHEDSIM_BENCH_MS=<n>` sets
//! the simulated duration of the printed figures (e.g. for `valgrind --tool=callgrind`).

use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{black_box, Criterion};
use schedsim_kernel::report::Report;
use schedsim_kernel::sim::{run, SimOptions};
use schedsim_kernel::Config;
use schedsim_workload::{Dur, SchedAttr, Step, SyncDecl, TaskSpec, Workload};

const MS: u64 = 1_000_000;
const US: u64 = 1_000;
const SEC: u64 = 1_000_000_000;

fn task(name: &str, nice: i32, program: Vec<Step>) -> TaskSpec {
    TaskSpec {
        name: name.to_string(),
        count: 1,
        attr: SchedAttr {
            nice,
            ..SchedAttr::default()
        },
        affinity: None,
        cgroup: None,
        session: None,
        start_delay: 0,
        program,
        naming: Default::default(),
        loc: Default::default(),
    }
}

fn forever(body: Vec<Step>) -> Vec<Step> {
    vec![Step::Loop { count: None, body }]
}

fn sem(w: &mut Workload, name: String) -> usize {
    w.sems.push(SyncDecl { name, initial: 0 });
    w.sems.len() - 1
}

/// Adds a ping-pong pair: `a` runs, posts `ping`, waits `pong`; `b` waits `ping`, runs,
/// posts `pong`.
fn pingpong(w: &mut Workload, name: &str, nice: i32, run_a: Dur, run_b: Dur) {
    let ping = sem(w, format!("{name}-ping"));
    let pong = sem(w, format!("{name}-pong"));
    w.tasks.push(task(
        &format!("{name}-a"),
        nice,
        forever(vec![
            Step::Run(run_a),
            Step::SemPost(ping),
            Step::SemWait(pong),
        ]),
    ));
    w.tasks.push(task(
        &format!("{name}-b"),
        nice,
        forever(vec![
            Step::SemWait(ping),
            Step::Run(run_b),
            Step::SemPost(pong),
        ]),
    ));
}

fn base() -> Workload {
    Workload {
        source: "bench".into(),
        launcher_comm: "schedsim".into(),
        ..Workload::default()
    }
}

/// (a) The reference-VM-sized mix.
fn mixed_2cpu() -> Workload {
    let mut w = base();
    for (name, nice) in [("hog-n-5", -5), ("hog-n0", 0), ("hog-n5", 5)] {
        w.tasks.push(task(
            name,
            nice,
            forever(vec![Step::Run(Dur::Fixed(100 * MS))]),
        ));
    }
    w.tasks.push(task(
        "periodic-1ms",
        0,
        forever(vec![
            Step::Run(Dur::Fixed(MS)),
            Step::Sleep(Dur::Fixed(9 * MS)),
        ]),
    ));
    w.tasks.push(task(
        "periodic-rand",
        0,
        forever(vec![
            Step::Run(Dur::Exponential { mean: 300 * US }),
            Step::Sleep(Dur::Uniform {
                lo: 500 * US,
                hi: 5 * MS,
            }),
        ]),
    ));
    pingpong(&mut w, "pp", 0, Dur::Fixed(50 * US), Dur::Fixed(20 * US));
    w
}

/// splitmix64, for the generator only (the simulator has its own seeded streams).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// (b) 5,000 generated tasks: each draw adds a hog (5 %), a periodic task (65 %) or a
/// ping-pong pair (30 %), so about 4 % hogs, 50 % periodic and 46 % in pairs.
fn generated(nr_tasks: usize, seed: u64) -> Workload {
    let mut g = Gen(seed);
    let mut w = base();
    let mut i = 0;
    while w.tasks.len() < nr_tasks {
        let nice = g.range(0, 10) as i32 - 5;
        let kind = g.range(0, 99);
        if kind < 5 {
            let run = g.range(MS, 50 * MS);
            w.tasks.push(task(
                &format!("hog{i}"),
                nice,
                forever(vec![Step::Run(Dur::Fixed(run))]),
            ));
        } else if kind < 70 || w.tasks.len() + 2 > nr_tasks {
            // Random lengths drawn here, some also drawn by the simulator's seeded streams.
            let run = g.range(20 * US, 2 * MS);
            let sleep = g.range(100 * US, 20 * MS);
            let (run, sleep) = if g.range(0, 1) == 0 {
                (Dur::Fixed(run), Dur::Fixed(sleep))
            } else {
                (
                    Dur::Exponential { mean: run },
                    Dur::Uniform {
                        lo: sleep / 2,
                        hi: sleep * 3 / 2,
                    },
                )
            };
            w.tasks.push(task(
                &format!("per{i}"),
                nice,
                forever(vec![Step::Run(run), Step::Sleep(sleep)]),
            ));
        } else {
            let a = Dur::Fixed(g.range(5 * US, 500 * US));
            let b = Dur::Fixed(g.range(5 * US, 500 * US));
            pingpong(&mut w, &format!("pp{i}"), nice, a, b);
        }
        i += 1;
    }
    w
}

struct Case {
    name: &'static str,
    nr_cpus: u32,
    duration: u64,
    make: fn() -> Workload,
}

/// This thread's CPU time and run delay so far (ns), Linux only. CPU time comes from
/// `CLOCK_THREAD_CPUTIME_ID` (which adds the running stint); the first field of
/// /proc/thread-self/schedstat is `sum_exec_runtime` as of the last tick or switch, up to
/// a tick stale. The run delay (second field) is only updated when the thread gets a CPU,
/// which is exact for a thread that is running now. On a loaded machine wall time
/// overstates the cost, CPU time does not.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn schedstat() -> Option<(u64, u64)> {
    let cpu = thread_cpu_ns()?;
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let delay = s.split_whitespace().nth(1)?.parse().ok()?;
    Some((cpu, delay))
}

/// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` in ns.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clk: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec (two 64-bit fields on 64-bit Linux).
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn schedstat() -> Option<(u64, u64)> {
    None
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Criterion measurement: CPU time of the benchmarking thread, in ns (shown like durations).
struct ThreadCpuTime {
    wall: WallTime,
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns().expect("thread CPU clock")
    }

    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().expect("thread CPU clock") - i
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

fn criterion_runs<M: Measurement + 'static>(crit: Criterion<M>, cases: &[&Case], large: bool) {
    let mut crit = crit
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    for c in cases {
        if c.nr_cpus > 2 && !large {
            continue;
        }
        crit.bench_function(c.name, |b| {
            b.iter(|| black_box(run_once(c, c.duration, false).0.wall));
        });
    }
    crit.final_summary();
}

struct Timing {
    wall: Duration,
    /// On-CPU time and run delay of the run (None off Linux).
    cpu: Option<(f64, f64)>,
}

impl Timing {
    /// "wall W s (cpu C s, waited D s)": the figures use CPU time when known.
    fn secs(&self) -> f64 {
        self.cpu.map_or(self.wall.as_secs_f64(), |(c, _)| c)
    }

    fn show(&self) -> String {
        match self.cpu {
            Some((c, d)) => format!(
                "wall {:.3} s, on-CPU {:.3} s, waited for a CPU {:.3} s",
                self.wall.as_secs_f64(),
                c,
                d
            ),
            None => format!("wall {:.3} s", self.wall.as_secs_f64()),
        }
    }
}

fn run_once(c: &Case, duration: u64, trace: bool) -> (Timing, Report, usize) {
    let w = (c.make)();
    let cfg = Config {
        nr_cpus: c.nr_cpus,
        ..Default::default()
    };
    let opts = SimOptions {
        duration: Some(duration),
        seed: 42,
        trace,
        ..SimOptions::default()
    };
    let s0 = schedstat();
    let t0 = Instant::now();
    let r = run(w, cfg, &opts, &mut ()).expect("simulation runs");
    let wall = t0.elapsed();
    let s1 = schedstat();
    let cpu = s0
        .zip(s1)
        .map(|((c0, d0), (c1, d1))| ((c1 - c0) as f64 / 1e9, (d1 - d0) as f64 / 1e9));
    let records = r.sched.trace.len();
    let report = Report::from_result(&r);
    drop(black_box(r));
    (Timing { wall, cpu }, report, records)
}

/// Times one run with tracing off and one with tracing on and prints the figures.
fn figures(c: &Case, duration: u64) {
    let (tm, rep, _) = run_once(c, duration, false);
    let switches = rep.context_switches;
    let wakeups: u64 = rep.tasks.iter().map(|t| t.wakeup_latency_ns.count).sum();
    let events = switches + wakeups;
    let secs = tm.secs();
    let sim = rep.duration_ns as f64 / SEC as f64;
    println!(
        "{}: {} CPUs, {} tasks, {:.3} simulated s",
        c.name,
        c.nr_cpus,
        rep.tasks.len(),
        sim
    );
    println!(
        "  trace off: {}\n    simulated/wall {:.3}, simulated/CPU {:.3}, {} switches + {} wakeups = {} events, {:.0} events/wall-s, {:.0} events/CPU-s",
        tm.show(),
        sim / tm.wall.as_secs_f64(),
        sim / secs,
        switches,
        wakeups,
        events,
        events as f64 / tm.wall.as_secs_f64(),
        events as f64 / secs
    );
    let h = schedsim_kernel::stats::new_hist();
    let kind = |p: &str| rep.tasks.iter().filter(|t| t.comm.starts_with(p)).count();
    println!(
        "  tasks: {} hogs, {} periodic, {} in ping-pong pairs; report: {} tasks x 2 histograms x {} counters ({:.0} KiB per task)",
        kind("hog"),
        kind("per"),
        kind("pp"),
        rep.tasks.len(),
        h.distinct_values(),
        (2 * h.distinct_values() * std::mem::size_of::<u64>()) as f64 / 1024.0
    );
    let (tm_t, rep_t, records) = run_once(c, duration, true);
    assert_eq!(
        rep_t.context_switches, switches,
        "tracing must not change the run"
    );
    let secs_t = tm_t.secs();
    println!(
        "  trace on:  {}\n    simulated/wall {:.3}, simulated/CPU {:.3}, {} trace records, {:.0} records/wall-s, {:.0} records/CPU-s ({:.1} MiB of records)",
        tm_t.show(),
        sim / tm_t.wall.as_secs_f64(),
        sim / secs_t,
        records,
        records as f64 / tm_t.wall.as_secs_f64(),
        records as f64 / secs_t,
        (records * std::mem::size_of::<schedsim_trace::Record>()) as f64 / (1 << 20) as f64
    );
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let large_in_criterion = std::env::var_os("SCHEDSIM_BENCH_LARGE").is_some();
    let cases = [
        Case {
            name: "mixed_2cpu_10s",
            nr_cpus: 2,
            duration: 10 * SEC,
            make: mixed_2cpu,
        },
        Case {
            name: "gen_64cpu_5000",
            nr_cpus: 64,
            duration: SEC,
            make: || generated(5000, 0x5eed),
        },
    ];
    // `SCHEDSIM_BENCH_ONLY=gen_64cpu_5000` runs one case.
    let only = std::env::var("SCHEDSIM_BENCH_ONLY").ok();
    let cases: Vec<&Case> = cases
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
        .collect();
    for c in &cases {
        // Smoke-test mode (`cargo test --benches`): a hundredth of the duration.
        // `SCHEDSIM_BENCH_MS=N` overrides the simulated duration (e.g. for callgrind).
        let d = match std::env::var("SCHEDSIM_BENCH_MS") {
            Ok(ms) => ms.parse::<u64>().expect("SCHEDSIM_BENCH_MS: milliseconds") * MS,
            Err(_) if bench_mode => c.duration,
            Err(_) => c.duration / 100,
        };
        figures(c, d);
    }
    if !bench_mode {
        return;
    }
    if std::env::var_os("SCHEDSIM_BENCH_WALL").is_some() || thread_cpu_ns().is_none() {
        criterion_runs(Criterion::default(), &cases, large_in_criterion);
    } else {
        println!("criterion measures this thread's CPU time (SCHEDSIM_BENCH_WALL=1: wall time)");
        let m = ThreadCpuTime { wall: WallTime };
        criterion_runs(
            Criterion::default().with_measurement(m),
            &cases,
            large_in_criterion,
        );
    }
}
