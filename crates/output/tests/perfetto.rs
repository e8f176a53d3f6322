//! Perfetto writer: decoded by our own wire decoder (always) and by protobuf with Perfetto's
//! real schema (tests/perfetto_check.py; needs `pip install protobuf perfetto`, skipped
//! without python3/protobuf).

mod common;

use std::process::Command;

use common::*;
use schedsim_output::perfetto::proto::{decode, Value};
use schedsim_output::{ftrace::common_flags, write_atomically, write_perfetto};
use schedsim_trace::{Event, Record};
use serde_json::{json, Value as J};

fn pftrace(b: &Builder, nr_cpus: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_perfetto(&mut out, &b.bufs, nr_cpus).unwrap();
    out
}

/// The FtraceEvent oneof field name and body fields we expect for a record.
fn expected(rec: &Record) -> (&'static str, J) {
    match &rec.event {
        Event::Switch {
            prev_comm,
            prev_pid,
            prev_prio,
            prev_state,
            next_comm,
            next_pid,
            next_prio,
        } => (
            "sched_switch",
            json!({"prev_comm": prev_comm.as_str(), "prev_pid": prev_pid, "prev_prio": prev_prio,
                   "prev_state": prev_state, "next_comm": next_comm.as_str(), "next_pid": next_pid,
                   "next_prio": next_prio}),
        ),
        Event::Waking {
            comm,
            pid,
            prio,
            target_cpu,
        }
        | Event::Wakeup {
            comm,
            pid,
            prio,
            target_cpu,
        }
        | Event::WakeupNew {
            comm,
            pid,
            prio,
            target_cpu,
        } => (
            rec.event.name(),
            json!({"comm": comm.as_str(), "pid": pid, "prio": prio, "success": 1, "target_cpu": target_cpu}),
        ),
        Event::MigrateTask {
            comm,
            pid,
            prio,
            orig_cpu,
            dest_cpu,
        } => (
            "sched_migrate_task",
            json!({"comm": comm.as_str(), "pid": pid, "prio": prio, "orig_cpu": orig_cpu, "dest_cpu": dest_cpu}),
        ),
        Event::ProcessFork {
            parent_comm,
            parent_pid,
            child_comm,
            child_pid,
        } => (
            "sched_process_fork",
            json!({"parent_comm": parent_comm.as_str(), "parent_pid": parent_pid,
                   "child_comm": child_comm.as_str(), "child_pid": child_pid}),
        ),
        Event::ProcessExit {
            comm, pid, prio, ..
        } => (
            "sched_process_exit",
            json!({"comm": comm.as_str(), "pid": pid, "prio": prio}),
        ),
        Event::ProcessFree { comm, pid, prio } => (
            "sched_process_free",
            json!({"comm": comm.as_str(), "pid": pid, "prio": prio}),
        ),
        Event::PiSetprio {
            comm,
            pid,
            oldprio,
            newprio,
        } => (
            "sched_pi_setprio",
            json!({"comm": comm.as_str(), "pid": pid, "oldprio": oldprio, "newprio": newprio}),
        ),
        Event::Print { text } => ("print", json!({"ip": 0, "buf": format!("{text}\n")})),
        Event::IrqEntry(v) => (
            "generic",
            json!({"event_name": v.entry_name(), "field": [{"name": "vector", "int_value": v.vector()}]}),
        ),
    }
}

fn records_in_file_order(b: &Builder) -> Vec<&Record> {
    b.bufs.cpus.iter().flatten().collect()
}

