//! Small random fair workloads (run, sleep, yield, semaphore post/wait, fork, nice and
//! policy changes; 1–4 CPUs, every preemption model) pass the invariant checker for
//! 200 ms simulated; so do the same with switches to and from SCHED_FIFO/SCHED_RR, and
//! with switches to SCHED_DEADLINE (and, in one of them, back out of it), critical
//! sections on a PI mutex (deadline inheritance) and moves between cgroups whose `cpu.max`
//! (and burst) throttle them. The machine varies too: tick rate, NO_HZ idle, IPI latency (remote
//! wakeups through the wakelist), vCPU packing, the newidle success rate and the EEVDF feature
//! switches.

// The fuzz target shares its workload pieces with this test.
#[path = "../../../fuzz/src/kernel.rs"]
#[allow(dead_code)]
mod fuzz_kernel;

use proptest::prelude::*;
use schedsim_kernel::sim::{self, SimError, SimOptions};
use schedsim_kernel::Config;
use schedsim_workload::*;

const US: u64 = 1_000;

#[derive(Clone, Debug)]
enum S {
    Run(u64),
    Sleep(u64),
    Yield,
    Post,
    Wait,
    Nice(i32),
    IdlePolicy,
    Batch,
    Slice(u64),
    Affinity(Option<u32>),
    /// SCHED_FIFO (false) or SCHED_RR (true) at this rt_priority (mixed workloads only).
    Rt(bool, u32),
    /// SCHED_DEADLINE with this runtime (µs), deadline = runtime × the first factor and
    /// period = deadline × the second (deadline workloads only).
    Dl(u64, u64, u64),
    /// Move to one of `CGROUPS` (0: the root).
    Cgroup(usize),
    /// Run this long (µs) holding the PI mutex (deadline workloads only).
    Locked(u64),
    /// Print a line (wakes the machine's output reader, if it has one).
    Output,
}

/// The groups of the deadline-and-cgroup workloads (the root, then these).
const CGROUPS: [&str; 3] = ["/a", "/a/b", "/c"];

fn step() -> impl Strategy<Value = S> {
    prop_oneof![
        4 => (10u64..2_000).prop_map(S::Run),
        3 => (10u64..2_000).prop_map(S::Sleep),
        1 => Just(S::Yield),
        3 => Just(S::Post),
        2 => Just(S::Wait),
        2 => (-20i32..20).prop_map(S::Nice),
        1 => Just(S::IdlePolicy),
        1 => Just(S::Batch),
        1 => (100u64..3_000).prop_map(S::Slice),
        1 => proptest::option::of(0u32..4).prop_map(S::Affinity),
        1 => Just(S::Output),
    ]
}

fn rt_step() -> impl Strategy<Value = S> {
    prop_oneof![
        6 => step(),
        1 => (any::<bool>(), 1u32..100).prop_map(|(rr, pr)| S::Rt(rr, pr)),
    ]
}

/// Steps for the deadline-and-cgroup workloads: no affinity changes (a deadline task's
/// affinity must span the root domain), deadline switches and cgroup moves.
fn dl_step() -> impl Strategy<Value = S> {
    prop_oneof![
        8 => step().prop_filter("no affinity", |s| !matches!(s, S::Affinity(_))),
        1 => (any::<bool>(), 1u32..100).prop_map(|(rr, pr)| S::Rt(rr, pr)),
        2 => (100u64..1_500, 1u64..4, 1u64..3).prop_map(|(r, d, p)| S::Dl(r, d, p)),
        2 => (0usize..=CGROUPS.len()).prop_map(S::Cgroup),
        2 => (10u64..2_000).prop_map(S::Locked),
    ]
}

