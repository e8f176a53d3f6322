//! The kernel-side fuzz entry points, shared by the cargo-fuzz targets and the corpus
//! replay test `crates/kernel/tests/fuzz_corpus.rs` (which includes this file with
//! `#[path]`). Depends on `schedsim_kernel` and `schedsim_workload` only.

use schedsim_kernel::sim::{self, SimError, SimOptions};
use schedsim_kernel::Config;
use schedsim_workload::*;

const US: u64 = 1_000;
const MS: u64 = 1_000_000;

/// `Config::parse_machine` on the first line, then `Config::apply_sysctl` for every other
/// line of the form `NAME=VALUE` (what `--machine` and `--sysctl` take). A machine that
/// parses is then booted: a two-task workload runs for 2 ms under the invariant checker
/// (machines of at most 64 CPUs, to keep each input fast). Returns whether the machine
/// spec was accepted.
pub fn machine_spec(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut lines = text.lines();
    let spec = lines.next().unwrap_or("");
    let mut cfg = match Config::parse_machine(spec) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return false;
        }
    };
    for l in lines {
        let Some((n, v)) = l.split_once('=') else {
            continue;
        };
        if let Err(e) = cfg.apply_sysctl(n.trim(), v.trim()) {
            let _ = e.to_string();
        }
    }
    let _ = (
        cfg.tick_nsec(),
        cfg.sysctl_factor(),
        cfg.base_slice(),
        cfg.rr_timeslice_ticks(),
    );
    if cfg.nr_cpus <= 64 {
        let hog = |name: &str, nice| TaskSpec {
            name: name.into(),
            count: 1,
            attr: SchedAttr {
                nice,
                ..SchedAttr::default()
            },
            affinity: None,
            cgroup: None,
            session: None,
            start_delay: 0,
            program: vec![Step::Loop {
                count: None,
                body: vec![
                    Step::Run(Dur::Fixed(300 * US)),
                    Step::Sleep(Dur::Fixed(100 * US)),
                ],
            }],
            naming: Naming::Plain,
            loc: Loc::default(),
        };
        let w = Workload {
            source: "machine_spec".into(),
            tasks: vec![hog("a", 0), hog("b", 5)],
            launcher_comm: "schedsim".into(),
            ..Workload::default()
        };
        let opts = SimOptions {
            duration: Some(2 * MS),
            seed: 1,
            trace: true,
            check: true,
        };
        match sim::try_run(w, cfg, &opts, &mut ()) {
            Ok(_) => {}
            Err(SimError::Check(c)) => panic!("machine `{spec}`: invariant violated: {c}"),
            Err(SimError::User(e)) => panic!("machine `{spec}`: task {}: {}", e.task, e.message),
        }
    }
    true
}

/// Reads the fuzzer's bytes as a stream of choices; past the end every choice is 0.
pub struct Choices<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Choices { data, pos: 0 }
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi - lo + 1;
        let v = if span <= 256 {
            self.byte() as u64
        } else {
            self.u16() as u64
        };
        lo + v % span
    }

    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.byte() as usize % xs.len()]
    }
}

/// One generated case: the machine, the knobs and the workload, plus what to run.
#[derive(Debug)]
pub struct Case {
    pub machine: String,
    pub features: String,
    pub seed: u64,
    pub duration: u64,
    pub workload: Workload,
}

const FEATURES: &[&str] = &[
    "NO_DELAY_DEQUEUE",
    "NO_DELAY_ZERO",
    "NO_RUN_TO_PARITY",
    "NEXT_BUDDY",
    "NO_PLACE_LAG",
    "NO_PREEMPT_SHORT",
    "NO_PLACE_REL_DEADLINE",
    "NO_TTWU_QUEUE",
    "NO_PICK_BUDDY",
    "NO_NI_RANDOM",
];

