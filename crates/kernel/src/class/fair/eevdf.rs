//! EEVDF arithmetic on one cfs_rq (kernel/sched/fair.c): the weighted average virtual time
//! V, eligibility, lag, placement, deadlines and the pick. Everything here is the kernel's
//! integer arithmetic: wrapping u64 virtual times, s64 sums, `div_s64` truncation.

use super::entity::{CfsRq, CfsRqId, SchedEntity, SeId};
use super::tree::{vtime_before, Timeline};
use super::FairState;
use crate::config::Features;
use crate::prio::{calc_delta_fair, scale_load_down};

/// `ENQUEUE_INITIAL`'s meaning for `place_entity`.
pub const PLACE_INITIAL: u32 = 1;

fn key(cfs: &CfsRq, se: &SchedEntity) -> i64 {
    se.vruntime.wrapping_sub(cfs.zero_vruntime) as i64
}

fn weight_down(se: &SchedEntity) -> i64 {
    scale_load_down(se.load.weight) as i64
}

impl FairState {
    pub fn cfs(&self, c: CfsRqId) -> &CfsRq {
        &self.cfs_rq[c.0 as usize]
    }

    pub fn cfs_mut(&mut self, c: CfsRqId) -> &mut CfsRq {
        &mut self.cfs_rq[c.0 as usize]
    }

    pub fn se(&self, s: SeId) -> &SchedEntity {
        &self.se[s.0 as usize]
    }

    pub fn se_mut(&mut self, s: SeId) -> &mut SchedEntity {
        &mut self.se[s.0 as usize]
    }

    /// The running entity of `c` if it still counts as queued (`curr && curr->on_rq`).
    fn curr_on_rq(&self, c: CfsRqId) -> Option<SeId> {
        self.cfs(c).curr.filter(|&s| self.se(s).on_rq)
    }

    /// `__enqueue_entity`: into the tree and the V sums.
    pub fn enqueue_tree(&mut self, c: CfsRqId, s: SeId) {
        debug_assert_eq!(
            self.se(s).cfs_rq,
            c,
            "se[{}] queued on a foreign cfs_rq",
            s.0
        );
        let (k, w) = (key(self.cfs(c), self.se(s)), weight_down(self.se(s)));
        let cfs = &mut self.cfs_rq[c.0 as usize];
        cfs.avg_vruntime = cfs.avg_vruntime.wrapping_add(k.wrapping_mul(w));
        cfs.avg_load += w;
        let e = &mut self.se[s.0 as usize];
        e.min_vruntime = e.vruntime;
        e.min_slice = e.slice;
        e.max_slice = e.slice;
        cfs.timeline.insert(&mut self.se, s);
    }

    /// `__dequeue_entity`.
    pub fn dequeue_tree(&mut self, c: CfsRqId, s: SeId) {
        let cfs = &mut self.cfs_rq[c.0 as usize];
        cfs.timeline.remove(&mut self.se, s);
        let (k, w) = (
            key(cfs, &self.se[s.0 as usize]),
            weight_down(&self.se[s.0 as usize]),
        );
        cfs.avg_vruntime = cfs.avg_vruntime.wrapping_sub(k.wrapping_mul(w));
        cfs.avg_load -= w;
    }

    /// `avg_vruntime`: V, rounded towards −∞, and (6.18 stable) moves `zero_vruntime` to it.
    pub fn avg_vruntime(&mut self, c: CfsRqId) -> u64 {
        let curr = self.curr_on_rq(c);
        let cw = curr.map(|s| (key(self.cfs(c), self.se(s)), weight_down(self.se(s))));
        let cfs = &mut self.cfs_rq[c.0 as usize];
        let mut weight = cfs.avg_load;
        let mut delta: i64 = 0;
        if weight != 0 {
            let mut runtime = cfs.avg_vruntime;
            if let Some((k, w)) = cw {
                runtime = runtime.wrapping_add(k.wrapping_mul(w));
                weight += w;
            }
            // sign flips effective floor / ceiling
            if runtime < 0 {
                runtime -= weight - 1;
            }
            delta = runtime / weight;
        } else if let Some((k, _)) = cw {
            delta = k;
        }
        // update_zero_vruntime: v0' = v0 + d  =>  avg_vruntime' = avg_vruntime − d·avg_load
        cfs.avg_vruntime = cfs
            .avg_vruntime
            .wrapping_sub(cfs.avg_load.wrapping_mul(delta));
        cfs.zero_vruntime = cfs.zero_vruntime.wrapping_add(delta as u64);
        cfs.zero_vruntime
    }

