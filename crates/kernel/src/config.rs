//! The simulated machine and kernel configuration: CPUs, HZ, preemption model, NO_HZ,
//! scheduler tunables and features (kernel/sched/features.h, sysctls, debugfs knobs).

use schedsim_workload::Dur;
use std::fmt;

/// `CONFIG_PREEMPT_*` / `preempt=` model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreemptModel {
    None,
    Voluntary,
    Full,
    Lazy,
}

impl PreemptModel {
    pub fn name(self) -> &'static str {
        match self {
            PreemptModel::None => "none",
            PreemptModel::Voluntary => "voluntary",
            PreemptModel::Full => "full",
            PreemptModel::Lazy => "lazy",
        }
    }
}

/// Scheduler features that change decisions (`/sys/kernel/debug/sched/features`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    pub place_lag: bool,
    pub place_deadline_initial: bool,
    pub place_rel_deadline: bool,
    pub run_to_parity: bool,
    pub preempt_short: bool,
    pub pick_buddy: bool,
    pub next_buddy: bool,
    pub delay_dequeue: bool,
    pub delay_zero: bool,
    pub wakeup_preemption: bool,
    pub ttwu_queue: bool,
    /// 6.18.5+ (33cf66d88306): newidle balancing of a domain runs with the probability of
    /// its recent success rate.
    pub ni_random: bool,
}

impl Default for Features {
    /// The 6.18 defaults.
    fn default() -> Self {
        Features {
            place_lag: true,
            place_deadline_initial: true,
            place_rel_deadline: true,
            run_to_parity: true,
            preempt_short: true,
            pick_buddy: true,
            next_buddy: false,
            delay_dequeue: true,
            delay_zero: true,
            wakeup_preemption: true,
            ttwu_queue: true,
            ni_random: true,
        }
    }
}

impl Features {
    /// Sets a feature by its kernel name (`NO_` prefix clears it).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (on, name) = match spec.strip_prefix("NO_") {
            Some(n) => (false, n),
            None => (true, spec),
        };
        let f = match name {
            "PLACE_LAG" => &mut self.place_lag,
            "PLACE_DEADLINE_INITIAL" => &mut self.place_deadline_initial,
            "PLACE_REL_DEADLINE" => &mut self.place_rel_deadline,
            "RUN_TO_PARITY" => &mut self.run_to_parity,
            "PREEMPT_SHORT" => &mut self.preempt_short,
            "PICK_BUDDY" => &mut self.pick_buddy,
            "NEXT_BUDDY" => &mut self.next_buddy,
            "DELAY_DEQUEUE" => &mut self.delay_dequeue,
            "DELAY_ZERO" => &mut self.delay_zero,
            "WAKEUP_PREEMPTION" => &mut self.wakeup_preemption,
            "TTWU_QUEUE" => &mut self.ttwu_queue,
            "NI_RANDOM" => &mut self.ni_random,
            _ => return Err(format!("unknown sched feature `{name}`")),
        };
        *f = on;
        Ok(())
    }
}

/// `tunable_scaling`: how the base slice grows with the CPU count (`get_update_sysctl_factor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunableScaling {
    None,
    Log,
    Linear,
}

