//! Fair-class invariants (kernel/sched/fair.c), per cfs_rq: the EEVDF sums against their
//! definition, the timeline's order and augmentation, the counters, the zero-sum of lag,
//! buddies, curr, and what stays true of a delayed-dequeue entity.
//!
//! Not checked separately: fair.c's `\Sum lag_i = 0`. With `V` computed from the same
//! sums (`avg_vruntime()`, floored), `Σ w_i (V − v_i) = W·V − Σ w_i v_i` lies in `(−W, 0]`
//! by definition, so once AVG_VRUNTIME and AVG_LOAD hold the zero-sum cannot fail; a
//! check of it could never fire (it was removed for that reason).
//!
//! Not checked, because the kernel does not guarantee it: `vruntime <= deadline` for a
//! queued entity. A relative deadline (`rel_deadline`, saved by a DEQUEUE_SAVE) is scaled
//! by old/new weight in `reweight_entity`, but not when the weight changes while the task
//! is in another class (`set_load_weight` stores it directly), so a loop of "nice +1,
//! SCHED_FIFO, back to nice 0" grows the virtual deadline by 1024/820 per round until
//! `se->deadline * se->load.weight` overflows and the deadline lands before vruntime
//! (the next `update_deadline` repairs it). The simulator reproduces that faithfully.

use super::{violation, Violation};
use crate::class::fair::entity::{CfsRqId, SeId};
use crate::class::fair::tree::{vtime_before, Timeline};
use crate::class::ClassId;
use crate::prio::scale_load_down;
use crate::sched::Sched;
use crate::task::{tstate, OnRq};

/// The rule names, for callers that match on them.
pub mod rule {
    /// fair.c, above `avg_vruntime_add`: `\Sum (v_i - v0) * w_i` over the tree.
    pub const AVG_VRUNTIME: &str =
        "avg_vruntime == Σ (v_i - zero_vruntime) * w_i (avg_vruntime_add/sub)";
    /// fair.c: `avg_load == \Sum w_i` over the tree.
    pub const AVG_LOAD: &str = "avg_load == Σ w_i (avg_vruntime_add/sub)";
    /// `__entity_less` / `entity_before`: the rb-tree key is the virtual deadline.
    pub const ORDER: &str = "tasks_timeline in deadline order (entity_before)";
    /// `min_vruntime_update` (the augment callback), `se->min_vruntime`.
    pub const MIN_VRUNTIME: &str = "min_vruntime_update: se->min_vruntime is the subtree minimum";
    /// `min_vruntime_update`, `se->min_slice`.
    pub const MIN_SLICE: &str = "min_vruntime_update: se->min_slice is the subtree minimum";
    pub const TREE_LEN: &str = "timeline length matches its nodes";
    /// `account_entity_enqueue`: `cfs_rq->nr_queued++` for the tree and curr alike.
    pub const NR_QUEUED: &str = "cfs_rq->nr_queued == tree + curr (account_entity_enqueue)";
    /// `account_entity_enqueue`: `update_load_add(&cfs_rq->load, se->load.weight)`.
    pub const LOAD: &str = "cfs_rq->load.weight == Σ se->load.weight (account_entity_enqueue)";
    pub const H_NR_QUEUED: &str = "h_nr_queued counts the task entities queued in the hierarchy";
    pub const H_NR_RUNNABLE: &str =
        "h_nr_runnable == h_nr_queued - delayed (set_delayed/clear_delayed)";
    pub const H_NR_IDLE: &str =
        "h_nr_idle counts the queued SCHED_IDLE tasks and the tasks under idle groups";
    /// A group entity is queued while its own queue has entities, or as delayed.
    pub const GROUP_QUEUED: &str =
        "a group entity is queued iff its cfs_rq has entities, or it is delayed (dequeue_entities)";
    /// 6.18 `throttle_cfs_rq_work`: a throttled task waits on its queue's limbo list.
    pub const LIMBO: &str =
        "a throttled task is on its cfs_rq's limbo list once, under a throttled queue (throttle_cfs_rq_work)";
    /// `set_next_buddy`: `WARN_ON_ONCE(!se->on_rq)`; a buddy is cleared when it leaves.
    pub const NEXT_BUDDY: &str = "set_next_buddy: WARN_ON_ONCE(!se->on_rq)";
    /// `set_next_entity`: curr is the running task's entity, on this cfs_rq, queued.
    pub const CURR: &str = "cfs_rq->curr is the running task's queued entity (set_next_entity)";
    pub const MEMBER: &str = "a tree entity is queued on this cfs_rq by a queued task of its CPU";
    pub const ONCE: &str = "a queued entity is on exactly one cfs_rq, once";
    /// `requeue_delayed_entity`: `WARN_ON_ONCE(!se->on_rq)`.
    pub const DELAYED_ON_RQ: &str =
        "sched_delayed entity stays queued (requeue_delayed_entity: WARN_ON_ONCE(!se->on_rq))";
    /// Delay is only decided for a task going to sleep, and ends at wakeup or when picked:
    /// after its switch-out the entity is not curr and its task sleeps off-CPU. (Its
    /// ineligibility holds only at the instant of the delay, so it is not checked.)
    pub const DELAYED_SLEEPING: &str =
        "sched_delayed entity sleeps off-CPU and is not curr (dequeue_entity/set_delayed)";
}

