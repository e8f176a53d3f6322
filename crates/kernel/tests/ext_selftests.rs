//! Conformance cases modelled on the kernel's sched_ext selftests
//! (tools/testing/selftests/sched_ext): each test stands in for one selftest's BPF
//! scheduler with a small `ExtOps` policy doing what its `.bpf.c` does, and asserts the
//! outcome the selftest's `.c` asserts on 6.18 (the load refused, an ejection with the exit
//! kind, code and message, or a clean run then `SCX_EXIT_UNREG` at unload). docs/sched_ext.md
//! lists them.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use common::*;
use schedsim_kernel::class::ext::dsq::{SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL, SCX_DSQ_LOCAL_ON};
use schedsim_kernel::class::ext::kfuncs::ScxCtx;
use schedsim_kernel::class::ext::ops::{
    opsf, CgroupInitArgs, CpuPreemptReason, ExtOps, ScxExitInfo, ScxExitKind, SCX_SLICE_DFL,
};
use schedsim_kernel::class::ext::ScxSpec;
use schedsim_kernel::class::ClassId;
use schedsim_kernel::cpumask::CpuMask;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::task::TaskId;
use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::*;

/// `UEI_DEFINE(uei)` / `UEI_RECORD(uei, ei)`: what ops.exit was given.
type Uei = Arc<Mutex<Option<ScxExitInfo>>>;

fn record(uei: &Uei, info: &ScxExitInfo) {
    *uei.lock().unwrap() = Some(info.clone());
}

fn recorded(uei: &Uei) -> ScxExitInfo {
    uei.lock().unwrap().clone().expect("ops.exit was called")
}

/// A policy built around a fresh `Uei`, and that `Uei`.
fn with_uei<P: ExtOps + 'static>(
    make: impl Fn(Uei) -> P + Send + Sync + 'static,
) -> (ScxSpec, Uei) {
    let uei: Uei = Arc::default();
    let u = uei.clone();
    let spec = ScxSpec::custom("selftest", move || Box::new(make(u.clone())));
    (spec, uei)
}

/// Runs `tasks` on `cpus` CPUs under `spec`, traced and checked.
fn run_scx(tasks: Vec<TaskSpec>, cpus: u32, duration: u64, spec: ScxSpec) -> SimResult {
    let cfg = Config {
        nr_cpus: cpus,
        scx: Some(spec),
        ..Config::default()
    };
    simulate_cfg(tasks, cfg, duration)
}

/// A task that wakes every 5 ms for 1 ms of work: plenty of wakeups (ops.select_cpu).
fn waker(name: &str) -> TaskSpec {
    task(
        name,
        0,
        None,
        forever(vec![
            Step::Run(Dur::Fixed(MS)),
            Step::Sleep(Dur::Fixed(4 * MS)),
        ]),
    )
}

fn pid_name(r: &SimResult, comm: &str) -> String {
    format!("{comm}[{}]", pid_of(r, comm))
}

fn class_of(r: &SimResult, comm: &str) -> ClassId {
    let pid = pid_of(r, comm);
    r.sched.tasks.iter().find(|t| t.pid == pid).unwrap().class
}

/// CPU time over the whole run, from the trace.
fn cpu_time(r: &SimResult, comm: &str) -> u64 {
    runtime_between(r, pid_of(r, comm), 0, r.end)
}

/// CPU time of `pid` within `[from, to)`, from the trace's sched_switch records.
fn runtime_between(r: &SimResult, pid: i32, from: u64, to: u64) -> u64 {
    let mut since: Option<u64> = None;
    let mut total = 0;
    for rec in r.sched.trace.merged() {
        if let Event::Switch {
            prev_pid, next_pid, ..
        } = rec.event
        {
            if prev_pid == pid {
                if let Some(s) = since.take() {
                    total += rec.ts.min(to).saturating_sub(s.max(from));
                }
            }
            if next_pid == pid {
                since = Some(rec.ts);
            }
        }
    }
    if let Some(s) = since {
        total += to.saturating_sub(s.max(from));
    }
    total
}

// --- enq_last_no_enq_fails ---------------------------------------------------------------

/// enq_last_no_enq_fails.bpf.c: `SCX_OPS_ENQ_LAST` without `ops.enqueue`, ops.exit records
/// the exit kind.
struct EnqLastNoEnq {
    uei: Uei,
    has_enqueue: bool,
}

impl ExtOps for EnqLastNoEnq {
    fn name(&self) -> &str {
        "enq_last_no_enq_fails"
    }
    fn flags(&self) -> u64 {
        opsf::ENQ_LAST
    }
    fn timeout_ms(&self) -> u32 {
        1000
    }
    fn implements_enqueue(&self) -> bool {
        self.has_enqueue
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        record(&self.uei, info);
    }
}