/// `refvm`: the machine the oracle was recorded on (../shared/oracle/README.md): 2 vCPUs,
/// HZ=250, preempt=none, CONFIG_RT_GROUP_SCHED=y (the root group's 950 ms/1 s RT bandwidth
/// throttles RT tasks), with the kernel path costs and the rt-app loop cost measured on it
/// (docs/cost-model.md).
pub const REFVM: &str = "cpus=2,hz=250,preempt=none,rt_group_sched=on,\
ipi_latency=lognormal(11.3us, 2.7us),resched_latency=lognormal(5.5us, 2.6us),\
balance_softirq=lognormal(14.7us, 4.8us),\
idle_wake_latency=lognormal(3.3us, 1.4us),idle_timer_latency=lognormal(7.6us, 6.0us),\
idle_timer_activate=lognormal(2.5us, 2.0us);1:lognormal(6.2us, 1.6us),\
wake_return=lognormal(5.4us, 2.3us),deep_idle_after=1ms,\
deep_idle_ipi=lognormal(9.3us, 11.1us);4ms:lognormal(20.2us, 12.9us);16ms:lognormal(26.6us, 9.5us);100ms:lognormal(33.5us, 10.3us),\
rtapp_loop=21.2ns,rtapp_create=lognormal(80.3us, 26us),\
rtapp_setup=lognormal(31.5us, 13.4us),rtapp_barrier=lognormal(33.6us, 20.3us),mlock_cost=lognormal(4.8ms, 0.35ms),tick_phase=2.85ms,tick_stale_jiffies=0.18,vcpu_pack=15,newidle_ratio=175,launcher_cpu=1,untraced_idle=1,irq_events=on,\
daemon_period=50ms,daemon_run=lognormal(15.2us, 9.3us),rcu_gp_run=lognormal(7.1us, 1.4us),rcu_exit_gps=3,\
kworker_interval=exp(608ms),kworker_run=lognormal(31.9us, 60.1us)";

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub nr_cpus: u32,
    pub hz: u32,
    pub preempt: PreemptModel,
    /// NO_HZ idle: an idle CPU takes no ticks.
    pub nohz_idle: bool,
    /// The kernel path cost model (docs/cost-model.md), all 0 by default (decisions at the
    /// instant they are taken). Each cost is a duration or a distribution of them, drawn
    /// from the machine's own stream (`cost_seed`). Delay between a wakeup on one CPU
    /// (`sched_waking`) and the wakelist or reschedule IPI's handler running on another.
    pub ipi_latency: Dur,
    /// From a reschedule asked for on a CPU running a task, in that CPU's own context (an
    /// interrupt or a syscall), to its `sched_switch`: the rest of the wakeup, the
    /// interrupt's exit and `__schedule`.
    pub resched_latency: Dur,
    /// From a tick that raises the balance softirq to that softirq's pull
    /// (`sched_balance_softirq`: irq exit, `update_blocked_averages`, the domain walk and
    /// the group statistics before `detach_tasks`); None: `resched_latency`. The other
    /// CPUs' ticks of that instant meanwhile reschedule their tasks.
    pub balance_softirq: Option<Dur>,
    /// The same for an idle CPU woken by an IPI (the wakelist's, from its handler): leaving
    /// the idle loop, then `schedule_idle`.
    pub idle_wake_latency: Dur,
    /// The same from a timer interrupt on the idle CPU (its handler reprograms the
    /// clockevent, and the tick restarts on the way out); None: `idle_wake_latency`.
    pub idle_timer_latency: Option<Dur>,
    /// A wakeup by a timer interrupt on an idle CPU of a task there: the time from its
    /// `sched_waking` to its activation (`sched_wakeup`), the wakeup's own path in the
    /// interrupt (machine key `idle_timer_activate=COST`, with per-CPU overrides
    /// `;CPU:COST`). None: at once.
    pub idle_timer_activate: Option<Dur>,
    pub idle_timer_activate_cpus: Vec<(u32, Dur)>,
    /// An IPI to a CPU idle for at least `deep_idle_after` also takes `deep_idle_ipi`
    /// (a VM's vCPU that stopped polling is woken by its host; None: never), or the cost
    /// of the last of `deep_idle_steps` (idle time from which it applies, ascending) the
    /// idle time reached: `deep_idle_ipi=COST;4ms:COST;16ms:COST`.
    pub deep_idle_after: Option<u64>,
    pub deep_idle_ipi: Dur,
    pub deep_idle_steps: Vec<(u64, Dur)>,
    /// The reference VM's vCPU packing (its kernel's vendor patch, boot parameter
    /// `sched_vcpu_pack`; machine key `vcpu_pack`): a bit mask of the placements that
    /// prefer a busy CPU with room over an idle one (class/fair/vcpu_pack.rs). 0: mainline.
    pub vcpu_pack: u32,
    /// After a system call that woke another task (a semaphore post, a signal, an
    /// unlock...): the syscall's return and the user-space path to the waker's next call.
    pub wake_return: Dur,
    /// Seeds the draws of the path costs: the machine's jitter, apart from the workload's
    /// `--seed`, so a seed changes only what the workload draws.
    pub cost_seed: u64,
    /// What one rt-app busy loop costs on this machine, in picoseconds: an rt-app workload's
    /// `run` of d ns is `d / calibration` loops (rt-app's `loadwait`), each taking this.
    /// None: a `run` takes exactly its nominal time.
    pub rtapp_loop_ps: Option<u64>,
    /// What rt-app's main thread spends creating a thread (`create_thread`: the thread's
    /// data, its log file, `pthread_create`), what the thread spends setting itself up
    /// before its first event (`thread_body`), and, for a thread the main thread created,
    /// its way into `threads_barrier` after `t_zero`, in CPU time (machine keys
    /// `rtapp_create`, `rtapp_setup`, `rtapp_barrier`).
    pub rtapp_create: Dur,
    pub rtapp_setup: Dur,
    pub rtapp_barrier: Dur,
    /// `current->timer_slack_ns` of every task (init's 50 µs, inherited; `PR_SET_TIMERSLACK`
    /// is not modelled): a sleep of a task outside rt/dl ends up to this much late.
    pub timer_slack_ns: u64,
    /// The CPU time `mlockall` takes per thread of the calling process (faulting in and
    /// pinning its stack and buffers): rt-app's `lock_pages` for its RT and DL threads. A
    /// distribution is drawn once per call.
    pub mlock_cost: Dur,
    /// Where the workload starts on the tick grid: the last tick (jiffy boundary) was this
    /// long before t = 0, so the ticks fall at k·TICK_NSEC − `tick_phase_ns`. The kernel's
    /// ticks are aligned to its boot, a workload's start is not; 0 starts both together.
    pub tick_phase_ns: u64,
    /// `tick_phase` given as a distribution: drawn once per run from the machine's
    /// `cost_seed` (a stream of its own), taken modulo one tick, replacing `tick_phase_ns`
    /// when the simulation starts.
    pub tick_phase_dist: Option<Dur>,
    /// The chance, in parts per million, that a CPU's tick at the same instant as the
    /// timekeeper's (`tick_do_timer_cpu`) reads `jiffies` in `sched_tick` before the
    /// timekeeper's handler has advanced it (machine key `tick_stale_jiffies`, a fraction):
    /// its periodic balance then comes one tick late, and so does the grid of its next ones.
    pub tick_stale_ppm: u32,
    /// Each domain's NI_RANDOM success rate (out of 1024) when the workload starts (machine
    /// key `newidle_ratio`): a running machine's history, as `tick_phase` is; None: the
    /// boot value, 512 (`sd_init`).
    pub newidle_ratio: Option<u32>,
    /// The CPU the workload's launcher (rt-app's main thread, the shell's child) starts
    /// on, and so where it forks the threads: like `tick_phase`, where the start happens
    /// on a real machine, which the shell that ran it decided (machine key `launcher_cpu`).
    pub launcher_cpu: u32,
    /// CPUs whose idle task's own (process-context) trace events never reach the ring
    /// buffer (machine key `untraced_idle`, CPUs joined by `+`): on the reference VM no
    /// event is recorded in CPU 1's idle task outside an interrupt, so its switches from
    /// idle to a task are missing from every trace (../shared/oracle/analyze.py infers
    /// them). The scheduling is unchanged; only the recording misses them.
    pub untraced_idle: Vec<u32>,
    /// The RCU grace-period kthread's CPU time per wakeup (machine key `rcu_gp_run`);
    /// None: no kthread (core/rcu.rs).
    pub rcu_gp_run: Option<Dur>,
    /// The grace periods in a row a thread exit's RCU callbacks need, each link freeing
    /// the next (machine key `rcu_exit_gps`, at least 1).
    pub rcu_exit_gps: u32,
    /// The per-CPU workqueue workers (machine keys `kworker_interval`, `kworker_run`;
    /// core/kthreads.rs): each CPU's bound worker wakes from a timer this long (a draw,
    /// rounded up to jiffies) after its last sleep and runs `kworker_run` of CPU time. None:
    /// no workers.
    pub kworker_interval: Option<Dur>,
    pub kworker_run: Dur,
    /// DAMON's monitoring kthread `kdamond.0` (machine keys `kdamond_interval`,
    /// `kdamond_run`; core/kthreads.rs): unbound, woken by its timer this long (a draw)
    /// after its last sleep, on a jiffy, to run `kdamond_run`. None: no kdamond.
    pub kdamond_interval: Option<Dur>,
    pub kdamond_run: Dur,
    /// Record the interrupts' entries (`irq_vectors:local_timer_entry`,
    /// `call_function_single_entry`, `reschedule_entry`; machine key `irq_events`), as the
    /// oracle's recorder did to mark where an idle CPU woke up.
    pub irq_events: bool,
    /// A background daemon of the machine (machine keys `daemon_period`, `daemon_run`): a
    /// fair thread of the root task group that wakes from a relative sleep of this period, runs
    /// `daemon_run` of CPU time and sleeps again, placed by the scheduler like any task. On
    /// the reference VM a guest agent (`memfd:sealed-91`) did so every 50 ms through every
    /// recording; its wakeups preempt the workload's tasks now and then. None: no daemon.
    pub daemon_period: Option<u64>,
    pub daemon_run: Dur,
    /// The process that reads the launcher's output through a pipe (machine key
    /// `reader_run`): the shell or recorder that started the workload. It waits in `read`;
    /// each line the launcher or a thread prints wakes it (rt-app's `log_notice`), and it
    /// runs this much CPU time per wakeup. The oracle's recorder (a Python process) did so
    /// on the reference VM, on the CPUs where rt-app was creating its threads. None: the
    /// output goes nowhere that wakes anyone.
    pub reader_run: Option<Dur>,
    /// `sysctl_sched_base_slice` before scaling (normalized value, 0.7 ms).
    pub base_slice_normalized: u64,
    /// Set explicitly through `sched/base_slice_ns` (then not scaled).
    pub base_slice_override: Option<u64>,
    pub tunable_scaling: TunableScaling,
    pub migration_cost_ns: u64,
    pub nr_migrate: u32,
    pub features: Features,
    pub rr_timeslice_ms: u32,
    pub rt_runtime_us: i64,
    pub rt_period_us: u64,
    /// `CONFIG_RT_GROUP_SCHED`: the root task group's RT bandwidth (`rt_runtime_us` per
    /// `rt_period_us`) throttles RT tasks on each CPU, idling it if nothing else runs.
    pub rt_group_sched: bool,
    /// `kernel.sched_autogroup_enabled` (machine key `autogroup`): each session's tasks
    /// of the root cgroup run in their session's autogroup (core/autogroup.rs).
    pub autogroup: bool,
    pub cfs_bandwidth_slice_us: u64,
    /// The machine's layout (SMT, clusters, LLCs, packages, NUMA, capacities); with no
    /// layout keys, `nr_cpus` cores sharing one LLC.
    pub machine: crate::topology::MachineSpec,
    /// A sched_ext policy to load at boot (`--scx`), None: no BPF scheduler.
    pub scx: Option<crate::class::ext::ScxSpec>,
}

