//! Machine topology and scheduling domains (kernel/sched/topology.c): the per-CPU
//! hierarchy of `sched_domain`s (SMT, CLS, MC, PKG, NUMA levels) with their groups, flags
//! and balancing parameters, `sd_llc`/`sd_llc_size`/`sd_llc_id`, and the LLC-shared state
//! (`sched_domain_shared`: `has_idle_cores`, `nr_idle_scan`).

pub mod spec;

use std::fmt::Write as _;

use crate::cpumask::CpuMask;
pub use spec::{fmt_cpu_list, CpuTopo, MachineSpec};

/// `SD_*` flags (include/linux/sched/sd_flags.h, in their bit order).
pub mod sdf {
    pub const BALANCE_NEWIDLE: u32 = 1 << 0;
    pub const BALANCE_EXEC: u32 = 1 << 1;
    pub const BALANCE_FORK: u32 = 1 << 2;
    pub const BALANCE_WAKE: u32 = 1 << 3;
    pub const WAKE_AFFINE: u32 = 1 << 4;
    pub const ASYM_CPUCAPACITY: u32 = 1 << 5;
    pub const ASYM_CPUCAPACITY_FULL: u32 = 1 << 6;
    pub const SHARE_CPUCAPACITY: u32 = 1 << 7;
    pub const CLUSTER: u32 = 1 << 8;
    pub const SHARE_LLC: u32 = 1 << 9;
    pub const SERIALIZE: u32 = 1 << 10;
    pub const ASYM_PACKING: u32 = 1 << 11;
    pub const PREFER_SIBLING: u32 = 1 << 12;
    pub const OVERLAP: u32 = 1 << 13;
    pub const NUMA: u32 = 1 << 14;
    /// `SD_DEGENERATE_GROUPS_MASK`: the flags with SDF_NEEDS_GROUPS (all but WAKE_AFFINE).
    pub const NEEDS_GROUPS: u32 = !WAKE_AFFINE & ((1 << 15) - 1);
    pub const NAMES: [&str; 15] = [
        "SD_BALANCE_NEWIDLE",
        "SD_BALANCE_EXEC",
        "SD_BALANCE_FORK",
        "SD_BALANCE_WAKE",
        "SD_WAKE_AFFINE",
        "SD_ASYM_CPUCAPACITY",
        "SD_ASYM_CPUCAPACITY_FULL",
        "SD_SHARE_CPUCAPACITY",
        "SD_CLUSTER",
        "SD_SHARE_LLC",
        "SD_SERIALIZE",
        "SD_ASYM_PACKING",
        "SD_PREFER_SIBLING",
        "SD_OVERLAP",
        "SD_NUMA",
    ];
}

/// `node_reclaim_distance` (RECLAIM_DISTANCE): NUMA levels beyond it lose wake/fork/exec
/// balancing.
pub const RECLAIM_DISTANCE: u32 = 30;

/// `struct sched_group` + its `sched_group_capacity`. The first group of a domain is the
/// local one (the group containing the domain's CPU).
#[derive(Clone, Debug, PartialEq)]
pub struct SchedGroup {
    pub span: CpuMask,
    pub weight: u32,
    /// `sgc->capacity`: the sum of the CPUs' capacities.
    pub capacity: u64,
    /// `sgc->imbalance`: an earlier balance left pinned tasks behind.
    pub imbalance: bool,
    /// `sgc->next_update` (jiffies): when newidle balance refreshes the local group's
    /// capacity next.
    pub next_update: u64,
}

/// `struct sched_domain` of one CPU at one level, with its balancing state.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedDomain {
    pub name: &'static str,
    pub span: CpuMask,
    pub span_weight: u32,
    pub flags: u32,
    pub groups: Vec<SchedGroup>,
    /// ms.
    pub min_interval: u64,
    pub max_interval: u64,
    pub busy_factor: u64,
    pub imbalance_pct: u64,
    pub cache_nice_tries: u32,
    /// For NUMA levels, the node distance the level spans.
    pub numa_distance: Option<u32>,
    /// `balance_interval` (ms).
    pub balance_interval: u64,
    /// `last_balance` (jiffies).
    pub last_balance: u64,
    pub nr_balance_failed: u32,
    /// ns.
    pub max_newidle_lb_cost: u64,
    /// jiffies.
    pub last_decay_max_lb_cost: u64,
    /// NI_RANDOM's newidle statistics (`update_newidle_stats`): passes, weighted successes,
    /// and the success rate out of 1024 that sets the chance of the next pass.
    pub newidle_call: u32,
    pub newidle_success: u32,
    pub newidle_ratio: u32,
    /// This CPU's `/proc/schedstat` counters for the domain.
    pub stat: crate::schedstat::SdStat,
}