fn key(s: &Sched, c: CfsRqId, se: SeId) -> i64 {
    s.fair
        .se(se)
        .vruntime
        .wrapping_sub(s.fair.cfs(c).zero_vruntime) as i64
}

fn wdown(s: &Sched, se: SeId) -> i64 {
    scale_load_down(s.fair.se(se).load.weight) as i64
}

pub fn verify(s: &Sched) -> Result<(), Violation> {
    let mut seen = vec![0u32; s.fair.se.len()];
    // Deepest queues first: a queue's own corruption is named there, before a parent's
    // hierarchical count (which walks into it) notices it.
    let mut order: Vec<(std::cmp::Reverse<u32>, u32)> = (0..s.fair.cfs_rq.len())
        .map(|i| {
            let mut depth = 0;
            let mut g = s.fair.tg(s.fair.cfs_rq[i].tg).parent;
            while let Some(p) = g {
                depth += 1;
                g = s.fair.tg(p).parent;
            }
            (std::cmp::Reverse(depth), i as u32)
        })
        .collect();
    order.sort_unstable();
    for (_, i) in order {
        cfs_rq(s, CfsRqId(i), &mut seen)?;
    }
    entities(s, &seen)?;
    limbo(s)
}

/// The hierarchical counts of a queue recomputed from its entities: (queued, runnable,
/// idle) tasks, through the group entities' own queues.
fn h_counts(s: &Sched, c: CfsRqId) -> (u32, u32, u32) {
    let cfs = s.fair.cfs(c);
    let members = cfs.timeline.in_order(&s.fair.se);
    let curr = cfs.curr.filter(|&x| s.fair.se(x).on_rq);
    let (mut q, mut r, mut i) = (0, 0, 0);
    for n in members.into_iter().chain(curr) {
        let e = s.fair.se(n);
        match (e.task, e.my_q) {
            (Some(p), _) => {
                q += 1;
                r += !e.sched_delayed as u32;
                i += (s.task(p).policy == schedsim_workload::Policy::Idle) as u32;
            }
            (None, Some(g)) => {
                let (gq, gr, gi) = h_counts(s, g);
                q += gq;
                r += gr;
                i += if s.fair.cfs_rq_is_idle(g) { gq } else { gi };
            }
            (None, None) => {}
        }
    }
    (q, r, i)
}

/// The entity the running fair task has queued on `c` (itself or an ancestor), if any.
fn expected_curr(s: &Sched, c: CfsRqId) -> Option<SeId> {
    let rq = s.rq(s.fair.cfs(c).cpu);
    let t = s.task(rq.curr);
    if rq.curr == rq.idle || t.class != ClassId::Fair || t.throttled {
        return None;
    }
    s.fair
        .ancestors(t.se)
        .into_iter()
        .find(|&e| s.fair.cfs_rq_of(e) == c)
}