impl Default for Config {
    /// The reference VM: 2 CPUs, HZ=250, preempt=none, NO_HZ idle.
    fn default() -> Self {
        Config {
            nr_cpus: 2,
            hz: 250,
            preempt: PreemptModel::None,
            nohz_idle: true,
            ipi_latency: Dur::Fixed(0),
            resched_latency: Dur::Fixed(0),
            idle_wake_latency: Dur::Fixed(0),
            idle_timer_latency: None,
            balance_softirq: None,
            idle_timer_activate: None,
            idle_timer_activate_cpus: Vec::new(),
            wake_return: Dur::Fixed(0),
            deep_idle_after: None,
            deep_idle_ipi: Dur::Fixed(0),
            deep_idle_steps: Vec::new(),
            vcpu_pack: 0,
            cost_seed: 0,
            rtapp_loop_ps: None,
            rtapp_create: Dur::Fixed(0),
            rtapp_setup: Dur::Fixed(0),
            rtapp_barrier: Dur::Fixed(0),
            timer_slack_ns: 50_000,
            tick_phase_ns: 0,
            tick_phase_dist: None,
            tick_stale_ppm: 0,
            newidle_ratio: None,
            launcher_cpu: 0,
            untraced_idle: Vec::new(),
            irq_events: false,
            rcu_gp_run: None,
            rcu_exit_gps: 1,
            kworker_interval: None,
            kworker_run: Dur::Fixed(0),
            kdamond_interval: None,
            kdamond_run: Dur::Fixed(0),
            daemon_period: None,
            daemon_run: Dur::Fixed(0),
            reader_run: None,
            mlock_cost: Dur::Fixed(0),
            base_slice_normalized: 700_000,
            base_slice_override: None,
            tunable_scaling: TunableScaling::Log,
            migration_cost_ns: 500_000,
            nr_migrate: 32,
            features: Features::default(),
            rr_timeslice_ms: 100,
            rt_runtime_us: 950_000,
            rt_period_us: 1_000_000,
            rt_group_sched: false,
            autogroup: true,
            cfs_bandwidth_slice_us: 5000,
            machine: crate::topology::MachineSpec::default(),
            scx: None,
        }
    }
}

