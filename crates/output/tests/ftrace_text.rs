//! ftrace text writer against the real /sys/kernel/tracing/trace of the reference VM, and
//! against the scorer (analyze.py) that must read our text like the kernel's.

mod common;

use std::process::Command;

use common::*;
use schedsim_output::ftrace::{format_record, parse_line};
use schedsim_output::write_ftrace_text;
use schedsim_trace::TraceBuffers;

/// Lines copied from shared/oracle/raw-trace-sample.txt (Linux 6.18, 2 vCPUs): every event
/// type it has, every flag combination, `<idle>`, a comm with '-' and digits, an RT prio.
const SAMPLE: &str = "
            bash-27452   [001] .....  3535.805125: sched_process_fork: comm=bash pid=27452 child_comm=bash child_pid=27454
            bash-27452   [001] d..2.  3535.805145: sched_wakeup_new: comm=bash pid=27454 prio=120 target_cpu=001
            bash-27452   [001] d..2.  3535.805214: sched_switch: prev_comm=bash prev_pid=27452 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=27454 next_prio=120
          <idle>-0       [000] d..2.  3535.805715: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=27455 next_prio=120
              sh-27455   [000] d..2.  3535.805918: sched_switch: prev_comm=bash prev_pid=27455 prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 next_prio=120
          <idle>-0       [001] d.s4.  3535.806052: sched_waking: comm=bash pid=27455 prio=120 target_cpu=000
          <idle>-0       [001] d.s4.  3535.806053: sched_migrate_task: comm=bash pid=27455 prio=120 orig_cpu=0 dest_cpu=1
          <idle>-0       [001] dNs5.  3535.806056: sched_wakeup: comm=bash pid=27455 prio=120 target_cpu=001
              sh-27455   [001] dN.5.  3535.807129: sched_wakeup: comm=migration/1 pid=21 prio=0 target_cpu=001
     migration/1-21      [001] d..4.  3535.807137: sched_migrate_task: comm=taskset pid=27455 prio=120 orig_cpu=1 dest_cpu=0
          <idle>-0       [000] dNh2.  3535.807153: sched_wakeup: comm=taskset pid=27455 prio=120 target_cpu=000
              sh-27456   [000] dNs3.  3535.811697: sched_waking: comm=rcu_preempt pid=15 prio=120 target_cpu=001
          <idle>-0       [001] dNH4.  3535.811710: sched_wakeup: comm=rcu_preempt pid=15 prio=120 target_cpu=001
     rcu_preempt-15      [001] d..2.  3535.811729: sched_switch: prev_comm=rcu_preempt prev_pid=15 prev_prio=120 prev_state=I ==> next_comm=swapper/1 next_pid=0 next_prio=120
              sh-27458   [000] d.h2.  3535.842958: sched_waking: comm=memfd:sealed-91 pid=1428 prio=120 target_cpu=000
 memfd:sealed-91-1428    [001] d..2.  3535.843043: sched_switch: prev_comm=memfd:sealed-91 prev_pid=1428 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
              sh-27456   [000] .....  3535.882118: sched_process_exit: comm=sh pid=27456 prio=120 group_dead=true
              sh-27456   [000] d..2.  3535.882259: sched_switch: prev_comm=sh prev_pid=27456 prev_prio=120 prev_state=Z ==> next_comm=sh next_pid=27457 next_prio=120
              sh-27459   [001] d..2.  3535.889482: sched_switch: prev_comm=taskset prev_pid=27459 prev_prio=89 prev_state=D ==> next_comm=migration/1 next_pid=21 next_prio=0
              sh-27459   [000] d.s3.  3535.891700: sched_waking: comm=rcu_preempt pid=15 prio=120 target_cpu=001
          <idle>-0       [001] d.h3.  3535.893092: sched_waking: comm=memfd:sealed-91 pid=1428 prio=120 target_cpu=001
          <idle>-0       [000] ..s1.  3535.903709: sched_process_free: comm=sh pid=27456 prio=120
          <idle>-0       [000] .Ns1.  3535.903741: sched_process_free: comm=sh pid=27457 prio=120
           sleep-27454   [001] dN.6.  3535.908384: sched_wakeup: comm=bash pid=27452 prio=120 target_cpu=001
";

/// Lines the sample lacks, laid out by the kernel's formats (built with the C format
/// strings of trace_print_context): R+ (trace-cmd report of the oracle runs
/// shows `prev_state=R+`), a trace_marker write (`trace_print_print`), pi_setprio.
const EXTRA: &str = "
      rt-app-git-20898   [001] d..2.  2791.015591: sched_switch: prev_comm=python3 prev_pid=20898 prev_prio=120 prev_state=R+ ==> next_comm=python3 next_pid=20897 next_prio=120
            n0-0-20899   [001] .....  2791.017304: tracing_mark_write: rtapp_main: event=clock_ref data=2790981356
            n0-0-20899   [001] d..2.  2791.017305: sched_pi_setprio: comm=n0-0 pid=20899 oldprio=120 newprio=98
";

fn render(line: &str) -> String {
    let rec = parse_line(line).unwrap_or_else(|| panic!("unparsed: {line}"));
    let mut out = String::new();
    format_record(&mut out, &rec);
    out
}

#[test]
fn sample_lines_rerender_byte_for_byte() {
    for line in SAMPLE
        .lines()
        .chain(EXTRA.lines())
        .filter(|l| !l.is_empty())
    {
        assert_eq!(render(line), format!("{line}\n"));
    }
}