/// Recomputes a subtree's minima, checking each node's augmented fields on the way up.
fn augmented(s: &Sched, c: CfsRqId, n: SeId) -> Result<(u64, u64), Violation> {
    let e = s.fair.se(n);
    let (mut minv, mut mins) = (e.vruntime, e.slice);
    for child in [
        Timeline::left(&s.fair.se, n),
        Timeline::right(&s.fair.se, n),
    ]
    .into_iter()
    .flatten()
    {
        let (v, sl) = augmented(s, c, child)?;
        if vtime_before(v, minv) {
            minv = v;
        }
        mins = mins.min(sl);
    }
    let cpu = Some(s.fair.cfs(c).cpu);
    if e.min_vruntime != minv {
        return Err(violation(
            s,
            rule::MIN_VRUNTIME,
            cpu,
            e.task,
            format!(
                "se[{}] min_vruntime-v0={} but its subtree's minimum is {}",
                n.0,
                e.min_vruntime.wrapping_sub(s.fair.cfs(c).zero_vruntime) as i64,
                minv.wrapping_sub(s.fair.cfs(c).zero_vruntime) as i64
            ),
        ));
    }
    if e.min_slice != mins {
        return Err(violation(
            s,
            rule::MIN_SLICE,
            cpu,
            e.task,
            format!(
                "se[{}] min_slice={} but its subtree's minimum is {mins}",
                n.0, e.min_slice
            ),
        ));
    }
    Ok((minv, mins))
}

