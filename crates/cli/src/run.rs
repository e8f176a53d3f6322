//! `schedsim run`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use schedsim_kernel::config::parse_ns;
use schedsim_kernel::report::Report;
use schedsim_kernel::sim::{self, Progress, SimOptions};
use schedsim_output::{write_atomically, FileSink, Format};
use schedsim_trace::TraceSink;

use crate::{cgroup, load};

#[derive(Args)]
pub struct RunArgs {
    /// Workload file (.toml, or rt-app .json).
    pub workload: PathBuf,
    /// Machine: `cpus=2,hz=250,preempt=none`, a preset (`refvm`, `laptop`, `server2s`,
    /// `biglittle`, `host`) or a TOML file. The default is the reference VM the oracle was
    /// recorded on, with its kernel path costs (`refvm`, docs/cost-model.md).
    #[arg(long, default_value = "refvm")]
    pub machine: String,
    /// Simulated duration (e.g. 10s, 500ms); overrides the workload's.
    #[arg(long)]
    pub duration: Option<String>,
    /// Seed for random durations.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the ftrace text trace (/sys/kernel/tracing/trace format) here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Write trace-cmd's trace.dat (v6) here.
    #[arg(long)]
    pub trace_dat: Option<PathBuf>,
    /// Write a Perfetto protobuf trace here.
    #[arg(long)]
    pub perfetto: Option<PathBuf>,
    /// Write the metrics report (JSON) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write /proc/schedstat as the kernel shows it at the end of the run (version 17:
    /// run-queue and sched-domain balancing counters) here.
    #[arg(long)]
    pub schedstat: Option<PathBuf>,
    /// Set a scheduler sysctl or debugfs knob: NAME=VALUE (repeatable).
    #[arg(long = "sysctl", value_name = "NAME=VALUE")]
    pub sysctls: Vec<String>,
    /// Create a cgroup and write one of its files, in the file's v1 or v2 name
    /// (repeatable): /q50:cpu.cfs_quota_us=50000, /web:cpu.max="50000 100000"; a bare PATH
    /// only creates the group. Applied after the workload's [cgroup] tables.
    #[arg(long = "cgroup", value_name = "PATH[:FILE=VALUE]")]
    pub cgroups: Vec<String>,
    /// Verify the simulated kernel's invariants after every event; stop at the first
    /// broken one with a report.
    #[arg(long)]
    pub check: bool,
    /// Run twice and compare the trace records and the report; stop at the first
    /// difference.
    #[arg(long)]
    pub determinism_check: bool,
    /// Load a sched_ext policy at boot, NAME[:ARGS]: simple (FIFO; simple:vtime for
    /// weighted vtime, also spelled simple-vtime), central (CPU 0 decides), flatcg (per-cgroup
    /// weighted fairness). `--ext` is the same flag.
    #[arg(long, alias = "ext", value_name = "POLICY")]
    pub scx: Option<String>,
    /// sched_ext partial mode (SCX_OPS_SWITCH_PARTIAL): only SCHED_EXT tasks join ext.
    #[arg(long, requires = "scx")]
    pub scx_partial: bool,
    /// sched_ext watchdog timeout (e.g. 5s; at most and by default 30s).
    #[arg(long, value_name = "DURATION", requires = "scx")]
    pub scx_timeout: Option<String>,
    /// Do not print the summary on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn advance(&mut self, now: u64) {
        if let Some(b) = &self.0 {
            b.set_position(now / 1_000_000);
        }
    }
}

