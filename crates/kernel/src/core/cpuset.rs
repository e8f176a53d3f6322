//! The cpuset controller's CPUs (kernel/cgroup/cpuset.c, cgroup v2 semantics): a cgroup's
//! `cpuset.cpus` narrows the CPUs its tasks may use. Its effective CPUs are the ones it
//! asks for within its parent's effective CPUs, or the parent's when that leaves none
//! (`cpuset.cpus.effective`). A task's affinity is the one it asked for
//! (`sched_setaffinity`, kept as `user_cpus`) within its cpuset, or the cpuset's CPUs when
//! they do not meet (`cpuset_attach_task` with the 6.2+ `user_cpus_ptr`). Partitions and
//! the exclusive flags are not modelled: every cpuset shares the one root domain.

use crate::class::fair::group::TgId;
use crate::cpumask::CpuMask;
use crate::sched::{Ctx, Sched};
use crate::task::TaskId;

/// Each cgroup's `cpuset.cpus` as written (None: never written, or written empty, which
/// leaves the parent's), indexed by `TgId`.
#[derive(Clone, Debug, Default)]
pub struct Cpusets {
    cpus: Vec<Option<CpuMask>>,
}

impl Sched {
    /// `cpuset.cpus.effective` of cgroup `g` (the root's: every CPU).
    pub fn cpuset_effective(&self, g: TgId) -> CpuMask {
        let n = self.nr_cpus();
        let mut chain = vec![g];
        while let Some(p) = self.fair.tg(*chain.last().expect("non-empty")).parent {
            chain.push(p);
        }
        let mut eff = CpuMask::full(n as usize);
        for g in chain.into_iter().rev() {
            if let Some(Some(want)) = self.cpusets.cpus.get(g.0 as usize) {
                let both = want.and(&eff);
                if both.weight() > 0 {
                    eff = both;
                }
            }
        }
        eff
    }

    /// A write of `cpuset.cpus` to cgroup `g` (`update_cpumask`): the CPUs must exist; an
    /// empty list gives the parent's CPUs back. The tasks of `g` and of its descendants
    /// take their new affinity.
    pub fn cpuset_write(&mut self, g: TgId, cpus: &[u32]) -> Result<(), String> {
        let n = self.nr_cpus();
        if let Some(bad) = cpus.iter().find(|&&c| c >= n) {
            return Err(format!(
                "CPU {bad} does not exist (the machine has {n} CPUs; EINVAL)"
            ));
        }
        let i = g.0 as usize;
        if self.cpusets.cpus.len() <= i {
            self.cpusets.cpus.resize(i + 1, None);
        }
        self.cpusets.cpus[i] = (!cpus.is_empty()).then(|| CpuMask::from_list(n as usize, cpus));
        let tasks: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|t| !t.exited && t.pid > 0 && self.tg_under(t.cgroup, g))
            .map(|t| t.id)
            .collect();
        for p in tasks {
            let cpu = self.task(p).cpu;
            self.cpuset_attach_task(Ctx::Task(cpu), p)?;
        }
        Ok(())
    }

    /// `g` is `top` or one of its descendants.
    fn tg_under(&self, mut g: TgId, top: TgId) -> bool {
        loop {
            if g == top {
                return true;
            }
            match self.fair.tg(g).parent {
                Some(p) => g = p,
                None => return false,
            }
        }
    }

    /// `cpuset_attach_task`: the task's affinity after it joined its cgroup or its cpuset
    /// changed: what it asked for within the cpuset's CPUs, or all of them if none is left.
    pub fn cpuset_attach_task(&mut self, ctx: Ctx, p: TaskId) -> Result<(), String> {
        let eff = self.cpuset_effective(self.task(p).cgroup);
        let mask = match &self.task(p).user_cpus {
            Some(u) if u.and(&eff).weight() > 0 => u.and(&eff),
            _ => eff,
        };
        self.set_cpus_allowed(ctx, p, mask)
    }

    /// `__sched_setaffinity`: the task asks for `mask` (kept as `user_cpus`); it gets the
    /// part inside its cpuset, and the call fails if there is none.
    pub fn sched_setaffinity(&mut self, ctx: Ctx, p: TaskId, mask: CpuMask) -> Result<(), String> {
        let n = self.nr_cpus();
        if mask.weight() == 0 || mask.iter().any(|c| c >= n) {
            // The same checks and errors as any affinity change.
            return self.set_cpus_allowed(ctx, p, mask);
        }
        let allowed = self.affinity_in_cpuset(p, &mask)?;
        self.set_cpus_allowed(ctx, p, allowed)?;
        self.task_mut(p).user_cpus = Some(mask);
        Ok(())
    }

    /// The part of `mask` inside `p`'s cpuset (`cpuset_cpus_allowed` ∩ the new mask), or
    /// `__sched_setaffinity`'s EINVAL when there is none.
    pub fn affinity_in_cpuset(&self, p: TaskId, mask: &CpuMask) -> Result<CpuMask, String> {
        let eff = self.cpuset_effective(self.task(p).cgroup);
        let allowed = mask.and(&eff);
        if allowed.weight() == 0 {
            let cpus: Vec<String> = eff.iter().map(|c| c.to_string()).collect();
            return Err(format!(
                "none of the CPUs asked for is in the task's cpuset (CPUs {}; EINVAL)",
                cpus.join(",")
            ));
        }
        Ok(allowed)
    }
}
