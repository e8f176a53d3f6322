//! Every example workload that loads runs for 2 simulated seconds under the invariant
//! checker, on 1, 2 and 4 CPUs (one machine asymmetric) and on the reference VM with its
//! kernel path costs, without a violation.

use std::path::Path;

use schedsim_kernel::sim::{self, SimError, SimOptions};
use schedsim_kernel::Config;

const S: u64 = 1_000_000_000;

#[test]
fn examples_pass_the_checker() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut ran = 0;
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.display().to_string();
        let Ok(wl) = schedsim_workload::parse_toml(&name, &text) else {
            eprintln!("skip {name}: does not parse");
            continue;
        };
        for machine in [
            "cpus=1,hz=250,preempt=none",
            "cpus=2,hz=250,preempt=none",
            "cpus=4,hz=1000,preempt=lazy",
            // Asymmetric capacity (misfit, active balance through the stopper); a NO_HZ
            // CPU left idle long enough to charge its fair server a whole period at once.
            "cpus=4,hz=250,preempt=none,capacity=1024x2+256x2",
            // The reference VM with its kernel path costs.
            "refvm",
        ] {
            let mut cfg = Config::parse_machine(machine).unwrap();
            if wl
                .sysctls
                .iter()
                .any(|s| cfg.apply_sysctl(&s.name, &s.value).is_err())
            {
                eprintln!("skip {name}: a sysctl is not supported");
                continue;
            }
            let opts = SimOptions {
                duration: Some(2 * S),
                seed: 1,
                trace: false,
                check: true,
            };
            match sim::try_run(wl.clone(), cfg, &opts, &mut ()) {
                Ok(_) => ran += 1,
                Err(SimError::User(e)) => {
                    eprintln!(
                        "skip {name} ({machine}): does not load: task {}: {}",
                        e.task, e.message
                    )
                }
                Err(SimError::Check(c)) => failures.push(format!("{name} ({machine}): {c}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 3, "only {ran} example runs loaded");
}
