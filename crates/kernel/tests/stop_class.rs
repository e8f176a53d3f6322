//! The stop class and the stopper kthreads `migration/N`: affinity changes of a running
//! task (`affine_move_task` → `migration_cpu_stop`) and active balancing
//! (`active_load_balance_cpu_stop`) go through them, as on the reference VM.

mod common;

use common::*;
use schedsim_kernel::check::determinism::run_twice;
use schedsim_kernel::core::schedule::SchedMode;
use schedsim_kernel::cpumask::CpuMask;
use schedsim_kernel::report::Report;
use schedsim_kernel::sched::Ctx;
use schedsim_kernel::sim::{SimOptions, SimResult};
use schedsim_kernel::{Config, Sched};
use schedsim_trace::{Comm, Event, Record};
use schedsim_workload::*;

/// A sched record as the `trace` file prints it, without the timestamp and flags (the
/// event text from the ftrace writer).
fn line(r: &Record) -> Option<String> {
    if !matches!(
        r.event,
        Event::Waking { .. }
            | Event::Wakeup { .. }
            | Event::MigrateTask { .. }
            | Event::Switch { .. }
    ) {
        return None;
    }
    let cur = if r.pid == 0 {
        "<idle>-0".to_string()
    } else {
        format!("{}-{}", r.comm, r.pid)
    };
    let mut ev = String::new();
    schedsim_output::ftrace::format_event(&mut ev, &r.event);
    Some(format!("{cur} [{:03}] {}", r.cpu, ev.trim_end()))
}

fn lines(s: &Sched) -> Vec<String> {
    s.trace.merged().into_iter().filter_map(line).collect()
}

/// The trace from the first record that mentions `needle` on, `n` lines.
fn window(all: &[String], needle: &str, n: usize) -> Vec<String> {
    let i = all
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in the trace"));
    all[i..(i + n).min(all.len())].to_vec()
}

fn pinned(name: &str, nice: i32, cpu: u32, program: Vec<Step>) -> TaskSpec {
    task(name, nice, Some(vec![cpu]), program)
}

/// rt-app pinning its own thread n0-0 from CPU 1 to CPU 0 on the reference VM (the
/// sequence of the brief): the stopper is woken and switched to (prev_state D), wakes
/// n0-0 towards CPU 0 (`sched_migrate_task` from migration/1), sleeps (prev_state S), and
/// CPU 0 activates n0-0 from its wakelist.
#[test]
fn a_task_pinning_itself_away_is_moved_by_its_cpus_stopper() {
    let tasks = vec![
        pinned(
            "n0-0",
            0,
            1,
            vec![Step::SetAffinity(Some(vec![0])), Step::Run(Dur::Fixed(MS))],
        ),
        pinned("n5-1", 5, 1, forever(vec![Step::Run(Dur::Fixed(MS))])),
    ];
    let r = simulate(tasks, 2, 3 * MS);
    let (n0, n5) = (pid_of(&r, "n0-0"), pid_of(&r, "n5-1"));
    let got = window(&lines(&r.sched), "comm=migration/1", 8);
    let want = [
        format!("n0-0-{n0} [001] sched_waking: comm=migration/1 pid=21 prio=0 target_cpu=001"),
        format!("n0-0-{n0} [001] sched_wakeup: comm=migration/1 pid=21 prio=0 target_cpu=001"),
        format!("n0-0-{n0} [001] sched_switch: prev_comm=n0-0 prev_pid={n0} prev_prio=120 prev_state=D ==> next_comm=migration/1 next_pid=21 next_prio=0"),
        format!("migration/1-21 [001] sched_waking: comm=n0-0 pid={n0} prio=120 target_cpu=001"),
        format!("migration/1-21 [001] sched_migrate_task: comm=n0-0 pid={n0} prio=120 orig_cpu=1 dest_cpu=0"),
        format!("migration/1-21 [001] sched_switch: prev_comm=migration/1 prev_pid=21 prev_prio=0 prev_state=S ==> next_comm=n5-1 next_pid={n5} next_prio=125"),
        format!("<idle>-0 [000] sched_wakeup: comm=n0-0 pid={n0} prio=120 target_cpu=000"),
        format!("<idle>-0 [000] sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=n0-0 next_pid={n0} next_prio=120"),
    ];
    assert_eq!(got, want);
    let t = r.sched.tasks.iter().find(|t| t.pid == n0).unwrap();
    assert_eq!(t.cpu, 0);
}