#[test]
fn enq_last_no_enq_fails_ejects_at_load_with_scx_exit_error() {
    // 6.18: validate_ops() calls scx_error() and scx_enable() returns 0 (the attach
    // succeeds), so the selftest asserts the scheduler did not stay loaded: ops.exit ran
    // with SCX_EXIT_ERROR.
    let (spec, uei) = with_uei(move |uei| EnqLastNoEnq {
        uei,
        has_enqueue: false,
    });
    let r = run_scx(vec![hog("h", 0, None)], 2, 50 * MS, spec);
    let exit = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(exit.kind, ScxExitKind::Error);
    assert_eq!(exit.policy, "enq_last_no_enq_fails");
    assert_eq!(
        exit.msg,
        "SCX_OPS_ENQ_LAST requires ops.enqueue() to be implemented"
    );
    assert_eq!(exit.at, 0, "ejected while loading");
    assert_eq!(recorded(&uei), exit);
    // No task ever joined the class.
    assert_eq!(class_of(&r, "h"), ClassId::Fair);
    assert!(!r.sched.ext.enabled);

    // The same flags with ops.enqueue load and run.
    let (spec, uei) = with_uei(move |uei| EnqLastNoEnq {
        uei,
        has_enqueue: true,
    });
    let r = run_scx(vec![hog("h", 0, None)], 2, 50 * MS, spec);
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    assert!(uei.lock().unwrap().is_none(), "ops.exit not called");
    assert_eq!(class_of(&r, "h"), ClassId::Ext);
}

/// validate_ops' other 6.18 check: `SCX_OPS_BUILTIN_IDLE_PER_NODE` with ops.update_idle
/// and without `SCX_OPS_KEEP_BUILTIN_IDLE` (built-in idle tracking off).
struct PerNodeNoIdle;

impl ExtOps for PerNodeNoIdle {
    fn name(&self) -> &str {
        "per_node"
    }
    fn flags(&self) -> u64 {
        opsf::BUILTIN_IDLE_PER_NODE
    }
    fn implements_update_idle(&self) -> bool {
        true
    }
}

#[test]
fn builtin_idle_per_node_without_builtin_idle_ejects_at_load() {
    let spec = ScxSpec::custom("per_node", || Box::new(PerNodeNoIdle));
    let r = run_scx(vec![hog("h", 0, None)], 2, 20 * MS, spec);
    let exit = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(exit.kind, ScxExitKind::Error);
    assert_eq!(
        exit.msg,
        "SCX_OPS_BUILTIN_IDLE_PER_NODE requires CPU idle selection enabled"
    );
    assert_eq!(exit.at, 0);
    assert_eq!(class_of(&r, "h"), ClassId::Fair);
}

// --- direct-dispatch and kfunc-context failures ------------------------------------------

/// The selftests whose BPF scheduler misbehaves in ops.select_cpu (or ops.enqueue) and
/// whose `.c` asserts `uei.kind == SCX_EXIT_ERROR` after a second of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Misstep {
    /// ddsp_bogus_dsq_fail: `scx_bpf_dsq_insert_vtime(p, 0xcafef00d, ...)` on an idle
    /// CPU or prev_cpu.
    BogusVtime,
    /// ddsp_vtimelocal_fail: `scx_bpf_dsq_insert_vtime(p, SCX_DSQ_LOCAL, ...)` on an idle
    /// hit.
    VtimeLocal,
    /// select_cpu_dispatch_bad_dsq: `scx_bpf_dsq_insert(p, 0xcafef00d, ...)`.
    BadDsq,
    /// select_cpu_dispatch_dbl_dsp: two inserts into `SCX_DSQ_GLOBAL` in a row.
    DoubleDispatch,
    /// enq_select_cpu_fails: `scx_bpf_select_cpu_dfl` from ops.enqueue.
    DflFromEnqueue,
}

const BOGUS_DSQ: u64 = 0xcafe_f00d;

struct Misbehave {
    uei: Uei,
    case: Misstep,
}

