//! The sched_ext ops protocol as a policy sees it: which callbacks run, in which order, and
//! the kernel's rules around them (preemption by a higher class, setattr in and out of
//! SCHED_EXT, ejection).

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use schedsim_kernel::class::ext::dsq::SCX_DSQ_GLOBAL;
use schedsim_kernel::class::ext::kfuncs::ScxCtx;
use schedsim_kernel::class::ext::ops::{CpuPreemptReason, ExtOps, ScxExitInfo, SCX_SLICE_DFL};
use schedsim_kernel::class::ext::ScxSpec;
use schedsim_kernel::class::ClassId;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::task::TaskId;
use schedsim_kernel::Config;
use schedsim_workload::*;

type Log = Arc<Mutex<Vec<String>>>;

/// Global FIFO (the default behaviour) with every callback logged.
struct Recorder {
    log: Log,
}

impl Recorder {
    fn put(&self, cx: &ScxCtx, what: &str, p: TaskId) {
        let line = format!("{what} {}", cx.task_comm(p));
        self.log.lock().unwrap().push(line);
    }
}

impl ExtOps for Recorder {
    fn name(&self) -> &str {
        "rec"
    }
    fn enqueue(&mut self, cx: &mut ScxCtx, p: TaskId, f: u64) {
        self.put(cx, "enqueue", p);
        cx.dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, f);
    }
    fn runnable(&mut self, cx: &mut ScxCtx, p: TaskId, _f: u64) {
        self.put(cx, "runnable", p);
    }
    fn running(&mut self, cx: &mut ScxCtx, p: TaskId) {
        self.put(cx, "running", p);
    }
    fn stopping(&mut self, cx: &mut ScxCtx, p: TaskId, runnable: bool) {
        self.put(cx, if runnable { "stopping+" } else { "stopping-" }, p);
    }
    fn quiescent(&mut self, cx: &mut ScxCtx, p: TaskId, _f: u64) {
        self.put(cx, "quiescent", p);
    }
    fn init_task(&mut self, cx: &mut ScxCtx, p: TaskId, _fork: bool) -> Result<(), i32> {
        self.put(cx, "init_task", p);
        Ok(())
    }
    fn enable(&mut self, cx: &mut ScxCtx, p: TaskId) {
        self.put(cx, "enable", p);
    }
    fn disable(&mut self, cx: &mut ScxCtx, p: TaskId) {
        self.put(cx, "disable", p);
    }
    fn exit_task(&mut self, cx: &mut ScxCtx, p: TaskId, _c: bool) {
        self.put(cx, "exit_task", p);
    }
    fn set_weight(&mut self, cx: &mut ScxCtx, p: TaskId, w: u32) {
        self.put(cx, &format!("set_weight {w}"), p);
    }
    fn cpu_release(&mut self, _cx: &mut ScxCtx, cpu: u32, reason: CpuPreemptReason) {
        self.log
            .lock()
            .unwrap()
            .push(format!("cpu_release {cpu} {reason:?}"));
    }
    fn cpu_acquire(&mut self, _cx: &mut ScxCtx, cpu: u32) {
        self.log.lock().unwrap().push(format!("cpu_acquire {cpu}"));
    }
    fn exit(&mut self, _cx: &mut ScxCtx, info: &ScxExitInfo) {
        self.log
            .lock()
            .unwrap()
            .push(format!("exit {:?}", info.kind));
    }
}

fn recorder(partial: bool, timeout_ms: Option<u32>) -> (ScxSpec, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let spec = ScxSpec::custom("rec", move || Box::new(Recorder { log: l.clone() }))
        .partial(partial)
        .timeout_ms(timeout_ms);
    (spec, log)
}

fn simulate(tasks: Vec<TaskSpec>, cpus: u32, duration: u64, scx: ScxSpec) -> SimResult {
    let cfg = Config {
        nr_cpus: cpus,
        scx: Some(scx),
        ..Config::default()
    };
    simulate_cfg(tasks, cfg, duration)
}

fn count(log: &Log, line: &str) -> usize {
    log.lock().unwrap().iter().filter(|l| *l == line).count()
}

fn class_of(r: &SimResult, comm: &str) -> ClassId {
    r.sched
        .tasks
        .iter()
        .find(|t| t.comm.to_string() == comm)
        .unwrap()
        .class
}

#[test]
fn a_higher_class_preempts_without_ops_enqueue_and_releases_the_cpu() {
    let mut rt = task(
        "rt",
        0,
        None,
        forever(vec![
            Step::Sleep(Dur::Fixed(5 * MS)),
            Step::Run(Dur::Fixed(MS)),
        ]),
    );
    rt.attr = SchedAttr {
        policy: Policy::Fifo,
        rt_priority: 10,
        ..SchedAttr::default()
    };
    let (spec, log) = recorder(false, None);
    let r = simulate(vec![hog("e", 0, None), rt], 1, 200 * MS, spec);
    assert!(r.sched.ext.exit.is_none());
    assert_eq!(class_of(&r, "rt"), ClassId::Rt);
    assert_eq!(class_of(&r, "e"), ClassId::Ext);
    // Enabled once. A preemption with slice left puts it back at the head of its local
    // DSQ without ops.enqueue; only a used-up slice (at most one per 20 ms, plus its first
    // wakeup) goes through ops.enqueue, and alone at a tick it simply keeps running.
    assert_eq!(count(&log, "init_task e"), 1);
    assert_eq!(count(&log, "enable e"), 1);
    assert_eq!(count(&log, "set_weight 100 e"), 1);
    let preempted = count(&log, "stopping+ e");
    assert!(preempted >= 30, "preempted {preempted} times");
    let enqueued = count(&log, "enqueue e");
    assert!((1..=11).contains(&enqueued), "enqueued {enqueued} times");
    assert_eq!(count(&log, "running e"), preempted + 1);
    // Every preemption releases the CPU once and gets it back once (the first is the
    // launcher's, preempted by the RT child it forks).
    assert_eq!(count(&log, "cpu_release 0 Rt"), preempted + 1);
    assert_eq!(count(&log, "cpu_acquire 0"), preempted + 1);
    let l = log.lock().unwrap();
    let first = l.iter().position(|x| x == "running e").unwrap();
    assert_eq!(
        l[first + 1..first + 4],
        ["stopping+ e", "cpu_release 0 Rt", "cpu_acquire 0"]
    );
}