/// `sched_dl_global_validate`: the deadline bandwidth limit (`sched_rt_runtime_us` per
/// `sched_rt_period_us`) may not drop below what is already reserved on every CPU, which
/// at boot is each CPU's fair server (50 ms per 1 s); the write fails with EBUSY.
fn dl_global_validate(runtime_us: i64, period_us: u64) -> Result<(), &'static str> {
    if runtime_us < 0 {
        return Ok(());
    }
    // to_ratio(period, runtime), BW_SHIFT = 20.
    let new_bw = ((runtime_us as u64) << 20) / period_us;
    let fair_server_bw = (50_000u64 << 20) / 1_000_000;
    if new_bw < fair_server_bw {
        return Err(
            "EBUSY: below the bandwidth the fair servers already reserve on every CPU \
                    (50 ms per 1 s; sched_dl_global_validate)",
        );
    }
    Ok(())
}

impl Config {
    pub fn tick_nsec(&self) -> u64 {
        1_000_000_000 / self.hz as u64
    }

    /// `jiffies` at time `t`: jiffy boundaries fall `tick_phase_ns` before each multiple
    /// of TICK_NSEC.
    pub fn jiffies_at(&self, t: u64) -> u64 {
        (t + self.tick_phase_ns) / self.tick_nsec()
    }

    /// The first jiffy boundary at or after `t`.
    pub fn tick_at_or_after(&self, t: u64) -> u64 {
        let tick = self.tick_nsec();
        (t + self.tick_phase_ns).div_ceil(tick) * tick - self.tick_phase_ns
    }

    /// The time of jiffy boundary `j` (never before 0: a boundary before the start is
    /// taken at 0).
    pub fn jiffy_time(&self, j: u64) -> u64 {
        (j * self.tick_nsec()).saturating_sub(self.tick_phase_ns)
    }

    /// `get_update_sysctl_factor`: 1 + ilog2(min(ncpus, 8)) for LOG scaling.
    pub fn sysctl_factor(&self) -> u64 {
        let cpus = self.nr_cpus.min(8) as u64;
        match self.tunable_scaling {
            TunableScaling::None => 1,
            TunableScaling::Linear => cpus,
            TunableScaling::Log => 1 + cpus.ilog2() as u64,
        }
    }

    /// `sysctl_sched_base_slice`.
    /// `sched_cfs_bandwidth_slice()`, ns.
    pub fn cfs_bandwidth_slice_ns(&self) -> u64 {
        self.cfs_bandwidth_slice_us * 1000
    }

    pub fn base_slice(&self) -> u64 {
        self.base_slice_override
            .unwrap_or(self.base_slice_normalized * self.sysctl_factor())
    }

    /// `sched_rr_timeslice` in jiffies (`RR_TIMESLICE`; ≤0 means the default 100 ms).
    pub fn rr_timeslice_ticks(&self) -> u32 {
        let ms = if self.rr_timeslice_ms == 0 {
            100
        } else {
            self.rr_timeslice_ms
        };
        ((ms as u64 * self.hz as u64).div_ceil(1000)).max(1) as u32
    }