impl ExtOps for Misbehave {
    fn name(&self) -> &str {
        match self.case {
            Misstep::BogusVtime => "ddsp_bogus_dsq_fail",
            Misstep::VtimeLocal => "ddsp_vtimelocal_fail",
            Misstep::BadDsq => "select_cpu_dispatch_bad_dsq",
            Misstep::DoubleDispatch => "select_cpu_dispatch_dbl_dsp",
            Misstep::DflFromEnqueue => "enq_select_cpu_fails",
        }
    }
    fn timeout_ms(&self) -> u32 {
        1000
    }
    fn select_cpu(&mut self, cx: &mut ScxCtx, p: TaskId, prev_cpu: u32, _wf: u64) -> i32 {
        let v = cx.task_vtime(p);
        let mut cpu = prev_cpu;
        match self.case {
            Misstep::BogusVtime | Misstep::VtimeLocal => {
                let mask = cx.task_cpumask(p);
                let idle = cx.pick_idle_cpu(&mask);
                if self.case == Misstep::BogusVtime {
                    cx.dsq_insert_vtime(p, BOGUS_DSQ, SCX_SLICE_DFL, v, 0);
                } else if idle.is_some() {
                    cx.dsq_insert_vtime(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, v, 0);
                }
                cpu = idle.unwrap_or(prev_cpu);
            }
            Misstep::BadDsq => cx.dsq_insert(p, BOGUS_DSQ, SCX_SLICE_DFL, 0),
            Misstep::DoubleDispatch => {
                cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, 0);
                cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, 0);
            }
            Misstep::DflFromEnqueue => {}
        }
        cpu as i32
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        if self.case == Misstep::DflFromEnqueue {
            cx.select_cpu_dfl(p, 0, 0);
        }
        cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        record(&self.uei, info);
    }
}

#[test]
fn direct_dispatch_and_kfunc_misuse_eject_with_scx_exit_error() {
    use Misstep::*;
    for case in [
        BogusVtime,
        VtimeLocal,
        BadDsq,
        DoubleDispatch,
        DflFromEnqueue,
    ] {
        let (spec, uei) = with_uei(move |uei| Misbehave { uei, case });
        let r = run_scx(vec![waker("w")], 2, 100 * MS, spec);
        let exit = r.sched.ext.exit.clone().expect("ejected");
        assert_eq!(exit.kind, ScxExitKind::Error, "{case:?}");
        assert_eq!(recorded(&uei), exit, "{case:?}");
        // The first select_cpu is the fork of w (wake_up_new_task).
        let w = pid_name(&r, "w");
        let msg = exit.msg.as_str();
        match case {
            BogusVtime | BadDsq => {
                assert_eq!(msg, format!("non-existent DSQ 0xcafef00d for {w}"));
                assert_eq!(exit.task.as_deref(), Some(w.as_str()));
            }
            VtimeLocal => assert!(
                msg.starts_with("cannot use vtime ordering for built-in DSQs"),
                "{msg}"
            ),
            DoubleDispatch => assert_eq!(msg, format!("{w} already direct-dispatched")),
            DflFromEnqueue => assert!(
                msg.starts_with("kfunc scx_bpf_select_cpu_dfl() called from a disallowed"),
                "{msg}"
            ),
        }
        // "Fails gracefully": the task falls back to a built-in DSQ, then to fair, and
        // runs.
        assert_eq!(class_of(&r, "w"), ClassId::Fair, "{case:?}");
        assert!(cpu_time(&r, "w") > 10 * MS, "{case:?}");
    }
}

// --- select_cpu_dfl ----------------------------------------------------------------------

/// select_cpu_dfl.bpf.c: only ops.enqueue (global FIFO); it notes a test task
/// (`select_cpu*`) enqueued while its CPU is idle, which the default select_cpu must
/// prevent by dispatching such a wakeup straight to the idle CPU's local DSQ.
#[derive(Default)]
struct SelectCpuDfl {
    saw_local: Arc<Mutex<bool>>,
    enqueued: Arc<Mutex<u32>>,
    runnable: Arc<Mutex<u32>>,
}

impl ExtOps for SelectCpuDfl {
    fn name(&self) -> &str {
        "select_cpu_dfl"
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        if cx.task_comm(p).starts_with("select_cpu") {
            let idle = cx.idle_cpumask();
            if idle.test(cx.task_cpu(p)) {
                *self.saw_local.lock().unwrap() = true;
            }
            *self.enqueued.lock().unwrap() += 1;
        }
        cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
    }
    fn runnable(&mut self, cx: &mut ScxCtx, p: TaskId, _enq_flags: u64) {
        if cx.task_comm(p).starts_with("select_cpu") {
            *self.runnable.lock().unwrap() += 1;
        }
    }
}

