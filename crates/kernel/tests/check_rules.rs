//! One test per invariant: each corrupts the finished state of a run that exercises the
//! rule's area (a fair mix, an RT pair, deadline tasks with the fair server, a cgroup whose
//! `cpu.max` throttles) and asserts the checker names exactly that rule. The last test
//! holds the rule lists in `check/*.rs` to this file: a rule added without a test fails it.

mod common;
use common::*;
use schedsim_kernel::check::bandwidth::rule as bandwidth_rule;
use schedsim_kernel::check::core::rule as core_rule;
use schedsim_kernel::check::dl::rule as dl_rule;
use schedsim_kernel::check::fair::rule as fair_rule;
use schedsim_kernel::check::rt::rule as rt_rule;
use schedsim_kernel::check::{self, Checker, TIME_BACKWARDS as mod_rule_TIME_BACKWARDS};
use schedsim_kernel::class::dl::{DlEntity, DlKey};
use schedsim_kernel::class::fair::entity::SeId;
use schedsim_kernel::class::fair::tree::Timeline;
use schedsim_kernel::class::ClassId;
use schedsim_kernel::sim::SimResult;
use schedsim_kernel::task::{OnRq, TaskId};
use schedsim_kernel::{Config, Sched};

/// Runs a TOML workload under the checker (so the run itself is clean) for `duration`.
fn run_toml(text: &str, cpus: u32, duration: u64) -> SimResult {
    let w = schedsim_workload::parse_toml("check-rules.toml", text).expect("valid workload");
    let cfg = Config {
        nr_cpus: cpus,
        ..Config::default()
    };
    simulate_workload(w, cfg, duration)
}

/// The first of a series of run lengths whose final state satisfies `want`.
fn run_until(text: &str, cpus: u32, want: impl Fn(&Sched) -> bool) -> SimResult {
    for i in 0..80u64 {
        let r = run_toml(text, cpus, 40 * MS + i * 1_370_000 + 123_457);
        if want(&r.sched) {
            check::verify(&r.sched).expect("the uncorrupted state passes");
            return r;
        }
    }
    panic!("no run length reaches the wanted state");
}

/// The rule the checker names for the corrupted state.
fn broken(s: &Sched) -> &'static str {
    match check::verify(s) {
        Err(v) => {
            eprintln!("{v}");
            v.rule
        }
        Ok(()) => panic!("the corruption went unnoticed"),
    }
}

// ---------------------------------------------------------------------------------------
// Workloads.

/// Fair hogs at three nice levels pinned to CPU 0, a sleeper, a SCHED_IDLE task.
const FAIR: &str = r#"
[[task]]
name = "a"
affinity = 0
run = "10ms"
[[task]]
name = "b"
nice = 5
affinity = 0
run = "10ms"
[[task]]
name = "c"
nice = -3
affinity = 0
run = "10ms"
[[task]]
name = "s"
program = ["run 1ms", "sleep 3ms"]
"#;

/// Two SCHED_FIFO hogs sharing a priority on CPU 0, a periodic higher one, a fair task.
const RT: &str = r#"
[[task]]
name = "fifo"
count = 2
policy = "fifo"
priority = 10
affinity = 0
run = "5ms"
[[task]]
name = "fifo-hi"
policy = "fifo"
priority = 20
affinity = 0
program = ["run 1ms", "timer 10ms"]
[[task]]
name = "fair"
run = "10ms"
"#;

/// A deadline task that overruns its 3 ms every 10 ms (throttled most of the time), two
/// periodic ones that sleep between jobs, and fair hogs that the fair servers serve.
const DL: &str = r#"
[[task]]
name = "dlhog"
policy = "deadline"
runtime = "3ms"
deadline = "10ms"
period = "10ms"
run = "50ms"
[[task]]
name = "dlper"
count = 2
policy = "deadline"
runtime = "2ms"
deadline = "8ms"
period = "10ms"
program = ["run 1ms", "timer 10ms"]
[[task]]
name = "fair"
count = 2
run = "10ms"
"#;

/// A group capped at 20 % of a CPU with a child group, both with hogs, and a free task.
const CGROUP: &str = r#"
[cgroup."/p"]
"cpu.max" = "20000 100000"
[cgroup."/p/c"]
"cpu.weight" = 100
[[task]]
name = "hog"
cgroup = "/p/c"
count = 2
run = "20ms"
[[task]]
name = "ph"
cgroup = "/p"
run = "20ms"
[[task]]
name = "free"
run = "10ms"
"#;

