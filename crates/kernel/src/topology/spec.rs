//! The machine description behind `--machine`: SMT threads, clusters, cores sharing an LLC,
//! packages, NUMA nodes with their distance table and per-CPU capacity; presets and the
//! host's own topology read from sysfs (what `arch/x86/kernel/smpboot.c` and
//! `drivers/base/arch_topology.c` give the scheduler as cpu masks).

use std::fmt::Write as _;

/// One CPU's place in the machine. Ids are arbitrary but equal exactly for CPUs sharing the
/// thing (the first CPU of the mask is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTopo {
    /// The physical core (SMT siblings share it): `cpu_smt_mask`.
    pub core: u32,
    /// The cluster (`cpu_clustergroup_mask`).
    pub cluster: u32,
    /// The last-level cache (`cpu_coregroup_mask`).
    pub llc: u32,
    pub package: u32,
    /// NUMA node (`cpu_to_node`).
    pub node: u32,
    /// `arch_scale_cpu_capacity` (1024 for the biggest CPU).
    pub capacity: u32,
}

/// The layout keys of `--machine` (all optional; `cpus=N` alone means N cores, one LLC,
/// one package, like the reference VM).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MachineSpec {
    pub cpus: Option<u32>,
    /// Threads per core.
    pub smt: Option<u32>,
    /// Clusters per LLC (cores are split evenly).
    pub clusters: Option<u32>,
    /// Cores per LLC.
    pub cores: Option<u32>,
    /// LLCs per package.
    pub llcs: Option<u32>,
    pub packages: Option<u32>,
    /// NUMA nodes (a divisor or a multiple of the packages).
    pub numa: Option<u32>,
    /// Node distance table, row-major, `numa × numa` entries.
    pub distance: Option<Vec<u32>>,
    /// Per-CPU capacity in CPU order.
    pub capacity: Option<Vec<u32>>,
    /// An explicit per-CPU table (the `host` machine) with its node distances.
    pub explicit: Option<(Vec<CpuTopo>, Vec<Vec<u32>>)>,
}

pub const PRESETS: &[(&str, &str)] = &[
    ("vm2", "cpus=2"),
    ("laptop", "smt=2,cores=4"),
    ("server2s", "smt=2,cores=16,packages=2,numa=2"),
    ("biglittle", "cores=8,clusters=2,capacity=512x4+1024x4"),
];

/// A bare word naming a machine.
pub fn is_preset(name: &str) -> bool {
    name == "host" || PRESETS.iter().any(|(n, _)| *n == name)
}

impl MachineSpec {
    fn has_layout(&self) -> bool {
        self.smt.is_some()
            || self.clusters.is_some()
            || self.cores.is_some()
            || self.llcs.is_some()
            || self.packages.is_some()
            || self.numa.is_some()
            || self.capacity.is_some()
            || self.explicit.is_some()
    }

    /// Sets one layout key; returns Ok(false) if the key is not a layout key.
    pub fn set(&mut self, k: &str, v: &str) -> Result<bool, String> {
        let count = |v: &str| -> Result<u32, String> {
            match v.parse::<u32>() {
                Ok(n) if (1..=4096).contains(&n) => Ok(n),
                _ => Err("expected a count between 1 and 4096".into()),
            }
        };
        match k {
            "cpus" => self.cpus = Some(count(v)?),
            "smt" => self.smt = Some(count(v)?),
            "clusters" => self.clusters = Some(count(v)?),
            "cores" => self.cores = Some(count(v)?),
            "llcs" => self.llcs = Some(count(v)?),
            "packages" => self.packages = Some(count(v)?),
            "numa" => self.numa = Some(count(v)?),
            "distance" => {
                let d: Result<Vec<u32>, _> = v.split(':').map(|x| x.trim().parse()).collect();
                self.distance =
                    Some(d.map_err(|_| "expected N×N distances separated by `:`".to_string())?);
            }
            "capacity" => self.capacity = Some(parse_capacity(v)?),
            "preset" => self.apply_preset(v)?,
            _ => return Ok(false),
        }
        if k != "preset" {
            self.explicit = None;
        }
        Ok(true)
    }