    /// Applies one `--sysctl NAME=VALUE` (sysctl or debugfs name).
    pub fn apply_sysctl(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |why: &str| ConfigError(format!("{name}={value}: {why}"));
        let num = |v: &str| -> Result<i64, ConfigError> {
            v.trim()
                .parse::<i64>()
                .map_err(|_| bad("expected an integer"))
        };
        match name {
            "kernel.sched_rt_runtime_us" => {
                let v = num(value)?;
                if v < -1 || (v > 0 && v as u64 > self.rt_period_us) {
                    return Err(bad("must be -1 or between 0 and sched_rt_period_us"));
                }
                dl_global_validate(v, self.rt_period_us).map_err(bad)?;
                self.rt_runtime_us = v;
            }
            "kernel.sched_rt_period_us" => {
                let v = num(value)?;
                if v <= 0 || (self.rt_runtime_us > v) {
                    return Err(bad("must be positive and at least sched_rt_runtime_us"));
                }
                dl_global_validate(self.rt_runtime_us, v as u64).map_err(bad)?;
                self.rt_period_us = v as u64;
            }
            "kernel.sched_rr_timeslice_ms" => {
                let v = num(value)?;
                // sched_rr_handler: <= 0 resets to the default.
                self.rr_timeslice_ms = if v <= 0 { 100 } else { v as u32 };
            }
            "kernel.sched_autogroup_enabled" => self.autogroup = num(value)? != 0,
            "kernel.sched_cfs_bandwidth_slice_us" => {
                let v = num(value)?;
                if v < 1 {
                    return Err(bad("must be at least 1"));
                }
                self.cfs_bandwidth_slice_us = v as u64;
            }
            "sched/base_slice_ns" => {
                let v = num(value)?;
                // sched_fair_server / debugfs: clamped to [0.1 ms, 100 ms] by the kernel.
                if !(100_000..=100_000_000).contains(&v) {
                    return Err(bad("must be between 100000 and 100000000"));
                }
                self.base_slice_override = Some(v as u64);
            }
            "sched/migration_cost_ns" => self.migration_cost_ns = num(value)?.max(0) as u64,
            "sched/nr_migrate" => self.nr_migrate = num(value)?.max(0) as u32,
            "sched/tunable_scaling" => {
                self.tunable_scaling = match num(value)? {
                    0 => TunableScaling::None,
                    1 => TunableScaling::Log,
                    2 => TunableScaling::Linear,
                    _ => return Err(bad("must be 0 (none), 1 (log) or 2 (linear)")),
                }
            }
            "sched/features" => {
                for f in value.split_whitespace() {
                    self.features.set(f).map_err(|e| bad(&e))?;
                }
            }
            _ => {
                return Err(ConfigError(format!(
                    "unknown sysctl `{name}` (known: kernel.sched_rt_runtime_us, \
                     kernel.sched_rt_period_us, kernel.sched_rr_timeslice_ms, \
                     kernel.sched_autogroup_enabled, kernel.sched_cfs_bandwidth_slice_us, \
                     sched/base_slice_ns, sched/migration_cost_ns, sched/nr_migrate, \
                     sched/tunable_scaling, sched/features)"
                )))
            }
        }
        Ok(())
    }

