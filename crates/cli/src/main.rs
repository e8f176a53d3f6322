//! `schedsim`: run a workload through the simulated Linux 6.18 scheduler and write what the
//! kernel would have traced, plus the metrics scheduler developers quote.

mod cgroup;
mod convert;
mod load;
mod run;
mod topology;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "schedsim",
    version,
    about = "Deterministic simulator of the Linux 6.18 CPU scheduler",
    long_about = "schedsim computes, decision by decision, what Linux 6.18's scheduler would do \
with a workload on a machine, and writes it as the kernel's own ftrace text (and trace.dat, \
Perfetto) plus a metrics report.\n\nWorkloads: our TOML format (docs/workload-format.md) or \
rt-app JSON (docs/rt-app.md). Machines: --machine refvm (the default: the reference VM with \
its kernel path costs, docs/cost-model.md), or cpus=N,hz=250,preempt=none|voluntary|full|lazy,\
nohz=on|off,ipi_latency=DUR,resched_latency=DUR,idle_wake_latency=DUR,rtapp_loop=DUR,timer_slack=DUR,tick_phase=DUR,launcher_cpu=N and layout \
keys or presets, or a TOML file with those keys."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate a workload.
    Run(run::RunArgs),
    /// Run oracle scenarios (../shared/oracle layout) and compare with the real kernel.
    Validate(validate::ValidateArgs),
    /// Write a workload (rt-app JSON or TOML) in schedsim's TOML format, checked to give
    /// the same model.
    Convert(convert::ConvertArgs),
    /// Print a machine's CPUs and scheduling domains.
    Topology(topology::TopologyArgs),
}

/// Writes `text` on standard output. A reader that closed the pipe (`schedsim topology |
/// head`) wanted no more: not an error.
pub fn print_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("standard output: {e}"))
        }
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Run(a) => run::run(a),
        Cmd::Validate(a) => validate::validate(a),
        Cmd::Topology(a) => topology::topology(a),
        Cmd::Convert(a) => convert::convert(a),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schedsim: {e}");
            ExitCode::from(2)
        }
    }
}
