//! The sched_ext cgroup callbacks as a policy sees them: `ops.cgroup_init` for every cgroup
//! at load (root first, parents before children, with the cgroup v2 weight and bandwidth
//! the workload wrote), `ops.cgroup_prep_move`/`ops.cgroup_move` around every move between
//! cgroups (of any task, never for identity or autogroup changes), `ops.cgroup_exit` at
//! disable (children first), a refused move failing the workload op, and the paths set-up
//! cannot reach in a run (a cgroup created or written while a policy is loaded, a migration
//! of several tasks cancelled).

use std::sync::{Arc, Mutex};

use schedsim_kernel::class::ext::cgroup::{
    scx_cgroup_can_attach, scx_cgroup_cancel_attach, scx_group_set_bandwidth, scx_group_set_weight,
    scx_tg_online, RUNTIME_INF,
};
use schedsim_kernel::class::ext::kfuncs::ScxCtx;
use schedsim_kernel::class::ext::ops::{CgroupInitArgs, ExtOps, ScxExitInfo, ScxExitKind};
use schedsim_kernel::class::ext::ScxSpec;
use schedsim_kernel::class::fair::group::ROOT_TG;
use schedsim_kernel::sim::{self, SimOptions, SimResult};
use schedsim_kernel::task::TaskId;
use schedsim_kernel::user::UserError;
use schedsim_kernel::Config;

type Log = Arc<Mutex<Vec<String>>>;

const MS: u64 = 1_000_000;
/// `-EBUSY`, `-ENOMEM`.
const EBUSY: i32 = -16;
const ENOMEM: i32 = -12;

/// Logs the cgroup callbacks (and ops.init, the first task init, ops.exit for the order
/// around them). Refuses moves into `/locked`; ends itself (`scx_bpf_exit`) when a task
/// moves back to `/` if `exit_on_root`.
struct CgRec {
    log: Log,
    exit_on_root: bool,
    next_dsq: u64,
}

