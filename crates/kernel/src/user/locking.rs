//! Barriers and mutexes in user space: a barrier's arrival and release, a mutex's unlock and
//! hand-over in futex order, and for PI mutexes the rt_mutex priority chain
//! (`rt_mutex_adjust_prio_chain`, `task_top_pi_waiter`, `mark_wakeup_next_waiter`).

use super::*;

impl Userspace {
    /// `t` arrives at barrier `b` (None: rt-app's start barrier); the last of its parties
    /// wakes the others, in the futex's order, and the barrier starts over.
    pub(super) fn barrier_arrive(&mut self, s: &mut Sched, ctx: Ctx, t: TaskId, b: Option<usize>) {
        let bar = match b {
            Some(i) => &mut self.sync.barriers[i],
            None => &mut self.sync.start_barrier,
        };
        bar.arrived += 1;
        if bar.arrived >= bar.parties {
            bar.arrived = 0;
            for w in bar.waiters.drain() {
                self.wake(s, ctx, w);
            }
        } else {
            bar.waiters.push(futex_prio(s, t), t);
            self.block(s, t, b.map_or(Blocked::StartBarrier, Blocked::Barrier));
        }
    }

    pub(super) fn unlock(
        &mut self,
        s: &mut Sched,
        ctx: Ctx,
        t: TaskId,
        m: usize,
    ) -> Result<(), UserError> {
        if self.sync.mutexes[m].owner != Some(t) {
            return Err(self.err(
                s,
                t,
                format!(
                    "unlocks mutex `{}` it does not hold",
                    self.workload.mutexes[m].name
                ),
            ));
        }
        // Hand the mutex to the first waiter (futex order; PI mutexes by priority).
        let next = self.sync.mutexes[m].waiters.pop();
        self.sync.mutexes[m].owner = next;
        if let Some(w) = next {
            // The new owner no longer waits on this mutex.
            self.threads[&w].blocked = None;
        }
        if self.workload.mutexes[m].pi {
            // mark_wakeup_next_waiter: the unlocking task drops this mutex's boost first,
            // then the new owner inherits from the waiters left (if any boosts it).
            // An uncontended unlock stays in user space (no rt_mutex_setprio).
            let cpu = ctx.cpu();
            if next.is_some() {
                self.adjust_pi_chain(s, cpu, t);
            }
            if let Some(w) = next.filter(|&w| self.pi_top_waiter(w).is_some()) {
                self.adjust_pi_chain(s, cpu, w);
            }
        }
        if let Some(w) = next {
            self.wake(s, ctx, w);
        }
        Ok(())
    }

    /// Queues a mutex waiter: by its effective priority (deadline waiters by deadline) for
    /// a PI mutex (rt_mutex waiter order, `waiter_update_prio`), else by futex priority.
    pub(super) fn queue_mutex_waiter(&mut self, s: &Sched, m: usize, t: TaskId) {
        if self.workload.mutexes[m].pi {
            let deadline = crate::class::dl::task_dl(s, t).deadline;
            self.sync.mutexes[m]
                .waiters
                .push_dl(s.task(t).prio, deadline, t);
        } else {
            self.sync.mutexes[m].waiters.push(futex_prio(s, t), t);
        }
    }

    /// The top waiter of the PI mutexes `owner` holds (`task_top_pi_waiter`).
    pub(super) fn pi_top_waiter(&self, owner: TaskId) -> Option<TaskId> {
        (0..self.sync.mutexes.len())
            .filter(|&i| self.workload.mutexes[i].pi)
            .filter(|&i| self.sync.mutexes[i].owner == Some(owner))
            .filter_map(|i| self.sync.mutexes[i].waiters.top())
            .min_by_key(|&(key, _)| key)
            .map(|(_, w)| w)
    }

    /// `rt_mutex_adjust_prio_chain`: `owner` runs at the priority of the top waiter of the
    /// PI mutexes it holds; if it is itself blocked on a PI mutex, its new priority requeues
    /// it there and the walk continues with that mutex's owner.
    pub(super) fn adjust_pi_chain(&mut self, s: &mut Sched, cpu: u32, mut owner: TaskId) {
        for _ in 0..=self.sync.mutexes.len() {
            let donor = self.pi_top_waiter(owner);
            s.rt_mutex_setprio(cpu, owner, donor);
            let Some(Blocked::Mutex(m2)) = self.threads[&owner].blocked else {
                return;
            };
            if !self.workload.mutexes[m2].pi {
                return;
            }
            if !self.sync.mutexes[m2].waiters.remove(owner) {
                return;
            }
            self.queue_mutex_waiter(s, m2, owner);
            match self.sync.mutexes[m2].owner {
                Some(next) => owner = next,
                None => return,
            }
        }
    }
}