/// Another task (on CPU 0) changes the affinity of a task running on CPU 1: the caller
/// waits (D), migration/1 preempts the running task (R), moves it queued to CPU 0
/// (`move_queued_task`, printed by migration/1) and wakes the caller.
#[test]
fn a_running_task_moved_by_another_task_goes_through_the_stopper() {
    let mut s = Sched::new(
        Config {
            nr_cpus: 2,
            ..Config::default()
        },
        true,
    );
    let a = s.new_task(Comm::new("a"), 0);
    let b = s.new_task(Comm::new("b"), 1);
    for (p, cpu) in [(a, 0), (b, 1)] {
        let t = s.task_mut(p);
        t.cpus_allowed = CpuMask::from_list(2, &[cpu]);
        t.nr_cpus_allowed = 1;
        s.start_boot_task(cpu, p);
        s.schedule(cpu, SchedMode::Idle);
    }
    assert_eq!((s.curr(0), s.curr(1)), (a, b));
    s.now = MS;
    s.set_cpus_allowed(Ctx::Task(0), b, CpuMask::from_list(2, &[0]))
        .unwrap();
    assert_eq!(s.curr(0), s.rq(0).idle, "the caller waits for the stopper");
    // CPU 1's preemption point: the stopper takes the CPU and runs the work.
    assert!(s.rq(1).need_resched);
    s.schedule(1, SchedMode::None);
    assert!(s.run_stopper(1));
    assert_eq!(s.task(b).cpu, 0);
    let (pa, pb) = (s.task(a).pid, s.task(b).pid);
    let all = lines(&s);
    let got = window(&all, "comm=migration/1", 8);
    let want = [
        format!("a-{pa} [000] sched_waking: comm=migration/1 pid=21 prio=0 target_cpu=001"),
        format!("a-{pa} [000] sched_wakeup: comm=migration/1 pid=21 prio=0 target_cpu=001"),
        format!("a-{pa} [000] sched_switch: prev_comm=a prev_pid={pa} prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 next_prio=120"),
        format!("b-{pb} [001] sched_switch: prev_comm=b prev_pid={pb} prev_prio=120 prev_state=R ==> next_comm=migration/1 next_pid=21 next_prio=0"),
        format!("migration/1-21 [001] sched_migrate_task: comm=b pid={pb} prio=120 orig_cpu=1 dest_cpu=0"),
        format!("migration/1-21 [001] sched_waking: comm=a pid={pa} prio=120 target_cpu=000"),
        format!("migration/1-21 [001] sched_wakeup: comm=a pid={pa} prio=120 target_cpu=000"),
        "migration/1-21 [001] sched_switch: prev_comm=migration/1 prev_pid=21 prev_prio=0 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120".to_string(),
    ];
    assert_eq!(got, want);
    schedsim_kernel::check::verify(&s).unwrap();
}

/// CPU 0 runs a nice -20 hog and a nice 19 one pinned there; CPU 1 idles. The big one
/// lets the other have its first EEVDF turn while still pinned, then may move: it is now
/// always running when CPU 1 balances, so balancing fails (the queued task is pinned)
/// until `need_active_balance` sends migration/0 to push it.
fn active_balance_workload() -> Workload {
    workload(vec![
        task(
            "big",
            -20,
            Some(vec![0]),
            vec![
                Step::Run(Dur::Fixed(20 * MS)),
                Step::SetAffinity(None),
                Step::Loop {
                    count: None,
                    body: vec![Step::Run(Dur::Fixed(10 * MS))],
                },
            ],
        ),
        pinned(
            "small",
            19,
            0,
            forever(vec![Step::Run(Dur::Fixed(10 * MS))]),
        ),
    ])
}

fn active_balance_run() -> SimResult {
    let cfg = Config {
        nr_cpus: 2,
        ..Config::default()
    };
    simulate_workload(active_balance_workload(), cfg, 200 * MS)
}