// ---------------------------------------------------------------------------------------
// Helpers.

fn fair_run() -> SimResult {
    run_until(FAIR, 2, |s| {
        cpu0_cfs(s).is_some_and(|c| s.fair.cfs_rq[c].timeline.len() >= 2)
            && s.task(s.curr(0)).class == ClassId::Fair
    })
}

/// CPU 0's queue of the workload's tasks (their session's autogroup).
fn cpu0_cfs(s: &Sched) -> Option<usize> {
    let g = s.fair.autogroup?;
    Some(s.fair.tg(g).cfs_rq[0].0 as usize)
}

fn tree_of(s: &Sched, c: usize) -> Vec<SeId> {
    s.fair.cfs_rq[c].timeline.in_order(&s.fair.se)
}

fn task_by_comm(s: &Sched, comm: &str) -> TaskId {
    s.tasks
        .iter()
        .find(|t| t.comm.as_str() == comm)
        .unwrap_or_else(|| panic!("no task {comm}"))
        .id
}

/// A task that sleeps off every queue (the launcher, after forking).
fn sleeper(s: &Sched) -> TaskId {
    s.tasks
        .iter()
        .find(|t| !t.is_idle_task() && !t.exited && t.on_rq == OnRq::No && !t.on_cpu)
        .expect("a sleeping task")
        .id
}

/// Task `p`'s deadline entity and the CPU keeping it.
fn dl_entity(s: &Sched, p: TaskId) -> (u32, DlEntity) {
    for c in 0..s.nr_cpus() {
        if let Some((_, e)) = s.rq(c).dl.task_entities().find(|&(q, _)| q == p) {
            return (c, e.clone());
        }
    }
    panic!("no deadline entity");
}

fn dl_entity_mut(s: &mut Sched, p: TaskId) -> &mut DlEntity {
    let (c, _) = dl_entity(s, p);
    s.rqs[c as usize].dl.test_entity_mut(p).unwrap()
}

/// Deadline tasks matching `f` (task, entity).
fn dl_tasks(s: &Sched, f: impl Fn(&Sched, TaskId, &DlEntity) -> bool) -> Vec<TaskId> {
    s.tasks
        .iter()
        .filter(|t| t.class == ClassId::Dl)
        .map(|t| t.id)
        .filter(|&p| f(s, p, &dl_entity(s, p).1))
        .collect()
}

fn queued_dl(s: &Sched, p: TaskId, e: &DlEntity) -> bool {
    s.task(p).on_rq == OnRq::Queued && e.node().is_some()
}

fn sleeping_dl(s: &Sched, p: TaskId, e: &DlEntity) -> bool {
    s.task(p).on_rq == OnRq::No && !e.dl_throttled && !e.dl_non_contending
}

fn dl_run(want: impl Fn(&Sched) -> bool) -> SimResult {
    run_until(DL, 2, want)
}

/// The kernel prio of the two `fifo` hogs (99 - 10).
const FIFO_PRIO: i32 = 89;

fn rt_run() -> SimResult {
    run_until(RT, 2, |s| s.rq(0).rt.list(FIFO_PRIO).count() == 2)
}

fn cgroup_run(want: impl Fn(&Sched) -> bool) -> SimResult {
    run_until(CGROUP, 2, want)
}

/// The throttled queues (index) of the run.
fn throttled_queues(s: &Sched) -> Vec<usize> {
    (0..s.fair.cfs_rq.len())
        .filter(|&i| s.fair.cfs_rq[i].bw.throttled)
        .collect()
}

// ---------------------------------------------------------------------------------------
// core

#[test]
fn core_curr_not_on_cpu() {
    let mut r = fair_run();
    let p = r.sched.curr(0);
    r.sched.tasks[p.0 as usize].on_cpu = false;
    assert_eq!(broken(&r.sched), core_rule::CURR_ON_CPU);
}

#[test]
fn core_curr_on_another_cpu() {
    let mut r = fair_run();
    let p = r.sched.curr(0);
    r.sched.tasks[p.0 as usize].cpu = 1;
    assert_eq!(broken(&r.sched), core_rule::CURR_CPU);
}

