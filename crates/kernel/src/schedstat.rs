//! The scheduler's statistics counters as `/proc/schedstat` shows them (version 17,
//! kernel/sched/stats.c `show_schedstat`): per run queue (`struct rq`'s schedstat
//! fields and `rq_sched_info`) and per sched domain of each CPU (`struct sched_domain`'s
//! `lb_*`, `alb_*` and `ttwu_*`), counted where the kernel counts them. docs/metrics.md
//! says what each one means.

use std::fmt::Write;

use crate::report::CpuReport;

/// `SCHEDSTAT_VERSION` of the kernels that print domain names and split `lb_imbalance`
/// by migration type (6.14+).
pub const SCHEDSTAT_VERSION: u32 = 17;

/// Columns of `enum cpu_idle_type` (its 6.10+ order, `balance::Idle as usize`):
/// `__CPU_NOT_IDLE`, `CPU_IDLE`, `CPU_NEWLY_IDLE`.
pub const CPU_MAX_IDLE_TYPES: usize = 3;

type PerIdle = [u64; CPU_MAX_IDLE_TYPES];

/// One CPU's run-queue counters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RqStat {
    /// `sched_yield` calls (`yld_count`).
    pub yld_count: u64,
    /// `__schedule` calls (`sched_count`).
    pub sched_count: u64,
    /// Of those, the ones that picked the idle task (`sched_goidle`).
    pub sched_goidle: u64,
    /// Wakeups done on this CPU (`ttwu_count`), and of those the ones whose task went to
    /// this CPU (`ttwu_local`).
    pub ttwu_count: u64,
    pub ttwu_local: u64,
}

/// One CPU's counters for one of its sched domains.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SdStat {
    /// `sched_balance_rq` passes, by the CPU's idle type.
    pub lb_count: PerIdle,
    /// Passes that found the domain balanced (or let another CPU of the group balance).
    pub lb_balanced: PerIdle,
    /// Passes that found an imbalance and moved nothing.
    pub lb_failed: PerIdle,
    /// The imbalance found, summed, by migration type.
    pub lb_imbalance_load: PerIdle,
    pub lb_imbalance_util: PerIdle,
    pub lb_imbalance_task: PerIdle,
    pub lb_imbalance_misfit: PerIdle,
    /// Tasks pulled, and of those the cache-hot ones moved because balancing had failed.
    pub lb_gained: PerIdle,
    pub lb_hot_gained: PerIdle,
    /// Passes with no busiest run queue in the busiest group, and with no busiest group.
    pub lb_nobusyq: PerIdle,
    pub lb_nobusyg: PerIdle,
    /// Active balances run by the busiest CPU's stopper: tried, found nothing, pushed.
    pub alb_count: u64,
    pub alb_failed: u64,
    pub alb_pushed: u64,
    /// Wakeups by this CPU of a task that went to another CPU of this domain (the lowest
    /// such domain), and wake-affine pulls to this CPU.
    pub ttwu_wake_remote: u64,
    pub ttwu_move_affine: u64,
}

impl SdStat {
    /// How many tasks balancing at this level moved to this CPU (pulls and active pushes).
    pub fn moved(&self) -> u64 {
        self.lb_gained.iter().sum()
    }
}

/// `/proc/schedstat` at the end of a run, as the kernel prints it (`show_schedstat`): the
/// version, the jiffies, then per CPU its run-queue line and one line per domain, from the
/// report's CPU figures (`timestamp`: the jiffies at the end). Fields the simulation never
/// moves print as the kernel's would: the legacy 0, and the exec/fork balancing counters
/// (`sbe_*`, `sbf_*`) and `ttwu_move_balance`, which no kernel path increments any more.
pub fn proc_schedstat(cpus: &[CpuReport], timestamp: u64) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "version {SCHEDSTAT_VERSION}");
    let _ = writeln!(o, "timestamp {timestamp}");
    for c in cpus {
        let (r, x) = (&c.schedstat.rq, &c.schedstat);
        let _ = writeln!(
            o,
            "cpu{} {} 0 {} {} {} {} {} {} {}",
            c.cpu,
            r.yld_count,
            r.sched_count,
            r.sched_goidle,
            r.ttwu_count,
            r.ttwu_local,
            x.rq_cpu_time,
            x.run_delay,
            x.pcount
        );
        for (level, d) in x.domains.iter().enumerate() {
            let _ = write!(o, "domain{level} {} {}", d.name, d.span);
            let st = &d.stat;
            for i in 0..CPU_MAX_IDLE_TYPES {
                for v in [
                    st.lb_count[i],
                    st.lb_balanced[i],
                    st.lb_failed[i],
                    st.lb_imbalance_load[i],
                    st.lb_imbalance_util[i],
                    st.lb_imbalance_task[i],
                    st.lb_imbalance_misfit[i],
                    st.lb_gained[i],
                    st.lb_hot_gained[i],
                    st.lb_nobusyq[i],
                    st.lb_nobusyg[i],
                ] {
                    let _ = write!(o, " {v}");
                }
            }
            let _ = writeln!(
                o,
                " {} {} {} 0 0 0 0 0 0 {} {} 0",
                st.alb_count,
                st.alb_failed,
                st.alb_pushed,
                st.ttwu_wake_remote,
                st.ttwu_move_affine
            );
        }
    }
    o
}

/// A CPU mask as the kernel's `%*pb` prints it: hex, 32 bits a chunk from the highest,
/// chunks joined by commas, the first one as wide as the CPUs it holds need.
pub fn cpumask_hex(m: &crate::cpumask::CpuMask, nr_cpus: u32) -> String {
    let chunks = nr_cpus.div_ceil(32).max(1);
    let mut out = Vec::new();
    for k in (0..chunks).rev() {
        let mut v = 0u32;
        for b in 0..32 {
            let cpu = k * 32 + b;
            if cpu < nr_cpus && m.test(cpu) {
                v |= 1 << b;
            }
        }
        let bits = if k == chunks - 1 && !nr_cpus.is_multiple_of(32) {
            nr_cpus % 32
        } else {
            32
        };
        out.push(format!("{v:0w$x}", w = bits.div_ceil(4) as usize));
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpumask::CpuMask;

    /// `%*pb`: 32-bit chunks from the highest, the first as wide as its CPUs need.
    #[test]
    fn masks_print_as_the_kernels_bitmap_format() {
        assert_eq!(cpumask_hex(&CpuMask::full(2), 2), "3");
        assert_eq!(cpumask_hex(&CpuMask::from_list(8, &[1, 2]), 8), "06");
        assert_eq!(cpumask_hex(&CpuMask::full(40), 40), "ff,ffffffff");
        assert_eq!(
            cpumask_hex(&CpuMask::from_list(64, &[0, 63]), 64),
            "80000000,00000001"
        );
    }
}
