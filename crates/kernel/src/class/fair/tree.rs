//! The EEVDF timeline: entities ordered by virtual deadline, augmented with each subtree's
//! minimum vruntime and slice so `pick_eevdf` can prune ineligible subtrees in O(log n)
//! (the kernel's `tasks_timeline` rb-tree with `min_vruntime_cb`), and its maximum slice for
//! the lag clamp (`cfs_rq_max_slice`, 6.18.17+).
//!
//! The augmented slices here are always exact. 6.18.44's rb-tree callbacks copy only
//! `min_vruntime` on a rotation and `__enqueue_entity` leaves `max_slice` as it was, so its
//! `min_slice`/`max_slice` can be stale when tasks with different slices share a queue (fixed
//! in 6.18.53). Reproducing that would need the rb-tree's exact shape; with equal slices the
//! stale values equal the exact ones.
//!
//! This is a treap rather than a red-black tree. `pick_eevdf` returns the leftmost eligible
//! entity in deadline order, which does not depend on the tree's shape, and entities with
//! equal deadlines are ordered by insertion (the kernel's `rb_add` puts an equal key to the
//! right), so every pick is the kernel's.

use super::entity::{SchedEntity, SeId};

const NIL: u32 = u32::MAX;

/// Per-entity node links (the `run_node` of `struct sched_entity`).
#[derive(Clone, Copy, Debug)]
pub struct RunNode {
    left: u32,
    right: u32,
    /// Insertion sequence: tie-break for equal deadlines and heap priority source.
    seq: u64,
}