#[test]
fn core_a_task_curr_of_two_cpus() {
    let mut r = fair_run();
    r.sched.rqs[1].curr = r.sched.curr(0);
    assert_eq!(broken(&r.sched), core_rule::ONE_CPU);
}

#[test]
fn core_idle_task_queued() {
    let mut r = fair_run();
    let idle = r.sched.rq(1).idle;
    r.sched.tasks[idle.0 as usize].on_rq = OnRq::Queued;
    assert_eq!(broken(&r.sched), core_rule::IDLE_TASK);
}

#[test]
fn core_on_cpu_but_not_curr() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let se = tree_of(&r.sched, c)[0];
    let p = r.sched.fair.se[se.0 as usize].task.unwrap();
    r.sched.tasks[p.0 as usize].on_cpu = true;
    assert_eq!(broken(&r.sched), core_rule::ON_CPU);
}

#[test]
fn core_illegal_task_state() {
    let mut r = fair_run();
    let p = sleeper(&r.sched);
    r.sched.tasks[p.0 as usize].state = 0x4000;
    assert_eq!(broken(&r.sched), core_rule::TASK_STATE);
}

#[test]
fn core_class_count_off() {
    let mut r = fair_run();
    let root = r.sched.rq(0).cfs;
    r.sched.fair.cfs_rq[root.0 as usize].h_nr_queued += 1;
    assert_eq!(broken(&r.sched), core_rule::CLASS_COUNT);
}

#[test]
fn core_nr_running_off() {
    let mut r = fair_run();
    r.sched.rqs[0].nr_running += 1;
    assert_eq!(broken(&r.sched), core_rule::NR_RUNNING);
}

#[test]
fn core_ttwu_pending_off() {
    let mut r = fair_run();
    r.sched.rqs[0].ttwu_pending += 1;
    assert_eq!(broken(&r.sched), core_rule::TTWU_PENDING);
}

#[test]
fn core_clock_task_ahead_of_clock() {
    let mut r = fair_run();
    r.sched.rqs[0].clock_task = r.sched.rqs[0].clock + 1;
    assert_eq!(broken(&r.sched), core_rule::CLOCKS);
}

#[test]
fn core_last_arrival_in_the_future() {
    let mut r = fair_run();
    let p = r.sched.curr(0);
    r.sched.tasks[p.0 as usize].last_arrival = r.sched.now + 1;
    assert_eq!(broken(&r.sched), core_rule::LAST_ARRIVAL);
}

#[test]
fn core_cpu_time_lost() {
    let mut r = fair_run();
    r.sched.cpu_stats[1].busy += 1;
    assert_eq!(broken(&r.sched), core_rule::CPU_TIME);
}

#[test]
fn core_swapper_time_off() {
    let mut r = fair_run();
    let idle = r.sched.rq(1).idle;
    r.sched.task_stats[idle.0 as usize].cpu_time += 1;
    assert_eq!(broken(&r.sched), core_rule::IDLE_TIME);
}

#[test]
fn core_sum_exec_runtime_beyond_cpu_time() {
    let mut r = fair_run();
    let p = r.sched.curr(0);
    let se = r.sched.task(p).se;
    r.sched.fair.se[se.0 as usize].sum_exec_runtime += r.sched.now;
    assert_eq!(broken(&r.sched), core_rule::SUM_EXEC);
}

#[test]
fn core_task_time_off() {
    let mut r = fair_run();
    let p = sleeper(&r.sched);
    r.sched.task_stats[p.0 as usize].cpu_time += 1;
    assert_eq!(broken(&r.sched), core_rule::TASK_TIME);
}

#[test]
fn time_going_backwards() {
    let mut r = fair_run();
    let mut c = Checker::new();
    c.check(&r.sched).unwrap();
    r.sched.now -= 1;
    assert_eq!(c.check(&r.sched).unwrap_err().rule, mod_rule_TIME_BACKWARDS);
}

// ---------------------------------------------------------------------------------------
// fair

#[test]
fn fair_avg_vruntime() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].avg_vruntime += 7;
    assert_eq!(broken(&r.sched), fair_rule::AVG_VRUNTIME);
}

#[test]
fn fair_avg_load() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].avg_load += 1;
    assert_eq!(broken(&r.sched), fair_rule::AVG_LOAD);
}

#[test]
fn fair_timeline_order() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let first = tree_of(&r.sched, c)[0];
    r.sched.fair.se[first.0 as usize].deadline = r.sched.fair.se[first.0 as usize]
        .deadline
        .wrapping_add(1 << 50);
    assert_eq!(broken(&r.sched), fair_rule::ORDER);
}

