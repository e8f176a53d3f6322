//! Fork and exit (kernel/sched/core.c `sched_fork`, `wake_up_new_task`, `do_task_dead`;
//! kernel/exit.c for the exit tracepoint).

use schedsim_trace::{Comm, Event, RecFlags};
use schedsim_workload::SchedAttr;

use crate::class::{class_of, enqueue, wf};
use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, TaskId};

impl Sched {
    /// `copy_process` + `sched_fork` + `wake_up_new_task`: creates a runnable child of
    /// `parent` (running on its CPU) with the given attributes and affinity, traced as
    /// `sched_process_fork` then `sched_wakeup_new`. Returns the child.
    pub fn fork_task(
        &mut self,
        parent: TaskId,
        comm: &str,
        attr: &SchedAttr,
        affinity: Option<&CpuMask>,
    ) -> Result<TaskId, String> {
        let this_cpu = self.task(parent).cpu;
        // alloc_pid: no free pid once pid_max tasks are alive.
        if self.nr_threads >= self.pid_max() {
            return Err(format!(
                "fork failed with EAGAIN: {} tasks alive, pid_max is {}",
                self.nr_threads,
                self.pid_max()
            ));
        }
        let child = self.new_task(Comm::new(comm), this_cpu);
        // sched_cgroup_fork: the child starts in the parent's group.
        self.task_mut(child).sched_task_group = self.task(parent).sched_task_group;
        self.task_mut(child).cgroup = self.task(parent).cgroup;
        // sched_autogroup_fork: the child is in its parent's session.
        self.task_mut(child).autogroup = self.task(parent).autogroup;
        crate::class::fair::group::set_task_rq(self, child, this_cpu);
        // sched_fork: the child starts from the parent's policy and priority; the
        // attributes it is created with are then applied as a sched_setattr would.
        self.inherit_sched(parent, child);
        self.task_mut(child).tgid = self.task(parent).tgid;
        self.apply_attr_new(child, attr)?;
        if let Some(m) = affinity {
            // The thread's sched_setaffinity, within its cpuset, before it first runs.
            self.task_mut(child).user_cpus = Some(m.clone());
            let mask = self
                .affinity_in_cpuset(child, m)
                .map_err(|e| format!("sched_setaffinity: {e}"))?;
            self.task_mut(child).nr_cpus_allowed = mask.weight();
            self.task_mut(child).cpus_allowed = mask;
        }
        let c = self.task(child).class;
        class_of(c).task_fork(self, child);
        let (pt, ct) = (self.task(parent), self.task(child));
        let ev = Event::ProcessFork {
            parent_comm: pt.comm,
            parent_pid: pt.pid,
            child_comm: ct.comm,
            child_pid: ct.pid,
        };
        self.trace_event(this_cpu, parent, RecFlags::default(), ev);
        self.wake_up_new_task(this_cpu, child);
        Ok(child)
    }

    /// Starts a task that exists from boot (the workload's launcher): no fork event.
    pub fn start_boot_task(&mut self, cpu: u32, p: TaskId) {
        self.task_mut(p).cpu = cpu;
        self.wake_up_new_task(cpu, p);
    }

    fn inherit_sched(&mut self, parent: TaskId, child: TaskId) {
        let pt = self.task(parent).clone();
        let ct = self.task_mut(child);
        ct.policy = pt.policy;
        ct.static_prio = pt.static_prio;
        ct.normal_prio = pt.normal_prio;
        // sched_fork: prio = current->normal_prio, so a PI boost is not inherited.
        ct.prio = pt.normal_prio;
        ct.rt_priority = pt.rt_priority;
        ct.class = pt.class;
        ct.cpus_allowed = pt.cpus_allowed.clone();
        ct.nr_cpus_allowed = pt.nr_cpus_allowed;
        // dup_user_cpus_ptr.
        ct.user_cpus = pt.user_cpus.clone();
        let (ps, cs) = (pt.se, self.task(child).se);
        let pse = self.fair.se(ps).clone();
        let cse = self.fair.se_mut(cs);
        cse.load = pse.load;
        cse.slice = pse.slice;
        cse.custom_slice = pse.custom_slice;
        cse.vruntime = 0;
        cse.vlag = 0;
    }

    /// `wake_up_new_task`: place, activate with ENQUEUE_INITIAL, trace, check preemption.
    fn wake_up_new_task(&mut self, this_cpu: u32, p: TaskId) {
        self.task_mut(p).state = tstate::RUNNING;
        let mut flags = wf::FORK;
        let prev = self.task(p).cpu;
        // __set_task_cpu: no sched_migrate_task for a new task.
        self.this_cpu = this_cpu;
        let cpu = self.select_task_rq(p, prev, &mut flags);
        self.task_mut(p).cpu = cpu;
        self.task_mut(p).wake_cpu = cpu;
        self.update_rq_clock(cpu);
        self.activate_task(cpu, p, enqueue::NOCLOCK | enqueue::INITIAL);
        let t = self.task(p);
        let ev = Event::WakeupNew {
            comm: t.comm,
            pid: t.pid,
            prio: t.prio,
            target_cpu: cpu,
        };
        let now = self.now;
        self.task_mut(p).waking_ts = Some(now);
        self.trace_in(Ctx::Task(this_cpu), 2, ev);
        self.wakeup_preempt(cpu, p, wf::FORK);
        let c = self.task(p).class;
        class_of(c).task_woken(self, cpu, p);
    }

    /// `do_exit` → `do_task_dead`: trace the exit, mark the task dead; the caller then
    /// schedules it away for the last time.
    pub fn exit_task(&mut self, p: TaskId) {
        let t = self.task(p);
        let ev = Event::ProcessExit {
            comm: t.comm,
            pid: t.pid,
            prio: t.prio,
            group_dead: false,
        };
        let cpu = t.cpu;
        self.trace_event(cpu, p, RecFlags::default(), ev);
        self.task_mut(p).state = tstate::DEAD;
        // put_task_struct_rcu_user: the task_struct is freed after a grace period.
        self.call_rcu(cpu);
    }
}