    /// Applies a named machine (`vm2`, `laptop`, `server2s`, `biglittle`, `host`).
    pub fn apply_preset(&mut self, name: &str) -> Result<(), String> {
        if name == "host" {
            *self = MachineSpec::default();
            let (cpus, dist) = read_host("/sys/devices/system")?;
            self.cpus = Some(cpus.len() as u32);
            self.explicit = Some((cpus, dist));
            return Ok(());
        }
        let (_, spec) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            format!(
                "unknown machine preset `{name}` (known: vm2, laptop, server2s, biglittle, host)"
            )
        })?;
        *self = MachineSpec::default();
        for item in spec.split(',') {
            let (k, v) = item.split_once('=').expect("preset syntax");
            self.set(k, v)?;
        }
        Ok(())
    }

    /// The CPU count the layout gives, checked for consistency.
    pub fn resolve(&self) -> Result<u32, String> {
        if let Some((cpus, _)) = &self.explicit {
            return Ok(cpus.len() as u32);
        }
        let smt = self.smt.unwrap_or(1);
        let llcs = self.llcs.unwrap_or(1);
        let pk = self.packages.unwrap_or(1);
        let per_core = smt * llcs * pk;
        let cores = match (self.cores, self.cpus) {
            (Some(c), _) => c,
            (None, Some(n)) if self.has_layout() => {
                if n % per_core != 0 {
                    return Err(format!(
                        "cpus={n} is not a multiple of smt×llcs×packages = {per_core}"
                    ));
                }
                n / per_core
            }
            (None, Some(n)) => n,
            (None, None) if self.has_layout() => {
                self.capacity.as_ref().map_or(1, |c| c.len() as u32) / per_core.max(1)
            }
            (None, None) => 2,
        }
        .max(1);
        let n = cores * per_core;
        if let Some(c) = self.cpus {
            if c != n {
                return Err(format!(
                    "cpus={c} but smt×cores×llcs×packages = {smt}×{cores}×{llcs}×{pk} = {n}"
                ));
            }
        }
        if n > 4096 {
            return Err(format!("{n} CPUs: at most 4096"));
        }
        let k = self.clusters.unwrap_or(1);
        if cores % k != 0 {
            return Err(format!("cores={cores} is not a multiple of clusters={k}"));
        }
        let nodes = self.numa.unwrap_or(1);
        if !(pk.is_multiple_of(nodes)
            || (nodes.is_multiple_of(pk) && llcs.is_multiple_of(nodes / pk)))
        {
            return Err(format!(
                "numa={nodes}: nodes must divide the packages ({pk}) or split each package's \
                 LLCs ({llcs}) evenly"
            ));
        }
        if let Some(d) = &self.distance {
            if d.len() as u32 != nodes * nodes {
                return Err(format!("distance: expected {} entries", nodes * nodes));
            }
        }
        if let Some(c) = &self.capacity {
            if c.len() as u32 != n {
                return Err(format!(
                    "capacity lists {} CPUs, the machine has {n}",
                    c.len()
                ));
            }
        }
        Ok(n)
    }

    /// The per-CPU table and node distances for `nr_cpus` CPUs. Without layout keys (or if
    /// the layout disagrees with `nr_cpus`): `nr_cpus` single-thread cores in one LLC.
    /// SMT siblings are numbered like x86 enumerates them: thread t of core c is CPU
    /// `t × cores + c`.
    pub fn layout(&self, nr_cpus: u32) -> (Vec<CpuTopo>, Vec<Vec<u32>>) {
        if let Some((cpus, d)) = &self.explicit {
            if cpus.len() as u32 == nr_cpus {
                return (cpus.clone(), d.clone());
            }
        }
        let flat = !self.has_layout() || self.resolve() != Ok(nr_cpus);
        let (smt, llcs, pk, k, nodes) = if flat {
            (1, 1, 1, 1, 1)
        } else {
            (
                self.smt.unwrap_or(1),
                self.llcs.unwrap_or(1),
                self.packages.unwrap_or(1),
                self.clusters.unwrap_or(1),
                self.numa.unwrap_or(1),
            )
        };
        let cores = nr_cpus / (smt * llcs * pk);
        let total_cores = cores * llcs * pk;
        let mut out = vec![
            CpuTopo {
                core: 0,
                cluster: 0,
                llc: 0,
                package: 0,
                node: 0,
                capacity: 1024,
            };
            nr_cpus as usize
        ];
        for ci in 0..total_cores {
            let p = ci / (cores * llcs);
            let l = (ci / cores) % llcs;
            let c = ci % cores;
            let cl = c / (cores / k);
            let node = if pk % nodes == 0 {
                p / (pk / nodes)
            } else {
                let per_pkg = nodes / pk;
                p * per_pkg + l / (llcs / per_pkg)
            };
            // Ids: the first CPU (thread 0) of the thing.
            let core_first = ci;
            // Without clusters, the cluster mask is the SMT mask (so CLS degenerates).
            let cl_first = if k == 1 {
                ci
            } else {
                (ci / cores) * cores + cl * (cores / k)
            };
            let llc_first = (ci / cores) * cores;
            let pkg_first = p * cores * llcs;
            for t in 0..smt {
                let cpu = t * total_cores + ci;
                out[cpu as usize] = CpuTopo {
                    core: core_first,
                    cluster: cl_first,
                    llc: llc_first,
                    package: pkg_first,
                    node,
                    capacity: 1024,
                };
            }
        }
        if !flat {
            if let Some(cap) = &self.capacity {
                for (o, &c) in out.iter_mut().zip(cap) {
                    o.capacity = c;
                }
            }
        }
        let mut dist = vec![vec![20; nodes as usize]; nodes as usize];
        for (i, row) in dist.iter_mut().enumerate() {
            row[i] = 10;
            if let Some(d) = self.distance.as_ref().filter(|_| !flat) {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = d[i * nodes as usize + j];
                }
            }
        }
        (out, dist)
    }
}

