//! `schedsim validate DIR`: runs each oracle scenario (../shared/oracle layout) on the
//! machine it was recorded on, with its setup applied, scores schedsim's trace with the
//! oracle's own analyzer, and compares each headline with the real kernel's band.
//!
//! Tolerance: each end of the real min–max band is moved out by 2 % of its own value plus
//! one unit of the metric's resolution (1 µs for µs figures, 0.0001 for shares and ratios),
//! for the machine's jitter that three repeats cannot show.
//!
//! A headline outside the band is listed with the reason recorded for it in `reasons.toml`
//! (or "no reason recorded"), never hidden.
//!
//! `--seeds N` also runs every scenario with the machine's cost seeds 1 to N−1 (the
//! cost model's draws, docs/cost-model.md) and shows, per headline, schedsim's range over
//! those runs and the machine's own, and at how many it lands in the band: whether a headline outside is one
//! draw of a figure that spreads as the real kernel's does, or the model's. The verdict and
//! the exit status stay those of the machine as given.

mod setup;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use schedsim_kernel::sim::{self, SimOptions};
use schedsim_output::write_atomically;
use schedsim_workload::Workload;
use serde_json::Value;

use crate::load;

#[derive(Args)]
pub struct ValidateArgs {
    /// A scenario directory, or a directory of them (../shared/oracle).
    pub dir: PathBuf,
    /// Only these scenarios (name prefixes, e.g. 01 or 04_periodic).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Also write the table as Markdown here (docs/fidelity.md).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// The Python interpreter that runs the oracle's analyzer.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// The oracle's analyze.py, for scenarios recorded elsewhere (scripts/record-oracle.sh);
    /// by default the one beside the scenario directories, as in ../shared/oracle.
    #[arg(long, value_name = "FILE")]
    pub analyzer: Option<PathBuf>,
    /// The machine of the scenarios that name none: the reference VM by default; another
    /// spec, e.g. `refvm,cost_seed=3`, shows how a headline moves with the cost model's draws.
    #[arg(long, default_value = REFERENCE_VM)]
    pub machine: String,
    /// Also run each scenario with the machine's cost seeds 1 to N−1 (`cost_seed=K`) and
    /// show each headline's range over the N runs and at how many of them it is in the band.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=64))]
    pub seeds: Option<u32>,
}

const SCORE_PY: &str = include_str!("score.py");

/// Why headlines fall outside the band: `"scenario/headline"` or a prefix ending in `*`.
const REASONS_TOML: &str = include_str!("reasons.toml");

/// What an OUTSIDE row without an entry in `reasons.toml` shows.
const NO_REASON: &str = "no reason recorded";

/// The reasons table.
fn reasons() -> Result<Vec<(String, String)>, String> {
    let t: toml::Table =
        toml::from_str(REASONS_TOML).map_err(|e| format!("validate/reasons.toml: {e}"))?;
    t.into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(r) => Ok((k, r)),
            _ => Err(format!("validate/reasons.toml: `{k}` is not a string")),
        })
        .collect()
}

/// The recorded reason for `scenario`'s `headline`: the exact key, else the longest `*`
/// prefix that matches.
fn reason_for<'a>(
    reasons: &'a [(String, String)],
    scenario: &str,
    headline: &str,
) -> Option<&'a str> {
    let key = format!("{scenario}/{headline}");
    let matches = |k: &str| match k.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => k == key,
    };
    reasons
        .iter()
        .filter(|(k, _)| matches(k))
        .max_by_key(|(k, _)| (!k.ends_with('*'), k.len()))
        .map(|(_, r)| r.as_str())
}

/// The machine the oracle was recorded on, with its costs (`Config` `REFVM`).
const REFERENCE_VM: &str = "refvm";