pub fn run(a: RunArgs) -> Result<(), String> {
    let mut wl = load::workload(&a.workload)?;
    for c in &a.cgroups {
        cgroup::parse_flag(c)?.add_to(&mut wl);
    }
    let mut cfg = load::machine(&a.machine)?;
    for s in &wl.sysctls {
        cfg.apply_sysctl(&s.name, &s.value)
            .map_err(|e| format!("{}:{}: {e}", wl.source, s.loc))?;
    }
    for s in &a.sysctls {
        let (n, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--sysctl {s}: expected NAME=VALUE"))?;
        cfg.apply_sysctl(n.trim(), v.trim())
            .map_err(|e| format!("--sysctl {e}"))?;
    }
    if let Some(name) = &a.scx {
        let timeout_ms = match &a.scx_timeout {
            Some(t) => {
                let ns =
                    parse_ns(t).ok_or_else(|| format!("--scx-timeout {t}: expected e.g. 5s"))?;
                if !(1_000_000..=30_000_000_000).contains(&ns) {
                    return Err(format!("--scx-timeout {t}: must be between 1ms and 30s"));
                }
                Some((ns / 1_000_000) as u32)
            }
            None => None,
        };
        let spec = schedsim_kernel::class::ext::ScxSpec::builtin(name)
            .map_err(|e| format!("--scx: {e}"))?
            .partial(a.scx_partial)
            .timeout_ms(timeout_ms);
        cfg.scx = Some(spec);
    }
    let duration = match &a.duration {
        Some(d) => Some(parse_ns(d).ok_or_else(|| {
            format!("--duration {d}: expected a duration such as 500ms, 10s, 2min or 1h")
        })?),
        None => None,
    };
    if duration.is_none() && wl.duration.is_none() {
        return Err(format!(
            "{}: no duration: give --duration or set one in the workload",
            wl.source
        ));
    }
    let tracing = a.trace.is_some() || a.trace_dat.is_some() || a.perfetto.is_some();
    let opts = SimOptions {
        duration,
        seed: a.seed,
        trace: tracing,
        check: a.check,
    };
    let total_ms = duration.or(wl.duration).unwrap_or(0) / 1_000_000;
    let bar = (std::io::stderr().is_terminal() && total_ms > 0).then(|| {
        let b = indicatif::ProgressBar::new(total_ms);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} ms simulated {elapsed}")
                .expect("valid template"),
        );
        b
    });
    let mut progress = Bar(bar);
    let source = wl.source.clone();
    // The trace files are streamed: records reach the writers as the run goes (spooled
    // next to each file) and the files appear, atomically, once the run succeeded.
    let nr_cpus = cfg.nr_cpus as usize;
    let mut sinks: Vec<Box<dyn TraceSink>> = Vec::new();
    for (path, format) in [
        (&a.trace, Format::Ftrace),
        (&a.trace_dat, Format::TraceDat),
        (&a.perfetto, Format::Perfetto),
    ] {
        if let Some(p) = path {
            let sink = FileSink::create(format, p, nr_cpus).map_err(|e| e.to_string())?;
            sinks.push(Box::new(sink));
        }
    }
    let sink = (!sinks.is_empty()).then(|| Box::new(sinks) as Box<dyn TraceSink>);
    let mut res = if a.determinism_check {
        // Both runs keep their records to compare them; the first run's then go out.
        let mut res = schedsim_kernel::check::determinism::run_twice(wl, cfg, &opts, &mut progress)
            .map_err(|e| format!("{source}: {e}"))?;
        if let Some(sink) = sink {
            res.sched.trace.stream_to(sink);
        }
        res
    } else {
        sim::try_run_streamed(wl, cfg, &opts, &mut progress, sink)
            .map_err(|e| format!("{source}: {e}"))?
    };
    if let Some(b) = &progress.0 {
        b.finish_and_clear();
    }
    res.sched.trace.finish().map_err(|e| e.to_string())?;
    let io = |p: &PathBuf, e: std::io::Error| format!("{}: {e}", p.display());
    let report = Report::from_result(&res);
    if let Some(p) = &a.report {
        let json = serde_json::to_string_pretty(&report).expect("report serialises");
        write_atomically(p, |w| w.write_all(json.as_bytes())).map_err(|e| io(p, e))?;
    }
    if let Some(p) = &a.schedstat {
        let jiffies = res.sched.cfg.jiffies_at(res.end);
        let text = schedsim_kernel::schedstat::proc_schedstat(&report.cpus, jiffies);
        write_atomically(p, |w| w.write_all(text.as_bytes())).map_err(|e| io(p, e))?;
    }
    if !a.quiet {
        crate::print_out(&report.summary())?;
    }
    if let Some(e) = &res.sched.ext.exit {
        // The kernel's log lines on a sched_ext disable (the policy, the reason, the task).
        eprintln!("{e}");
    }
    Ok(())
}