fn to_step(s: &S, cpus: u32) -> Step {
    let attr = |policy, nice, runtime| {
        Step::SetAttr(SchedAttr {
            policy,
            nice,
            runtime,
            ..SchedAttr::default()
        })
    };
    match *s {
        S::Run(us) => Step::Run(Dur::Fixed(us * US)),
        S::Sleep(us) => Step::Sleep(Dur::Fixed(us * US)),
        S::Yield => Step::Yield,
        S::Output => Step::Marker(schedsim_workload::rtapp::output::MARKER.into()),
        S::Post => Step::SemPost(0),
        S::Wait => Step::SemWait(0),
        S::Nice(n) => attr(Policy::Normal, n, 0),
        S::IdlePolicy => attr(Policy::Idle, 0, 0),
        S::Batch => attr(Policy::Batch, 5, 0),
        S::Slice(us) => attr(Policy::Normal, 0, us * US),
        S::Affinity(c) => Step::SetAffinity(c.map(|c| vec![c % cpus])),
        S::Rt(rr, rt_priority) => Step::SetAttr(SchedAttr {
            policy: if rr { Policy::Rr } else { Policy::Fifo },
            rt_priority,
            ..SchedAttr::default()
        }),
        S::Dl(runtime, d, p) => Step::SetAttr(SchedAttr {
            policy: Policy::Deadline,
            runtime: runtime * US,
            deadline: runtime * d * 4 * US,
            period: runtime * d * 4 * p * US,
            ..SchedAttr::default()
        }),
        S::Cgroup(0) => Step::SetCgroup("/".into()),
        S::Cgroup(i) => Step::SetCgroup(CGROUPS[i - 1].into()),
        S::Locked(us) => Step::Loop {
            count: Some(1),
            body: vec![
                Step::Lock(0),
                Step::Run(Dur::Fixed(us * US)),
                Step::Unlock(0),
            ],
        },
    }
}

#[derive(Clone, Debug)]
struct Spec {
    nice: i32,
    pinned: Option<u32>,
    forks: u32,
    body: Vec<S>,
    run: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    spec_of(step().boxed())
}

fn spec_of(step: BoxedStrategy<S>) -> impl Strategy<Value = Spec> {
    (
        -20i32..20,
        proptest::option::weighted(0.2, 0u32..4),
        0u32..3,
        proptest::collection::vec(step, 0..6),
        10u64..1_000,
    )
        .prop_map(|(nice, pinned, forks, body, run)| Spec {
            nice,
            pinned,
            forks,
            body,
            run,
        })
}

fn build(specs: &[Spec], cpus: u32, sem_initial: u32, child_run: u64) -> Workload {
    let template = specs.len();
    let mut tasks: Vec<TaskSpec> = specs
        .iter()
        .enumerate()
        .map(|(i, sp)| {
            let mut program: Vec<Step> = (0..sp.forks).map(|_| Step::Fork(template)).collect();
            let mut body: Vec<Step> = sp.body.iter().map(|x| to_step(x, cpus)).collect();
            // Every iteration takes time, so no program livelocks.
            body.push(Step::Run(Dur::Fixed(sp.run * US)));
            program.push(Step::Loop { count: None, body });
            TaskSpec {
                name: format!("t{i}"),
                count: 1,
                attr: SchedAttr {
                    nice: sp.nice,
                    ..SchedAttr::default()
                },
                affinity: sp.pinned.map(|c| vec![c % cpus]),
                cgroup: None,
                session: None,
                start_delay: (i as u64) * 50 * US,
                program,
                naming: Naming::Plain,
                loc: Loc::default(),
            }
        })
        .collect();
    tasks.push(fuzz_kernel::fork_child(child_run));
    Workload {
        source: "proptest".into(),
        tasks,
        sems: vec![SyncDecl {
            name: "s".into(),
            initial: sem_initial,
        }],
        mutexes: vec![MutexDecl {
            name: "m".into(),
            pi: true,
        }],
        ..Workload::default()
    }
}