fn cfs_rq(s: &Sched, c: CfsRqId, seen: &mut [u32]) -> Result<(), Violation> {
    let cfs = s.fair.cfs(c);
    let cpu = cfs.cpu;
    let at = Some(cpu);
    let err = |r: &'static str, se: Option<SeId>, what: String| {
        Err(violation(
            s,
            r,
            at,
            se.and_then(|x| s.fair.se(x).task),
            what,
        ))
    };
    let tree = cfs.timeline.in_order(&s.fair.se);
    if tree.len() != cfs.timeline.len() as usize {
        return err(
            rule::TREE_LEN,
            None,
            format!("len={} but {} nodes", cfs.timeline.len(), tree.len()),
        );
    }
    // Order.
    for w in tree.windows(2) {
        let (a, b) = (s.fair.se(w[0]), s.fair.se(w[1]));
        if vtime_before(b.deadline, a.deadline) {
            return err(
                rule::ORDER,
                Some(w[1]),
                format!(
                    "se[{}] (deadline-v0 {}) follows se[{}] (deadline-v0 {})",
                    w[1].0,
                    b.deadline.wrapping_sub(cfs.zero_vruntime) as i64,
                    w[0].0,
                    a.deadline.wrapping_sub(cfs.zero_vruntime) as i64
                ),
            );
        }
    }
    if let Some(r) = cfs.timeline.root() {
        augmented(s, c, r)?;
    }
    // curr.
    let curr_q = match cfs.curr {
        Some(cs) => {
            let e = s.fair.se(cs);
            let rq = s.rq(cpu);
            let ok = e.on_rq
                && e.cfs_rq == c
                && e.task.is_none_or(|p| rq.curr == p)
                && (e.task.is_some() || expected_curr(s, c) == Some(cs))
                && !tree.contains(&cs);
            if !ok {
                return err(
                    rule::CURR,
                    Some(cs),
                    format!(
                        "cfs_rq->curr se[{}]: on_rq={} cfs_rq={} in tree={} rq->curr={}",
                        cs.0,
                        e.on_rq,
                        e.cfs_rq.0,
                        tree.contains(&cs),
                        super::task_name(s, rq.curr)
                    ),
                );
            }
            seen[cs.0 as usize] += 1;
            Some(cs)
        }
        None => None,
    };
    if let Some(se) = expected_curr(s, c) {
        if cfs.curr != Some(se) {
            return err(
                rule::CURR,
                Some(se),
                format!(
                    "rq->curr is fair but cfs_rq->curr is {:?}, not se[{}] of its branch",
                    cfs.curr.map(|x| x.0),
                    se.0
                ),
            );
        }
    }
    // Members, sums and counters.
    let (mut sum_kw, mut sum_w, mut load) = (0i128, 0i128, 0u128);

    for &n in tree.iter().chain(curr_q.iter()) {
        let e = s.fair.se(n);
        let in_tree = Some(n) != curr_q;
        if in_tree {
            seen[n.0 as usize] += 1;
            let task_ok = e.task.is_none_or(|p| {
                let t = s.task(p);
                t.on_rq == OnRq::Queued && t.cpu == cpu && t.class == ClassId::Fair && !t.on_cpu
            });
            if !e.on_rq || e.cfs_rq != c || !task_ok {
                let tdesc = e.task.map(|p| {
                    let t = s.task(p);
                    format!(
                        " task on_rq={:?} cpu={} class={:?} on_cpu={}",
                        t.on_rq, t.cpu, t.class, t.on_cpu
                    )
                });
                return err(
                    rule::MEMBER,
                    Some(n),
                    format!(
                        "se[{}] in the tree: on_rq={} cfs_rq={}{}",
                        n.0,
                        e.on_rq,
                        e.cfs_rq.0,
                        tdesc.unwrap_or_default()
                    ),
                );
            }
            sum_kw += key(s, c, n) as i128 * wdown(s, n) as i128;
            sum_w += wdown(s, n) as i128;
        }
        load += e.load.weight as u128;
        if let Some(g) = e.my_q {
            if s.fair.cfs(g).nr_queued == 0 && !e.sched_delayed {
                return err(
                    rule::GROUP_QUEUED,
                    Some(n),
                    format!("group se[{}] queued but its cfs_rq {} is empty", n.0, g.0),
                );
            }
        }
        if e.sched_delayed {
            let t = e.task.map(|p| s.task(p));
            let ok = !e.on_rq
                || (in_tree
                    && t.is_none_or(|t| {
                        !t.on_cpu && t.state != tstate::RUNNING && t.state != tstate::WAKING
                    }));
            if !ok {
                return err(
                    rule::DELAYED_SLEEPING,
                    Some(n),
                    format!(
                        "delayed se[{}]: curr={} task={:?}",
                        n.0,
                        !in_tree,
                        t.map(|t| (t.state, t.on_cpu))
                    ),
                );
            }
        }
    }
    if cfs.avg_vruntime as i128 != sum_kw {
        return err(
            rule::AVG_VRUNTIME,
            None,
            format!(
                "avg_vruntime={} but the tree sums to {sum_kw}",
                cfs.avg_vruntime
            ),
        );
    }
    if cfs.avg_load as i128 != sum_w {
        return err(
            rule::AVG_LOAD,
            None,
            format!("avg_load={} but the tree sums to {sum_w}", cfs.avg_load),
        );
    }
    let nr = tree.len() as u32 + curr_q.is_some() as u32;
    if cfs.nr_queued != nr {
        return err(
            rule::NR_QUEUED,
            None,
            format!(
                "nr_queued={} but tree={} curr queued={}",
                cfs.nr_queued,
                tree.len(),
                curr_q.is_some()
            ),
        );
    }
    if cfs.load_weight as u128 != load {
        return err(
            rule::LOAD,
            None,
            format!(
                "load.weight={} but the entities sum to {load}",
                cfs.load_weight
            ),
        );
    }
    if let Some(gse) = s.fair.tg(cfs.tg).se[cpu as usize] {
        if cfs.nr_queued > 0 && !s.fair.se(gse).on_rq {
            return err(
                rule::GROUP_QUEUED,
                Some(gse),
                format!(
                    "cfs_rq has {} entities but its group se[{}] is not queued",
                    cfs.nr_queued, gse.0
                ),
            );
        }
    }
    let (tasks, runnable, idle) = h_counts(s, c);
    if cfs.h_nr_queued != tasks {
        return err(
            rule::H_NR_QUEUED,
            None,
            format!(
                "h_nr_queued={} but {tasks} task entities below",
                cfs.h_nr_queued
            ),
        );
    }
    if cfs.h_nr_runnable != runnable {
        return err(
            rule::H_NR_RUNNABLE,
            None,
            format!(
                "h_nr_runnable={} h_nr_queued={} but {runnable} runnable below",
                cfs.h_nr_runnable, cfs.h_nr_queued
            ),
        );
    }
    if cfs.h_nr_idle != idle {
        return err(
            rule::H_NR_IDLE,
            None,
            format!("h_nr_idle={} but {idle} idle tasks below", cfs.h_nr_idle),
        );
    }
    if let Some(nx) = cfs.next {
        let e = s.fair.se(nx);
        if !e.on_rq || e.cfs_rq != c {
            return err(
                rule::NEXT_BUDDY,
                Some(nx),
                format!(
                    "next buddy se[{}]: on_rq={} cfs_rq={}",
                    nx.0, e.on_rq, e.cfs_rq.0
                ),
            );
        }
    }
    Ok(())
}