#[test]
fn fair_min_vruntime() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let root = r.sched.fair.cfs_rq[c].timeline.root().unwrap();
    r.sched.fair.se[root.0 as usize].min_vruntime = r.sched.fair.se[root.0 as usize]
        .min_vruntime
        .wrapping_add(1);
    assert_eq!(broken(&r.sched), fair_rule::MIN_VRUNTIME);
}

#[test]
fn fair_min_slice() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let root = r.sched.fair.cfs_rq[c].timeline.root().unwrap();
    r.sched.fair.se[root.0 as usize].min_slice += 1;
    assert_eq!(broken(&r.sched), fair_rule::MIN_SLICE);
}

#[test]
fn fair_tree_len() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let s = &r.sched;
    let root = s.fair.cfs_rq[c].timeline.root().unwrap();
    let leaf = tree_of(s, c)
        .into_iter()
        .find(|&n| {
            n != root
                && Timeline::left(&s.fair.se, n).is_none()
                && Timeline::right(&s.fair.se, n).is_none()
        })
        .expect("a leaf below the root");
    // The root loses its links: the walk finds one node.
    r.sched.fair.se[root.0 as usize].node = r.sched.fair.se[leaf.0 as usize].node;
    assert_eq!(broken(&r.sched), fair_rule::TREE_LEN);
}

#[test]
fn fair_nr_queued() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].nr_queued += 1;
    assert_eq!(broken(&r.sched), fair_rule::NR_QUEUED);
}

#[test]
fn fair_load() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].load_weight += 1;
    assert_eq!(broken(&r.sched), fair_rule::LOAD);
}

#[test]
fn fair_h_nr_queued() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].h_nr_queued += 1;
    assert_eq!(broken(&r.sched), fair_rule::H_NR_QUEUED);
}

#[test]
fn fair_h_nr_runnable() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].h_nr_runnable += 1;
    assert_eq!(broken(&r.sched), fair_rule::H_NR_RUNNABLE);
}

#[test]
fn fair_h_nr_idle() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].h_nr_idle += 1;
    assert_eq!(broken(&r.sched), fair_rule::H_NR_IDLE);
}

#[test]
fn fair_group_entity_off_while_its_queue_has_entities() {
    let mut r = fair_run();
    let g = r.sched.fair.autogroup.unwrap();
    let gse = r.sched.fair.tg(g).se[0].unwrap();
    r.sched.fair.se[gse.0 as usize].on_rq = false;
    assert_eq!(broken(&r.sched), fair_rule::GROUP_QUEUED);
}

#[test]
fn fair_limbo_list_off() {
    let mut r = cgroup_run(|s| s.fair.cfs_rq.iter().any(|c| !c.bw.limbo.is_empty()));
    let c = (0..r.sched.fair.cfs_rq.len())
        .find(|&i| !r.sched.fair.cfs_rq[i].bw.limbo.is_empty())
        .unwrap();
    // A throttled task drops off its limbo list.
    r.sched.fair.cfs_rq[c].bw.limbo.pop();
    assert_eq!(broken(&r.sched), fair_rule::LIMBO);
}

#[test]
fn fair_next_buddy_elsewhere() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let g = r.sched.fair.autogroup.unwrap();
    // The group's own entity sits on the root queue, not on this one.
    let gse = r.sched.fair.tg(g).se[0].unwrap();
    r.sched.fair.cfs_rq[c].next = Some(gse);
    assert_eq!(broken(&r.sched), fair_rule::NEXT_BUDDY);
}

#[test]
fn fair_curr_lost() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    assert!(r.sched.fair.cfs_rq[c].curr.is_some());
    r.sched.fair.cfs_rq[c].curr = None;
    assert_eq!(broken(&r.sched), fair_rule::CURR);
}

#[test]
fn fair_tree_member_of_another_queue() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let se = tree_of(&r.sched, c)[0];
    r.sched.fair.se[se.0 as usize].cfs_rq = r.sched.rq(0).cfs;
    assert_eq!(broken(&r.sched), fair_rule::MEMBER);
}