#[test]
fn whole_raw_sample_file_rerenders_identically() {
    let Some(path) = shared_file("oracle/raw-trace-sample.txt") else {
        eprintln!("skipped: shared/oracle/raw-trace-sample.txt not found");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut bufs = TraceBuffers::new(2, true);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        bufs.push(parse_line(line).unwrap_or_else(|| panic!("unparsed: {line}")));
    }
    let mut out = Vec::new();
    write_ftrace_text(&mut out, &bufs, 2).unwrap();
    let out = String::from_utf8(out).unwrap();
    for (i, (a, b)) in out.lines().zip(text.lines()).enumerate() {
        assert_eq!(a, b, "line {}", i + 1);
    }
    assert_eq!(out, text);
}

#[test]
fn header_and_empty_trace() {
    let bufs = TraceBuffers::new(4, true);
    let mut out = Vec::new();
    write_ftrace_text(&mut out, &bufs, 4).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:4\n#\n")
    );
    assert_eq!(out.lines().count(), 12);
    assert!(out.ends_with("#              | |         |   |||||     |         |\n"));
}

#[test]
fn deterministic_and_merged_by_time() {
    let b = full_trace();
    let mut a = Vec::new();
    let mut c = Vec::new();
    write_ftrace_text(&mut a, &b.bufs, 3).unwrap();
    write_ftrace_text(&mut c, &b.bufs.clone(), 3).unwrap();
    assert_eq!(a, c);
    let text = String::from_utf8(a).unwrap();
    let n = b.bufs.len();
    assert!(text.contains(&format!(
        "entries-in-buffer/entries-written: {n}/{n}   #P:3\n"
    )));
    let recs: Vec<_> = text.lines().filter_map(parse_line).collect();
    assert_eq!(recs.len(), n);
    assert!(recs.windows(2).all(|w| w[0].ts <= w[1].ts));
    // Every line round-trips through the parser (except the sub-µs part of timestamps).
    for (line, rec) in text.lines().filter(|l| !l.starts_with('#')).zip(&recs) {
        let mut again = String::new();
        format_record(&mut again, rec);
        assert_eq!(again, format!("{line}\n"));
    }
    assert!(text.contains("   Web Content-1-301     [000] "), "{text}");
    assert!(text.contains(": tracing_mark_write: rtapp_task: long marker xxx"));
    assert!(text.contains("prev_state=R+ ==> "));
    assert!(text.contains("prev_state=X ==> "));
    assert!(text.contains(" group_dead=false\n"));
    assert!(text.contains("sched_pi_setprio: comm=sh pid=300 oldprio=120 newprio=89\n"));
}

/// analyze.py (shared/oracle) on a small trace from the writer: the metrics it reports are
/// the ones the synthetic schedule was built to have. Needs python3 and ../shared; skipped
/// otherwise.
#[test]
fn analyze_py_measures_our_text() {
    let Some(script) = shared_file("oracle/analyze.py") else {
        eprintln!("skipped: shared/oracle/analyze.py not found");
        return;
    };
    if !have("python3", &["--version"]) {
        eprintln!("skipped: python3 not found");
        return;
    }
    let dir = scratch("analyze");
    let trace = dir.join("sim.txt");
    let json = dir.join("metrics.json");
    let b = analyze_scenario();
    schedsim_output::write_atomically(&trace, |w| write_ftrace_text(w, &b.bufs, 2)).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&trace)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol;

    assert_eq!(m["window"]["source"], "markers");
    assert!(close(f(&m["window"]["start"]), 1.0, 1e-9));
    assert!(
        close(f(&m["window"]["len_s"]), 0.096, 1e-9),
        "{}",
        m["window"]
    );
    for name in ["t-0", "t-1"] {
        let t = &m["tasks"][name];
        assert!(close(f(&t["share"]), 0.5, 1e-4), "{name}: {t}");
        assert_eq!(t["nr_invol"], 12, "{name}: {t}");
        assert_eq!(t["nr_vol"], 0, "{name}: {t}");
        assert_eq!(t["slices_us"]["n"], 12, "{name}: {t}");
        assert!(close(f(&t["slices_us"]["p50"]), 4000.0, 0.1), "{name}: {t}");
        assert!(
            close(f(&t["preempt_wait_us"]["p50"]), 4000.0, 0.1),
            "{name}: {t}"
        );
    }
    let g = &m["groups"]["t"];
    assert_eq!(g["threads"], 2);
    assert!(close(f(&g["share"]), 1.0, 1e-4), "{g}");
    let w = &m["tasks"]["w-0"];
    assert!(close(f(&w["share"]), 0.010 / 0.096, 1e-4), "{w}");
    assert_eq!(w["slices_us"]["n"], 10, "{w}");
    assert!(close(f(&w["slices_us"]["p50"]), 1000.0, 0.1), "{w}");
    assert_eq!(w["wakeup_lat_us"]["n"], 10, "{w}");
    assert!(close(f(&w["wakeup_lat_us"]["p50"]), 50.0, 0.1), "{w}");
    assert!(
        close(f(&w["wakeup_lat_from_wakeup_us"]["p50"]), 47.0, 0.1),
        "{w}"
    );
    assert_eq!(w["migrations"], 1, "{w}");
    assert_eq!(w["cpu_changes"], 0, "{w}");
    assert_eq!(w["nr_vol"], 10, "{w}");
    assert_eq!(m["reconstructed_switch_ins_total"], 0);
    assert!(
        close(f(&m["cpus"]["0"]["idle_frac"]), 0.0, 1e-4),
        "{}",
        m["cpus"]
    );
    cleanup(dir);
}