    /// `vruntime_eligible`: exact, without the division (`avg >= (v − v0)·load`).
    pub fn vruntime_eligible(&self, c: CfsRqId, vruntime: u64) -> bool {
        let cfs = self.cfs(c);
        let mut avg = cfs.avg_vruntime;
        let mut load = cfs.avg_load;
        if let Some(s) = self.curr_on_rq(c) {
            let e = self.se(s);
            let w = weight_down(e);
            avg = avg.wrapping_add(key(cfs, e).wrapping_mul(w));
            load += w;
        }
        avg >= (vruntime.wrapping_sub(cfs.zero_vruntime) as i64).wrapping_mul(load)
    }

    pub fn entity_eligible(&self, c: CfsRqId, s: SeId) -> bool {
        self.vruntime_eligible(c, self.se(s).vruntime)
    }

    /// `update_entity_lag` (6.18.17+, "Fix lag clamp"): vlag = clamp(V − v,
    /// ±cdf(cfs_rq_max_slice + TICK_NSEC)), EEVDF's bound −r_max < lag < max(r_max, q).
    pub fn update_entity_lag(&mut self, c: CfsRqId, s: SeId, tick_nsec: u64) {
        let v = self.avg_vruntime(c);
        let max_slice = self.cfs_rq_max_slice(c);
        let e = &mut self.se[s.0 as usize];
        let vlag = v.wrapping_sub(e.vruntime) as i64;
        let limit = calc_delta_fair(max_slice + tick_nsec, &e.load) as i64;
        e.vlag = vlag.clamp(-limit, limit);
    }

    /// `cfs_rq_max_slice`: the largest slice among curr (if queued) and the tree.
    pub fn cfs_rq_max_slice(&self, c: CfsRqId) -> u64 {
        let mut max = self.curr_on_rq(c).map_or(0, |s| self.se(s).slice);
        if let Some(r) = self.cfs(c).timeline.root() {
            max = max.max(self.se(r).max_slice);
        }
        max
    }

    /// `cfs_rq_min_slice`: the smallest slice among curr (if queued) and the tree.
    pub fn cfs_rq_min_slice(&self, c: CfsRqId) -> u64 {
        let mut min = u64::MAX;
        if let Some(s) = self.curr_on_rq(c) {
            min = self.se(s).slice;
        }
        if let Some(r) = self.cfs(c).timeline.root() {
            min = min.min(self.se(r).min_slice);
        }
        min
    }

    /// `place_entity`: vruntime from V and the (inflated) lag; deadline one virtual slice on.
    pub fn place_entity(
        &mut self,
        c: CfsRqId,
        s: SeId,
        flags: u32,
        feat: &Features,
        base_slice: u64,
    ) {
        let vruntime = self.avg_vruntime(c);
        let curr_w = self.curr_on_rq(c).map(|cs| weight_down(self.se(cs)));
        let (avg_load, nr_queued) = (self.cfs(c).avg_load, self.cfs(c).nr_queued);
        let e = &mut self.se[s.0 as usize];
        if !e.custom_slice {
            e.slice = base_slice;
        }
        let mut vslice = calc_delta_fair(e.slice, &e.load);
        let mut lag: i64 = 0;
        if feat.place_lag && nr_queued > 0 {
            lag = e.vlag;
            // Inflate so the lag after placement comes out as the lag saved at dequeue.
            let mut load = avg_load + curr_w.unwrap_or(0);
            lag = lag.wrapping_mul(load + weight_down(e));
            if load == 0 {
                load = 1;
            }
            lag /= load;
        }
        e.vruntime = vruntime.wrapping_sub(lag as u64);
        if feat.place_rel_deadline && e.rel_deadline {
            e.deadline = e.deadline.wrapping_add(e.vruntime);
            e.rel_deadline = false;
            return;
        }
        if feat.place_deadline_initial && flags & PLACE_INITIAL != 0 {
            vslice /= 2;
        }
        e.deadline = e.vruntime.wrapping_add(vslice);
    }

    /// `update_deadline`: once vruntime reaches the deadline, a new request from the
    /// *current* vruntime. Returns whether the slice was used up (reschedule).
    pub fn update_deadline(&mut self, c: CfsRqId, s: SeId, base_slice: u64) -> bool {
        let e = &mut self.se[s.0 as usize];
        if vtime_before(e.vruntime, e.deadline) {
            return false;
        }
        if !e.custom_slice {
            e.slice = base_slice;
        }
        e.deadline = e.vruntime.wrapping_add(calc_delta_fair(e.slice, &e.load));
        self.avg_vruntime(c);
        true
    }

