//! Core invariants (kernel/sched/core.c): who runs where, the task state machine
//! (`__state`, `on_rq`, `on_cpu`), `nr_running` against the classes' counts, the wakelist,
//! the rq clocks, and conservation of CPU time in the accounting.

use super::{class_nr_queued, violation, Violation};
use crate::class::ClassId;
use crate::sched::Sched;
use crate::task::{tstate, OnRq, TaskId};

/// The rule names, for callers that match on them.
pub mod rule {
    pub const CURR_ON_CPU: &str = "rq->curr has on_cpu (prepare_task)";
    pub const CURR_CPU: &str = "task_cpu(rq->curr) == cpu_of(rq)";
    pub const ONE_CPU: &str = "a task runs on one CPU";
    pub const IDLE_TASK: &str = "rq->idle is the idle class's unqueued swapper";
    pub const ON_CPU: &str = "on_cpu only for rq->curr (finish_task)";
    pub const TASK_STATE: &str = "task state (__state, on_rq, on_cpu) is legal";
    pub const CLASS_COUNT: &str =
        "class queue count matches its queued tasks (h_nr_queued, rt_nr_running, dl_nr_running)";
    pub const NR_RUNNING: &str =
        "rq->nr_running == Σ class queue counts (add_nr_running/sub_nr_running)";
    pub const TTWU_PENDING: &str = "rq->ttwu_pending counts the wakelist (__ttwu_queue_wakelist)";
    pub const CLOCKS: &str = "rq clock_task <= clock <= now (update_rq_clock)";
    pub const LAST_ARRIVAL: &str = "sched_info: last_arrival <= now";
    pub const CPU_TIME: &str = "CPU time conserved: busy + idle == elapsed";
    pub const IDLE_TIME: &str = "CPU time conserved: swapper's sched_info time == CPU idle time";
    pub const SUM_EXEC: &str = "se->sum_exec_runtime <= sched_info CPU time";
    pub const TASK_TIME: &str = "CPU time conserved: Σ task CPU time == Σ CPU busy time";
}

pub fn verify(s: &Sched) -> Result<(), Violation> {
    curr_and_on_cpu(s)?;
    task_states(s)?;
    nr_running(s)?;
    wakelist(s)?;
    clocks(s)?;
    cpu_time(s)?;
    Ok(())
}

/// Every rq's curr is on that CPU with `on_cpu` set, no task is curr of two CPUs, and an
/// `on_cpu` task is the curr of its CPU (one CPU runs one task).
fn curr_and_on_cpu(s: &Sched) -> Result<(), Violation> {
    let n = s.nr_cpus();
    let mut curr_of: Vec<Option<u32>> = vec![None; s.tasks.len()];
    for cpu in 0..n {
        let rq = s.rq(cpu);
        let p = rq.curr;
        let t = s.task(p);
        if !t.on_cpu {
            return Err(violation(
                s,
                rule::CURR_ON_CPU,
                Some(cpu),
                Some(p),
                "rq->curr is not on_cpu".into(),
            ));
        }
        if let Some(other) = curr_of[p.0 as usize] {
            return Err(violation(
                s,
                rule::ONE_CPU,
                Some(cpu),
                Some(p),
                format!("also rq->curr of CPU {other}"),
            ));
        }
        if t.cpu != cpu {
            return Err(violation(
                s,
                rule::CURR_CPU,
                Some(cpu),
                Some(p),
                format!("rq->curr has task_cpu {}", t.cpu),
            ));
        }
        curr_of[p.0 as usize] = Some(cpu);
        let idle = s.task(rq.idle);
        if !idle.is_idle_task() || idle.class != ClassId::Idle || idle.on_rq != OnRq::No {
            return Err(violation(
                s,
                rule::IDLE_TASK,
                Some(cpu),
                Some(rq.idle),
                format!(
                    "pid {} class {:?} on_rq {:?}",
                    idle.pid, idle.class, idle.on_rq
                ),
            ));
        }
    }
    for t in &s.tasks {
        if t.on_cpu && curr_of[t.id.0 as usize].is_none() {
            return Err(violation(
                s,
                rule::ON_CPU,
                Some(t.cpu.min(n - 1)),
                Some(t.id),
                format!("on_cpu but not the curr of any CPU (task_cpu {})", t.cpu),
            ));
        }
    }
    Ok(())
}

fn sleeping(state: u32) -> bool {
    state & (tstate::NORMAL | tstate::DEAD) != 0 && state & tstate::WAKING == 0
}