#[test]
fn fair_queued_on_the_wrong_group_queue() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    let se = tree_of(&r.sched, c)[0];
    let p = r.sched.fair.se[se.0 as usize].task.unwrap();
    // The task now belongs to the root group, but its entity is on the autogroup's queue.
    r.sched.tasks[p.0 as usize].sched_task_group = r
        .sched
        .fair
        .tg(r.sched.fair.autogroup.unwrap())
        .parent
        .unwrap();
    assert_eq!(broken(&r.sched), fair_rule::ONCE);
}

#[test]
fn fair_delayed_entity_off_the_queue() {
    let mut r = fair_run();
    let p = sleeper(&r.sched);
    let se = r.sched.task(p).se;
    r.sched.fair.se[se.0 as usize].sched_delayed = true;
    assert_eq!(broken(&r.sched), fair_rule::DELAYED_ON_RQ);
}

#[test]
fn fair_delayed_entity_running() {
    let mut r = fair_run();
    let root = r.sched.rq(0).cfs;
    let gse = r.sched.fair.cfs_rq[root.0 as usize]
        .curr
        .expect("the autogroup entity runs");
    r.sched.fair.se[gse.0 as usize].sched_delayed = true;
    assert_eq!(broken(&r.sched), fair_rule::DELAYED_SLEEPING);
}

// ---------------------------------------------------------------------------------------
// rt

#[test]
fn rt_listed_twice() {
    let mut r = rt_run();
    let (list, _) = r.sched.rqs[0].rt.test_lists_mut(FIFO_PRIO);
    // [a, b] becomes [a, a]: the counts agree, b is on no list.
    let a = list[0];
    list[1] = a;
    assert_eq!(broken(&r.sched), rt_rule::ONCE);
}

#[test]
fn rt_member_at_the_wrong_prio() {
    let mut r = rt_run();
    let p = r.sched.rq(0).rt.list(FIFO_PRIO).next().unwrap();
    r.sched.tasks[p.0 as usize].prio -= 1;
    assert_eq!(broken(&r.sched), rt_rule::MEMBER);
}

#[test]
fn rt_nr_running_vs_lists() {
    let mut r = rt_run();
    let (list, _) = r.sched.rqs[0].rt.test_lists_mut(FIFO_PRIO);
    list.pop_back();
    assert_eq!(broken(&r.sched), rt_rule::NR_RUNNING);
}

#[test]
fn rt_highest_prio() {
    let mut r = rt_run();
    r.sched.rqs[0].rt.highest_prio_curr -= 1;
    assert_eq!(broken(&r.sched), rt_rule::HIGHEST);
}

#[test]
fn rt_peek_from_a_stale_bitmap() {
    let mut r = rt_run();
    let (_, bitmap) = r.sched.rqs[0].rt.test_lists_mut(0);
    *bitmap |= 1;
    assert_eq!(broken(&r.sched), rt_rule::PEEK);
}

// ---------------------------------------------------------------------------------------
// dl

fn any_queued_dl(s: &Sched) -> bool {
    !dl_tasks(s, queued_dl).is_empty()
}

fn any_sleeping_dl(s: &Sched) -> bool {
    !dl_tasks(s, sleeping_dl).is_empty()
}

#[test]
fn dl_tree_key_is_not_the_deadline() {
    let mut r = dl_run(any_queued_dl);
    let p = dl_tasks(&r.sched, queued_dl)[0];
    dl_entity_mut(&mut r.sched, p).deadline += 1;
    assert_eq!(broken(&r.sched), dl_rule::ORDER);
}

#[test]
fn dl_server_in_the_tree_while_stopped() {
    let mut r = dl_run(|_| true);
    let dl = &mut r.sched.rqs[0].dl;
    if dl.server.node().is_none() {
        let key = (dl.server.deadline, 1 << 40);
        dl.test_tree_mut().insert((key.0, key.1, DlKey::Server));
        dl.server.test_set_node(Some(key));
        dl.dl_nr_running += 1;
        dl.server.dl_throttled = false;
    }
    dl.server.dl_server_active = false;
    assert_eq!(broken(&r.sched), dl_rule::MEMBER);
}

#[test]
fn dl_nr_running_vs_tree() {
    let mut r = dl_run(|_| true);
    r.sched.rqs[1].dl.dl_nr_running += 1;
    assert_eq!(broken(&r.sched), dl_rule::NR_RUNNING);
}

#[test]
fn dl_earliest_deadline() {
    let mut r = dl_run(|_| true);
    r.sched.rqs[0].dl.earliest_curr += 1;
    assert_eq!(broken(&r.sched), dl_rule::EARLIEST);
}