/// Turns the fuzzer's bytes into a small valid fair workload, as
/// `crates/kernel/tests/check_proptest.rs` generates them: 1–4 CPUs, every preemption
/// model, tick rate, NO_HZ idle, IPI latency, vCPU packing and the newidle rate, and EEVDF
/// feature switches; up to 7 looping
/// tasks plus one fork template (≤ 8 task specs), whose steps are run, sleep, yield,
/// semaphore post and wait, fork, nice, SCHED_IDLE/SCHED_BATCH, custom slices, affinity
/// changes and moves between cgroups; up to three cgroups (`/g0`, `/g1`, `/g0/c`) with
/// random `cpu.weight`, `cpu.idle`, and `cpu.max` quotas with burst. Every loop iteration burns CPU time, so no program livelocks; a loop
/// that forks burns at least 500 µs per iteration, which bounds the number of forks.
pub fn gen_case(data: &[u8]) -> Case {
    let mut c = Choices::new(data);
    let cpus = c.range(1, 4) as u32;
    let preempt = c.pick(&["none", "voluntary", "full", "lazy"]);
    let hz = c.pick(&[100u32, 250, 300, 1000]);
    let nohz = c.bool();
    // The kernel path costs (µs): IPI, busy CPU's resched path, idle exit.
    let (ipi_us, resched_us, idle_us) =
        c.pick(&[(0u64, 0u64, 0u64), (2, 0, 0), (30, 1, 0), (11, 6, 3)]);
    // The machine-state keys: vCPU packing, the newidle success rate, a busy daemon, a
    // reader of the launcher's output, a timer wakeup's activation path, the recording's
    // interrupt entries and untraced idle CPU, and the RCU grace-period kthread.
    let state = c.pick(&[
        "",
        ",vcpu_pack=15",
        ",vcpu_pack=15,newidle_ratio=175",
        ",newidle_ratio=0",
        ",vcpu_pack=15,daemon_period=5ms,daemon_run=lognormal(15us, 9us)",
        ",vcpu_pack=15,reader_run=lognormal(20us, 30us)",
        ",idle_timer_activate=3us;0:lognormal(6us, 2us),irq_events=on,untraced_idle=0,rcu_gp_run=5us",
    ]);
    let launcher_output = LauncherOutput {
        before_start: c.range(0, 2) as u32,
        after_start: c.range(0, 2) as u32,
        per_thread: c.range(0, 2) as u32,
    };
    let nfeat = c.range(0, 2);
    let features: Vec<&str> = (0..nfeat).map(|_| c.pick(FEATURES)).collect();
    let sem_initial = c.range(0, 2) as u32;
    let child_run = c.range(10, 2_000);
    let seed = c.byte() as u64;
    // 10–200 ms, mostly short (quadratic bias: median ≈ 57 ms), so the fuzzer runs more
    // cases per second; long runs still come up.
    let b = c.byte() as u64;
    let duration = (10 + b * b * 190 / (255 * 255)) * MS;
    let ntasks = c.range(1, 7) as usize;
    let template = ntasks;
    let (groups, cgroup_files) = gen_groups(&mut c);
    let group_of = |c: &mut Choices, groups: &[CgroupDecl]| -> Option<String> {
        let i = c.range(0, groups.len() as u64) as usize;
        groups.get(i).map(|g| g.path.clone())
    };

    let mut tasks = Vec::new();
    for i in 0..ntasks {
        let nice = c.range(0, 39) as i32 - 20;
        let pinned = c
            .byte()
            .is_multiple_of(5)
            .then(|| c.range(0, 3) as u32 % cpus);
        let forks = c.range(0, 2);
        let mut program: Vec<Step> = (0..forks).map(|_| Step::Fork(template)).collect();
        let nsteps = c.range(0, 5);
        let mut body = Vec::new();
        let mut forks_in_loop = false;
        for _ in 0..nsteps {
            let attr = |policy, nice, runtime| {
                Step::SetAttr(SchedAttr {
                    policy,
                    nice,
                    runtime,
                    ..SchedAttr::default()
                })
            };
            body.push(match c.byte() % 20 {
                0..=3 => Step::Run(Dur::Fixed(c.range(10, 2_000) * US)),
                4..=6 => Step::Sleep(Dur::Fixed(c.range(10, 2_000) * US)),
                7 if c.bool() => Step::Yield,
                // A line printed (rt-app's log_notice): wakes the output reader, if any.
                7 => Step::Marker(rtapp::output::MARKER.into()),
                8..=10 => Step::SemPost(0),
                11..=12 => Step::SemWait(0),
                13..=14 => attr(Policy::Normal, c.range(0, 39) as i32 - 20, 0),
                15 => attr(Policy::Idle, 0, 0),
                16 => attr(Policy::Batch, 5, 0),
                17 => attr(Policy::Normal, 0, c.range(100, 3_000) * US),
                18 => {
                    let cpu = c.range(0, 4) as u32;
                    Step::SetAffinity((cpu < 4).then(|| vec![cpu % cpus]))
                }
                19 if !groups.is_empty() && c.bool() => {
                    Step::SetCgroup(group_of(&mut c, &groups).unwrap_or_else(|| "/".into()))
                }
                _ => {
                    forks_in_loop = true;
                    Step::Fork(template)
                }
            });
        }
        let run = c.range(10, 1_000).max(if forks_in_loop { 500 } else { 0 });
        body.push(Step::Run(Dur::Fixed(run * US)));
        program.push(Step::Loop { count: None, body });
        tasks.push(TaskSpec {
            name: format!("t{i}"),
            count: 1,
            attr: SchedAttr {
                nice,
                ..SchedAttr::default()
            },
            affinity: pinned.map(|p| vec![p]),
            cgroup: group_of(&mut c, &groups),
            session: None,
            start_delay: i as u64 * 50 * US,
            program,
            naming: Naming::Plain,
            loc: Loc::default(),
        });
    }
    tasks.push(fork_child(child_run));
    Case {
        machine: format!(
            "cpus={cpus},hz={hz},preempt={preempt},nohz={},ipi_latency={ipi_us}us,\
             resched_latency={resched_us}us,idle_wake_latency={idle_us}us{state}",
            nohz as u8
        ),
        features: features.join(" "),
        seed,
        duration,
        workload: Workload {
            source: "sim_check".into(),
            tasks,
            sems: vec![SyncDecl {
                name: "s".into(),
                initial: sem_initial,
            }],
            launcher_comm: "schedsim".into(),
            cgroups: groups,
            cgroup_files,
            launcher_output,
            ..Workload::default()
        },
    }
}