#[test]
fn select_cpu_dfl_dispatches_idle_wakeups_directly_without_ops_enqueue() {
    let pol = SelectCpuDfl::default();
    let (saw, enq, runnable) = (
        pol.saw_local.clone(),
        pol.enqueued.clone(),
        pol.runnable.clone(),
    );
    let cell = Mutex::new(Some(pol));
    let spec = ScxSpec::custom("select_cpu_dfl", move || {
        Box::new(cell.lock().unwrap().take().expect("one run"))
    });
    // The selftest forks children that sleep 1 s and exit; here 6 sleepers on 4 CPUs wake
    // 200 times each, sometimes onto a busy machine.
    let tasks = (0..6).map(|i| waker(&format!("select_cpu{i}"))).collect();
    let r = run_scx(tasks, 4, 1000 * MS, spec);
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    assert!(
        !*saw.lock().unwrap(),
        "ops.enqueue saw a task whose CPU is idle"
    );
    // Most wakeups found an idle CPU and skipped ops.enqueue.
    let (enq, runnable) = (*enq.lock().unwrap(), *runnable.lock().unwrap());
    assert!(runnable >= 6 * 190, "{runnable}");
    assert!(enq * 2 < runnable, "enqueued {enq} of {runnable}");
}

// --- select_cpu_vtime --------------------------------------------------------------------

const VTIME_DSQ: u64 = 0;

/// select_cpu_vtime.bpf.c: a vtime scheduler on user DSQ 0 whose every insert is a direct
/// dispatch from ops.select_cpu (`scx_bpf_dsq_insert_vtime`), the enqueue flags stored and
/// applied at dispatch; ops.dispatch consumes the DSQ.
#[derive(Default)]
struct SelectCpuVtime {
    vtime_now: u64,
    consumed: Arc<Mutex<bool>>,
}

impl SelectCpuVtime {
    fn task_vtime(&self, cx: &ScxCtx, p: TaskId) -> u64 {
        let v = cx.task_vtime(p);
        let floor = self.vtime_now.wrapping_sub(SCX_SLICE_DFL);
        if (v.wrapping_sub(floor) as i64) < 0 {
            floor
        } else {
            v
        }
    }
}

impl ExtOps for SelectCpuVtime {
    fn name(&self) -> &str {
        "select_cpu_vtime"
    }
    fn timeout_ms(&self) -> u32 {
        1000
    }
    fn select_cpu(&mut self, cx: &mut ScxCtx, p: TaskId, prev_cpu: u32, _wf: u64) -> i32 {
        let mask = cx.task_cpumask(p);
        let cpu = match cx.pick_idle_cpu(&mask) {
            Some(c) => c,
            None => {
                cx.test_and_clear_cpu_idle(prev_cpu);
                prev_cpu
            }
        };
        let v = self.task_vtime(cx, p);
        cx.dsq_insert_vtime(p, VTIME_DSQ, SCX_SLICE_DFL, v, 0);
        cpu as i32
    }
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        if cx.dsq_move_to_local(VTIME_DSQ) {
            *self.consumed.lock().unwrap() = true;
        }
    }
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        let v = cx.task_vtime(p);
        if (self.vtime_now.wrapping_sub(v) as i64) < 0 {
            self.vtime_now = v;
        }
    }
    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, _runnable: bool) {
        let used = SCX_SLICE_DFL.saturating_sub(cx.task_slice(p));
        let v = cx.task_vtime(p) + used * 100 / u64::from(cx.task_weight(p));
        cx.set_task_vtime(p, v);
    }
    fn enable(&mut self, cx: &mut ScxCtx, p: TaskId) {
        cx.set_task_vtime(p, self.vtime_now);
    }
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        cx.create_dsq(VTIME_DSQ)
    }
}

#[test]
fn select_cpu_vtime_direct_dispatches_in_vtime_order_and_consumes() {
    let consumed: Arc<Mutex<bool>> = Arc::default();
    let c = consumed.clone();
    let spec = ScxSpec::custom("select_cpu_vtime", move || {
        Box::new(SelectCpuVtime {
            vtime_now: 0,
            consumed: c.clone(),
        })
    });
    // Wakers keep select_cpu busy; the hogs' slices expire and go through ops.enqueue's
    // fallback (the global DSQ), which the policy does not implement.
    let tasks = vec![waker("w0"), waker("w1"), waker("w2"), hog("h", 0, None)];
    let mut r = run_scx(tasks, 2, 1000 * MS, spec);
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    assert!(
        *consumed.lock().unwrap(),
        "ops.dispatch never consumed DSQ 0"
    );
    for w in ["w0", "w1", "w2"] {
        // 1 ms of work per 5 ms: each waker keeps up (about 200 ms of CPU).
        let t = cpu_time(&r, w);
        assert!(t >= 150 * MS, "{w} ran {t}");
    }
    // The selftest's bpf_link__destroy: a clean unload.
    r.sched.scx_unload();
    assert_eq!(r.sched.ext.exit.as_ref().unwrap().kind, ScxExitKind::Unreg);
}