/// The legal (`__state`, `on_rq`, `on_cpu`) combinations between events: a task that
/// blocks schedules away within the same event, so only `rq->curr` is on a CPU and it is
/// TASK_RUNNING; a sleeping task is off its rq unless fair delayed its dequeue; a TASK_WAKING
/// task waits on a wakelist, off any rq; a new task is nowhere yet.
fn task_states(s: &Sched) -> Result<(), Violation> {
    let n = s.nr_cpus();
    for t in &s.tasks {
        let p = t.id;
        let cpu = Some(t.cpu.min(n - 1));
        let bad = |what: String| {
            Err(violation(
                s,
                rule::TASK_STATE,
                cpu,
                Some(p),
                format!(
                    "{what}: __state={:#x} on_rq={:?} on_cpu={} exited={}",
                    t.state, t.on_rq, t.on_cpu, t.exited
                ),
            ))
        };
        if t.cpu >= n {
            return bad(format!("task_cpu {} out of range", t.cpu));
        }
        if t.is_idle_task() {
            if t.state != tstate::RUNNING || t.on_rq != OnRq::No {
                return bad("idle task not TASK_RUNNING and unqueued".into());
            }
            continue;
        }
        let delayed = s.fair.se(t.se).sched_delayed;
        if t.on_rq == OnRq::Migrating {
            return bad("TASK_ON_RQ_MIGRATING seen between events".into());
        }
        if t.exited && (t.state != tstate::DEAD || t.on_cpu) {
            return bad("exited task not TASK_DEAD off-CPU".into());
        }
        match t.state {
            tstate::NEW => {
                if t.on_rq != OnRq::No || t.on_cpu {
                    return bad("TASK_NEW task queued or running".into());
                }
            }
            tstate::RUNNING => {
                if t.on_rq != OnRq::Queued {
                    return bad("TASK_RUNNING task not on a rq".into());
                }
                if delayed {
                    return bad(
                        "TASK_RUNNING task still sched_delayed (ttwu_runnable requeues it)".into(),
                    );
                }
            }
            tstate::WAKING => {
                if t.on_rq != OnRq::No || t.on_cpu {
                    return bad(
                        "TASK_WAKING task queued or running (it waits on a wakelist)".into(),
                    );
                }
            }
            st if sleeping(st) => {
                if t.on_cpu {
                    return bad("sleeping task still on a CPU after the event".into());
                }
                if t.on_rq == OnRq::Queued && !delayed {
                    return bad("sleeping task queued without a delayed dequeue".into());
                }
                if st == tstate::DEAD && !t.exited {
                    return bad("TASK_DEAD task off-CPU without its final switch-out".into());
                }
            }
            _ => return bad("unknown __state".into()),
        }
        if t.class == ClassId::Fair && !t.throttled {
            let se = s.fair.se(t.se);
            if se.on_rq != (t.on_rq == OnRq::Queued) {
                return bad(format!("p->on_rq disagrees with se->on_rq={}", se.on_rq));
            }
        }
    }
    Ok(())
}

/// `rq->nr_running` is the sum of the classes' queue counts (`add_nr_running` is called
/// from each class's own accounting: cfs `h_nr_queued`, `rt_nr_running`, `dl_nr_running`),
/// and each class whose count the checker reads (`class_nr_queued`) counts exactly the
/// tasks queued in it. A class may keep a task `on_rq` outside its count (a throttled
/// SCHED_DEADLINE task is dequeued from the dl_rq and `sub_nr_running`'d with `p->on_rq`
/// still QUEUED; a cfs-throttled task waits on a limbo list): those are not counted. For a
/// class without a reader nr_running is only bounded.
fn nr_running(s: &Sched) -> Result<(), Violation> {
    let n = s.nr_cpus();
    let mut per_class: Vec<Vec<(ClassId, u32)>> = vec![Vec::new(); n as usize];
    for t in &s.tasks {
        // A throttled task stays QUEUED on its limbo list, outside h_nr_queued (a task
        // boosted out of fair by PI keeps the mark, but is queued in its new class).
        if t.on_rq != OnRq::Queued || t.cpu >= n || (t.throttled && t.class == ClassId::Fair) {
            continue;
        }
        // A throttled deadline task stays QUEUED off the dl_rq (dec_dl_tasks).
        if t.class == ClassId::Dl && crate::class::dl::task_dl(s, t.id).dl_throttled {
            continue;
        }
        let c = t.cpu as usize;
        match per_class[c].iter_mut().find(|(k, _)| *k == t.class) {
            Some((_, k)) => *k += 1,
            None => per_class[c].push((t.class, 1)),
        }
    }
    for cpu in 0..n {
        let rq = s.rq(cpu);
        let (mut known, mut unknown_tasks) = (0u32, 0u32);
        for c in ClassId::ALL {
            let have = per_class[cpu as usize]
                .iter()
                .find(|(k, _)| *k == c)
                .map_or(0, |&(_, k)| k);
            match class_nr_queued(s, cpu, c) {
                Some(k) => {
                    // A throttled rt_rq is off the rq (`dequeue_top_rt_rq`): its tasks are
                    // not in nr_running.
                    if !(c == ClassId::Rt && rq.rt.rt_throttled) {
                        known += k;
                    }
                    if k != have {
                        return Err(violation(
                            s,
                            rule::CLASS_COUNT,
                            Some(cpu),
                            None,
                            format!("{c:?} counts {k}, {have} {c:?} tasks are queued here"),
                        ));
                    }
                }
                None => unknown_tasks += have,
            }
        }
        if rq.nr_running < known || rq.nr_running > known + unknown_tasks {
            let want = if unknown_tasks == 0 {
                format!("{known}")
            } else {
                format!("{known}..={}", known + unknown_tasks)
            };
            return Err(violation(
                s,
                rule::NR_RUNNING,
                Some(cpu),
                None,
                format!("nr_running={} but the classes count {want}", rq.nr_running),
            ));
        }
    }
    Ok(())
}