impl SchedDomain {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// `struct sched_domain_shared` of one LLC.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LlcShared {
    pub has_idle_cores: bool,
    /// `nr_idle_scan` (SIS_UTIL), set by periodic balancing at the LLC level.
    pub nr_idle_scan: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub cpus: Vec<CpuTopo>,
    pub distance: Vec<Vec<u32>>,
    /// Per CPU, its domains bottom-up after degenerate levels were dropped (`rq->sd` and
    /// its parents).
    pub sd: Vec<Vec<SchedDomain>>,
    /// Per CPU, the index in `sd[cpu]` of `sd_llc` (the highest level sharing the LLC).
    pub sd_llc: Vec<Option<usize>>,
    /// `sd_llc_size` and `sd_llc_id` (first CPU of the LLC domain).
    pub llc_size: Vec<u32>,
    pub llc_id: Vec<u32>,
    /// `sd_share_id`: first CPU of the cluster domain (or the CPU itself).
    pub share_id: Vec<u32>,
    /// `sched_asym_cpucapacity`.
    pub asym_capacity: bool,
    /// `sched_smt_present`.
    pub smt_present: bool,
    /// Per LLC id (its first CPU), the shared state.
    pub llc_shared: Vec<LlcShared>,
}

/// One topology level before degenerate levels are removed (`sched_domain_topology_level`).
struct Level {
    name: &'static str,
    flags: u32,
    numa_distance: Option<u32>,
}

impl Topology {
    /// `build_sched_domains` over all CPUs for the machine described by `spec`.
    pub fn build(spec: &MachineSpec, nr_cpus: u32) -> Topology {
        let (cpus, distance) = spec.layout(nr_cpus);
        Topology::from_table(cpus, distance)
    }