impl Default for RunNode {
    fn default() -> Self {
        RunNode {
            left: NIL,
            right: NIL,
            seq: 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Timeline {
    root: u32,
    len: u32,
    next_seq: u64,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            root: NIL,
            len: 0,
            next_seq: 0,
        }
    }
}

/// Wrapping "a before b" on u64 virtual times, as `(s64)(a - b) < 0`.
pub fn vtime_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

fn opt(n: u32) -> Option<SeId> {
    (n != NIL).then_some(SeId(n))
}

/// Heap priority: a fixed hash of the insertion sequence (deterministic).
fn heap_prio(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `entity_before` with the insertion order as tie-break.
fn less(ses: &[SchedEntity], a: u32, b: u32) -> bool {
    let (ea, eb) = (&ses[a as usize], &ses[b as usize]);
    if ea.deadline != eb.deadline {
        vtime_before(ea.deadline, eb.deadline)
    } else {
        ea.node.seq < eb.node.seq
    }
}

/// `min_vruntime_update`: recompute a node's augmented fields from its children.
fn update(ses: &mut [SchedEntity], n: u32) {
    let (l, r) = (ses[n as usize].node.left, ses[n as usize].node.right);
    let mut minv = ses[n as usize].vruntime;
    let mut mins = ses[n as usize].slice;
    let mut maxs = ses[n as usize].slice;
    for c in [r, l] {
        if c != NIL {
            let ce = &ses[c as usize];
            if vtime_before(ce.min_vruntime, minv) {
                minv = ce.min_vruntime;
            }
            mins = mins.min(ce.min_slice);
            maxs = maxs.max(ce.max_slice);
        }
    }
    ses[n as usize].min_vruntime = minv;
    ses[n as usize].min_slice = mins;
    ses[n as usize].max_slice = maxs;
}

fn merge(ses: &mut [SchedEntity], a: u32, b: u32) -> u32 {
    if a == NIL {
        return b;
    }
    if b == NIL {
        return a;
    }
    if heap_prio(ses[a as usize].node.seq) > heap_prio(ses[b as usize].node.seq) {
        let r = ses[a as usize].node.right;
        ses[a as usize].node.right = merge(ses, r, b);
        update(ses, a);
        a
    } else {
        let l = ses[b as usize].node.left;
        ses[b as usize].node.left = merge(ses, a, l);
        update(ses, b);
        b
    }
}

/// Splits `t` into (nodes before `key`, nodes not before `key`).
fn split(ses: &mut [SchedEntity], t: u32, key: u32) -> (u32, u32) {
    if t == NIL {
        return (NIL, NIL);
    }
    if less(ses, t, key) {
        let r = ses[t as usize].node.right;
        let (a, b) = split(ses, r, key);
        ses[t as usize].node.right = a;
        update(ses, t);
        (t, b)
    } else {
        let l = ses[t as usize].node.left;
        let (a, b) = split(ses, l, key);
        ses[t as usize].node.left = b;
        update(ses, t);
        (a, t)
    }
}

/// Removes the leftmost node of `t`, returning the new subtree root.
fn remove_first(ses: &mut [SchedEntity], t: u32) -> u32 {
    let l = ses[t as usize].node.left;
    if l == NIL {
        return ses[t as usize].node.right;
    }
    ses[t as usize].node.left = remove_first(ses, l);
    update(ses, t);
    t
}

impl Timeline {
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn root(&self) -> Option<SeId> {
        opt(self.root)
    }

    /// `__enqueue_entity`'s tree part: the entity's deadline, vruntime and slice are set.
    pub fn insert(&mut self, ses: &mut [SchedEntity], se: SeId) {
        let n = se.0;
        self.next_seq += 1;
        let node = &mut ses[n as usize].node;
        node.left = NIL;
        node.right = NIL;
        node.seq = self.next_seq;
        update(ses, n);
        let (l, r) = split(ses, self.root, n);
        let l = merge(ses, l, n);
        self.root = merge(ses, l, r);
        self.len += 1;
    }

    /// `__dequeue_entity`'s tree part. The entity's key must not have changed since insert.
    pub fn remove(&mut self, ses: &mut [SchedEntity], se: SeId) {
        let (l, r) = split(ses, self.root, se.0);
        debug_assert_eq!(self.first_of(ses, r), Some(se));
        let r = remove_first(ses, r);
        self.root = merge(ses, l, r);
        self.len -= 1;
    }

    fn first_of(&self, ses: &[SchedEntity], mut t: u32) -> Option<SeId> {
        if t == NIL {
            return None;
        }
        while ses[t as usize].node.left != NIL {
            t = ses[t as usize].node.left;
        }
        Some(SeId(t))
    }

    /// `__pick_first_entity`: earliest deadline.
    pub fn first(&self, ses: &[SchedEntity]) -> Option<SeId> {
        self.first_of(ses, self.root)
    }

    pub fn left(ses: &[SchedEntity], se: SeId) -> Option<SeId> {
        opt(ses[se.0 as usize].node.left)
    }

    pub fn right(ses: &[SchedEntity], se: SeId) -> Option<SeId> {
        opt(ses[se.0 as usize].node.right)
    }

    /// In-order walk (deadline order), for the invariant checker and tests.
    pub fn in_order(&self, ses: &[SchedEntity]) -> Vec<SeId> {
        let mut out = Vec::with_capacity(self.len as usize);
        let mut stack = Vec::new();
        let mut t = self.root;
        while t != NIL || !stack.is_empty() {
            while t != NIL {
                stack.push(t);
                t = ses[t as usize].node.left;
            }
            let n = stack.pop().unwrap();
            out.push(SeId(n));
            t = ses[n as usize].node.right;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::entity::CfsRqId;
    use super::*;
    use crate::prio::LoadWeight;
    use proptest::prelude::*;

    fn ent(deadline: u64, vruntime: u64, slice: u64) -> SchedEntity {
        let mut e = SchedEntity::new(CfsRqId(0), None, LoadWeight::for_task(0, false));
        e.deadline = deadline;
        e.vruntime = vruntime;
        e.slice = slice;
        e
    }

    proptest! {
        #[test]
        fn order_and_augmentation_hold(ops in proptest::collection::vec((0u64..50, 0u64..1000, 1u64..9, any::<bool>()), 1..200)) {
            let mut ses: Vec<SchedEntity> = Vec::new();
            let mut tl = Timeline::default();
            let mut present: Vec<usize> = Vec::new();
            for (d, v, s, del) in ops {
                if del && !present.is_empty() {
                    let i = present.remove((d as usize) % present.len());
                    tl.remove(&mut ses, SeId(i as u32));
                } else {
                    ses.push(ent(d, v, s));
                    let id = ses.len() - 1;
                    tl.insert(&mut ses, SeId(id as u32));
                    present.push(id);
                }
                let order = tl.in_order(&ses);
                prop_assert_eq!(order.len(), present.len());
                for w in order.windows(2) {
                    let (a, b) = (&ses[w[0].0 as usize], &ses[w[1].0 as usize]);
                    prop_assert!(a.deadline < b.deadline || (a.deadline == b.deadline && a.node.seq < b.node.seq));
                }
                if let Some(r) = tl.root() {
                    let minv = present.iter().map(|&i| ses[i].vruntime).min().unwrap();
                    let mins = present.iter().map(|&i| ses[i].slice).min().unwrap();
                    let maxs = present.iter().map(|&i| ses[i].slice).max().unwrap();
                    prop_assert_eq!(ses[r.0 as usize].min_vruntime, minv);
                    prop_assert_eq!(ses[r.0 as usize].min_slice, mins);
                    prop_assert_eq!(ses[r.0 as usize].max_slice, maxs);
                }
            }
        }
    }
}
