//! The fair server (`dl_server_*`) and its hooks at the class boundary: `ServedFair` and
//! `ServedIdle` wrap the fair and idle classes in the class table.

use super::*;

/// `dl_server_start`: the first fair task became runnable on this CPU.
pub(super) fn dl_server_start(s: &mut Sched, cpu: u32) {
    let e = se(s, cpu, DlKey::Server);
    if e.dl_runtime == 0 || e.dl_server_active {
        return;
    }
    se_mut(s, cpu, DlKey::Server).dl_server_active = true;
    enqueue_dl_entity(s, cpu, DlKey::Server, enqueue::WAKEUP);
    let server = se(s, cpu, DlKey::Server).clone();
    match curr_dl_entity(s, cpu) {
        Some(c) if !dl_entity_preempt(&server, &c) => {}
        _ => s.resched_curr(cpu),
    }
}

/// `dl_server_stop`: no fair task left to serve.
pub(super) fn dl_server_stop(s: &mut Sched, cpu: u32) {
    if se(s, cpu, DlKey::Server).dl_runtime == 0 {
        return;
    }
    let sleep = if se(s, cpu, DlKey::Server).dl_server_active {
        dequeue::SLEEP
    } else {
        0
    };
    dequeue_dl_entity(s, cpu, DlKey::Server, sleep);
    cancel_dl_timer(s, cpu, DlKey::Server);
    let e = se_mut(s, cpu, DlKey::Server);
    e.dl_defer_armed = false;
    e.dl_throttled = false;
    e.dl_server_active = false;
    e.dl_defer_idle = false;
}

/// `dl_server_update`: fair execution is charged to an active server, whether it runs
/// through the server or not (so a fair task that gets its share never needs it).
pub(super) fn dl_server_update(s: &mut Sched, cpu: u32, delta: i64) {
    let e = se(s, cpu, DlKey::Server);
    if e.dl_runtime != 0 && e.dl_server_active {
        se_mut(s, cpu, DlKey::Server).dl_defer_idle = false;
        update_curr_dl_se(s, cpu, DlKey::Server, delta, false);
    }
}

/// `dl_server_update_idle_time` (6.18: `dl_server_update_idle`): idle time also consumes
/// a deferred server's runtime; running out restarts its period.
pub(super) fn dl_server_update_idle_time(s: &mut Sched, cpu: u32) {
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - s.rq(cpu).dl.idle_exec_start as i64;
    if delta <= 0 {
        return;
    }
    s.rq_mut(cpu).dl.idle_exec_start = now;
    let e = se(s, cpu, DlKey::Server);
    if e.dl_defer && e.dl_runtime != 0 && e.dl_server_active {
        update_curr_dl_se(s, cpu, DlKey::Server, delta, true);
    }
}

/// Fair's `update_curr` → `dl_server_update` for the running fair task (only while the
/// cfs_rq has a current entity, as `update_curr` itself).
pub(super) fn charge_fair(s: &mut Sched, cpu: u32) {
    let c = s.rq(cpu).cfs;
    if s.fair.cfs(c).curr.is_none() {
        return;
    }
    let now = s.rq(cpu).clock_task;
    let delta = now as i64 - s.rq(cpu).dl.fair_exec_start as i64;
    if delta <= 0 {
        return;
    }
    s.rq_mut(cpu).dl.fair_exec_start = now;
    dl_server_update(s, cpu, delta);
}

/// The fair class with its fair-server hooks (fair.c's calls into deadline.c).
pub struct ServedFair;