/// `rq->ttwu_pending`: one per TASK_WAKING task sent to this CPU's wakelist.
fn wakelist(s: &Sched) -> Result<(), Violation> {
    let n = s.nr_cpus();
    let mut waking = vec![0u32; n as usize];
    for t in &s.tasks {
        if t.state == tstate::WAKING && t.cpu < n {
            waking[t.cpu as usize] += 1;
        }
    }
    for cpu in 0..n {
        if s.rq(cpu).ttwu_pending != waking[cpu as usize] {
            return Err(violation(
                s,
                rule::TTWU_PENDING,
                Some(cpu),
                None,
                format!(
                    "ttwu_pending={} but {} TASK_WAKING tasks target this CPU",
                    s.rq(cpu).ttwu_pending,
                    waking[cpu as usize]
                ),
            ));
        }
    }
    Ok(())
}

/// The rq clocks never run ahead of now (`update_rq_clock` only moves them to now).
fn clocks(s: &Sched) -> Result<(), Violation> {
    for cpu in 0..s.nr_cpus() {
        let rq = s.rq(cpu);
        if rq.clock > s.now || rq.clock_task > rq.clock || rq.nr_running_since > s.now {
            return Err(violation(
                s,
                rule::CLOCKS,
                Some(cpu),
                None,
                format!(
                    "clock={} clock_task={} nr_running_since={}",
                    rq.clock, rq.clock_task, rq.nr_running_since
                ),
            ));
        }
    }
    Ok(())
}

/// The time of the current run of a CPU's curr (switch-in to now).
fn open(s: &Sched, cpu: u32) -> (TaskId, u64) {
    let p = s.curr(cpu);
    (p, s.now.saturating_sub(s.task(p).last_arrival))
}

/// CPU time is conserved: per CPU busy + idle (+ the open run of curr) = elapsed time; the
/// idle task's sched_info time is the CPU's idle time; the user tasks' CPU times sum to the
/// CPUs' busy times; no entity was charged more execution than it had CPU time.
fn cpu_time(s: &Sched) -> Result<(), Violation> {
    let mut busy_total: u128 = 0;
    for cpu in 0..s.nr_cpus() {
        let (p, run) = open(s, cpu);
        if s.task(p).last_arrival > s.now {
            return Err(violation(
                s,
                rule::LAST_ARRIVAL,
                Some(cpu),
                Some(p),
                format!("last_arrival={}", s.task(p).last_arrival),
            ));
        }
        let st = &s.cpu_stats[cpu as usize];
        let idle_run = if s.task(p).is_idle_task() { run } else { 0 };
        let busy_run = run - idle_run;
        busy_total += (st.busy + busy_run) as u128;
        let total = st.busy as u128 + st.idle as u128 + run as u128;
        if total != s.now as u128 {
            return Err(violation(
                s,
                rule::CPU_TIME,
                Some(cpu),
                Some(p),
                format!(
                    "busy={} idle={} open run={} sum={} but now={}",
                    st.busy, st.idle, run, total, s.now
                ),
            ));
        }
        let idle = s.rq(cpu).idle;
        let idle_time = s.task_stats[idle.0 as usize].cpu_time;
        if idle_time != st.idle {
            return Err(violation(
                s,
                rule::IDLE_TIME,
                Some(cpu),
                Some(idle),
                format!("swapper cpu_time={idle_time} cpu idle={}", st.idle),
            ));
        }
    }
    let mut tasks_total: u128 = 0;
    for t in &s.tasks {
        if t.is_idle_task() {
            continue;
        }
        let st = &s.task_stats[t.id.0 as usize];
        let run = if t.on_cpu && s.curr(t.cpu) == t.id {
            s.now.saturating_sub(t.last_arrival)
        } else {
            0
        };
        let had = st.cpu_time + run;
        tasks_total += had as u128;
        let se = s.fair.se(t.se);
        if se.sum_exec_runtime > had {
            return Err(violation(
                s,
                rule::SUM_EXEC,
                Some(t.cpu),
                Some(t.id),
                format!(
                    "sum_exec_runtime={} but the task had the CPU for {had}",
                    se.sum_exec_runtime
                ),
            ));
        }
    }
    if tasks_total != busy_total {
        return Err(violation(
            s,
            rule::TASK_TIME,
            None,
            None,
            format!("tasks {tasks_total} ns, CPUs busy {busy_total} ns"),
        ));
    }
    Ok(())
}