#[test]
fn own_decoder_reads_back_every_record() {
    let b = full_trace();
    let file = pftrace(&b, 3);
    assert_eq!(file, pftrace(&b, 3), "deterministic");
    let top = decode(&file).unwrap();
    assert!(top.iter().all(|(f, _)| *f == 1), "Trace has only packet=1");
    let pkt = |i: usize| match top[i].1 {
        Value::Bytes(b) => decode(b).unwrap(),
        _ => panic!(),
    };
    assert_eq!(pkt(0)[0].0, 45, "SystemInfo first");
    assert_eq!(pkt(1)[0].0, 2, "ProcessTree second");
    let mut got = Vec::new();
    for i in 2..top.len() {
        let p = pkt(i);
        let Value::Bytes(bundle) = p[0].1 else {
            panic!()
        };
        assert_eq!(p[0].0, 1);
        assert_eq!(p[1], (10, Value::Varint(1)));
        let bundle = decode(bundle).unwrap();
        let (1, Value::Varint(cpu)) = bundle[0] else {
            panic!()
        };
        assert!(bundle.len() - 1 <= schedsim_output::perfetto::BUNDLE_EVENTS);
        for (f, ev) in &bundle[1..] {
            assert_eq!(*f, 2);
            let Value::Bytes(ev) = ev else { panic!() };
            let ev = decode(ev).unwrap();
            let v = |i: usize| match ev[i].1 {
                Value::Varint(x) => x,
                _ => panic!(),
            };
            got.push((cpu, v(0), v(1) as i32, v(2), ev[3].0));
        }
    }
    let want: Vec<_> = b
        .bufs
        .cpus
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().map(move |r| (c as u64, r)))
        .map(|(c, r)| {
            let field = match r.event {
                Event::Switch { .. } => 4,
                Event::Waking { .. } => 20,
                Event::Wakeup { .. } => 17,
                Event::WakeupNew { .. } => 114,
                Event::MigrateTask { .. } => 491,
                Event::ProcessFork { .. } => 239,
                Event::ProcessExit { .. } => 238,
                Event::ProcessFree { .. } => 240,
                Event::PiSetprio { .. } => 353,
                Event::Print { .. } => 3,
                Event::IrqEntry(_) => 327,
            };
            (c, r.ts, r.pid, common_flags(&r.flags) as u64, field)
        })
        .collect();
    assert_eq!(got, want);
}

fn run_check(path: &std::path::Path, force_hand: bool) -> Option<J> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/perfetto_check.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(path);
    if force_hand {
        cmd.env("PYTHONPATH", "/nonexistent")
            .env("SCHEDSIM_NO_PERFETTO_PKG", "1");
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(_) => {
            eprintln!("skipped: python3 not found");
            return None;
        }
    };
    if out.status.code() == Some(77) {
        eprintln!("skipped: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(
        out.status.success(),
        "perfetto_check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// protobuf's own parser with Perfetto's schema sees exactly our records, and no field
/// number or wire type it does not know.
#[test]
fn protobuf_with_perfetto_schema_decodes_the_trace() {
    let b = full_trace();
    let dir = scratch("perfetto");
    let path = dir.join("trace.pftrace");
    write_atomically(&path, |w| write_perfetto(w, &b.bufs, 3)).unwrap();
    for force_hand in [false, true] {
        let Some(m) = run_check(&path, force_hand) else {
            return;
        };
        if force_hand {
            assert_eq!(m["schema"], "hand-built");
        } else if m["schema"] != "perfetto-package" {
            eprintln!(
                "note: PyPI perfetto package absent, checked with the hand-built schema only"
            );
        }
        assert_eq!(m["unknown_fields"], 0, "{}", m["schema"]);
        assert_eq!(m["utsname"]["sysname"], "Linux");
        assert_eq!(
            m["utsname"]["release"],
            schedsim_output::perfetto::UTS_RELEASE
        );
        assert_eq!(m["num_cpus"], 3);
        assert!(m["seq_ids"].as_array().unwrap().iter().all(|s| s == 1));
        let procs = m["processes"].as_array().unwrap();
        assert!(
            procs.contains(&json!([301, 300, ["Web Content-1"]])),
            "{procs:?}"
        );
        assert!(procs.contains(&json!([101, 0, ["t-0"]])), "{procs:?}");
        let evs = m["events"].as_array().unwrap();
        let recs = records_in_file_order(&b);
        assert_eq!(evs.len(), recs.len());
        for (e, r) in evs.iter().zip(recs) {
            let (name, fields) = expected(r);
            let want = json!([r.cpu, r.ts, r.pid, common_flags(&r.flags), name, fields]);
            assert_eq!(e, &want, "{}", m["schema"]);
        }
    }
    cleanup(dir);
}
