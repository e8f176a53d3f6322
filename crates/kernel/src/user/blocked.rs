//! At the end of a run: which threads wait on something nothing can signal any more (a
//! semaphore no live thread posts, a condition none signals, a suspend none resumes...).
//! A thread that merely happens to be waiting when the run ends is not one of them.

use super::program::Op;
use super::{Blocked, Thread, Userspace};
use crate::sched::Sched;

impl Userspace {
    /// The threads blocked on a sync object when the run ends, by pid: (those no live
    /// thread will ever signal, those a live thread may still signal).
    pub fn blocked_at_end(&self, s: &Sched) -> (Vec<String>, Vec<String>) {
        let live = |th: &&Thread| !s.task(th.task).exited;
        let mut forever = Vec::new();
        let mut waiting = Vec::new();
        for th in self
            .threads
            .values()
            .filter(|th| th.spec.is_some())
            .filter(live)
        {
            let Some(why) = th.blocked else { continue };
            let what = match why {
                Blocked::Sem(i) => format!("semaphore `{}`", self.workload.sems[i].name),
                Blocked::Cond(i) => format!("condition `{}`", self.workload.conds[i].name),
                Blocked::Mutex(i) => format!("mutex `{}`", self.workload.mutexes[i].name),
                Blocked::Barrier(i) => format!("barrier `{}`", self.workload.barriers[i].name),
                Blocked::StartBarrier => "rt-app's start barrier".to_string(),
                Blocked::Suspend => "suspend (no resume came)".to_string(),
                Blocked::Sleep | Blocked::Forever | Blocked::Output | Blocked::Join => continue,
            };
            let signalled = self
                .threads
                .values()
                .filter(live)
                // The launcher forks the workload's threads at the start, not later.
                .filter(|o| o.spec.is_some() && o.task != th.task)
                .any(|o| self.may_signal(o, th, &why));
            let t = s.task(th.task);
            let line = (t.pid, format!("{}[{}] blocked on {what}", t.comm, t.pid));
            if signalled {
                waiting.push(line);
            } else {
                forever.push(line);
            }
        }
        let by_pid = |mut v: Vec<(i32, String)>| {
            v.sort();
            v.into_iter().map(|(_, m)| m).collect()
        };
        (by_pid(forever), by_pid(waiting))
    }

    /// Whether live thread `o` may still end `th`'s wait: it holds the mutex, or its
    /// program (or that of a template it forks) has the op that signals the object.
    fn may_signal(&self, o: &Thread, th: &Thread, why: &Blocked) -> bool {
        if let Blocked::Mutex(m) = why {
            return self.sync.mutexes[*m].owner == Some(o.task);
        }
        let signals = |op: &Op| match (why, op) {
            (Blocked::Sem(i), Op::SemPost(j)) => i == j,
            (Blocked::Cond(i), Op::CondSignal(j) | Op::CondBroadcast(j)) => i == j,
            (
                Blocked::Cond(i),
                Op::CondWait {
                    cond: j,
                    signal_first: true,
                    ..
                },
            ) => i == j,
            (Blocked::Barrier(i), Op::Barrier(j)) => i == j,
            (Blocked::StartBarrier, Op::RtappBarrier) => true,
            (Blocked::Suspend, Op::Resume(spec)) => th.spec == Some(*spec),
            _ => false,
        };
        let ops = self.ops(o);
        ops.iter().any(signals)
            || ops.iter().any(|op| match op {
                Op::Fork(t) => self.programs[*t].iter().any(signals),
                _ => false,
            })
    }
}