// --- dsp_local_on ------------------------------------------------------------------------

/// dsp_local_on.bpf.c: select_cpu keeps prev_cpu, ops.enqueue queues the task in a BPF
/// queue, ops.dispatch pops one and inserts it into `SCX_DSQ_LOCAL_ON | target`, a random
/// CPU for a task allowed everywhere and the task's own CPU otherwise (`any_target`: the
/// first version of the selftest, a random CPU for every task).
struct DspLocalOn {
    uei: Uei,
    queue: VecDeque<TaskId>,
    rng: u64,
    any_target: bool,
}

impl DspLocalOn {
    /// `bpf_get_prandom_u32`, a fixed xorshift here.
    fn prandom(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 32) as u32
    }
}

impl ExtOps for DspLocalOn {
    fn name(&self) -> &str {
        "dsp_local_on"
    }
    fn timeout_ms(&self) -> u32 {
        1000
    }
    fn select_cpu(&mut self, _cx: &mut ScxCtx, _p: TaskId, prev_cpu: u32, _wf: u64) -> i32 {
        prev_cpu as i32
    }
    fn enqueue(&mut self, _cx: &mut ScxCtx, p: TaskId, _enq_flags: u64) {
        self.queue.push_back(p);
    }
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        let Some(p) = self.queue.pop_front() else {
            return;
        };
        if !cx.task_alive(p) {
            return;
        }
        let nr = cx.nr_cpu_ids();
        let target = if self.any_target || cx.task_nr_cpus_allowed(p) == nr {
            self.prandom() % nr
        } else {
            cx.task_cpu(p)
        };
        cx.dsq_insert(p, SCX_DSQ_LOCAL_ON | u64::from(target), SCX_SLICE_DFL, 0);
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        record(&self.uei, info);
    }
}

fn dsp_local_on(any_target: bool) -> (SimResult, Uei) {
    let (spec, uei) = with_uei(move |uei| DspLocalOn {
        uei,
        queue: VecDeque::new(),
        rng: 0x9e37_79b9_7f4a_7c15,
        any_target,
    });
    let mut pinned = waker("pinned");
    pinned.affinity = Some(vec![0]);
    let tasks = vec![waker("w0"), waker("w1"), hog("h", 0, None), pinned];
    (run_scx(tasks, 4, 1000 * MS, spec), uei)
}

#[test]
fn dsp_local_on_dispatches_to_remote_local_dsqs_and_unloads_cleanly() {
    let (mut r, uei) = dsp_local_on(false);
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    // Tasks really moved between CPUs through LOCAL_ON.
    let moves: u64 = r.sched.ext.stats.remote_local_moves.iter().sum();
    assert!(moves > 100, "{moves} remote moves");
    // Every waker runs (it wants 200 ms); a random target may be the hog's CPU, where it
    // waits for the hog's 20 ms slice (a local insert does not preempt).
    for t in ["w0", "w1", "pinned"] {
        let ran = cpu_time(&r, t);
        assert!(ran >= 100 * MS, "{t} ran {ran}");
    }
    r.sched.scx_unload();
    assert_eq!(recorded(&uei).kind, ScxExitKind::Unreg);
}

#[test]
fn dsp_local_on_outside_the_affinity_ejects_with_scx_exit_error() {
    let (r, uei) = dsp_local_on(true);
    let exit = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(exit.kind, ScxExitKind::Error);
    let pinned = pid_name(&r, "pinned");
    assert!(
        exit.msg.starts_with("SCX_DSQ_LOCAL[_ON] target CPU ")
            && exit.msg.ends_with(&format!(" not allowed for {pinned}")),
        "{}",
        exit.msg
    );
    assert_eq!(exit.task.as_deref(), Some(pinned.as_str()));
    assert_eq!(recorded(&uei), exit);
}

// --- exit --------------------------------------------------------------------------------

/// exit_test.h's `enum exit_test_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitPoint {
    SelectCpu,
    Enqueue,
    Dispatch,
    Enable,
    InitTask,
    Init,
}

/// exit.bpf.c: a FIFO scheduler on user DSQ 0 that calls `scx_bpf_exit(exit_point, "%d",
/// exit_point)` from the callback named by `exit_point`.
struct Exit {
    uei: Uei,
    point: ExitPoint,
}

