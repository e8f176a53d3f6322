//! A thread's `fork` of a named task (rt-app's `fork` event, the TOML `fork` step, and the
//! launcher's creation of every thread): its name and comm as rt-app sets them, its
//! affinity, session and cgroup, and a start delay.

use super::*;

impl Userspace {
    pub(super) fn fork(
        &mut self,
        s: &mut Sched,
        parent: TaskId,
        spec_i: usize,
    ) -> Result<(), UserError> {
        let spec = &self.workload.tasks[spec_i];
        let parent_is_thread = self.threads[&parent].spec.is_some();
        let index = self.next_index;
        // Instance numbers count the threads of this spec created so far.
        let instance = self.instances[spec_i];
        let name = self.comm_for(spec, parent_is_thread, index, instance, self.forked[spec_i]);
        let (comm, setname) = match spec.naming {
            // pthread_setname_np fails (ERANGE) on a name of more than 15 characters; rt-app
            // goes on and the thread keeps the comm it inherited from its creator.
            Naming::RtApp if name.len() > 15 => (s.task(parent).comm.as_str().to_string(), None),
            // A new rt-app thread has its creator's comm until it names itself.
            Naming::RtApp => (s.task(parent).comm.as_str().to_string(), Some(name)),
            _ => (name, None),
        };
        let (attr, start_delay) = (spec.attr, spec.start_delay);
        let n = s.nr_cpus() as usize;
        let affinity = match &spec.affinity {
            Some(c) => {
                if let Some(&bad) = c.iter().find(|&&c| c as usize >= n) {
                    let msg = format!(
                        "task `{}` ({}:{}) names CPU {bad}, but the machine has {n} CPUs",
                        spec.name, self.workload.source, spec.loc
                    );
                    return Err(self.err(s, parent, msg));
                }
                Some(CpuMask::from_list(n, c))
            }
            None => None,
        };
        self.instances[spec_i] += 1;
        if parent_is_thread {
            self.forked[spec_i] += 1;
        }
        let child = s
            .fork_task(parent, &comm, &attr, affinity.as_ref())
            .map_err(|e| self.err(s, parent, format!("cannot create `{comm}`: {e}")))?;
        self.add_thread(child, Some(spec_i));
        let th = self.threads.get_mut(&child).unwrap();
        th.created_at_start = !parent_is_thread;
        th.setname = setname;
        // The clone's return to the parent, as after any syscall that woke a thread.
        self.wakes += 1;
        if let Some(i) = self.workload.tasks[spec_i].session {
            self.join_session(s, child, i)?;
        }
        if let Some(g) = &self.workload.tasks[spec_i].cgroup {
            // The thread's first act is to join its cgroup (rt-app's taskgroup).
            let tg = s.fair.group_by_path(g).expect("checked at set-up");
            // A sched_ext policy may refuse the move (ops.cgroup_prep_move).
            let ctx = crate::sched::Ctx::Task(s.task(parent).cpu);
            s.cgroup_attach(ctx, child, tg)
                .map_err(|e| self.err(s, child, e))?;
        }
        if start_delay > 0 {
            // The thread exists but sleeps until its start.
            self.delayed_start(s, child, start_delay);
        }
        Ok(())
    }

    /// A thread with a start delay: it is created runnable and first sleeps.
    pub(super) fn delayed_start(&mut self, s: &mut Sched, child: TaskId, delay: u64) {
        // The thread is taken off the rq in state S as if its first act were a nanosleep.
        let cpu = s.task(child).cpu;
        arm_sleep_timer(s, child, s.now + delay);
        self.threads.get_mut(&child).unwrap().blocked = Some(Blocked::Sleep);
        s.task_mut(child).state = tstate::INTERRUPTIBLE;
        s.deactivate_task(cpu, child, crate::class::dequeue::SLEEP);
    }
}