    /// `set_protect_slice` (6.17+): protect curr until it ran the smallest slice around.
    pub fn set_protect_slice(&mut self, c: CfsRqId, s: SeId, feat: &Features) {
        let mut slice = super::NORMALIZED_BASE_SLICE;
        if feat.run_to_parity {
            slice = self.cfs_rq_min_slice(c);
        }
        let e = &mut self.se[s.0 as usize];
        slice = slice.min(e.slice);
        let mut vprot = e.deadline;
        if slice != e.slice {
            let v = e.vruntime.wrapping_add(calc_delta_fair(slice, &e.load));
            if vtime_before(v, vprot) {
                vprot = v;
            }
        }
        e.set_vprot(vprot);
    }

    /// `update_protect_slice`: shrink protection to the smallest slice now queued.
    pub fn update_protect_slice(&mut self, c: CfsRqId, s: SeId) {
        let slice = self.cfs_rq_min_slice(c);
        let e = &mut self.se[s.0 as usize];
        let v = e.vruntime.wrapping_add(calc_delta_fair(slice, &e.load));
        if vtime_before(v, e.vprot()) {
            e.set_vprot(v);
        }
    }

    pub fn protect_slice(&self, s: SeId) -> bool {
        let e = self.se(s);
        vtime_before(e.vruntime, e.vprot())
    }

    pub fn cancel_protect_slice(&mut self, s: SeId) {
        if self.protect_slice(s) {
            let e = &mut self.se[s.0 as usize];
            let v = e.vruntime;
            e.set_vprot(v);
        }
    }