/// The machine, the knobs and the seeds of one case.
#[derive(Clone, Debug)]
struct Machine {
    cpus: u32,
    preempt: &'static str,
    hz: u32,
    nohz: bool,
    /// The kernel path costs (µs): IPI, busy CPU's resched path, idle exit.
    costs_us: (u64, u64, u64),
    features: Vec<&'static str>,
    /// The machine-state keys: vCPU packing, the newidle success rate, a daemon, an output
    /// reader, a timer wakeup's activation path, the recording's irq entries and untraced idle,
    /// and the RCU grace-period kthread.
    state: &'static str,
    sem_initial: u32,
    child_run: u64,
    seed: u64,
}

fn machine() -> impl Strategy<Value = Machine> {
    let feature = prop_oneof![
        Just("NO_DELAY_DEQUEUE"),
        Just("NO_DELAY_ZERO"),
        Just("NO_RUN_TO_PARITY"),
        Just("NEXT_BUDDY"),
        Just("NO_PLACE_LAG"),
        Just("NO_PREEMPT_SHORT"),
        Just("NO_PLACE_REL_DEADLINE"),
        Just("NO_TTWU_QUEUE"),
        Just("NO_PICK_BUDDY"),
        Just("NO_NI_RANDOM"),
    ];
    (
        (
            1u32..=4,
            prop_oneof![Just("none"), Just("voluntary"), Just("full"), Just("lazy")],
            prop_oneof![Just(250u32), Just(1000u32)],
            any::<bool>(),
            prop_oneof![
                Just((0u64, 0u64, 0u64)),
                Just((2, 0, 0)),
                Just((30, 1, 0)),
                Just((11, 6, 3))
            ],
        ),
        (
            proptest::collection::vec(feature, 0..3),
            prop_oneof![
                Just(""),
                Just(",vcpu_pack=15"),
                Just(",vcpu_pack=15,newidle_ratio=175"),
                Just(",newidle_ratio=0"),
                Just(",vcpu_pack=15,daemon_period=5ms,daemon_run=lognormal(15us, 9us)"),
                Just(",vcpu_pack=15,reader_run=lognormal(20us, 30us)"),
                Just(
                    ",idle_timer_activate=3us;0:lognormal(6us, 2us),irq_events=on,untraced_idle=0,rcu_gp_run=5us"
                )
            ],
            0u32..3,
            10u64..2_000,
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (cpus, preempt, hz, nohz, costs_us),
                (features, state, sem_initial, child_run, seed),
            )| {
                Machine {
                    cpus,
                    preempt,
                    hz,
                    nohz,
                    costs_us,
                    features,
                    state,
                    sem_initial,
                    child_run,
                    seed,
                }
            },
        )
}

/// `cpu.max` of /a and /c (quota, period in µs) and /c's burst.
#[derive(Clone, Debug)]
struct Limits {
    a: (u64, u64),
    c: (u64, u64),
    burst: u64,
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        (1_000u64..30_000, 10_000u64..100_000),
        (1_000u64..30_000, 10_000u64..100_000),
        0u64..20_000,
    )
        .prop_map(|(a, c, burst)| Limits {
            a,
            c: (c.0.min(c.1), c.1),
            burst,
        })
}

/// Runs one case for 200 ms under the checker.
fn passes(m: &Machine, specs: &[Spec]) -> Result<(), TestCaseError> {
    passes_in(m, build(specs, m.cpus, m.sem_initial, m.child_run), false)
}