#[test]
fn dl_throttled_entity_in_the_tree() {
    let mut r = dl_run(any_sleeping_dl);
    let p = dl_tasks(&r.sched, sleeping_dl)[0];
    let e = dl_entity_mut(&mut r.sched, p);
    e.dl_throttled = true;
    e.test_set_node(Some((e.deadline, 1 << 40)));
    assert_eq!(broken(&r.sched), dl_rule::THROTTLED);
}

#[test]
fn dl_throttled_without_timer() {
    let mut r = dl_run(any_sleeping_dl);
    let p = dl_tasks(&r.sched, sleeping_dl)[0];
    let e = dl_entity_mut(&mut r.sched, p);
    e.dl_throttled = true;
    e.timer_at = None;
    assert_eq!(broken(&r.sched), dl_rule::THROTTLED_TIMER);
}

#[test]
fn dl_runtime_above_dl_runtime() {
    let mut r = dl_run(any_sleeping_dl);
    let p = dl_tasks(&r.sched, sleeping_dl)[0];
    // This rule needs the previous check (a parameter change may leave more).
    let mut c = Checker::new();
    c.check(&r.sched).unwrap();
    let e = dl_entity_mut(&mut r.sched, p);
    e.runtime = e.dl_runtime as i64 + 1;
    check::verify(&r.sched).expect("verify alone cannot tell");
    assert_eq!(c.check(&r.sched).unwrap_err().rule, dl_rule::RUNTIME_MAX);
}

#[test]
fn dl_overrun_beyond_a_tick() {
    let mut r = dl_run(any_sleeping_dl);
    let tick = r.sched.cfg.tick_nsec() as i64;
    let p = dl_tasks(&r.sched, sleeping_dl)[0];
    // This rule needs the previous check (a parameter change may leave more).
    let mut c = Checker::new();
    c.check(&r.sched).unwrap();
    let e = dl_entity_mut(&mut r.sched, p);
    let most = tick + (e.dl_period - e.dl_deadline) as i64;
    e.runtime = -most;
    c.check(&r.sched).expect("that much overrun is allowed");
    dl_entity_mut(&mut r.sched, p).runtime = -most - 1;
    check::verify(&r.sched).expect("verify alone cannot tell");
    assert_eq!(c.check(&r.sched).unwrap_err().rule, dl_rule::RUNTIME_MIN);
}

#[test]
fn dl_queued_with_exhausted_runtime() {
    let mut r = dl_run(any_queued_dl);
    let p = dl_tasks(&r.sched, queued_dl)[0];
    dl_entity_mut(&mut r.sched, p).runtime = -1;
    assert_eq!(broken(&r.sched), dl_rule::QUEUED_RUNTIME);
}

#[test]
fn dl_non_contending_without_inactive_timer() {
    let mut r = dl_run(any_sleeping_dl);
    let p = dl_tasks(&r.sched, sleeping_dl)[0];
    let e = dl_entity_mut(&mut r.sched, p);
    e.dl_non_contending = true;
    e.inactive_at = None;
    assert_eq!(broken(&r.sched), dl_rule::NON_CONTENDING);
}

#[test]
fn dl_this_bw_off() {
    let mut r = dl_run(|_| true);
    r.sched.rqs[0].dl.this_bw += 1;
    assert_eq!(broken(&r.sched), dl_rule::THIS_BW);
}

#[test]
fn dl_running_bw_off() {
    let mut r = dl_run(|s| s.rq(0).dl.running_bw < s.rq(0).dl.this_bw);
    r.sched.rqs[0].dl.running_bw += 1;
    assert_eq!(broken(&r.sched), dl_rule::RUNNING_BW);
}

#[test]
fn dl_running_bw_above_this_bw() {
    let mut r = dl_run(|_| true);
    r.sched.rqs[0].dl.running_bw = r.sched.rqs[0].dl.this_bw + 1;
    assert_eq!(broken(&r.sched), dl_rule::RUNNING_LE_THIS);
}

#[test]
fn dl_admitted_bandwidth_off() {
    let mut r = dl_run(|_| true);
    let p = task_by_comm(&r.sched, "dlhog");
    dl_entity_mut(&mut r.sched, p).admitted_bw += 1;
    assert_eq!(broken(&r.sched), dl_rule::ADMITTED);
}