    /// `pick_eevdf(cfs_rq, protect)`: the eligible entity with the earliest virtual deadline,
    /// keeping a protected curr. From 6.18.33 the eligible next buddy comes first (PICK_BUDDY
    /// moved here from `pick_next_entity`), so the wakeup-preemption test sees it too.
    pub fn pick_eevdf(&self, c: CfsRqId, protect: bool, pick_buddy: bool) -> Option<SeId> {
        let cfs = self.cfs(c);
        let first = cfs.timeline.first(&self.se);
        let mut curr = cfs.curr;
        if cfs.nr_queued == 1 {
            return match curr {
                Some(cs) if self.se(cs).on_rq => Some(cs),
                _ => first,
            };
        }
        if let Some(n) = cfs
            .next
            .filter(|&n| pick_buddy && self.entity_eligible(c, n))
        {
            return Some(n);
        }
        if let Some(cs) = curr {
            if !self.se(cs).on_rq || !self.entity_eligible(c, cs) {
                curr = None;
            }
        }
        if let Some(cs) = curr {
            if protect && self.protect_slice(cs) {
                return Some(cs);
            }
        }
        let mut best = None;
        if let Some(f) = first.filter(|&f| self.entity_eligible(c, f)) {
            best = Some(f);
        } else {
            // Heap search: eligible entities in a left subtree have earlier deadlines.
            let mut node = cfs.timeline.root();
            while let Some(n) = node {
                if let Some(l) = Timeline::left(&self.se, n) {
                    if self.vruntime_eligible(c, self.se(l).min_vruntime) {
                        node = Some(l);
                        continue;
                    }
                }
                if self.entity_eligible(c, n) {
                    best = Some(n);
                    break;
                }
                node = Timeline::right(&self.se, n);
            }
        }
        match (best, curr) {
            (None, cur) => cur,
            (Some(b), Some(cs)) if vtime_before(self.se(cs).deadline, self.se(b).deadline) => {
                Some(cs)
            }
            (b, _) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prio::LoadWeight;

    fn rq_with(ents: &[(i32, i64, i64)]) -> (FairState, CfsRqId, Vec<SeId>) {
        // (nice, vruntime relative to zero_vruntime, deadline relative to zero_vruntime)
        let mut f = FairState::default();
        f.cfs_rq
            .push(CfsRq::new(0, crate::class::fair::group::ROOT_TG));
        let c = CfsRqId(0);
        let z = f.cfs(c).zero_vruntime;
        let mut ids = Vec::new();
        for &(nice, v, d) in ents {
            let id = SeId(f.se.len() as u32);
            let mut e = SchedEntity::new(c, None, LoadWeight::for_task(nice, false));
            e.vruntime = z.wrapping_add(v as u64);
            e.deadline = z.wrapping_add(d as u64);
            e.slice = 1_400_000;
            e.on_rq = true;
            f.se.push(e);
            f.enqueue_tree(c, id);
            f.cfs_mut(c).nr_queued += 1;
            ids.push(id);
        }
        (f, c, ids)
    }

    #[test]
    fn avg_vruntime_is_the_floored_weighted_mean() {
        let (mut f, c, _) = rq_with(&[(0, 0, 10), (5, 3000, 20)]);
        let z = f.cfs(c).zero_vruntime;
        // (0·1024 + 3000·335) / 1359 = 739.5 → 739
        assert_eq!(f.avg_vruntime(c).wrapping_sub(z), 739);
        // Negative sums round towards −∞: (−3000·335)/1359 = −739.5 → −740
        let (mut g, c2, _) = rq_with(&[(0, 0, 10), (5, -3000, 20)]);
        let z2 = g.cfs(c2).zero_vruntime;
        assert_eq!(g.avg_vruntime(c2).wrapping_sub(z2) as i64, -740);
    }

    #[test]
    fn placement_inflates_lag_and_halves_the_initial_deadline() {
        let (mut f, c, _) = rq_with(&[(0, 0, 10), (5, 3000, 20)]);
        let id = SeId(f.se.len() as u32);
        let mut e = SchedEntity::new(c, None, LoadWeight::for_task(0, false));
        e.vlag = -2000;
        f.se.push(e);
        let feat = Features::default();
        f.place_entity(c, id, 0, &feat, 1_400_000);
        let v0 = f.avg_vruntime(c);
        // lag = trunc(−2000·(1359+1024)/1359) = trunc(−3506.99) = −3506
        assert_eq!(f.se(id).vruntime, v0.wrapping_add(3506));
        assert_eq!(f.se(id).deadline, f.se(id).vruntime.wrapping_add(1_400_000));
        // A new task: vlag 0, v = V, deadline = V + vslice/2.
        let id2 = SeId(f.se.len() as u32);
        f.se.push(SchedEntity::new(c, None, LoadWeight::for_task(0, false)));
        f.place_entity(c, id2, PLACE_INITIAL, &feat, 1_400_000);
        assert_eq!(f.se(id2).vruntime, v0);
        assert_eq!(f.se(id2).deadline, v0.wrapping_add(700_000));
    }

    #[test]
    fn renewal_starts_from_the_current_vruntime() {
        let (mut f, c, ids) = rq_with(&[(5, 100, 50)]);
        let before = f.se(ids[0]).vruntime;
        assert!(f.update_deadline(c, ids[0], 1_400_000));
        // cdf(1.4 ms) at nice 5 = 4279403 (kernel's inverse-weight arithmetic).
        assert_eq!(f.se(ids[0]).deadline, before.wrapping_add(4_279_403));
        assert!(!f.update_deadline(c, ids[0], 1_400_000));
    }

    #[test]
    fn an_eligible_entity_is_never_passed_over_for_an_ineligible_one() {
        // B has the earliest deadline but is ahead of V (ineligible); A is behind V.
        let (f, c, ids) = rq_with(&[(0, -1000, 9000), (0, 1000, 5000), (0, 0, 7000)]);
        assert!(!f.entity_eligible(c, ids[1]));
        // C (v = V exactly, deadline 7000) is eligible and earlier than A.
        assert_eq!(f.pick_eevdf(c, true, true), Some(ids[2]));
    }

    #[test]
    fn the_lag_clamp_follows_the_largest_queued_slice() {
        // 6.18.17+: limit = cdf(cfs_rq_max_slice + TICK_NSEC), not cdf(max(2·slice, TICK)).
        let tick = 4_000_000;
        let (mut f, c, ids) = rq_with(&[(0, -20_000_000, 1), (0, 0, 2), (0, 0, 3)]);
        f.se_mut(ids[0]).slice = 100_000;
        f.dequeue_tree(c, ids[1]);
        f.se_mut(ids[1]).slice = 10_000_000;
        f.enqueue_tree(c, ids[1]);
        assert_eq!(f.cfs_rq_max_slice(c), 10_000_000);
        // ids[0] is 13.3 ms behind V: clamped to 10 ms + 4 ms, not to 4 ms.
        f.update_entity_lag(c, ids[0], tick);
        assert_eq!(f.se(ids[0]).vlag, 13_333_333);
        // Without the long slice, the bound is 1.4 ms + 4 ms.
        f.dequeue_tree(c, ids[1]);
        f.update_entity_lag(c, ids[0], tick);
        assert_eq!(f.se(ids[0]).vlag, 5_400_000);
    }
}