/// `1024x4+512x4` or `1024:1024:512:512`.
fn parse_capacity(v: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    let bad = || "expected CAPxN+CAPxN (e.g. 1024x4+512x4), capacities 1..1024".to_string();
    for part in v.split(['+', ':']) {
        let (c, n) = part.split_once('x').unwrap_or((part, "1"));
        let c: u32 = c.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if !(1..=1024).contains(&c) || n == 0 || n > 4096 {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(c, n as usize));
    }
    Ok(out)
}

/// Parses a sysfs cpu list (`0-3,8,10-11`).
pub fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => v.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => v.push(part.parse().ok()?),
        }
    }
    Some(v)
}

/// Formats a CPU list compactly (`0-3,8`).
pub fn fmt_cpu_list(cpus: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let flush = |out: &mut String, r: (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if r.0 == r.1 {
            let _ = write!(out, "{}", r.0);
        } else {
            let _ = write!(out, "{}-{}", r.0, r.1);
        }
    };
    for c in cpus {
        run = match run {
            Some((a, b)) if c == b + 1 => Some((a, c)),
            Some(r) => {
                flush(&mut out, r);
                Some((c, c))
            }
            None => Some((c, c)),
        };
    }
    if let Some(r) = run {
        flush(&mut out, r);
    }
    out
}

/// Reads the host topology from sysfs (`root` is /sys/devices/system).
pub fn read_host(root: &str) -> Result<(Vec<CpuTopo>, Vec<Vec<u32>>), String> {
    let read = |p: String| std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"));
    let online =
        parse_cpu_list(&read(format!("{root}/cpu/online"))?).ok_or("cannot parse cpu/online")?;
    let n = online.len() as u32;
    if online.iter().enumerate().any(|(i, &c)| c != i as u32) {
        return Err("host: online CPUs are not numbered 0..N-1".into());
    }
    let first = |p: String, cpu: u32| -> u32 {
        std::fs::read_to_string(&p)
            .ok()
            .and_then(|s| parse_cpu_list(&s))
            .and_then(|v| v.into_iter().find(|&c| c < n))
            .unwrap_or(cpu)
    };
    let mut node_of = vec![0u32; n as usize];
    let mut node_ids = Vec::new();
    if let Ok(rd) = std::fs::read_dir(format!("{root}/node")) {
        let mut ids: Vec<u32> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("node")?.parse().ok())
            .collect();
        ids.sort_unstable();
        for (idx, id) in ids.iter().enumerate() {
            if let Ok(s) = std::fs::read_to_string(format!("{root}/node/node{id}/cpulist")) {
                for c in parse_cpu_list(&s).unwrap_or_default() {
                    if c < n {
                        node_of[c as usize] = idx as u32;
                    }
                }
            }
        }
        node_ids = ids;
    }
    let mut dist = Vec::new();
    for id in &node_ids {
        let row: Vec<u32> = std::fs::read_to_string(format!("{root}/node/node{id}/distance"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        dist.push(row);
    }
    if dist.is_empty() || dist.iter().any(|r| r.len() != dist.len()) {
        let k = node_ids.len().max(1);
        dist = (0..k)
            .map(|i| (0..k).map(|j| if i == j { 10 } else { 20 }).collect())
            .collect();
    }
    let mut cpus = Vec::new();
    for c in 0..n {
        let t = format!("{root}/cpu/cpu{c}/topology");
        let core = first(format!("{t}/core_cpus_list"), c);
        let cluster = first(format!("{t}/cluster_cpus_list"), core);
        let pkg = first(format!("{t}/package_cpus_list"), 0);
        let mut llc = pkg;
        for idx in ["index3", "index2"] {
            let p = format!("{root}/cpu/cpu{c}/cache/{idx}/shared_cpu_list");
            if std::path::Path::new(&p).exists() {
                llc = first(p, pkg);
                break;
            }
        }
        let capacity = std::fs::read_to_string(format!("{root}/cpu/cpu{c}/cpu_capacity"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1024);
        cpus.push(CpuTopo {
            core,
            cluster,
            llc,
            package: pkg,
            node: node_of[c as usize],
            capacity,
        });
    }
    Ok((cpus, dist))
}