#[test]
fn dl_total_bw_above_the_limit() {
    let mut r = dl_run(|_| true);
    // The same admitted tasks under a 1 % limit.
    r.sched.cfg.rt_runtime_us = 10_000;
    assert_eq!(broken(&r.sched), dl_rule::TOTAL_BW_LIMIT);
}

// ---------------------------------------------------------------------------------------
// CFS bandwidth

#[test]
fn bandwidth_throttled_queue_off_the_list() {
    let mut r = cgroup_run(|s| !throttled_queues(s).is_empty());
    let c = throttled_queues(&r.sched)[0];
    let g = r.sched.fair.cfs_rq[c].tg;
    r.sched.fair.tg_mut(g).cfs_b.throttled_cfs_rq.clear();
    assert_eq!(broken(&r.sched), bandwidth_rule::THROTTLED_LIST);
}

#[test]
fn bandwidth_throttle_count_off() {
    let mut r = cgroup_run(|s| !throttled_queues(s).is_empty());
    let c = throttled_queues(&r.sched)[0];
    // The queue of the child group on that CPU counts its parent's throttling once; one
    // more (not one less, which would also leave its waiting tasks under no throttled
    // queue) breaks only the count.
    let (cpu, g) = (r.sched.fair.cfs_rq[c].cpu, r.sched.fair.cfs_rq[c].tg);
    let child = (0..r.sched.fair.tg.len())
        .map(|i| r.sched.fair.tg[i].clone())
        .find(|t| t.parent == Some(g))
        .map(|t| t.cfs_rq[cpu as usize].0 as usize)
        .unwrap_or(c);
    r.sched.fair.cfs_rq[child].bw.throttle_count += 1;
    assert_eq!(broken(&r.sched), bandwidth_rule::THROTTLE_COUNT);
}

#[test]
fn bandwidth_runtime_enabled_without_quota() {
    let mut r = fair_run();
    let c = cpu0_cfs(&r.sched).unwrap();
    r.sched.fair.cfs_rq[c].bw.runtime_enabled = true;
    assert_eq!(broken(&r.sched), bandwidth_rule::RUNTIME_ENABLED);
}

#[test]
fn bandwidth_queue_runtime_above_the_slice() {
    let mut r = cgroup_run(|s| {
        s.fair
            .cfs_rq
            .iter()
            .any(|c| c.bw.runtime_enabled && !c.bw.throttled)
    });
    let slice = r.sched.cfg.cfs_bandwidth_slice_ns() as i64;
    let c = (0..r.sched.fair.cfs_rq.len())
        .find(|&i| {
            r.sched.fair.cfs_rq[i].bw.runtime_enabled && !r.sched.fair.cfs_rq[i].bw.throttled
        })
        .unwrap();
    r.sched.fair.cfs_rq[c].bw.runtime_remaining = slice + 1;
    assert_eq!(broken(&r.sched), bandwidth_rule::QUEUE_RUNTIME);
}

#[test]
fn bandwidth_pool_above_quota_and_burst() {
    let mut r = cgroup_run(|_| true);
    let g = r.sched.fair.group_by_path("/p").expect("the capped group");
    let b = &mut r.sched.fair.tg_mut(g).cfs_b;
    b.runtime = b.quota.unwrap() + b.burst + 3 * 5_000_000;
    assert_eq!(broken(&r.sched), bandwidth_rule::POOL);
}

// ---------------------------------------------------------------------------------------

/// Every rule const in a `check/*.rs` `rule` module has a test here (named
/// `<area>_rule::NAME`; mod.rs's own rules as `mod_rule_NAME`).
#[test]
fn every_rule_has_a_test() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/check");
    let this = include_str!("check_rules.rs");
    let mut missing = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let area = path.file_stem().unwrap().to_str().unwrap().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let rules = if area == "mod" {
            src.as_str()
        } else if let Some(i) = src.find("pub mod rule {") {
            let body = &src[i..];
            &body[..body.find("\n}").unwrap()]
        } else {
            continue;
        };
        for line in rules.lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let name = rest.split(':').next().unwrap();
            let want = if area == "mod" {
                format!("mod_rule_{name})")
            } else {
                format!("{area}_rule::{name})")
            };
            if !this.contains(&want) {
                missing.push(format!("{area}::rule::{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "rules without a test: {missing:?}");
}