/// CPU 1's balance (the NOHZ idle balance, in softirq) wakes migration/0, which preempts
/// big (R), pushes it to CPU 1 and sleeps; CPU 1 then runs it.
#[test]
fn active_balance_runs_on_the_busiest_cpus_stopper() {
    let r = active_balance_run();
    let (big, small) = (pid_of(&r, "big"), pid_of(&r, "small"));
    let got = window(&lines(&r.sched), "comm=migration/0", 6);
    let want = [
        "<idle>-0 [001] sched_waking: comm=migration/0 pid=18 prio=0 target_cpu=000".to_string(),
        "<idle>-0 [001] sched_wakeup: comm=migration/0 pid=18 prio=0 target_cpu=000".to_string(),
        format!("big-{big} [000] sched_switch: prev_comm=big prev_pid={big} prev_prio=100 prev_state=R ==> next_comm=migration/0 next_pid=18 next_prio=0"),
        format!("migration/0-18 [000] sched_migrate_task: comm=big pid={big} prio=100 orig_cpu=0 dest_cpu=1"),
        format!("migration/0-18 [000] sched_switch: prev_comm=migration/0 prev_pid=18 prev_prio=0 prev_state=S ==> next_comm=small next_pid={small} next_prio=139"),
        format!("<idle>-0 [001] sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=big next_pid={big} next_prio=100"),
    ];
    assert_eq!(got, want);
}

#[test]
fn the_stoppers_are_not_workload_tasks_in_the_report() {
    let r = active_balance_run();
    let rep = Report::from_result(&r);
    let comms: Vec<&str> = rep.tasks.iter().map(|t| t.comm.as_str()).collect();
    assert_eq!(comms, ["big", "small"]);
    assert!(r
        .sched
        .tasks
        .iter()
        .any(|t| t.comm.as_str() == "migration/1" && t.pid == 21));
}

/// Threads that keep pinning themselves to another CPU among hogs, with IPI latency (the
/// stopper woken remotely waits queued for its IPI): checked, and the same twice.
#[test]
fn runs_through_the_stopper_are_deterministic() {
    let hop = |a: u32, b: u32| {
        forever(vec![
            Step::SetAffinity(Some(vec![a])),
            Step::Run(Dur::Uniform {
                lo: MS / 10,
                hi: 2 * MS,
            }),
            Step::SetAffinity(Some(vec![b])),
            Step::Run(Dur::Fixed(MS)),
            Step::Sleep(Dur::Exponential { mean: MS }),
        ])
    };
    let mut w = active_balance_workload();
    w.tasks.push(task("hop-a", 0, None, hop(0, 1)));
    w.tasks.push(task("hop-b", 3, None, hop(2, 0)));
    w.tasks.push(hog("hog", 0, None));
    let cfg = Config::parse_machine("cpus=3,hz=1000,ipi_latency=2us").unwrap();
    let opts = SimOptions {
        duration: Some(300 * MS),
        seed: 3,
        trace: true,
        check: true,
    };
    let r = run_twice(w, cfg, &opts, &mut ()).unwrap_or_else(|e| panic!("{e}"));
    let all = lines(&r.sched);
    for n in 0..3 {
        let pid = 18 + 3 * n;
        let comm = format!("migration/{n}-{pid} [{n:03}] sched_migrate_task");
        assert!(all.iter().any(|l| l.starts_with(&comm)), "{comm}");
    }
}

/// migration/N has pid 18 + 3·N; user pids stay above every stopper's.
#[test]
fn stopper_pids_and_user_pids_do_not_meet() {
    for (cpus, first_user) in [(2, 1000), (327, 1000), (330, 2000)] {
        let mut s = Sched::new(
            Config {
                nr_cpus: cpus,
                ..Config::default()
            },
            false,
        );
        let last = s.rq(cpus - 1).stop.unwrap();
        assert_eq!(s.task(last).pid, 18 + 3 * (cpus as i32 - 1));
        assert_eq!(
            s.task(last).comm.as_str(),
            format!("migration/{}", cpus - 1)
        );
        let p = s.new_task(Comm::new("u"), 0);
        assert_eq!(s.task(p).pid, first_user);
    }
}