impl SchedClass for ServedFair {
    /// `enqueue_task_fair`: the first runnable fair task starts the server (idle time up
    /// to now is charged first).
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        charge_fair(s, cpu);
        let c = s.rq(cpu).cfs;
        let before = s.fair.cfs(c).h_nr_queued;
        let was_running = s.rq(cpu).nr_running;
        FairClass.enqueue_task(s, cpu, p, flags);
        if before == 0 && s.fair.cfs(c).h_nr_queued > 0 {
            if was_running == 0 && s.curr(cpu) == s.rq(cpu).idle {
                dl_server_update_idle_time(s, cpu);
            }
            dl_server_start(s, cpu);
        }
    }
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        charge_fair(s, cpu);
        FairClass.dequeue_task(s, cpu, p, flags)
    }
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        charge_fair(s, cpu);
        FairClass.yield_task(s, cpu)
    }
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        charge_fair(s, cpu);
        FairClass.wakeup_preempt(s, cpu, p, wake_flags)
    }
    fn balance(&self, s: &mut Sched, cpu: u32, prev: TaskId) -> bool {
        FairClass.balance(s, cpu, prev)
    }
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        charge_fair(s, cpu);
        FairClass.pick_task(s, cpu)
    }
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        charge_fair(s, cpu);
        FairClass.put_prev_task(s, cpu, prev, next)
    }
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        FairClass.set_next_task(s, cpu, p, first);
        s.rq_mut(cpu).dl.fair_exec_start = s.rq(cpu).clock_task;
    }
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32 {
        FairClass.select_task_rq(s, p, prev_cpu, wake_flags)
    }
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        charge_fair(s, cpu);
        FairClass.task_tick(s, cpu, p)
    }
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        charge_fair(s, cpu);
        FairClass.update_curr(s, cpu)
    }
    fn task_woken(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.task_woken(s, cpu, p)
    }
    fn task_fork(&self, s: &mut Sched, p: TaskId) {
        FairClass.task_fork(s, p)
    }
    fn task_dead(&self, s: &mut Sched, p: TaskId) {
        FairClass.task_dead(s, p)
    }
    fn reweight_task(&self, s: &mut Sched, p: TaskId, lw: LoadWeight) {
        FairClass.reweight_task(s, p, lw)
    }
    fn prio_changed(&self, s: &mut Sched, cpu: u32, p: TaskId, oldprio: i32) {
        charge_fair(s, cpu);
        FairClass.prio_changed(s, cpu, p, oldprio)
    }
    fn switched_from(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.switched_from(s, cpu, p)
    }
    fn switched_to(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.switched_to(s, cpu, p)
    }
    fn return_to_user(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        FairClass.return_to_user(s, cpu, p)
    }
    fn migrate_task_rq(&self, s: &mut Sched, p: TaskId, new_cpu: u32) {
        FairClass.migrate_task_rq(s, p, new_cpu)
    }
}

/// The idle class with its fair-server hook (`put_prev_task_idle` →
/// `dl_server_update_idle_time`).
pub struct ServedIdle;

impl SchedClass for ServedIdle {
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) {
        IdleClass.enqueue_task(s, cpu, p, flags)
    }
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool {
        IdleClass.dequeue_task(s, cpu, p, flags)
    }
    fn yield_task(&self, s: &mut Sched, cpu: u32) {
        IdleClass.yield_task(s, cpu)
    }
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32) {
        IdleClass.wakeup_preempt(s, cpu, p, wake_flags)
    }
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId> {
        IdleClass.pick_task(s, cpu)
    }
    /// `put_prev_task_idle`.
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId) {
        dl_server_update_idle_time(s, cpu);
        IdleClass.put_prev_task(s, cpu, prev, next)
    }
    /// `set_next_task_idle`: the idle task's exec_start.
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool) {
        IdleClass.set_next_task(s, cpu, p, first);
        s.rq_mut(cpu).dl.idle_exec_start = s.rq(cpu).clock_task;
    }
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev: u32, wake_flags: u32) -> u32 {
        IdleClass.select_task_rq(s, p, prev, wake_flags)
    }
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId) {
        IdleClass.task_tick(s, cpu, p)
    }
    /// `update_curr_idle` (6.18): idle time so far is charged to the fair server.
    fn update_curr(&self, s: &mut Sched, cpu: u32) {
        dl_server_update_idle_time(s, cpu);
        IdleClass.update_curr(s, cpu)
    }
}