impl Exit {
    fn exit_if(&self, cx: &mut ScxCtx, here: ExitPoint) {
        if self.point == here {
            let code = self.point as i64;
            cx.exit_code(code, &code.to_string());
        }
    }
}

impl ExtOps for Exit {
    fn name(&self) -> &str {
        "exit"
    }
    fn timeout_ms(&self) -> u32 {
        1000
    }
    fn select_cpu(&mut self, cx: &mut ScxCtx, p: TaskId, prev_cpu: u32, wf: u64) -> i32 {
        self.exit_if(cx, ExitPoint::SelectCpu);
        cx.select_cpu_dfl(p, prev_cpu, wf).0 as i32
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        self.exit_if(cx, ExitPoint::Enqueue);
        cx.dsq_insert(p, 0, SCX_SLICE_DFL, enq_flags);
    }
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        self.exit_if(cx, ExitPoint::Dispatch);
        cx.dsq_move_to_local(0);
    }
    fn enable(&mut self, cx: &mut ScxCtx, _p: TaskId) {
        self.exit_if(cx, ExitPoint::Enable);
    }
    fn init_task(&mut self, cx: &mut ScxCtx, _p: TaskId, _fork: bool) -> Result<(), i32> {
        self.exit_if(cx, ExitPoint::InitTask);
        Ok(())
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        record(&self.uei, info);
    }
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        self.exit_if(cx, ExitPoint::Init);
        cx.create_dsq(0)
    }
}

#[test]
fn exit_from_each_callback_unregisters_with_its_code_and_message() {
    use ExitPoint::*;
    for point in [SelectCpu, Enqueue, Dispatch, Enable, InitTask, Init] {
        let (spec, uei) = with_uei(move |uei| Exit { uei, point });
        // 2 CPUs: on one CPU ops.select_cpu is never called (the selftest skips that case).
        let r = run_scx(vec![waker("w")], 2, 100 * MS, spec);
        let exit = r.sched.ext.exit.clone().expect("exited");
        let code = point as i64;
        assert_eq!(exit.kind, ScxExitKind::UnregBpf, "{point:?}");
        assert_eq!(exit.exit_code, code, "{point:?}");
        assert_eq!(exit.msg, code.to_string(), "{point:?}");
        assert_eq!(recorded(&uei), exit, "{point:?}");
        assert_eq!(class_of(&r, "w"), ClassId::Fair, "{point:?}");
    }
}

// --- maximal -----------------------------------------------------------------------------