impl CgRec {
    fn put(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

fn quota(q: u64) -> String {
    if q == RUNTIME_INF {
        "max".into()
    } else {
        q.to_string()
    }
}

impl ExtOps for CgRec {
    fn name(&self) -> &str {
        "cgrec"
    }
    fn init(&mut self, _cx: &mut ScxCtx) -> Result<(), i32> {
        self.put("init".into());
        Ok(())
    }
    fn init_task(&mut self, cx: &mut ScxCtx, p: TaskId, _fork: bool) -> Result<(), i32> {
        self.put(format!("init_task {}", cx.task_comm(p)));
        Ok(())
    }
    fn cgroup_init(
        &mut self,
        cx: &mut ScxCtx,
        cgroup: &str,
        a: &CgroupInitArgs,
    ) -> Result<(), i32> {
        if cgroup == "/bad" {
            return Err(ENOMEM);
        }
        // Sleepable (SCX_KF_UNLOCKED): a DSQ per cgroup, as scx_flatcg does.
        self.next_dsq += 1;
        cx.create_dsq(self.next_dsq)?;
        self.put(format!(
            "cgroup_init {cgroup} weight={} period={} quota={} burst={}",
            a.weight,
            a.bw_period_us,
            quota(a.bw_quota_us),
            a.bw_burst_us
        ));
        Ok(())
    }
    fn cgroup_exit(&mut self, _cx: &mut ScxCtx, cgroup: &str) {
        self.put(format!("cgroup_exit {cgroup}"));
    }
    fn cgroup_prep_move(
        &mut self,
        cx: &mut ScxCtx,
        p: TaskId,
        from: &str,
        to: &str,
    ) -> Result<(), i32> {
        self.put(format!("prep_move {} {from} -> {to}", cx.task_comm(p)));
        if to == "/locked" || to == "/pos" {
            // A positive value is no errno: ops_sanitize_err turns it into a policy error.
            return Err(if to == "/pos" { 5 } else { EBUSY });
        }
        Ok(())
    }
    fn cgroup_move(&mut self, cx: &mut ScxCtx, p: TaskId, from: &str, to: &str) {
        self.put(format!("move {} {from} -> {to}", cx.task_comm(p)));
        if self.exit_on_root && to == "/" {
            cx.exit("done");
        }
    }
    fn cgroup_cancel_move(&mut self, cx: &mut ScxCtx, p: TaskId, from: &str, to: &str) {
        self.put(format!("cancel_move {} {from} -> {to}", cx.task_comm(p)));
    }
    fn cgroup_set_weight(&mut self, _cx: &mut ScxCtx, cgroup: &str, weight: u32) {
        self.put(format!("set_weight {cgroup} {weight}"));
    }
    fn cgroup_set_bandwidth(&mut self, _cx: &mut ScxCtx, cgroup: &str, p: u64, q: u64, b: u64) {
        self.put(format!(
            "set_bandwidth {cgroup} period={p} quota={} burst={b}",
            quota(q)
        ));
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        self.put(format!("exit {:?}", info.kind));
    }
}

fn run(text: &str, exit_on_root: bool, autogroup: bool) -> (Result<SimResult, UserError>, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let spec = ScxSpec::custom("cgrec", move || {
        Box::new(CgRec {
            log: l.clone(),
            exit_on_root,
            next_dsq: 100,
        })
    });
    (run_spec(spec, text, autogroup), log)
}

/// A TOML workload on 2 CPUs for 20 ms under `spec`, traced and checked.
fn run_spec(spec: ScxSpec, text: &str, autogroup: bool) -> Result<SimResult, UserError> {
    let w = schedsim_workload::parse_toml("ext-cgroup.toml", text).expect("valid workload");
    let cfg = Config {
        nr_cpus: 2,
        scx: Some(spec),
        autogroup,
        ..Config::default()
    };
    let opts = SimOptions {
        duration: Some(20 * MS),
        seed: 1,
        trace: true,
        check: true,
    };
    sim::run(w, cfg, &opts, &mut ())
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// The log lines `keep` accepts.
fn lines_where(log: &Log, keep: impl Fn(&str) -> bool) -> Vec<String> {
    lines(log).into_iter().filter(|l| keep(l)).collect()
}

/// The log without task initialisations (their order is the class's business).
fn cgroup_lines(log: &Log) -> Vec<String> {
    lines_where(log, |l| !l.starts_with("init_task"))
}

const GROUPS: &str = r#"
[cgroup."/a"]
"cpu.weight" = 200
"cpu.max" = "50000 100000"
"cpu.max.burst" = 10000
[cgroup."/b"]
"cpu.shares" = 512
[cgroup."/c"]
"cpu.weight.nice" = 5
"cpu.idle" = 1
[cgroup."/a/x"]
"cpu.max" = "max 50000"
"#;

/// ops.cgroup_init for `GROUPS` at load: pre-order (the root first, /a/x right after /a
/// though created last; an autogroup is no cgroup), with what set-up wrote.
const CGROUP_INITS: [&str; 5] = [
    "cgroup_init / weight=100 period=100000 quota=max burst=0",
    "cgroup_init /a weight=200 period=100000 quota=50000 burst=10000",
    "cgroup_init /a/x weight=100 period=50000 quota=max burst=0",
    // cpu.shares 512 → sched_weight_to_cgroup = 50.
    "cgroup_init /b weight=50 period=100000 quota=max burst=0",
    // cpu.weight.nice 5 → weight 335 → 33; cpu.idle leaves tg->scx.weight alone.
    "cgroup_init /c weight=33 period=100000 quota=max burst=0",
];

/// ops.cgroup_exit for `GROUPS` at disable: post-order, children before parents.
const CGROUP_EXITS: [&str; 5] = [
    "cgroup_exit /a/x",
    "cgroup_exit /a",
    "cgroup_exit /b",
    "cgroup_exit /c",
    "cgroup_exit /",
];

/// `GROUPS`, one more cgroup, and one task (its TOML keys).
fn groups_and_task(group: &str, task: &str) -> String {
    format!("{GROUPS}[cgroup.\"{group}\"]\n[[task]]\n{task}\n")
}

fn moves_workload() -> String {
    format!(
        r#"{GROUPS}
[[task]]
name = "t1"
cgroup = "/a"
loop = 1
program = ["run 1ms", "cgroup /b", "run 1ms", "cgroup /b", "run 1ms", "cgroup /", "run 1ms"]
[[task]]
name = "rt"
policy = "fifo"
priority = 10
loop = 1
program = ["sleep 500us", "cgroup /a/x", "sleep 10ms", "cgroup /c"]
"#
    )
}

#[test]
fn cgroup_init_move_and_exit_come_in_the_kernels_order_with_its_arguments() {
    let (r, log) = run(&moves_workload(), true, true);
    let r = r.expect("the run succeeds");
    let all = lines(&log);
    // ops.init, then every cgroup, then the tasks.
    assert_eq!(all[0], "init");
    assert_eq!(all[1..6], CGROUP_INITS);
    assert_eq!(all[6], "init_task schedsim");
    // Set-up happens before the load, so no set_weight/set_bandwidth: init carries them.
    assert!(!all.iter().any(|l| l.starts_with("set_")), "{all:#?}");
    assert_eq!(
        cgroup_lines(&log)[6..14],
        [
            // t1 joins /a as its first act (from the launcher's autogroup: the root cgroup).
            "prep_move t1 / -> /a",
            "move t1 / -> /a",
            // rt is no ext task, but every task's move is reported.
            "prep_move rt / -> /a/x",
            "move rt / -> /a/x",
            "prep_move t1 /a -> /b",
            "move t1 /a -> /b",
            // The second `cgroup /b` is an identity move: nothing.
            "prep_move t1 /b -> /",
            "move t1 /b -> /",
        ]
    );
    // The policy exits there: cgroup support shuts down first, then ops.exit. rt's later
    // move to /c is not reported.
    assert_eq!(cgroup_lines(&log)[14..19], CGROUP_EXITS);
    assert_eq!(cgroup_lines(&log)[19..], ["exit UnregBpf"]);
    let exit = r.sched.ext.exit.as_ref().expect("the policy exited");
    assert_eq!(exit.kind, ScxExitKind::UnregBpf);
    assert!(!r.sched.ext.cgroup_enabled);
}

#[test]
fn without_autogroup_the_root_group_is_the_same_cgroup() {
    let (r, log) = run(&moves_workload(), false, false);
    r.expect("the run succeeds");
    assert_eq!(
        lines_where(&log, |l| l.starts_with("move")),
        [
            "move t1 / -> /a",
            "move rt / -> /a/x",
            "move t1 /a -> /b",
            "move t1 /b -> /",
            "move rt /a/x -> /c",
        ]
    );
}

#[test]
fn a_refused_move_fails_the_workload_op_naming_policy_and_task() {
    let task = r#"name = "mover"
program = ["run 1ms", "cgroup /a", "run 1ms", "cgroup /locked", "run 1ms"]"#;
    let (r, log) = run(&groups_and_task("/locked", task), false, true);
    let e = r.err().expect("the move is refused");
    assert!(e.task.starts_with("mover["), "{e:?}");
    assert!(
        e.message
            .starts_with("sched_ext policy \"cgrec\" refused to move mover[",)
            && e.message
                .ends_with("from cgroup /a to /locked (ops.cgroup_prep_move() returned -16)"),
        "{}",
        e.message
    );
    // A refused single-task move: no ops.cgroup_move, nothing to cancel.
    assert_eq!(
        lines_where(&log, |l| l.contains("move ")),
        [
            "prep_move mover / -> /a",
            "move mover / -> /a",
            "prep_move mover /a -> /locked",
        ]
    );
}

#[test]
fn a_refused_first_move_fails_the_fork() {
    let task = "name = \"late\"\ncgroup = \"/locked\"\nrun = \"1ms\"";
    let (r, _) = run(&groups_and_task("/locked", task), false, true);
    let e = r.err().expect("the move is refused");
    assert!(e.task.starts_with("late["), "{e:?}");
    assert!(
        e.message.contains("from cgroup / to /locked"),
        "{}",
        e.message
    );
}

/// A finished run whose policy is still loaded, for the paths workloads cannot reach.
fn loaded() -> (SimResult, Log) {
    let text = format!(
        r#"{GROUPS}
[cgroup."/locked"]
[cgroup."/pos"]
[[task]]
name = "u"
program = ["sleep 100ms"]
[[task]]
name = "v"
cgroup = "/b"
program = ["sleep 100ms"]
"#
    );
    let (r, log) = run(&text, false, true);
    let r = r.expect("the run succeeds");
    assert!(r.sched.ext.cgroup_enabled && r.sched.ext.exit.is_none());
    log.lock().unwrap().clear();
    (r, log)
}

#[test]
fn a_migration_refused_for_one_task_cancels_the_others() {
    let (mut r, log) = loaded();
    let s = &mut r.sched;
    let (u, v) = (pid_of(s, "u"), pid_of(s, "v"));
    let (a, locked) = (group(s, "/a"), group(s, "/locked"));
    // u would move (prepared), v is refused: u's preparation is cancelled.
    let e = scx_cgroup_can_attach(s, &[(u, a), (v, locked)]).expect_err("refused");
    assert_eq!((e.task, e.err), (v, EBUSY));
    assert_eq!(
        lines(&log),
        [
            "prep_move u / -> /a",
            "prep_move v /b -> /locked",
            "cancel_move u / -> /a",
        ]
    );
    // A migration accepted, then cancelled (another controller refused it).
    log.lock().unwrap().clear();
    scx_cgroup_can_attach(s, &[(u, a), (v, a)]).expect("accepted");
    scx_cgroup_cancel_attach(s, &[(u, a), (v, a)]);
    assert_eq!(
        lines(&log),
        [
            "prep_move u / -> /a",
            "prep_move v /b -> /a",
            "cancel_move u / -> /a",
            "cancel_move v /b -> /a",
        ]
    );
    // Accepted and done: ops.cgroup_move from sched_move_task.
    log.lock().unwrap().clear();
    let cpu = s.task(u).cpu;
    s.cgroup_attach(schedsim_kernel::sched::Ctx::Task(cpu), u, a)
        .expect("accepted");
    assert_eq!(lines(&log), ["prep_move u / -> /a", "move u / -> /a"]);
    assert!(s.ext.exit.is_none());
}

#[test]
fn an_invalid_errno_from_prep_move_is_a_policy_error() {
    let (mut r, log) = loaded();
    let s = &mut r.sched;
    let v = pid_of(s, "v");
    let pos = group(s, "/pos");
    let e = scx_cgroup_can_attach(s, &[(v, pos)]).expect_err("refused");
    assert_eq!(e.err, -71, "EPROTO");
    assert_eq!(lines(&log), ["prep_move v /b -> /pos"]);
    let exit = s.ext.exit.as_ref().expect("the policy is failing");
    assert_eq!(exit.kind, ScxExitKind::Error);
    assert_eq!(
        exit.msg,
        "ops.cgroup_prep_move() returned an invalid errno 5"
    );
}

#[test]
fn writes_and_mkdir_while_loaded_reach_the_policy_when_something_changes() {
    let (mut r, log) = loaded();
    let s = &mut r.sched;
    let a = group(s, "/a");
    scx_group_set_weight(s, a, 300);
    scx_group_set_weight(s, a, 300);
    scx_group_set_bandwidth(s, a, 100_000, 50_000, 10_000);
    scx_group_set_bandwidth(s, a, 100_000, RUNTIME_INF, 0);
    let g = s.fair.create_group("/new", a);
    scx_tg_online(s, g).expect("cgroup_init accepts it");
    assert_eq!(
        lines(&log),
        [
            "set_weight /a 300",
            // Unchanged bandwidth is not reported.
            "set_bandwidth /a period=100000 quota=max burst=0",
            "cgroup_init /new weight=100 period=100000 quota=max burst=0",
        ]
    );
    assert_eq!(s.ext.tg(a).weight, 300);
    assert!(s.ext.tg(g).inited && s.ext.tg(ROOT_TG).inited);
}

fn pid_of(s: &schedsim_kernel::sched::Sched, comm: &str) -> TaskId {
    s.tasks
        .iter()
        .find(|t| t.comm.as_str() == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .id
}

fn group(
    s: &schedsim_kernel::sched::Sched,
    path: &str,
) -> schedsim_kernel::class::fair::group::TgId {
    s.fair.group_by_path(path).expect("group exists")
}

#[test]
fn policies_without_cgroup_callbacks_run_cgroup_workloads() {
    let simple = ScxSpec::builtin("simple").unwrap();
    let r = run_spec(simple, &moves_workload(), true).expect("the run succeeds");
    assert!(r.sched.ext.exit.is_none());
    assert!(r.sched.ext.cgroup_enabled);
}

/// Reads each task's cgroup when it runs (`scx_bpf_task_cgroup`, rq-locked callbacks only)
/// and calls a dispatch-only kfunc from ops.cgroup_move (sleepable: not allowed).
struct KfUser {
    log: Log,
}

impl ExtOps for KfUser {
    fn name(&self) -> &str {
        "kfuser"
    }
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        let line = format!("running {} in {}", cx.task_comm(p), cx.task_cgroup(p));
        let mut log = self.log.lock().unwrap();
        if !log.contains(&line) {
            log.push(line);
        }
    }
    fn cgroup_move(&mut self, cx: &mut ScxCtx, _p: TaskId, _from: &str, to: &str) {
        if to == "/b" {
            cx.dispatch_nr_slots();
        }
    }
}

#[test]
fn cgroup_callbacks_run_in_the_sleepable_kfunc_context() {
    let log: Log = Arc::default();
    let l = log.clone();
    let spec = ScxSpec::custom("kfuser", move || Box::new(KfUser { log: l.clone() }));
    let r = run_spec(spec, &moves_workload(), true).expect("the run succeeds");
    // t1 ran in /a (scx_bpf_task_cgroup from ops.running) before its move to /b, whose
    // ops.cgroup_move called a dispatch kfunc: a policy error.
    assert!(
        lines(&log).contains(&"running t1 in /a".to_string()),
        "{log:?}"
    );
    let exit = r.sched.ext.exit.as_ref().expect("ejected");
    assert_eq!(exit.kind, ScxExitKind::Error);
    assert!(
        exit.msg.starts_with(
            "kfunc scx_bpf_dispatch_nr_slots() called from a disallowed context (kf_mask 0x1"
        ),
        "{}",
        exit.msg
    );
}

#[test]
fn a_failed_cgroup_init_aborts_the_load_and_exits_the_cgroups_already_initialized() {
    let task = "name = \"t\"\nrun = \"1ms\"";
    let (r, log) = run(&groups_and_task("/bad", task), false, true);
    let r = r.expect("the run goes on without the policy");
    // /bad (created last) refused: no task was initialized; the disable exits the
    // cgroups that were.
    let want: Vec<&str> = ["init"]
        .into_iter()
        .chain(CGROUP_INITS)
        .chain(CGROUP_EXITS)
        .chain(["exit Error"])
        .collect();
    assert_eq!(lines(&log), want);
    let exit = r.sched.ext.exit.as_ref().expect("the load failed");
    assert_eq!(exit.msg, "ops.cgroup_init() failed (-12) for cgroup /bad");
    assert!(!r.sched.ext.cgroup_enabled);
}