/// The fork template of generated workloads: runs, posts the semaphore, sleeps 300 µs,
/// runs again and exits (`child_run` µs each time).
pub fn fork_child(child_run: u64) -> TaskSpec {
    TaskSpec {
        name: "child".into(),
        count: 0,
        attr: SchedAttr::default(),
        affinity: None,
        cgroup: None,
        session: None,
        start_delay: 0,
        program: vec![
            Step::Run(Dur::Fixed(child_run * US)),
            Step::SemPost(0),
            Step::Sleep(Dur::Fixed(300 * US)),
            Step::Run(Dur::Fixed(child_run * US)),
            Step::Exit,
        ],
        naming: Naming::Plain,
        loc: Loc::default(),
    }
}

/// Up to three groups with random weights, idle flags and bandwidth limits.
fn gen_groups(c: &mut Choices) -> (Vec<CgroupDecl>, Vec<CgroupSetting>) {
    let n = c.range(0, 3) as usize;
    let paths = ["/g0", "/g1", "/g0/c"];
    let mut decls = Vec::new();
    let mut files = Vec::new();
    for path in &paths[..n] {
        decls.push(CgroupDecl {
            path: path.to_string(),
            loc: Loc::default(),
        });
        let mut file = |file: &str, value: String| {
            files.push(CgroupSetting {
                path: path.to_string(),
                file: file.into(),
                value,
                loc: Loc::default(),
            })
        };
        match c.byte() % 4 {
            0 => file("cpu.weight", c.range(1, 10_000).to_string()),
            1 => file("cpu.idle", "1".into()),
            _ => {}
        }
        if c.bool() {
            let period = c.range(5, 50) * 1000;
            let quota = c.range(1_000, period);
            file("cpu.max", format!("{quota} {period}"));
            if c.bool() {
                file("cpu.max.burst", c.range(0, quota).to_string());
            }
        }
    }
    (decls, files)
}

/// Runs the generated case under the invariant checker; panics on a violation or on a
/// user-space error (the generated programs are valid and cannot livelock).
pub fn sim_check(data: &[u8]) {
    let case = gen_case(data);
    let mut cfg = Config::parse_machine(&case.machine).expect("generated machine spec");
    cfg.apply_sysctl("sched/features", &case.features)
        .expect("generated features");
    let opts = SimOptions {
        duration: Some(case.duration),
        seed: case.seed,
        trace: false,
        check: true,
    };
    let w = case.workload.clone();
    match sim::try_run(w, cfg, &opts, &mut ()) {
        Ok(_) => {}
        Err(SimError::Check(c)) => {
            panic!("invariant violated\ncase: {case:#?}\n{c}")
        }
        Err(SimError::User(e)) => {
            panic!(
                "user error: task {}: {}\ncase: {case:#?}",
                e.task, e.message
            )
        }
    }
}

/// An rt-app JSON file the importer accepts, simulated on the reference VM with the
/// invariant checker, to rt-app's own end: its duration (at most 100 ms, 100 ms if it has
/// none), then its shutdown, which joins the threads (cut a second later at the latest).
/// A refused system call is an rt-app exit, not a failure; a broken invariant is.
pub fn rtapp_sim(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut w) = schedsim_workload::rtapp::parse_rtapp("fuzz.json", text) else {
        return;
    };
    const LIMIT: u64 = 100 * MS;
    w.duration = Some(w.duration.map_or(LIMIT, |d| d.min(LIMIT)));
    w.ftrace_markers.main = true;
    let cfg = Config::parse_machine("refvm").expect("the reference VM");
    let opts = SimOptions {
        duration: None,
        seed: 1,
        trace: false,
        check: true,
    };
    if let Err(SimError::Check(c)) = sim::try_run(w, cfg, &opts, &mut ()) {
        panic!("invariant violated\ninput: {text}\n{c}");
    }
}
