//! Autogroup sessions (kernel/sched/autogroup.c): each session's tasks of the root cgroup
//! share one group under the root, weighted by the session's nice value; `setsid` starts a
//! new one; fork inherits it; a task in another cgroup is in that cgroup; with autogroup
//! off sessions change nothing.

mod common;
use common::*;
use schedsim_kernel::report::Report;
use schedsim_kernel::sim::{self, SimError, SimOptions, SimResult};
use schedsim_kernel::Config;

const S: u64 = 1_000_000_000;

/// `text` for 10 s on one CPU, autogroup on or off (the machine key).
fn run_toml(text: &str, autogroup: bool) -> SimResult {
    let w = schedsim_workload::parse_toml("autogroup-test.toml", text).expect("valid workload");
    let machine = if autogroup {
        "cpus=1"
    } else {
        "cpus=1,autogroup=off"
    };
    let cfg = Config::parse_machine(machine).expect("valid machine");
    assert_eq!(cfg.autogroup, autogroup);
    simulate_workload(w, cfg, 10 * S)
}

/// The share of the CPU the threads whose comm starts with `prefix` got.
fn cpu_share(r: &SimResult, prefix: &str) -> f64 {
    let rep = Report::from_result(r);
    let ns: u64 = rep
        .tasks
        .iter()
        .filter(|t| t.comm.starts_with(prefix))
        .map(|t| t.cpu_time_ns)
        .sum();
    ns as f64 / rep.duration_ns as f64
}

/// The path of the group task `comm` is queued under at the end.
fn group_of(r: &SimResult, comm: &str) -> String {
    let t = task_named(r, comm);
    r.sched.fair.tg(t.sched_task_group).path.clone()
}

#[track_caller]
fn near(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "got {got:.4}, want {want:.4} ± {tol}"
    );
}

const ONE_AGAINST_FOUR: &str = r#"
[[task]]
name = "a"
session = "a"
run = "10ms"

[[task]]
name = "b"
count = 4
session = "b"
run = "10ms"
"#;

#[test]
fn sessions_share_the_cpu_as_equals_with_autogroup_and_tasks_do_without() {
    let on = run_toml(ONE_AGAINST_FOUR, true);
    near(cpu_share(&on, "a"), 0.5, 0.005);
    // autogroup-1 is the launcher's; the sessions' come in order of their first task.
    assert_eq!(group_of(&on, "a"), "/autogroup-2");
    assert_eq!(group_of(&on, "b-3"), "/autogroup-3");
    let off = run_toml(ONE_AGAINST_FOUR, false);
    near(cpu_share(&off, "a"), 0.2, 0.005);
    assert_eq!(group_of(&off, "a"), "/");
}

#[test]
fn a_sessions_nice_weights_its_autogroup() {
    let r = run_toml(
        r#"
[[task]]
name = "a"
session = "a"
run = "10ms"

[[task]]
name = "b"
session = "b"
run = "10ms"

[session.b]
nice = 5
"#,
        true,
    );
    // sched_prio_to_weight[25] = 335 against nice 0's 1024.
    let ratio = cpu_share(&r, "a") / cpu_share(&r, "b");
    near(ratio / (1024.0 / 335.0), 1.0, 0.005);
}

#[test]
fn setsid_moves_a_task_into_a_new_autogroup() {
    // Three hogs in the launcher's session, a third each, until `c` calls setsid after
    // 2 s: then its new session has half the CPU and the launcher's the other half.
    let r = run_toml(
        r#"
[[task]]
name = "a"
run = "10ms"

[[task]]
name = "b"
run = "10ms"

[[task]]
name = "c"
loop = "once"
program = ["runwall 2s", "setsid", { loop = "forever", do = ["run 10ms"] }]
"#,
        true,
    );
    near(cpu_share(&r, "c"), (2.0 / 3.0 + 8.0 * 0.5) / 10.0, 0.005);
    near(cpu_share(&r, "a"), (2.0 / 3.0 + 8.0 * 0.25) / 10.0, 0.005);
    assert_eq!(group_of(&r, "c"), "/autogroup-2");
    assert_eq!(group_of(&r, "a"), "/autogroup-1");
}

#[test]
fn a_task_in_a_cgroup_is_not_in_its_sessions_autogroup() {
    // `a` names session s, but its cgroup /g is not the root: /g and s's autogroup are
    // siblings of equal weight, so `a` gets half the CPU rather than a quarter.
    let r = run_toml(
        r#"
[cgroup."/g"]

[[task]]
name = "a"
session = "s"
cgroup = "/g"
run = "10ms"

[[task]]
name = "b"
count = 3
session = "s"
run = "10ms"
"#,
        true,
    );
    assert_eq!(group_of(&r, "a"), "/g");
    assert_eq!(group_of(&r, "b-0"), "/autogroup-2");
    near(cpu_share(&r, "a"), 0.5, 0.005);
}

#[test]
fn forked_threads_stay_in_their_parents_session() {
    // p forks two kids into session s: three tasks there against o's one, which keeps
    // half the CPU (were the kids in the launcher's session, o would get a third).
    let r = run_toml(
        r#"
[[task]]
name = "p"
session = "s"
loop = "once"
program = ["fork kid", "fork kid", { loop = "forever", do = ["run 10ms"] }]

[[task]]
name = "kid"
template = true
run = "10ms"

[[task]]
name = "o"
session = "o"
run = "10ms"
"#,
        true,
    );
    let kids: Vec<String> = r
        .sched
        .tasks
        .iter()
        .filter(|t| t.comm.as_str().starts_with("kid"))
        .map(|t| r.sched.fair.tg(t.sched_task_group).path.clone())
        .collect();
    assert_eq!(kids, ["/autogroup-2", "/autogroup-2"]);
    near(cpu_share(&r, "o"), 0.5, 0.005);
}

#[test]
fn a_cgroup_named_like_an_autogroup_is_a_cgroup_of_its_own() {
    let r = run_toml(
        r#"
[cgroup."/autogroup-1"]

[[task]]
name = "a"
cgroup = "/autogroup-1"
run = "10ms"

[[task]]
name = "b"
run = "10ms"
"#,
        true,
    );
    let tg_of = |comm: &str| {
        let t = r
            .sched
            .tasks
            .iter()
            .find(|t| t.comm.as_str() == comm)
            .unwrap();
        t.sched_task_group
    };
    assert_ne!(tg_of("a"), tg_of("b"));
    assert!(!r.sched.fair.tg(tg_of("a")).autogroup);
    assert!(r.sched.fair.tg(tg_of("b")).autogroup);
}

#[test]
fn a_session_leader_cannot_setsid_again() {
    let w = schedsim_workload::parse_toml(
        "autogroup-test.toml",
        "[[task]]\nname = \"l\"\nprogram = [\"setsid\", \"run 1ms\", \"setsid\", \"run 1ms\"]\n",
    )
    .expect("valid workload");
    let opts = SimOptions {
        duration: Some(S),
        seed: 1,
        trace: false,
        check: true,
    };
    let cfg = Config::parse_machine("cpus=1").unwrap();
    match sim::try_run(w, cfg, &opts, &mut ()) {
        Err(SimError::User(e)) => assert!(e.message.contains("EPERM"), "{}", e.message),
        Err(e) => panic!("another error: {e:?}"),
        Ok(_) => panic!("a second setsid ran"),
    }
}