    /// Parses `--machine`: `cpus=2,hz=250,preempt=none,nohz=1,ipi_latency=2us`, layout keys
    /// (`smt=2,cores=8,llcs=1,packages=2,numa=2,capacity=1024x4+512x4`) and presets given
    /// as a bare word (`vm2`, `laptop`, `server2s`, `biglittle`, `host`; `refvm`, the
    /// reference VM with its costs, expands to its keys, which later keys override).
    pub fn parse_machine(spec: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let spec = split_spec(spec)
            .into_iter()
            .map(|item| if item.trim() == "refvm" { REFVM } else { item })
            .collect::<Vec<_>>()
            .join(",");
        for item in split_spec(&spec)
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if !item.contains('=') && crate::topology::spec::is_preset(item) {
                c.set_machine_key("preset", item)?;
                continue;
            }
            let (k, v) = item.split_once('=').ok_or_else(|| {
                ConfigError(format!("`{item}`: expected key=value (e.g. cpus=2)"))
            })?;
            c.set_machine_key(k.trim(), v.trim())?;
        }
        c.check_keys()?;
        Ok(c)
    }

    /// The rules between keys that one key alone cannot check, once every key of a spec
    /// or `[machine]` table is set (in any order).
    pub fn check_keys(&self) -> Result<(), ConfigError> {
        if self.deep_idle_after.is_none()
            && (self.deep_idle_ipi != Dur::Fixed(0) || !self.deep_idle_steps.is_empty())
        {
            return Err(ConfigError(
                "machine `deep_idle_ipi` needs `deep_idle_after`, the idle time from which an IPI takes it"
                    .into(),
            ));
        }
        if self.daemon_period.is_none() && self.daemon_run != Dur::Fixed(0) {
            return Err(ConfigError(
                "machine `daemon_run` needs `daemon_period`, the daemon's sleep between runs"
                    .into(),
            ));
        }
        for (interval, run, name) in [
            (self.kworker_interval, self.kworker_run, "kworker"),
            (self.kdamond_interval, self.kdamond_run, "kdamond"),
        ] {
            if interval.is_none() && run != Dur::Fixed(0) {
                return Err(ConfigError(format!(
                    "machine `{name}_run` needs `{name}_interval`, the thread's time between wakeups"
                )));
            }
        }
        if let (Some(after), Some(&(at, _))) = (self.deep_idle_after, self.deep_idle_steps.first())
        {
            if at <= after {
                return Err(ConfigError(format!(
                    "machine `deep_idle_ipi`: a further step starts at {at} ns, not after `deep_idle_after` ({after} ns)"
                )));
            }
        }
        if let Some((c, _)) = self
            .idle_timer_activate_cpus
            .iter()
            .find(|&&(c, _)| c >= self.nr_cpus)
        {
            return Err(ConfigError(format!(
                "machine `idle_timer_activate`: CPU {c}, but the machine has CPUs 0 to {} only",
                self.nr_cpus - 1
            )));
        }
        if let Some(c) = self.untraced_idle.iter().find(|&&c| c >= self.nr_cpus) {
            return Err(ConfigError(format!(
                "machine `untraced_idle`: CPU {c}, but the machine has CPUs 0 to {} only",
                self.nr_cpus - 1
            )));
        }
        if self.launcher_cpu >= self.nr_cpus {
            return Err(ConfigError(format!(
                "machine `launcher_cpu={}`: the machine has CPUs 0 to {} only",
                self.launcher_cpu,
                self.nr_cpus - 1
            )));
        }
        Ok(())
    }

    /// One machine key; shared by the compact spec and the TOML `[machine]` table.
    pub fn set_machine_key(&mut self, k: &str, v: &str) -> Result<(), ConfigError> {
        let bad = |why: &str| ConfigError(format!("machine `{k}={v}`: {why}"));
        match k {
            "cpus" | "smt" | "clusters" | "cores" | "llcs" | "packages" | "numa" | "distance"
            | "capacity" | "preset" => {
                if k == "cpus" {
                    let n: u32 = v.parse().map_err(|_| bad("expected a CPU count"))?;
                    if n == 0 || n > 4096 {
                        return Err(bad("the CPU count must be 1..4096"));
                    }
                }
                self.machine.set(k, v).map_err(|e| bad(&e))?;
                self.nr_cpus = self.machine.resolve().map_err(|e| bad(&e))?;
            }
            "hz" => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| bad("expected 100, 250, 300 or 1000"))?;
                if ![100, 250, 300, 1000].contains(&n) {
                    return Err(bad("HZ must be 100, 250, 300 or 1000"));
                }
                self.hz = n;
                if self.tick_phase_ns >= self.tick_nsec() {
                    return Err(bad("tick_phase must stay less than one tick (1 s / hz)"));
                }
            }
            "preempt" => {
                self.preempt = match v {
                    "none" => PreemptModel::None,
                    "voluntary" => PreemptModel::Voluntary,
                    "full" => PreemptModel::Full,
                    "lazy" => PreemptModel::Lazy,
                    _ => return Err(bad("preempt is one of none, voluntary, full, lazy")),
                }
            }
            "nohz" => {
                self.nohz_idle = match v {
                    "1" | "true" | "on" | "idle" => true,
                    "0" | "false" | "off" => false,
                    _ => return Err(bad("nohz is on or off")),
                }
            }
            "ipi_latency" => self.ipi_latency = parse_cost(v).map_err(|e| bad(&e))?,
            "resched_latency" => self.resched_latency = parse_cost(v).map_err(|e| bad(&e))?,
            "idle_wake_latency" => {
                self.idle_wake_latency = parse_cost(v).map_err(|e| bad(&e))?
            }
            "balance_softirq" => {
                self.balance_softirq = Some(parse_cost(v).map_err(|e| bad(&e))?)
            }
            "idle_timer_latency" => {
                self.idle_timer_latency = Some(parse_cost(v).map_err(|e| bad(&e))?)
            }

            "idle_timer_activate" => {
                let mut parts = v.split(';');
                let first = parts.next().unwrap_or_default().trim();
                self.idle_timer_activate = Some(parse_cost(first).map_err(|e| bad(&e))?);
                self.idle_timer_activate_cpus = parts
                    .map(|o| {
                        let (cpu, cost) = o.split_once(':').ok_or_else(|| {
                            bad("a CPU's own cost is CPU:COST, like 1:lognormal(6us, 2us)")
                        })?;
                        let cpu = cpu.trim().parse().map_err(|_| bad("expected a CPU number"))?;
                        Ok((cpu, parse_cost(cost.trim()).map_err(|e| bad(&e))?))
                    })
                    .collect::<Result<_, ConfigError>>()?;
            }
            "deep_idle_after" => {
                self.deep_idle_after = Some(parse_ns(v).ok_or_else(|| bad("expected a duration"))?)
            }
            "deep_idle_ipi" => {
                let mut parts = v.split(';');
                let first = parts.next().unwrap_or_default().trim();
                self.deep_idle_ipi = parse_cost(first).map_err(|e| bad(&e))?;
                self.deep_idle_steps = parts
                    .map(|step| {
                        let (at, cost) = step.split_once(':').ok_or_else(|| {
                            bad("a further step is IDLE:COST, like 4ms:lognormal(20us, 13us)")
                        })?;
                        let at = parse_ns(at.trim()).ok_or_else(|| bad("expected an idle time"))?;
                        Ok((at, parse_cost(cost.trim()).map_err(|e| bad(&e))?))
                    })
                    .collect::<Result<_, ConfigError>>()?;
                if self.deep_idle_steps.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(bad("the steps' idle times must grow"));
                }
            }
            "wake_return" => self.wake_return = parse_cost(v).map_err(|e| bad(&e))?,
            "vcpu_pack" => {
                self.vcpu_pack = v
                    .parse()
                    .ok()
                    .filter(|&m| m <= 15)
                    .ok_or_else(|| bad("expected a bit mask from 0 to 15"))?
            }
            "cost_seed" => {
                self.cost_seed = v
                    .parse()
                    .map_err(|_| bad("expected a non-negative integer"))?
            }
            "timer_slack" => {
                self.timer_slack_ns = parse_ns(v).ok_or_else(|| bad("expected a duration"))?
            }
            "mlock_cost" => self.mlock_cost = parse_cost(v).map_err(|e| bad(&e))?,
            "tick_stale_jiffies" => {
                let f: f64 = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| (0.0..=1.0).contains(f))
                    .ok_or_else(|| bad("expected a fraction from 0 to 1"))?;
                self.tick_stale_ppm = (f * 1e6).round() as u32;
            }
            "tick_phase" => match parse_cost(v).map_err(|e| bad(&e))? {
                Dur::Fixed(ns) => {
                    if ns >= self.tick_nsec() {
                        return Err(bad("tick_phase must be less than one tick (1 s / hz)"));
                    }
                    self.tick_phase_ns = ns;
                    self.tick_phase_dist = None;
                }
                d => self.tick_phase_dist = Some(d),
            },
            "newidle_ratio" => {
                let r: u32 = v
                    .parse()
                    .ok()
                    .filter(|&r| r <= 1024)
                    .ok_or_else(|| bad("expected a success rate from 0 to 1024"))?;
                self.newidle_ratio = Some(r);
            }
            "daemon_period" => {
                self.daemon_period = match v {
                    "off" => {
                        self.daemon_run = Dur::Fixed(0);
                        None
                    }
                    _ => Some(
                        parse_ns(v)
                            .filter(|&ns| ns > 0)
                            .ok_or_else(|| bad("expected a duration above 0, or off"))?,
                    ),
                }
            }
            "daemon_run" => self.daemon_run = parse_cost(v).map_err(|e| bad(&e))?,
            "reader_run" => {
                self.reader_run = match v {
                    "off" => None,
                    _ => Some(parse_cost(v).map_err(|e| bad(&e))?),
                }
            }
            "rtapp_create" => self.rtapp_create = parse_cost(v).map_err(|e| bad(&e))?,
            "rtapp_setup" => self.rtapp_setup = parse_cost(v).map_err(|e| bad(&e))?,
            "rtapp_barrier" => self.rtapp_barrier = parse_cost(v).map_err(|e| bad(&e))?,
            "launcher_cpu" => {
                self.launcher_cpu = v.parse().map_err(|_| bad("expected a CPU number"))?
            }
            "rcu_gp_run" => {
                self.rcu_gp_run = match v {
                    "off" => None,
                    _ => Some(parse_cost(v).map_err(|e| bad(&e))?),
                }
            }
            "kworker_interval" => {
                self.kworker_interval = kthread_interval(v).map_err(|e| bad(&e))?;
                if self.kworker_interval.is_none() {
                    self.kworker_run = Dur::Fixed(0);
                }
            }
            "kworker_run" => self.kworker_run = parse_cost(v).map_err(|e| bad(&e))?,
            "kdamond_interval" => {
                self.kdamond_interval = kthread_interval(v).map_err(|e| bad(&e))?;
                if self.kdamond_interval.is_none() {
                    self.kdamond_run = Dur::Fixed(0);
                }
            }
            "kdamond_run" => self.kdamond_run = parse_cost(v).map_err(|e| bad(&e))?,
            "rcu_exit_gps" => {
                self.rcu_exit_gps = v
                    .parse()
                    .ok()
                    .filter(|&n| (1..=16).contains(&n))
                    .ok_or_else(|| bad("expected a number of grace periods from 1 to 16"))?
            }
            "irq_events" => {
                self.irq_events = on_off(v).ok_or_else(|| bad("irq_events is on or off"))?
            }
            "untraced_idle" => {
                self.untraced_idle = match v {
                    "off" => Vec::new(),
                    _ => v
                        .split('+')
                        .map(|c| c.trim().parse().map_err(|_| bad("expected CPU numbers joined by `+`, or off")))
                        .collect::<Result<_, _>>()?,
                }
            }
            "rtapp_loop" => {
                let ps = parse_duration(v)
                    .map(|ns| (ns * 1e3).round() as u64)
                    .filter(|&ps| ps > 0)
                    .ok_or_else(|| bad("expected the time of one loop, like 21.2ns"))?;
                self.rtapp_loop_ps = Some(ps);
            }
            // CONFIG_RT_GROUP_SCHED.
            "rt_group_sched" => {
                self.rt_group_sched = on_off(v).ok_or_else(|| bad("rt_group_sched is on or off"))?
            }
            // CONFIG_SCHED_AUTOGROUP's switch (`noautogroup` on the kernel command line,
            // `kernel.sched_autogroup_enabled`): per-session groups, on by default.
            "autogroup" => {
                self.autogroup = on_off(v).ok_or_else(|| bad("autogroup is on or off"))?
            }
            _ => {
                return Err(ConfigError(format!(
                    "unknown machine key `{k}` (known: cpus, smt, clusters, cores, llcs, packages, numa, distance, capacity, \
                     preset, hz, preempt, nohz, ipi_latency, resched_latency, balance_softirq, idle_wake_latency, idle_timer_latency, idle_timer_activate, deep_idle_after, deep_idle_ipi, vcpu_pack, wake_return, cost_seed, rtapp_loop, rtapp_create, rtapp_setup, rtapp_barrier, mlock_cost, timer_slack, tick_phase, tick_stale_jiffies, newidle_ratio, launcher_cpu, untraced_idle, irq_events, rcu_gp_run, rcu_exit_gps, daemon_period, daemon_run, kworker_interval, kworker_run, kdamond_interval, kdamond_run, reader_run, \
                     rt_group_sched, autogroup)"
                )))
            }
        }
        Ok(())
    }
}