#[test]
fn setattr_moves_a_task_into_and_out_of_sched_ext() {
    let ext = SchedAttr {
        policy: Policy::Ext,
        ..SchedAttr::default()
    };
    let program = vec![
        Step::Run(Dur::Fixed(10 * MS)),
        Step::SetAttr(ext),
        Step::Run(Dur::Fixed(10 * MS)),
        Step::SetAttr(SchedAttr::default()),
        Step::Loop {
            count: None,
            body: vec![Step::Run(Dur::Fixed(10 * MS))],
        },
    ];
    let (spec, log) = recorder(true, None);
    let r = simulate(vec![task("t", 0, None, program)], 1, 100 * MS, spec);
    assert_eq!(class_of(&r, "t"), ClassId::Fair);
    let l = log.lock().unwrap().clone();
    let mine: Vec<&str> = l
        .iter()
        .filter(|x| x.ends_with(" t"))
        .map(|s| s.as_str())
        .collect();
    // Running when it switches: enabled, put back (enqueue) and picked; then disabled.
    assert_eq!(
        mine,
        [
            "init_task t",
            "enable t",
            "set_weight 100 t",
            "runnable t",
            "enqueue t",
            "running t",
            "stopping- t",
            "quiescent t",
            "disable t",
        ],
        "{l:?}"
    );
    assert!(r.sched.ext.exit.is_none());
}

#[test]
fn ejection_disables_every_task_and_calls_exit() {
    // Partial mode: the fair hog starves the ext one until the watchdog fires at 1.5 s.
    let (spec, log) = recorder(true, Some(1000));
    let mut e = hog("e", 0, None);
    e.attr.policy = Policy::Ext;
    let r = simulate(vec![hog("f", 0, None), e], 1, 2000 * MS, spec);
    let info = r.sched.ext.exit.clone().expect("ejected");
    assert_eq!(info.at, 1500 * MS);
    assert_eq!(class_of(&r, "e"), ClassId::Fair);
    let l = log.lock().unwrap().clone();
    let tail: Vec<&str> = l.iter().rev().take(3).rev().map(|s| s.as_str()).collect();
    assert_eq!(
        tail,
        ["disable e", "exit_task e", "exit ErrorStall"],
        "{l:?}"
    );
}

/// Implements ops.update_idle (which turns the built-in idle tracking off unless
/// `SCX_OPS_KEEP_BUILTIN_IDLE`) and keeps the default select_cpu (`select_cpu_dfl`).
struct IdleWatcher {
    log: Log,
    keep: bool,
}

impl ExtOps for IdleWatcher {
    fn name(&self) -> &str {
        "idlewatch"
    }
    fn flags(&self) -> u64 {
        if self.keep {
            schedsim_kernel::class::ext::ops::opsf::KEEP_BUILTIN_IDLE
        } else {
            0
        }
    }
    fn implements_update_idle(&self) -> bool {
        true
    }
    fn update_idle(&mut self, _cx: &mut ScxCtx, cpu: u32, idle: bool) {
        self.log.lock().unwrap().push(format!("idle {cpu} {idle}"));
    }
}

#[test]
fn update_idle_reports_transitions_and_turns_builtin_idle_off_unless_kept() {
    let periodic = || {
        task(
            "p",
            0,
            None,
            forever(vec![
                Step::Run(Dur::Fixed(2 * MS)),
                Step::Sleep(Dur::Fixed(8 * MS)),
            ]),
        )
    };
    for keep in [true, false] {
        let log: Log = Arc::default();
        let l = log.clone();
        let spec = ScxSpec::custom("idlewatch", move || {
            Box::new(IdleWatcher {
                log: l.clone(),
                keep,
            })
        });
        let r = simulate(vec![periodic()], 2, 100 * MS, spec);
        if keep {
            assert!(r.sched.ext.exit.is_none(), "{:?}", r.sched.ext.exit);
            let on = count(&log, "idle 0 true") + count(&log, "idle 1 true");
            let off = count(&log, "idle 0 false") + count(&log, "idle 1 false");
            // The task wakes every 10 ms: its CPU leaves idle and comes back each time.
            assert!(on >= 9 && on - off <= 2, "{on} {off}");
        } else {
            let e = r.sched.ext.exit.clone().expect("ejected");
            assert!(
                e.msg.contains("built-in idle tracking is disabled"),
                "{}",
                e.msg
            );
        }
    }
}