/// The same in cgroups: /a capped, /a/b below it, /c capped with burst; a refused
/// `sched_setattr` (admission: EBUSY) ends the case early, which is not a failure.
fn passes_in_cgroups(m: &Machine, l: &Limits, specs: &[Spec]) -> Result<(), TestCaseError> {
    let mut w = build(specs, m.cpus, m.sem_initial, m.child_run);
    for path in CGROUPS {
        w.cgroups.push(CgroupDecl {
            path: path.into(),
            loc: Loc::default(),
        });
    }
    let set = |path: &str, file: &str, value: String| CgroupSetting {
        path: path.into(),
        file: file.into(),
        value,
        loc: Loc::default(),
    };
    w.cgroup_files = vec![
        set("/a", "cpu.max", format!("{} {}", l.a.0, l.a.1)),
        set("/c", "cpu.max", format!("{} {}", l.c.0, l.c.1)),
        set("/c", "cpu.max.burst", l.burst.min(l.c.0).to_string()),
    ];
    passes_in(m, w, true)
}

fn passes_in(m: &Machine, w: Workload, refusals_ok: bool) -> Result<(), TestCaseError> {
    let mut cfg = Config::parse_machine(&format!(
        "cpus={},hz={},preempt={},nohz={},ipi_latency={}us,resched_latency={}us,idle_wake_latency={}us{}",
        m.cpus, m.hz, m.preempt, m.nohz as u8, m.costs_us.0, m.costs_us.1, m.costs_us.2, m.state
    ))
    .unwrap();
    cfg.apply_sysctl("sched/features", &m.features.join(" "))
        .unwrap();
    let opts = SimOptions {
        duration: Some(200_000 * US),
        seed: m.seed,
        trace: false,
        check: true,
    };
    match sim::try_run(w, cfg, &opts, &mut ()) {
        Ok(_) => Ok(()),
        Err(SimError::Check(c)) => Err(TestCaseError::fail(c.to_string())),
        Err(SimError::User(e)) if refusals_ok && e.message.contains("refused") => Ok(()),
        Err(SimError::User(e)) => Err(TestCaseError::fail(format!(
            "task {}: {}",
            e.task, e.message
        ))),
    }
}

proptest! {
    // 128 cases each unless PROPTEST_CASES says otherwise (for long bug hunts).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_fair_workloads_pass_the_checker(
        m in machine(),
        specs in proptest::collection::vec(spec(), 1..8),
    ) {
        passes(&m, &specs)?;
    }

    #[test]
    fn random_rt_and_fair_workloads_pass_the_checker(
        m in machine(),
        specs in proptest::collection::vec(spec_of(rt_step().boxed()), 1..8),
    ) {
        passes(&m, &specs)?;
    }

    #[test]
    fn random_deadline_and_cgroup_workloads_pass_the_checker(
        m in machine(),
        l in limits(),
        specs in proptest::collection::vec(spec_of(dl_step().boxed()), 1..8),
    ) {
        // A task that became SCHED_DEADLINE stays there (new parameters only). Leaving the
        // class and coming back before the deadline used to keep an overrun without a
        // refill (check_found.rs, fixed); the filter keeps this case mix on the deadline
        // and cgroup paths.
        let specs: Vec<Spec> = specs
            .into_iter()
            .map(|s| {
                let dl = s.body.iter().any(|x| matches!(x, S::Dl(..)));
                let body = s
                    .body
                    .into_iter()
                    .filter(|x| {
                        !dl || !matches!(
                            x,
                            S::Nice(_) | S::IdlePolicy | S::Batch | S::Slice(_) | S::Rt(..)
                        )
                    })
                    .collect();
                Spec { pinned: None, body, ..s }
            })
            .collect();
        passes_in_cgroups(&m, &l, &specs)?;
    }

    // Deadline tasks that leave the class (to fair, idle, batch or RT) and come back: the
    // bandwidth kept until the 0-lag time (switched_from_dl, inactive_task_timer).
    #[test]
    fn random_deadline_workloads_leaving_the_class_pass_the_checker(
        m in machine(),
        l in limits(),
        specs in proptest::collection::vec(spec_of(dl_step().boxed()), 1..8),
    ) {
        let specs: Vec<Spec> = specs.into_iter().map(|s| Spec { pinned: None, ..s }).collect();
        passes_in_cgroups(&m, &l, &specs)?;
    }
}