/// Every entity: queued exactly when it is in one cfs_rq once (tree or curr), on its
/// task's CPU; a delayed one is queued.
fn entities(s: &Sched, seen: &[u32]) -> Result<(), Violation> {
    for (i, e) in s.fair.se.iter().enumerate() {
        let cpu = Some(s.fair.cfs(e.cfs_rq).cpu);
        if e.sched_delayed && !e.on_rq {
            return Err(violation(
                s,
                rule::DELAYED_ON_RQ,
                cpu,
                e.task,
                format!("se[{i}] sched_delayed but not on_rq"),
            ));
        }
        let want = e.on_rq as u32;
        if seen[i] != want {
            return Err(violation(
                s,
                rule::ONCE,
                cpu,
                e.task,
                format!(
                    "se[{i}] on_rq={} found {} times in cfs_rqs",
                    e.on_rq, seen[i]
                ),
            ));
        }
        if let Some(p) = e.task {
            let t = s.task(p);
            let want = s.fair.tg(t.sched_task_group).cfs_rq[t.cpu as usize];
            if e.on_rq && want != e.cfs_rq {
                return Err(violation(
                    s,
                    rule::ONCE,
                    Some(t.cpu),
                    Some(p),
                    format!(
                        "se[{i}] queued on cfs_rq {} of CPU {} but task_cpu is {} and its \
                         group's queue there is {}",
                        e.cfs_rq.0,
                        s.fair.cfs(e.cfs_rq).cpu,
                        t.cpu,
                        want.0
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Throttled tasks and the limbo lists agree.
fn limbo(s: &Sched) -> Result<(), Violation> {
    let mut found = vec![0u32; s.tasks.len()];
    for (i, cfs) in s.fair.cfs_rq.iter().enumerate() {
        for &p in &cfs.bw.limbo {
            found[p.0 as usize] += 1;
            let t = s.task(p);
            let ok = t.throttled
                && t.on_rq == OnRq::Queued
                && s.fair.cfs_rq_of(t.se).0 as usize == i
                && cfs.bw.throttle_count > 0;
            if !ok {
                return Err(violation(
                    s,
                    rule::LIMBO,
                    Some(cfs.cpu),
                    Some(p),
                    format!(
                        "in cfs_rq {i}'s limbo: throttled={} on_rq={:?} its cfs_rq={} throttle_count={}",
                        t.throttled,
                        t.on_rq,
                        s.fair.cfs_rq_of(t.se).0,
                        cfs.bw.throttle_count
                    ),
                ));
            }
        }
    }
    for t in &s.tasks {
        // A task PI-boosted out of fair keeps the mark off the lists until it returns
        // (`dequeue_throttled_task`, then `enqueue_throttled_task`).
        let want = (t.class == ClassId::Fair) as u32;
        if t.throttled && found[t.id.0 as usize] != want {
            return Err(violation(
                s,
                rule::LIMBO,
                Some(t.cpu),
                Some(t.id),
                format!("throttled task on {} limbo lists", found[t.id.0 as usize]),
            ));
        }
    }
    Ok(())
}