    pub fn from_table(cpus: Vec<CpuTopo>, distance: Vec<Vec<u32>>) -> Topology {
        let n = cpus.len();
        let smt_present = (0..n).any(|c| (0..n).any(|d| d != c && cpus[d].core == cpus[c].core));
        // The topology levels: x86_topology / default_topology, then the NUMA levels
        // (sched_init_numa: one per distinct distance; the first, NODE, is the node itself).
        let mut levels = vec![
            Level {
                name: "SMT",
                flags: sdf::SHARE_CPUCAPACITY | sdf::SHARE_LLC,
                numa_distance: None,
            },
            Level {
                name: "CLS",
                flags: sdf::CLUSTER | sdf::SHARE_LLC,
                numa_distance: None,
            },
            Level {
                name: "MC",
                flags: sdf::SHARE_LLC,
                numa_distance: None,
            },
            Level {
                name: "PKG",
                flags: 0,
                numa_distance: None,
            },
        ];
        let mut dists: Vec<u32> = distance.iter().flatten().copied().collect();
        dists.sort_unstable();
        dists.dedup();
        for (i, &d) in dists.iter().enumerate() {
            levels.push(Level {
                name: if i == 0 { "NODE" } else { "NUMA" },
                flags: if i == 0 { 0 } else { sdf::NUMA },
                numa_distance: (i > 0).then_some(d),
            });
        }
        let mask_of = |lvl: &Level, cpu: usize| -> CpuMask {
            let me = &cpus[cpu];
            let m: Vec<u32> = (0..n)
                .filter(|&o| {
                    let t = &cpus[o];
                    match lvl.name {
                        "SMT" => t.core == me.core,
                        "CLS" => t.cluster == me.cluster && t.llc == me.llc,
                        "MC" => t.llc == me.llc,
                        // cpu_cpu_mask: the node's CPUs.
                        "PKG" | "NODE" => t.node == me.node,
                        _ => {
                            let d = lvl.numa_distance.unwrap_or(0);
                            distance[me.node as usize][t.node as usize] <= d
                        }
                    }
                })
                .map(|o| o as u32)
                .collect();
            CpuMask::from_list(n, &m)
        };
        let all_caps: Vec<u32> = {
            let mut v: Vec<u32> = cpus.iter().map(|c| c.capacity).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        // Spans per level per CPU, each including its child's (build_sched_domain).
        let mut spans: Vec<Vec<CpuMask>> = vec![Vec::new(); n];
        for (cpu, sp) in spans.iter_mut().enumerate() {
            for (li, lvl) in levels.iter().enumerate() {
                let mut m = mask_of(lvl, cpu);
                if li > 0 {
                    for c in sp[li - 1].iter() {
                        m.set(c);
                    }
                }
                sp.push(m);
            }
        }
        let mut sd = Vec::with_capacity(n);
        for cpu in 0..n {
            let mut doms: Vec<SchedDomain> = Vec::new();
            for (li, lvl) in levels.iter().enumerate() {
                let span = spans[cpu][li].clone();
                let w = span.weight();
                // sd_init
                let mut flags = sdf::BALANCE_NEWIDLE
                    | sdf::BALANCE_EXEC
                    | sdf::BALANCE_FORK
                    | sdf::WAKE_AFFINE
                    | sdf::PREFER_SIBLING
                    | lvl.flags;
                // asym_cpu_capacity_classify
                let caps: Vec<u32> = {
                    let mut v: Vec<u32> = span.iter().map(|c| cpus[c as usize].capacity).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                if caps.len() > 1 {
                    flags |= sdf::ASYM_CPUCAPACITY;
                    if caps == all_caps {
                        flags |= sdf::ASYM_CPUCAPACITY_FULL;
                    }
                    if let Some(child) = doms.last_mut() {
                        // Don't attempt to spread across CPUs of different capacities.
                        child.flags &= !sdf::PREFER_SIBLING;
                    }
                }
                let mut imbalance_pct = 117;
                let cache_nice_tries;
                if flags & sdf::SHARE_CPUCAPACITY != 0 {
                    imbalance_pct = 110;
                    cache_nice_tries = 0;
                } else if flags & sdf::SHARE_LLC != 0 {
                    cache_nice_tries = 1;
                } else if flags & sdf::NUMA != 0 {
                    cache_nice_tries = 2;
                    flags &= !sdf::PREFER_SIBLING;
                    flags |= sdf::SERIALIZE | sdf::OVERLAP;
                    if lvl.numa_distance.unwrap_or(0) > RECLAIM_DISTANCE {
                        flags &= !(sdf::BALANCE_EXEC | sdf::BALANCE_FORK | sdf::WAKE_AFFINE);
                    }
                } else {
                    cache_nice_tries = 1;
                }
                // build_sched_groups / build_overlap_sched_groups: the child spans covering
                // this span, starting with the local one and wrapping from the CPU.
                let mut groups: Vec<SchedGroup> = Vec::new();
                let mut covered = CpuMask::empty(n);
                let order = (0..n as u32).map(|i| (cpu as u32 + i) % n as u32);
                for c in order.filter(|&c| span.test(c)) {
                    if covered.test(c) {
                        continue;
                    }
                    let g = if li == 0 {
                        CpuMask::from_list(n, &[c])
                    } else {
                        spans[c as usize][li - 1].clone()
                    };
                    for x in g.iter() {
                        covered.set(x);
                    }
                    let capacity = g.iter().map(|x| cpus[x as usize].capacity as u64).sum();
                    groups.push(SchedGroup {
                        weight: g.weight(),
                        span: g,
                        capacity,
                        imbalance: false,
                        next_update: 0,
                    });
                }
                doms.push(SchedDomain {
                    name: lvl.name,
                    span_weight: w,
                    span,
                    flags,
                    groups,
                    min_interval: w as u64,
                    max_interval: 2 * w as u64,
                    busy_factor: 16,
                    imbalance_pct,
                    cache_nice_tries,
                    numa_distance: lvl.numa_distance,
                    balance_interval: w as u64,
                    last_balance: 0,
                    nr_balance_failed: 0,
                    max_newidle_lb_cost: 0,
                    last_decay_max_lb_cost: 0,
                    // sd_init: a 50 % success rate to start from.
                    newidle_call: 512,
                    newidle_success: 256,
                    newidle_ratio: 512,
                    stat: Default::default(),
                });
            }
            sd.push(attach_degenerate(doms));
        }
        let mut sd_llc = vec![None; n];
        let mut llc_size = vec![1; n];
        let mut llc_id: Vec<u32> = (0..n as u32).collect();
        let mut share_id: Vec<u32> = (0..n as u32).collect();
        for cpu in 0..n {
            // update_top_cache_domain: highest_flag_domain(SD_SHARE_LLC).
            let idx = sd[cpu]
                .iter()
                .take_while(|d| d.has(sdf::SHARE_LLC))
                .count()
                .checked_sub(1);
            if let Some(i) = idx {
                let d = &sd[cpu][i];
                llc_size[cpu] = d.span_weight;
                llc_id[cpu] = d.span.first().unwrap_or(cpu as u32);
            }
            sd_llc[cpu] = idx;
            if let Some(d) = sd[cpu].iter().find(|d| d.has(sdf::CLUSTER)) {
                share_id[cpu] = d.span.first().unwrap_or(cpu as u32);
            } else {
                share_id[cpu] = llc_id[cpu];
            }
        }
        let asym_capacity = all_caps.len() > 1;
        Topology {
            llc_shared: vec![LlcShared::default(); n],
            cpus,
            distance,
            sd,
            sd_llc,
            llc_size,
            llc_id,
            share_id,
            asym_capacity,
            smt_present,
        }
    }

    pub fn nr_cpus(&self) -> u32 {
        self.cpus.len() as u32
    }

    pub fn capacity(&self, cpu: u32) -> u64 {
        self.cpus[cpu as usize].capacity as u64
    }

    /// `sd_asym_cpucapacity`: the lowest domain of `cpu` that spans every CPU capacity
    /// (SD_ASYM_CPUCAPACITY_FULL), as an index into `sd[cpu]`.
    pub fn sd_asym_cpucapacity(&self, cpu: u32) -> Option<usize> {
        self.sd[cpu as usize]
            .iter()
            .position(|d| d.has(sdf::ASYM_CPUCAPACITY_FULL))
    }

    /// `cpus_share_cache`.
    pub fn share_cache(&self, a: u32, b: u32) -> bool {
        a == b || self.llc_id[a as usize] == self.llc_id[b as usize]
    }

    /// `cpu_smt_mask` of a CPU.
    pub fn smt_siblings(&self, cpu: u32) -> impl Iterator<Item = u32> + '_ {
        let core = self.cpus[cpu as usize].core;
        (0..self.nr_cpus()).filter(move |&c| self.cpus[c as usize].core == core)
    }

    /// The CPUs of `cpu`'s LLC (`sched_domain_span(sd_llc)`), or the CPU alone.
    pub fn llc_span(&self, cpu: u32) -> CpuMask {
        match self.sd_llc[cpu as usize] {
            Some(i) => self.sd[cpu as usize][i].span.clone(),
            None => CpuMask::from_list(self.cpus.len(), &[cpu]),
        }
    }

    /// `schedsim topology`: the machine and each CPU's domains.
    pub fn describe(&self) -> String {
        let mut o = String::new();
        let n = self.nr_cpus();
        let count = |f: fn(&CpuTopo) -> u32| {
            let mut v: Vec<u32> = self.cpus.iter().map(f).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        let _ = writeln!(
            o,
            "machine: {n} CPUs, {} cores, {} clusters, {} LLCs, {} packages, {} NUMA nodes{}{}",
            count(|c| c.core),
            count(|c| c.cluster),
            count(|c| c.llc),
            count(|c| c.package),
            count(|c| c.node),
            if self.smt_present { ", SMT" } else { "" },
            if self.asym_capacity {
                ", asymmetric capacity"
            } else {
                ""
            },
        );
        if self.distance.len() > 1 {
            let _ = writeln!(o, "node distances:");
            for (i, row) in self.distance.iter().enumerate() {
                let r: Vec<String> = row.iter().map(|d| format!("{d:3}")).collect();
                let _ = writeln!(o, "  node {i}: {}", r.join(" "));
            }
        }
        let _ = writeln!(o, "cpu  core cluster  llc  pkg node capacity");
        for (c, t) in self.cpus.iter().enumerate() {
            let _ = writeln!(
                o,
                "{c:3} {:5} {:7} {:4} {:4} {:4} {:8}",
                t.core, t.cluster, t.llc, t.package, t.node, t.capacity
            );
        }
        for cpu in 0..n as usize {
            let _ = writeln!(
                o,
                "CPU{cpu} domains (sd_llc_id {}, sd_llc_size {}):",
                self.llc_id[cpu], self.llc_size[cpu]
            );
            if self.sd[cpu].is_empty() {
                let _ = writeln!(o, "  (none: a single CPU)");
            }
            for (lvl, d) in self.sd[cpu].iter().enumerate() {
                let flags: Vec<&str> = (0..15)
                    .filter(|b| d.flags & (1 << b) != 0)
                    .map(|b| sdf::NAMES[b])
                    .collect();
                let groups: Vec<String> = d
                    .groups
                    .iter()
                    .map(|g| format!("{{{}}}:{}", fmt_cpu_list(g.span.iter()), g.capacity))
                    .collect();
                let _ = writeln!(
                    o,
                    "  level {lvl} {:<4} span {} (weight {}){}\n    flags {}\n    \
                     imbalance_pct {} busy_factor {} interval {}..{} ms cache_nice_tries {}\n    \
                     groups {}",
                    d.name,
                    fmt_cpu_list(d.span.iter()),
                    d.span_weight,
                    d.numa_distance
                        .map_or(String::new(), |x| format!(" distance {x}")),
                    flags.join("|"),
                    d.imbalance_pct,
                    d.busy_factor,
                    d.min_interval,
                    d.max_interval,
                    d.cache_nice_tries,
                    groups.join(" "),
                );
            }
        }
        o
    }
}

/// `sd_degenerate`.
fn degenerate(d: &SchedDomain) -> bool {
    if d.span_weight == 1 {
        return true;
    }
    if d.flags & sdf::NEEDS_GROUPS != 0 && d.groups.len() > 1 {
        return false;
    }
    d.flags & sdf::WAKE_AFFINE == 0
}

/// `sd_parent_degenerate`.
fn parent_degenerate(child: &SchedDomain, parent: &SchedDomain) -> bool {
    if degenerate(parent) {
        return true;
    }
    if child.span != parent.span {
        return false;
    }
    let mut pflags = parent.flags;
    if parent.groups.len() == 1 {
        pflags &= !sdf::NEEDS_GROUPS;
    }
    pflags & !child.flags == 0
}

/// `cpu_attach_domain`: drop degenerate parents (their SD_PREFER_SIBLING moves down), then
/// a degenerate bottom level.
fn attach_degenerate(mut v: Vec<SchedDomain>) -> Vec<SchedDomain> {
    let mut i = 0;
    while i + 1 < v.len() {
        if parent_degenerate(&v[i], &v[i + 1]) {
            if v[i + 1].flags & sdf::PREFER_SIBLING != 0 {
                v[i].flags |= sdf::PREFER_SIBLING;
            }
            v.remove(i + 1);
        } else {
            i += 1;
        }
    }
    if v.first().is_some_and(degenerate) {
        v.remove(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(spec: &str) -> Topology {
        let mut m = MachineSpec::default();
        for kv in spec.split(',') {
            match kv.split_once('=') {
                Some((k, v)) => assert!(m.set(k, v).unwrap()),
                None => m.apply_preset(kv).unwrap(),
            }
        }
        let n = m.resolve().unwrap();
        Topology::build(&m, n)
    }

    fn spans(t: &Topology, cpu: usize) -> Vec<(&'static str, String)> {
        t.sd[cpu]
            .iter()
            .map(|d| (d.name, fmt_cpu_list(d.span.iter())))
            .collect()
    }

    #[test]
    fn vm2_has_one_mc_level_with_two_single_cpu_groups() {
        let t = topo("cpus=2");
        assert_eq!(spans(&t, 0), vec![("MC", "0-1".to_string())]);
        let d = &t.sd[1][0];
        assert_eq!(d.groups.len(), 2);
        assert_eq!(fmt_cpu_list(d.groups[0].span.iter()), "1");
        assert_eq!(d.imbalance_pct, 117);
        assert_eq!(d.cache_nice_tries, 1);
        assert_eq!((d.min_interval, d.max_interval), (2, 4));
        // PKG was degenerate: its PREFER_SIBLING moved down (it was already there).
        assert_eq!(
            d.flags,
            sdf::BALANCE_NEWIDLE
                | sdf::BALANCE_EXEC
                | sdf::BALANCE_FORK
                | sdf::WAKE_AFFINE
                | sdf::SHARE_LLC
                | sdf::PREFER_SIBLING
        );
        assert_eq!((t.llc_size[0], t.llc_id[1]), (2, 0));
        assert!(t.share_cache(0, 1));
    }

    #[test]
    fn laptop_has_smt_and_mc() {
        let t = topo("laptop");
        assert_eq!(t.nr_cpus(), 8);
        // x86 numbering: CPU 0's sibling is CPU 4.
        assert_eq!(
            spans(&t, 0),
            vec![("SMT", "0,4".to_string()), ("MC", "0-7".to_string())]
        );
        let smt = &t.sd[0][0];
        assert_eq!(smt.imbalance_pct, 110);
        assert_eq!(smt.cache_nice_tries, 0);
        assert!(smt.has(sdf::SHARE_CPUCAPACITY));
        let mc = &t.sd[5][1];
        assert_eq!(mc.groups.len(), 4);
        assert_eq!(fmt_cpu_list(mc.groups[0].span.iter()), "1,5");
        assert_eq!(mc.groups[0].capacity, 2048);
        assert!(t.smt_present);
        assert_eq!(t.llc_size[3], 8);
    }

    #[test]
    fn two_socket_numa_server() {
        let t = topo("server2s");
        assert_eq!(t.nr_cpus(), 64);
        assert_eq!(
            spans(&t, 0),
            vec![
                ("SMT", "0,32".to_string()),
                ("MC", "0-15,32-47".to_string()),
                ("NUMA", "0-63".to_string())
            ]
        );
        let numa = &t.sd[0][2];
        assert!(numa.has(sdf::NUMA) && numa.has(sdf::SERIALIZE));
        assert!(!numa.has(sdf::PREFER_SIBLING));
        // Distance 20 ≤ RECLAIM_DISTANCE: still wake-affine and fork-balancing.
        assert!(numa.has(sdf::WAKE_AFFINE) && numa.has(sdf::BALANCE_FORK));
        assert_eq!(numa.cache_nice_tries, 2);
        assert_eq!(numa.groups.len(), 2);
        assert_eq!(fmt_cpu_list(numa.groups[1].span.iter()), "16-31,48-63");
        assert_eq!((numa.min_interval, numa.max_interval), (64, 128));
        assert_eq!(t.llc_size[0], 32);
        assert!(!t.share_cache(0, 16));
    }

    #[test]
    fn far_numa_loses_wake_affine_and_packages_without_numa_make_pkg() {
        let t = topo("cores=2,packages=2,numa=2,distance=10:40:40:10");
        let numa = t.sd[0].last().unwrap();
        assert_eq!(numa.name, "NUMA");
        assert!(!numa.has(sdf::WAKE_AFFINE) && !numa.has(sdf::BALANCE_FORK));
        let t = topo("cores=2,llcs=2");
        assert_eq!(
            spans(&t, 2),
            vec![("MC", "2-3".to_string()), ("PKG", "0-3".to_string())]
        );
        assert_eq!(t.sd[2][1].groups.len(), 2);
        assert_eq!(t.llc_size[0], 2);
    }

    #[test]
    fn biglittle_clusters_and_asymmetry() {
        let t = topo("biglittle");
        assert_eq!(
            spans(&t, 0),
            vec![("CLS", "0-3".to_string()), ("MC", "0-7".to_string())]
        );
        let mc = &t.sd[0][1];
        assert!(mc.has(sdf::ASYM_CPUCAPACITY) && mc.has(sdf::ASYM_CPUCAPACITY_FULL));
        assert!(!t.sd[0][0].has(sdf::PREFER_SIBLING));
        assert_eq!(mc.groups[0].capacity, 2048);
        assert_eq!(mc.groups[1].capacity, 4096);
        assert!(t.asym_capacity);
        assert_eq!(t.share_id[5], 4);
    }

    #[test]
    fn spec_errors() {
        let mut m = MachineSpec::default();
        m.set("cpus", "6").unwrap();
        m.set("smt", "4").unwrap();
        assert!(m.resolve().is_err());
        let mut m = MachineSpec::default();
        assert!(m.set("capacity", "2048x2").is_err());
        assert!(m.apply_preset("mainframe").is_err());
        let mut m = MachineSpec::default();
        m.set("smt", "2").unwrap();
        m.set("cpus", "8").unwrap();
        assert_eq!(m.resolve(), Ok(8));
        assert_eq!(spec::parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
    }
}