/// maximal.bpf.c: every callback defined (FIFO on user DSQ 0, select_cpu keeps prev_cpu,
/// the rest empty); each call is noted.
struct Maximal {
    seen: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl Maximal {
    fn saw(&self, op: &'static str) {
        self.seen.lock().unwrap().insert(op);
    }
}

impl ExtOps for Maximal {
    fn name(&self) -> &str {
        "maximal"
    }
    fn select_cpu(&mut self, _cx: &mut ScxCtx, _p: TaskId, prev_cpu: u32, _wf: u64) -> i32 {
        self.saw("select_cpu");
        prev_cpu as i32
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, enq_flags: u64) {
        self.saw("enqueue");
        cx.dsq_insert(p, 0, SCX_SLICE_DFL, enq_flags);
    }
    fn dequeue(&mut self, _cx: &mut ScxCtx, _p: TaskId, _f: u64) {
        self.saw("dequeue");
    }
    fn dispatch(&mut self, cx: &mut ScxCtx, _cpu: u32, _prev: Option<TaskId>) {
        self.saw("dispatch");
        cx.dsq_move_to_local(0);
    }
    fn tick(&mut self, _cx: &mut ScxCtx, _p: TaskId) {
        self.saw("tick");
    }
    fn runnable(&mut self, _cx: &mut ScxCtx, _p: TaskId, _f: u64) {
        self.saw("runnable");
    }
    fn running(&mut self, _cx: &mut ScxCtx, _p: TaskId) {
        self.saw("running");
    }
    fn stopping(&mut self, _cx: &mut ScxCtx, _p: TaskId, _runnable: bool) {
        self.saw("stopping");
    }
    fn quiescent(&mut self, _cx: &mut ScxCtx, _p: TaskId, _f: u64) {
        self.saw("quiescent");
    }
    fn yield_task(&mut self, _cx: &mut ScxCtx, _from: TaskId, _to: Option<TaskId>) -> bool {
        self.saw("yield");
        false
    }
    fn core_sched_before(&mut self, _cx: &mut ScxCtx, _a: TaskId, _b: TaskId) -> bool {
        self.saw("core_sched_before");
        false
    }
    fn set_weight(&mut self, _cx: &mut ScxCtx, _p: TaskId, _w: u32) {
        self.saw("set_weight");
    }
    fn set_cpumask(&mut self, _cx: &mut ScxCtx, _p: TaskId, _mask: &CpuMask) {
        self.saw("set_cpumask");
    }
    fn implements_update_idle(&self) -> bool {
        true
    }
    fn update_idle(&mut self, _cx: &mut ScxCtx, _cpu: u32, _idle: bool) {
        self.saw("update_idle");
    }
    fn cpu_acquire(&mut self, _cx: &mut ScxCtx, _cpu: u32) {
        self.saw("cpu_acquire");
    }
    fn cpu_release(&mut self, _cx: &mut ScxCtx, _cpu: u32, _r: CpuPreemptReason) {
        self.saw("cpu_release");
    }
    fn cpu_online(&mut self, _cx: &mut ScxCtx, _cpu: u32) {
        self.saw("cpu_online");
    }
    fn cpu_offline(&mut self, _cx: &mut ScxCtx, _cpu: u32) {
        self.saw("cpu_offline");
    }
    fn init_task(&mut self, _cx: &mut ScxCtx, _p: TaskId, _fork: bool) -> Result<(), i32> {
        self.saw("init_task");
        Ok(())
    }
    fn exit_task(&mut self, _cx: &mut ScxCtx, _p: TaskId, _c: bool) {
        self.saw("exit_task");
    }
    fn enable(&mut self, _cx: &mut ScxCtx, _p: TaskId) {
        self.saw("enable");
    }
    fn disable(&mut self, _cx: &mut ScxCtx, _p: TaskId) {
        self.saw("disable");
    }
    fn cgroup_init(&mut self, _cx: &mut ScxCtx, _c: &str, _a: &CgroupInitArgs) -> Result<(), i32> {
        self.saw("cgroup_init");
        Ok(())
    }
    fn cgroup_exit(&mut self, _cx: &mut ScxCtx, _c: &str) {
        self.saw("cgroup_exit");
    }
    fn cgroup_prep_move(
        &mut self,
        _cx: &mut ScxCtx,
        _p: TaskId,
        _f: &str,
        _t: &str,
    ) -> Result<(), i32> {
        self.saw("cgroup_prep_move");
        Ok(())
    }
    fn cgroup_move(&mut self, _cx: &mut ScxCtx, _p: TaskId, _f: &str, _t: &str) {
        self.saw("cgroup_move");
    }
    fn cgroup_cancel_move(&mut self, _cx: &mut ScxCtx, _p: TaskId, _f: &str, _t: &str) {
        self.saw("cgroup_cancel_move");
    }
    fn cgroup_set_weight(&mut self, _cx: &mut ScxCtx, _c: &str, _w: u32) {
        self.saw("cgroup_set_weight");
    }
    fn cgroup_set_bandwidth(&mut self, _cx: &mut ScxCtx, _c: &str, _p: u64, _q: u64, _b: u64) {
        self.saw("cgroup_set_bandwidth");
    }
    fn init(&mut self, cx: &mut ScxCtx) -> Result<(), i32> {
        self.saw("init");
        cx.create_dsq(0)
    }
    fn exit(&mut self, _cx: &mut ScxCtx, _info: &ScxExitInfo) {
        self.saw("exit");
    }
}

#[test]
fn maximal_loads_runs_and_unloads_with_every_callback_defined() {
    let seen: Arc<Mutex<BTreeSet<&'static str>>> = Arc::default();
    let s = seen.clone();
    let spec = ScxSpec::custom("maximal", move || Box::new(Maximal { seen: s.clone() }));
    let text = r#"
[cgroup."/g"]
[[task]]
name = "mover"
program = ["run 1ms", "cgroup /g", "yield", "sleep 2ms", "run 30ms", "sleep 5ms", "run 1ms"]
[[task]]
program = ["sleep 3ms", "run 1ms"]
loop = 20
policy = "fifo"
priority = 10
name = "rt"
[[task]]
program = ["run 1ms", "sleep 4ms"]
loop = 20
name = "w"
"#;
    let w = schedsim_workload::parse_toml("maximal.toml", text).expect("valid workload");
    let cfg = Config {
        nr_cpus: 2,
        scx: Some(spec),
        ..Config::default()
    };
    let mut r = simulate_workload(w, cfg, 200 * MS);
    assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
    // The selftest's bpf_link__destroy.
    r.sched.scx_unload();
    assert_eq!(r.sched.ext.exit.as_ref().unwrap().kind, ScxExitKind::Unreg);
    let seen = seen.lock().unwrap().clone();
    let expected: BTreeSet<&str> = [
        "init",
        "cgroup_init",
        "init_task",
        "enable",
        "set_weight",
        "set_cpumask",
        "select_cpu",
        "runnable",
        "enqueue",
        "dispatch",
        "running",
        "tick",
        "stopping",
        "quiescent",
        "yield",
        "update_idle",
        "cpu_release",
        "cpu_acquire",
        "cgroup_prep_move",
        "cgroup_move",
        "cgroup_exit",
        "disable",
        "exit_task",
        "exit",
    ]
    .into_iter()
    .collect();
    // Not reachable in a run: ops.dequeue (every task is inserted into DSQ 0 by
    // ops.enqueue, so the BPF side never owns one), core_sched_before (no core
    // scheduling), cpu_online/offline (no hotplug), cgroup_cancel_move/set_weight/
    // set_bandwidth (only through the API, tests/ext_cgroup.rs).
    assert_eq!(seen, expected);
}

// --- rt_stall ----------------------------------------------------------------------------

/// rt_stall.bpf.c: only ops.exit; everything else the kernel's defaults, full mode, the
/// default 30 s watchdog.
struct RtStall {
    uei: Uei,
}

impl ExtOps for RtStall {
    fn name(&self) -> &str {
        "rt_stall"
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        record(&self.uei, info);
    }
}

/// The selftest pins a busy loop (SCHED_EXT via full mode) and a SCHED_FIFO 50 busy loop to
/// CPU 0, runs 5 s and wants the ext task to get at least 4% of the CPU, which only the
/// ext dl_server (merged after 6.18) gives it. 6.18 has no ext server: the fair server
/// serves fair tasks only (and none are queued in full mode), and since 6.12 there is no
/// RT throttling without RT_GROUP_SCHED (core-and-classes.md §2, §3.7, §5). So on 6.18 the
/// ext task gets nothing, the selftest's ratio check fails after 5 s with the scheduler
/// still loaded (`SCX_EXIT_NONE`), and the watchdog, which does not care why a task did
/// not run, ejects the scheduler once the task has been runnable for more than 30 s (the
/// 45 s check: checks run every 15 s). The task then falls back to fair, where the fair
/// server runs it 50 ms per 1 s period. One run of 48 s shows all three.
#[test]
fn rt_stall_on_6_18_starves_the_ext_task_until_the_watchdog_ejects() {
    let (spec, uei) = with_uei(|uei| RtStall { uei });
    let ext = hog("ext", 0, Some(vec![0]));
    let mut rt = hog("rt", 0, Some(vec![0]));
    rt.attr = fifo(50);
    // The selftest's parent sleeps once it has forked both; a delayed start lets our
    // launcher do the same before the hog takes CPU 0 (an ext task preempted there would
    // wait on CPU 0's local DSQ and stall too).
    rt.start_delay = 10 * MS;
    let r = run_scx(vec![ext, rt], 2, 48_000 * MS, spec);
    let pid = pid_of(&r, "ext");
    let sec = 1000 * MS;

    // The selftest's 5 s window: the ext task runs only until the RT task starts, 10 ms
    // of 5 s (0.2%, short of the selftest's 4%), the scheduler still loaded.
    let early = runtime_between(&r, pid, 0, 5 * sec);
    assert!(early <= 10 * MS, "ext ran {early} ns in the first 5 s");
    // ... and nothing more until the ejection.
    let exit = r
        .sched
        .ext
        .exit
        .clone()
        .expect("the watchdog ejected the scheduler");
    assert!(exit.at > 5 * sec);
    assert_eq!(runtime_between(&r, pid, 10 * MS, exit.at), 0);

    assert_eq!(exit.kind, ScxExitKind::ErrorStall);
    assert_eq!(exit.at, 45 * sec, "the third watchdog check");
    let name = pid_name(&r, "ext");
    assert!(
        exit.msg.starts_with(&format!("{name} failed to run for 4")),
        "{}",
        exit.msg
    );
    assert_eq!(exit.task.as_deref(), Some(name.as_str()));
    assert_eq!(recorded(&uei), exit);

    // After the ejection: fair, served by the fair server (deferred: it waits about
    // period - runtime = 950 ms of starvation, then runs the task 50 ms per period).
    assert_eq!(class_of(&r, "ext"), ClassId::Fair);
    // Three 50 ms windows in the 3 s left, the last ending at 48 s.
    let late = runtime_between(&r, pid, exit.at, 48 * sec);
    assert!(
        (100 * MS..=150 * MS).contains(&late),
        "ext ran {late} ns after the ejection"
    );
}