/// One headline's verdict.
struct Row {
    scenario: String,
    headline: String,
    sim: Option<f64>,
    band: Option<(f64, f64)>,
    verdict: Verdict,
    /// Why it is outside the band (OUTSIDE rows only).
    reason: Option<String>,
    /// With `--seeds`: the headline over every cost seed run.
    spread: Option<Spread>,
}

/// A headline's values over the cost seeds (`--seeds`).
struct Spread {
    min: f64,
    max: f64,
    /// Runs whose value is in the (widened) band.
    inside: usize,
    /// Runs that gave a value.
    runs: usize,
}

impl Spread {
    fn of(values: &[Option<f64>], band: Option<(f64, f64)>, unit: &str) -> Option<Spread> {
        let v: Vec<f64> = values.iter().flatten().copied().collect();
        let (&first, _) = v.split_first()?;
        let inside = v.iter().filter(|&&x| in_band(x, band, unit)).count();
        Some(Spread {
            min: v.iter().copied().fold(first, f64::min),
            max: v.iter().copied().fold(first, f64::max),
            inside,
            runs: v.len(),
        })
    }
}

#[derive(PartialEq)]
enum Verdict {
    In,
    Out,
    NotRun(String),
}

fn scenarios(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if dir.join("scenario.json").exists() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.json").exists() && p.join("workload.json").exists())
        .collect();
    v.sort();
    Ok(v)
}

