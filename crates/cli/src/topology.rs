//! `schedsim topology --machine SPEC`: the machine's CPUs and every CPU's scheduling
//! domains (levels, spans, flags, groups, balancing parameters) as the simulator builds
//! them (`build_sched_domains`).

use clap::Args;

use schedsim_kernel::topology::Topology;

#[derive(Args)]
pub struct TopologyArgs {
    /// The machine: `cpus=N`, layout keys (`smt=2,cores=8,llcs=1,packages=2,numa=2,
    /// capacity=1024x4+512x4`), a preset (`vm2`, `laptop`, `server2s`, `biglittle`,
    /// `host`) or a TOML file.
    #[arg(long, default_value = "cpus=2")]
    pub machine: String,
}

pub fn topology(a: TopologyArgs) -> Result<(), String> {
    let cfg = crate::load::machine(&a.machine)?;
    let t = Topology::build(&cfg.machine, cfg.nr_cpus);
    crate::print_out(&t.describe())
}
