//! Wasted idle time: how long a CPU sat idle while another CPU of its LLC had a task
//! waiting to run (queued there, runnable, not running: a delayed-dequeue sleeper, which
//! the kernel still counts in `nr_running`, waits for nothing), the waste that newidle and NOHZ balancing
//! and wakeup placement exist to remove (docs/metrics.md). Kept per LLC so a change on one
//! CPU looks only at the CPUs sharing its cache.

use crate::sched::Sched;
use crate::topology::Topology;

#[derive(Clone, Debug, Default)]
pub struct WastedIdle {
    /// CPU → its LLC's index; LLC index → its CPUs.
    llc_of: Vec<usize>,
    members: Vec<Vec<u32>>,
    /// Per CPU: its idle task is current; it has a task waiting.
    idle: Vec<bool>,
    waiting: Vec<bool>,
    /// Per LLC: how many of its CPUs have a task waiting.
    llc_waiting: Vec<u32>,
    /// Per CPU: when its current wasted stretch began, and the closed stretches' total.
    since: Vec<Option<u64>>,
    total: Vec<u64>,
}

impl WastedIdle {
    /// Every CPU idle with nothing waiting, as at boot.
    pub fn new(topo: &Topology) -> WastedIdle {
        let n = topo.nr_cpus() as usize;
        let mut ids: Vec<u32> = topo.llc_id.clone();
        ids.sort_unstable();
        ids.dedup();
        let llc_of: Vec<usize> = (0..n)
            .map(|c| ids.binary_search(&topo.llc_id[c]).expect("listed"))
            .collect();
        let mut members = vec![Vec::new(); ids.len()];
        for (c, &l) in llc_of.iter().enumerate() {
            members[l].push(c as u32);
        }
        WastedIdle {
            llc_of,
            llc_waiting: vec![0; members.len()],
            members,
            idle: vec![true; n],
            waiting: vec![false; n],
            since: vec![None; n],
            total: vec![0; n],
        }
    }

    /// The wasted idle time of `cpu` up to `end`, an open stretch included.
    pub fn total_at(&self, cpu: u32, end: u64) -> u64 {
        let c = cpu as usize;
        self.total[c] + self.since[c].map_or(0, |t| end.saturating_sub(t))
    }

    fn refresh(&mut self, cpu: u32, now: u64) {
        let c = cpu as usize;
        let others = self.llc_waiting[self.llc_of[c]] - u32::from(self.waiting[c]);
        let wasted = self.idle[c] && others > 0;
        match (wasted, self.since[c]) {
            (true, None) => self.since[c] = Some(now),
            (false, Some(t)) => {
                self.total[c] += now - t;
                self.since[c] = None;
            }
            _ => {}
        }
    }
}

impl Sched {
    /// `cpu`'s current task, run-queue length or delayed-dequeue count changed: update the
    /// wasted idle time of the CPUs of its LLC.
    pub fn note_wasted_idle(&mut self, cpu: u32) {
        let rq = self.rq(cpu);
        let idle = rq.curr == rq.idle;
        let cfs = self.fair.cfs(rq.cfs);
        let delayed = cfs.h_nr_queued.saturating_sub(cfs.h_nr_runnable);
        let waiting = rq.nr_running.saturating_sub(delayed) > u32::from(!idle);
        let now = self.now;
        let w = &mut self.wasted_idle;
        let c = cpu as usize;
        if waiting != w.waiting[c] {
            w.waiting[c] = waiting;
            w.idle[c] = idle;
            let l = w.llc_of[c];
            if waiting {
                w.llc_waiting[l] += 1;
            } else {
                w.llc_waiting[l] -= 1;
            }
            for i in 0..w.members[l].len() {
                let m = w.members[l][i];
                w.refresh(m, now);
            }
        } else if idle != w.idle[c] {
            w.idle[c] = idle;
            w.refresh(cpu, now);
        }
    }
}
