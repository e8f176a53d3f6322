//! rt-app's shutdown (rt-app.c `__shutdown`): at the end of the duration the main thread
//! clears `continue_running`, wakes every thread waiting on a condition, a barrier or a
//! semaphore (`wakeup_all_threads`; the semaphores get a post per thread), and joins the
//! threads. A thread finishes the event it is in, skips the rest of its phase (`run`
//! returns when `!continue_running` and it holds no mutex; holding one, it goes on through
//! the phase doing only the lock and unlock events), still writes the iteration's loop-end
//! and statistics lines, leaves its loop and runs its end (the workload's
//! `{rtapp_thread_end}` marker, rtapp/end.rs). When the last has exited, the main
//! thread writes `rtapp_main: event=end` and the run ends.

use super::program::Op;
use super::{Blocked, Userspace};
use crate::sched::{Ctx, Sched};
use crate::task::{tstate, TaskId};

impl Userspace {
    /// `__shutdown(true)` by the launcher `t`: true if it must wait for the threads.
    pub(super) fn rtapp_shutdown(&mut self, s: &mut Sched, ctx: Ctx, t: TaskId) -> bool {
        self.shutting_down = true;
        // wakeup_all_threads.
        let mut woken = Vec::new();
        for c in &mut self.sync.conds {
            woken.extend(c.drain());
        }
        for q in &mut self.sync.suspended {
            woken.extend(q.drain());
        }
        for b in &mut self.sync.barriers {
            b.arrived = 0;
            woken.extend(b.waiters.drain());
        }
        let posts = self.live_rtapp_threads(s) as u64 + 1;
        for sem in &mut self.sync.sems {
            for _ in 0..posts {
                match sem.waiters.pop() {
                    Some(w) => woken.push(w),
                    None => sem.count += 1,
                }
            }
        }
        for w in woken {
            self.wake(s, ctx, w);
        }
        if self.live_rtapp_threads(s) == 0 {
            return false;
        }
        self.block(s, t, Blocked::Join);
        true
    }

    /// The rt-app threads not yet exited (the ones `pthread_join` waits for).
    fn live_rtapp_threads(&self, s: &Sched) -> usize {
        self.threads
            .values()
            .filter(|th| th.spec.is_some_and(|i| self.thread_end[i].is_some()))
            .filter(|th| !s.task(th.task).exited && s.task(th.task).state != tstate::DEAD)
            .count()
    }

    /// After a thread's exit (`do_exit` has marked it dead): the launcher's join returns
    /// when none is left.
    pub(super) fn join_exited(&mut self, s: &mut Sched, ctx: Ctx) {
        let Some(l) = self.launcher else {
            return;
        };
        if self.shutting_down
            && self.threads[&l].blocked == Some(Blocked::Join)
            && self.live_rtapp_threads(s) == 0
        {
            self.wake(s, ctx, l);
        }
    }

    /// At an rt-app thread's next op after the shutdown: what becomes of it. None: it
    /// runs (the thread is not an rt-app thread or is in its end already; or it is a lock or
    /// unlock while the thread holds a mutex, or the loop-end and statistics lines rt-app
    /// still writes for the iteration it cut short); Some(false): it is skipped (the rest of
    /// the phase's events, `run` returning at once); Some(true): the thread left its loop
    /// for its end.
    pub(super) fn shutdown_step(&mut self, t: TaskId) -> Option<bool> {
        if !self.shutting_down {
            return None;
        }
        let th = &self.threads[&t];
        let end = self.thread_end[th.spec?]?;
        if th.pc >= end {
            return None;
        }
        let holds_mutex = self.sync.mutexes.iter().any(|m| m.owner == Some(t));
        match self.ops(th).get(th.pc) {
            Some(Op::LoopStart { .. } | Op::LoopEnd { .. }) => {
                // `while (continue_running && ...)`: the thread loop ends.
                let th = self.threads.get_mut(&t).expect("a thread");
                th.pc = end;
                th.loops.clear();
                Some(true)
            }
            Some(Op::Lock(_) | Op::Unlock(_)) if holds_mutex => None,
            Some(Op::Marker(text))
                if text.starts_with("rtapp_loop: event=end")
                    || text.starts_with("rtapp_stats:") =>
            {
                None
            }
            _ => Some(false),
        }
    }
}