fn read_json(p: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

/// Runs one scenario on its own machine or `default_machine` (with another `cost_seed` if
/// given), and returns its trace path, or why it could not run.
fn simulate(
    dir: &Path,
    meta: &Value,
    default_machine: &str,
    cost_seed: Option<u32>,
    tmp: &Path,
) -> Result<PathBuf, String> {
    let machine = meta["machine"].as_str().unwrap_or(default_machine);
    let mut cfg = load::machine(machine)?;
    if let Some(k) = cost_seed {
        cfg.set_machine_key("cost_seed", &k.to_string())
            .map_err(|e| e.0)?;
    }
    let lines: Vec<&str> = meta["setup"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut groups = Workload::default();
    setup::apply(&mut cfg, &mut groups, &lines)?;
    let mut wl = load::workload(&dir.join("workload.json"))?;
    crate::cgroup::prepend(groups, &mut wl);
    let opts = SimOptions {
        duration: None,
        seed: 1,
        trace: true,
        check: false,
    };
    let res =
        sim::run(wl, cfg, &opts, &mut ()).map_err(|e| format!("task {}: {}", e.task, e.message))?;
    let trace = tmp.join(format!(
        "{}.txt",
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    let n = res.sched.nr_cpus() as usize;
    write_atomically(&trace, |w| {
        schedsim_output::write_ftrace_text(w, &res.sched.trace, n)
    })
    .map_err(|e| e.to_string())?;
    write_cgroup_stats(&res, &trace.with_extension("cgroup_stats.json"))?;
    Ok(trace)
}

/// The groups' `cpu.stat` counters in the oracle's `cgroup_stats.json` form (the run's
/// whole life is the delta; names without the leading `/`), for the headlines that read
/// `M["cgroups"]`.
fn write_cgroup_stats(res: &sim::SimResult, path: &Path) -> Result<(), String> {
    let groups = schedsim_kernel::cgroup_stat::cgroup_reports(res);
    let mut out = serde_json::Map::new();
    for g in groups {
        let delta = serde_json::json!({
            "nr_periods": g.nr_periods,
            "nr_throttled": g.nr_throttled,
            "throttled_time": g.throttled_usec * 1000,
            "nr_bursts": g.nr_bursts,
            "burst_time": g.burst_usec * 1000,
        });
        let name = g.path.trim_start_matches('/').to_string();
        out.insert(name, serde_json::json!({ "delta": delta }));
    }
    let text = serde_json::to_string(&out).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| e.to_string())
}

/// How a trace is scored: the Python interpreter and the directory of analyze.py.
struct Scorer<'a> {
    python: &'a str,
    analyzer_dir: Option<PathBuf>,
}

impl Scorer<'_> {
    fn score(&self, dir: &Path, trace: &Path) -> Result<Value, String> {
        use std::io::Write;
        // score.py imports analyze.py from the scenario's parent unless told otherwise.
        let analyzer_dir = match &self.analyzer_dir {
            Some(d) => d.clone(),
            None => dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
        };
        if !analyzer_dir.join("analyze.py").is_file() {
            return Err(format!(
                "no analyze.py in {}: give the oracle's with --analyzer",
                analyzer_dir.display()
            ));
        }
        let mut child = Command::new(self.python)
            .arg("-")
            .arg(dir)
            .arg(trace)
            .arg(trace.with_extension("cgroup_stats.json"))
            .arg(&analyzer_dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.python))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(SCORE_PY.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "analyze.py failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }
}

/// The band widened by the documented tolerance.
fn widened(lo: f64, hi: f64, unit: &str) -> (f64, f64) {
    let res = if unit == "us" { 1.0 } else { 0.0001 };
    (lo - 0.02 * lo.abs() - res, hi + 0.02 * hi.abs() + res)
}

/// Whether `x` is inside the widened band.
fn in_band(x: f64, band: Option<(f64, f64)>, unit: &str) -> bool {
    band.is_some_and(|(lo, hi)| {
        let (l, h) = widened(lo, hi, unit);
        x >= l && x <= h
    })
}

pub fn validate(a: ValidateArgs) -> Result<(), String> {
    let reasons = reasons()?;
    let tmp = std::env::temp_dir().join(format!("schedsim-validate-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let analyzer_dir = match &a.analyzer {
        Some(f) if f.is_file() => Some(
            f.canonicalize()
                .map_err(|e| format!("{}: {e}", f.display()))?
                .parent()
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        ),
        Some(f) => return Err(format!("--analyzer {}: no such file", f.display())),
        None => None,
    };
    if let Some(d) = &analyzer_dir {
        if !d.join("analyze.py").is_file() {
            return Err(format!(
                "--analyzer: score.py imports `analyze`, so the file must be named analyze.py (in {})",
                d.display()
            ));
        }
    }
    let scorer = Scorer {
        python: &a.python,
        analyzer_dir,
    };
    let mut rows = Vec::new();
    for dir in scenarios(&a.dir)? {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if !a.only.is_empty() && !a.only.iter().any(|o| name.starts_with(o.as_str())) {
            continue;
        }
        let meta = read_json(&dir.join("scenario.json"))?;
        let summary = read_json(&dir.join("summary.json"))?;
        let heads = meta["headline"].as_array().cloned().unwrap_or_default();
        let scored =
            simulate(&dir, &meta, &a.machine, None, &tmp).and_then(|t| scorer.score(&dir, &t));
        // The other cost seeds' scores (a run that fails gives no values).
        let others: Vec<Value> = (1..a.seeds.unwrap_or(0))
            .filter_map(|k| {
                simulate(&dir, &meta, &a.machine, Some(k), &tmp)
                    .and_then(|t| scorer.score(&dir, &t))
                    .ok()
            })
            .collect();
        for h in heads {
            let hn = h["name"].as_str().unwrap_or("?").to_string();
            let b = &summary["headline"][&hn];
            let band = match (b["min"].as_f64(), b["max"].as_f64()) {
                (Some(lo), Some(hi)) => Some((lo, hi)),
                _ => None,
            };
            let unit = h["unit"].as_str().unwrap_or("");
            let (sim, verdict) = match &scored {
                Err(why) => (None, Verdict::NotRun(why.clone())),
                Ok(v) => {
                    let sim = v[&hn].as_f64();
                    let ok = sim.is_some_and(|x| in_band(x, band, unit));
                    (sim, if ok { Verdict::In } else { Verdict::Out })
                }
            };
            let spread = a.seeds.and_then(|_| {
                let all: Vec<Option<f64>> = std::iter::once(sim)
                    .chain(others.iter().map(|v| v[&hn].as_f64()))
                    .collect();
                Spread::of(&all, band, unit)
            });
            let reason = (verdict == Verdict::Out).then(|| {
                reason_for(&reasons, &name, &hn)
                    .unwrap_or(NO_REASON)
                    .to_string()
            });
            rows.push(Row {
                scenario: name.clone(),
                headline: hn,
                sim,
                band,
                verdict,
                reason,
                spread,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    crate::print_out(&table(&rows, None, &a.machine, a.seeds))?;
    if let Some(p) = &a.markdown {
        // The command that regenerates the page, as given.
        let mut cmd = format!("schedsim validate {}", a.dir.display());
        if let Some(n) = a.seeds {
            cmd += &format!(" --seeds {n}");
        }
        if a.machine != REFERENCE_VM {
            cmd += &format!(" --machine \"{}\"", a.machine);
        }
        if let Some(f) = &a.analyzer {
            cmd += &format!(" --analyzer {}", f.display());
        }
        cmd += &format!(" --markdown {}", p.display());
        let md = table(&rows, Some(&cmd), &a.machine, a.seeds);
        write_atomically(p, |w| w.write_all(md.as_bytes())).map_err(|e| e.to_string())?;
    }
    let bad = rows.iter().filter(|r| r.verdict != Verdict::In).count();
    if bad > 0 {
        return Err(format!(
            "{bad} of {} headlines outside the real kernel's range",
            rows.len()
        ));
    }
    Ok(())
}

/// The result table; as Markdown (`markdown`: the command that generated it) for a page.
fn table(rows: &[Row], markdown: Option<&str>, machine: &str, seeds: Option<u32>) -> String {
    let mut o = String::new();
    // With `--seeds`: a last column, the range over the cost seeds and the runs in the band.
    let seeds_head = seeds.map_or(String::new(), |n| {
        format!(" {n} cost seeds: min – max (in band) |")
    });
    let spread = |r: &Row| {
        r.spread.as_ref().map_or(String::new(), |s| {
            format!("{:.4} – {:.4} ({} of {})", s.min, s.max, s.inside, s.runs)
        })
    };
    if let Some(cmd) = markdown {
        o.push_str(&format!(
            "# Fidelity against the real kernel\n\nGenerated by `{cmd}`: each scenario's rt-app workload run on the reference machine \
(`{machine}`, where `{REFERENCE_VM}` = `{}`, unless the scenario names a `machine`: the VM's layout and config with its kernel path costs and rt-app loop cost, docs/cost-model.md) with its setup applied, schedsim's ftrace text scored by the \
oracle's analyze.py, each headline compared with the real kernel's min – max over the scenario's \
recorded runs (three each in ../shared/oracle), \
each end moved out by 2 % of its value plus one unit of resolution.\n\n\
Every headline is listed. One outside the band carries the reason recorded for it \
(`crates/cli/src/validate/reasons.toml`), mostly the phase of the \
workload's start against the kernel's time grids, which decides tick-quantised figures: \
refvm puts the tick where the VM's runs start in the median (`tick_phase`), while the RT \
period, which the VM sets before the run, starts with the workload, and a CFS bandwidth \
period falls where its group's random offset puts it (`init_cfs_bandwidth`), as it falls \
elsewhere in each real run. What is not yet explained says so.{}\n\n\
| scenario | headline | schedsim | real min – max | verdict | reason |{seeds_head}\n|---|---|---|---|---|---|{}\n",
            schedsim_kernel::config::REFVM,
            seeds.map_or(String::new(), |n| format!(
                " The last column runs each scenario with the machine's own cost seed (0 unless its spec sets one) and \
cost seeds 1 to {} (`--seeds {n}`): schedsim's range over those runs of the cost model's \
draws, and at how many of them the headline is in the band.",
                n - 1
            )),
            if seeds.is_some() { "---|" } else { "" }
        ));
    }
    for r in rows {
        let sim = r.sim.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        let band = r
            .band
            .map_or("n/a".to_string(), |(lo, hi)| format!("{lo} – {hi}"));
        let verdict = match &r.verdict {
            Verdict::In => "in range".to_string(),
            Verdict::Out => "OUTSIDE".to_string(),
            Verdict::NotRun(why) => format!("not run: {why}"),
        };
        let reason = r.reason.as_deref().unwrap_or("");
        if markdown.is_some() {
            let last = seeds.map_or(String::new(), |_| format!(" {} |", spread(r)));
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |{last}",
                r.scenario,
                r.headline,
                sim,
                band,
                verdict.replace('|', "/"),
                reason.replace('|', "/")
            );
        } else {
            let seeds_col = seeds.map_or(String::new(), |_| format!("  {:<34}", spread(r)));
            let line = format!(
                "{:<24} {:<26} {:>12} {:>24}{seeds_col}  {:<8}  {}",
                r.scenario, r.headline, sim, band, verdict, reason
            );
            let _ = writeln!(o, "{}", line.trim_end());
        }
    }
    let ok = rows.iter().filter(|r| r.verdict == Verdict::In).count();
    let _ = writeln!(o, "\n{ok} of {} headlines in range.", rows.len());
    if let Some(n) = seeds {
        let spreads: Vec<&Spread> = rows.iter().filter_map(|r| r.spread.as_ref()).collect();
        let inside: usize = spreads.iter().map(|s| s.inside).sum();
        let runs: usize = spreads.iter().map(|s| s.runs).sum();
        let some = spreads.iter().filter(|s| s.inside > 0).count();
        let _ = writeln!(
            o,
            "Over {n} cost seeds: {inside} of {runs} headline runs in range; {some} of {} \
headlines in range at one seed or more.",
            rows.len()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the generated table (docs/fidelity.md): scenario, headline, verdict.
    fn fidelity_rows() -> Vec<(String, String, String)> {
        include_str!("../../../../docs/fidelity.md")
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| scenario"))
            .map(|l| {
                let c: Vec<&str> = l.split('|').map(str::trim).collect();
                (c[1].to_string(), c[2].to_string(), c[5].to_string())
            })
            .collect()
    }

    #[test]
    fn every_outside_row_has_a_reason() {
        let reasons = reasons().unwrap();
        let rows = fidelity_rows();
        assert!(rows.len() > 50, "docs/fidelity.md has no table?");
        for (sc, h, verdict) in &rows {
            if verdict == "OUTSIDE" {
                assert!(
                    reason_for(&reasons, sc, h).is_some(),
                    "{sc}/{h} is OUTSIDE in docs/fidelity.md with no reason in reasons.toml"
                );
            }
        }
    }

    #[test]
    fn every_reason_names_a_headline() {
        let rows = fidelity_rows();
        for (k, _) in reasons().unwrap() {
            let hit = rows.iter().any(|(sc, h, _)| {
                let key = format!("{sc}/{h}");
                match k.strip_suffix('*') {
                    Some(p) => key.starts_with(p),
                    None => k == key,
                }
            });
            assert!(
                hit,
                "reasons.toml: `{k}` matches no headline of docs/fidelity.md"
            );
        }
    }

    #[test]
    fn exact_keys_win_over_prefixes() {
        let r = vec![
            ("a/*".to_string(), "any".to_string()),
            ("a/lat*".to_string(), "lat".to_string()),
            ("a/lat p50".to_string(), "exact".to_string()),
        ];
        assert_eq!(reason_for(&r, "a", "lat p50"), Some("exact"));
        assert_eq!(reason_for(&r, "a", "lat p99"), Some("lat"));
        assert_eq!(reason_for(&r, "a", "share"), Some("any"));
        assert_eq!(reason_for(&r, "b", "share"), None);
    }
}
