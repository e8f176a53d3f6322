//! CFS bandwidth control invariants (fair.c's `cpu.max` code, 6.18 task-based throttling):
//! each group's `throttled_cfs_rq` list against its throttled queues, `throttle_count`
//! against the throttled queues above, `runtime_enabled` against the quota, and the
//! runtime a queue and the group's pool can hold.
//!
//! The pool's bound is derived: `__refill_cfs_bandwidth_runtime` caps the pool at
//! `quota + burst`, `__assign_cfs_rq_runtime` moves runtime from the pool to a queue (at
//! most up to the bandwidth slice) and `__return_cfs_rq_runtime` moves a queue's slack
//! back uncapped; charging only consumes. So the pool plus what the queues hold never
//! exceeds `quota + burst` plus one slice per queue (what they may hold across a refill).

use super::{violation, Violation};
use crate::class::fair::entity::CfsRqId;
use crate::class::fair::group::TgId;
use crate::sched::Sched;

/// The rule names, for callers that match on them.
pub mod rule {
    /// `throttle_cfs_rq` adds the queue to `cfs_b->throttled_cfs_rq`, `unthrottle_cfs_rq`
    /// removes it (`list_add_rcu`/`list_del_rcu` of `throttled_list`).
    pub const THROTTLED_LIST: &str =
        "a cfs_rq is on its group's throttled_cfs_rq list once iff it is throttled (throttle_cfs_rq/unthrottle_cfs_rq)";
    /// `tg_throttle_down` / `tg_unthrottle_up`.
    pub const THROTTLE_COUNT: &str =
        "cfs_rq->throttle_count == throttled queues on its path to the root, itself included (tg_throttle_down/tg_unthrottle_up)";
    /// `tg_set_cfs_bandwidth`: `cfs_rq->runtime_enabled = runtime != RUNTIME_INF`.
    pub const RUNTIME_ENABLED: &str =
        "cfs_rq->runtime_enabled iff its group has a quota, and only such a queue throttles (tg_set_cfs_bandwidth)";
    /// `__assign_cfs_rq_runtime` tops a queue up to the slice at most.
    pub const QUEUE_RUNTIME: &str =
        "cfs_rq->runtime_remaining <= sched_cfs_bandwidth_slice (__assign_cfs_rq_runtime)";
    /// `__refill_cfs_bandwidth_runtime`: `min(runtime + quota, quota + burst)`.
    pub const POOL: &str =
        "cfs_b->runtime + the queues' runtime <= quota + burst + a slice per queue (__refill_cfs_bandwidth_runtime)";
}

/// The queues on `c`'s path to the root of its CPU, itself first.
fn path(s: &Sched, c: CfsRqId) -> Vec<CfsRqId> {
    let cpu = s.fair.cfs(c).cpu as usize;
    let mut v = vec![c];
    let mut g = s.fair.tg(s.fair.cfs(c).tg).parent;
    while let Some(p) = g {
        v.push(s.fair.tg(p).cfs_rq[cpu]);
        g = s.fair.tg(p).parent;
    }
    v
}

pub fn verify(s: &Sched) -> Result<(), Violation> {
    let slice = s.cfg.cfs_bandwidth_slice_ns() as i64;
    let mut listed = vec![0u32; s.fair.cfs_rq.len()];
    for gi in 0..s.fair.tg.len() {
        let g = TgId(gi as u32);
        let tg = s.fair.tg(g);
        for &c in &tg.cfs_b.throttled_cfs_rq {
            listed[c.0 as usize] += 1;
            let cfs = s.fair.cfs(c);
            if cfs.tg != g {
                return Err(violation(
                    s,
                    rule::THROTTLED_LIST,
                    Some(cfs.cpu),
                    None,
                    format!(
                        "cfs_rq {} of group {} on {}'s throttled list",
                        c.0, cfs.tg.0, tg.path
                    ),
                ));
            }
        }
        let b = &tg.cfs_b;
        if let Some(quota) = b.quota {
            let held: i64 = tg
                .cfs_rq
                .iter()
                .map(|&c| s.fair.cfs(c).bw.runtime_remaining.max(0))
                .sum();
            let limit = quota + b.burst + slice as u64 * tg.cfs_rq.len() as u64;
            if b.runtime + held as u64 > limit {
                return Err(violation(
                    s,
                    rule::POOL,
                    None,
                    None,
                    format!(
                        "group {}: pool {} + queues {held} > quota {quota} + burst {} + {} slices of {slice}",
                        tg.path,
                        b.runtime,
                        b.burst,
                        tg.cfs_rq.len()
                    ),
                ));
            }
        }
    }
    for (i, &nlisted) in listed.iter().enumerate() {
        let c = CfsRqId(i as u32);
        let cfs = s.fair.cfs(c);
        let at = Some(cfs.cpu);
        let tg = s.fair.tg(cfs.tg);
        if nlisted != cfs.bw.throttled as u32 {
            return Err(violation(
                s,
                rule::THROTTLED_LIST,
                at,
                None,
                format!(
                    "cfs_rq {i} of {}: throttled={} but listed {} times",
                    tg.path, cfs.bw.throttled, nlisted
                ),
            ));
        }
        if cfs.bw.runtime_enabled != tg.cfs_b.quota.is_some()
            || (cfs.bw.throttled && !cfs.bw.runtime_enabled)
        {
            return Err(violation(
                s,
                rule::RUNTIME_ENABLED,
                at,
                None,
                format!(
                    "cfs_rq {i} of {}: runtime_enabled={} throttled={} quota={:?}",
                    tg.path, cfs.bw.runtime_enabled, cfs.bw.throttled, tg.cfs_b.quota
                ),
            ));
        }
        if cfs.bw.runtime_enabled && cfs.bw.runtime_remaining > slice {
            return Err(violation(
                s,
                rule::QUEUE_RUNTIME,
                at,
                None,
                format!(
                    "cfs_rq {i} of {}: runtime_remaining={} slice={slice}",
                    tg.path, cfs.bw.runtime_remaining
                ),
            ));
        }
        let want = path(s, c)
            .into_iter()
            .filter(|&q| s.fair.cfs(q).bw.throttled)
            .count() as u32;
        if cfs.bw.throttle_count != want {
            return Err(violation(
                s,
                rule::THROTTLE_COUNT,
                at,
                None,
                format!(
                    "cfs_rq {i} of {}: throttle_count={} but {want} throttled queues on its path",
                    tg.path, cfs.bw.throttle_count
                ),
            ));
        }
    }
    Ok(())
}