/// The items of a compact spec: split at the commas outside parentheses (a distribution's
/// arguments stay together).
fn split_spec(spec: &str) -> Vec<&str> {
    let (mut items, mut depth, mut from) = (Vec::new(), 0i32, 0);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth <= 0 => {
                items.push(&spec[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(&spec[from..]);
    items
}

/// A path cost: a duration (a bare number is ns) or a distribution in the workload's
/// syntax (`lognormal(5.5us, 2.6us)`, `uniform(4us, 8us)`...).
fn parse_cost(v: &str) -> Result<Dur, String> {
    if v.contains('(') {
        schedsim_workload::parse_distribution(v)
    } else {
        parse_ns(v)
            .map(Dur::Fixed)
            .ok_or_else(|| "expected a duration or a distribution like lognormal(5us, 2us)".into())
    }
}

/// A background kthread's interval (`kworker_interval`, `kdamond_interval`): a duration
/// above 0 or a distribution, or `off` (None).
fn kthread_interval(v: &str) -> Result<Option<Dur>, String> {
    match v {
        "off" => Ok(None),
        _ => match parse_cost(v)? {
            Dur::Fixed(0) => Err("expected a duration above 0 or a distribution, or off".into()),
            d => Ok(Some(d)),
        },
    }
}

/// A machine switch: `on`/`off` (or 1/0, true/false, y/n as Kconfig writes them).
fn on_off(v: &str) -> Option<bool> {
    match v {
        "1" | "true" | "on" | "y" => Some(true),
        "0" | "false" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// `100ns`, `2us`, `1.5ms`, `1s`, `2min`, `1h`, or a bare number of ns.
pub fn parse_ns(s: &str) -> Option<u64> {
    parse_duration(s).map(|v| v.round() as u64)
}

/// A duration with an optional unit (ns when none), in ns, fractions kept.
fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mul) = [
        ("ns", 1.0),
        ("us", 1e3),
        ("ms", 1e6),
        ("min", 6e10),
        ("h", 3.6e12),
        ("s", 1e9),
    ]
    .iter()
    .find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m)))
    .unwrap_or((s, 1.0));
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0 && v.is_finite()).then_some(v * mul)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    #[test]
    fn rt_runtime_below_the_fair_servers_reservation_is_busy() {
        let mut c = Config::default();
        let e = c
            .apply_sysctl("kernel.sched_rt_runtime_us", "0")
            .unwrap_err();
        assert!(e.0.contains("EBUSY"), "{}", e.0);
        assert!(c
            .apply_sysctl("kernel.sched_rt_runtime_us", "49999")
            .is_err());
        c.apply_sysctl("kernel.sched_rt_runtime_us", "50000")
            .unwrap();
        c.apply_sysctl("kernel.sched_rt_runtime_us", "-1").unwrap();
        // The period too: 50 ms per 1.1 s is below 5 %.
        c.apply_sysctl("kernel.sched_rt_runtime_us", "50000")
            .unwrap();
        assert!(c
            .apply_sysctl("kernel.sched_rt_period_us", "1100000")
            .is_err());
    }

    use super::*;

    #[test]
    fn base_slice_scales_with_log_cpus() {
        let mut c = Config::default();
        assert_eq!(c.base_slice(), 1_400_000);
        c.nr_cpus = 1;
        assert_eq!(c.base_slice(), 700_000);
        c.nr_cpus = 64;
        assert_eq!(c.base_slice(), 2_800_000);
    }

    #[test]
    fn durations_take_units_up_to_hours() {
        assert_eq!(parse_ns("1.5ms"), Some(1_500_000));
        assert_eq!(parse_ns("2min"), Some(120_000_000_000));
        assert_eq!(parse_ns("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_ns("-1s"), None);
    }

    #[test]
    fn machine_spec_parses_and_rejects() {
        let c = Config::parse_machine("cpus=4,hz=1000,preempt=lazy").unwrap();
        assert_eq!((c.nr_cpus, c.hz, c.preempt), (4, 1000, PreemptModel::Lazy));
        assert!(Config::parse_machine("cpus=0").is_err());
        assert!(Config::parse_machine("hz=123").is_err());
        let e = Config::parse_machine("gpus=2").unwrap_err();
        assert!(e.0.contains("unknown machine key `gpus`"));
        let c = Config::parse_machine("server2s,hz=1000").unwrap();
        assert_eq!((c.nr_cpus, c.hz), (64, 1000));
        let c = Config::parse_machine("smt=2,cores=8,llcs=1,packages=2,numa=2").unwrap();
        assert_eq!(c.nr_cpus, 32);
        assert!(Config::parse_machine("cpus=4,smt=2,cores=4").is_err());
    }
}
