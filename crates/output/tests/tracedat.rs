//! trace.dat v6 writer: our own decode of the file (always), and the real `trace-cmd report`
//! (when installed: `apt-get install -y trace-cmd`; the test is skipped without it).

mod common;

use std::process::Command;

use common::*;
use schedsim_output::ftrace::{format_record, parse_line};
use schedsim_output::{write_atomically, write_trace_dat};
use schedsim_trace::Record;

fn dat(b: &Builder, nr_cpus: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_trace_dat(&mut out, &b.bufs, nr_cpus).unwrap();
    out
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn cstr(&mut self) -> &'a str {
        let n = self.b[self.pos..].iter().position(|&c| c == 0).unwrap();
        let s = std::str::from_utf8(self.take(n)).unwrap();
        self.pos += 1;
        s
    }
    fn text64(&mut self) -> &'a str {
        let n = self.u64() as usize;
        std::str::from_utf8(self.take(n)).unwrap()
    }
}

/// Decoded data record: (cpu, absolute ts, common_type, pid, payload).
type Ev = (usize, u64, u16, i32, Vec<u8>);

/// Parses the whole file as trace-cmd's v6 reader would and returns every data record.
fn decode(file: &[u8]) -> (Vec<String>, Vec<Ev>) {
    let mut r = Reader { b: file, pos: 0 };
    assert_eq!(r.take(10), b"\x17\x08\x44tracing");
    assert_eq!(r.cstr(), "6");
    assert_eq!(r.take(2), [0, 8]);
    assert_eq!(r.u32(), 4096);
    assert_eq!(r.cstr(), "header_page");
    assert!(r
        .text64()
        .contains("\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"));
    assert_eq!(r.cstr(), "header_event");
    assert!(r.text64().starts_with("# compressed entry header\n"));
    let mut formats = Vec::new();
    for _ in 0..r.u32() {
        formats.push(r.text64().to_string());
    }
    let mut systems = Vec::new();
    for _ in 0..r.u32() {
        systems.push(r.cstr());
        for _ in 0..r.u32() {
            formats.push(r.text64().to_string());
        }
    }
    assert_eq!(systems, ["sched", "irq_vectors"]);
    let n = r.u32() as usize;
    r.take(n); // kallsyms
    let n = r.u32() as usize;
    r.take(n); // printk
    let cmdlines = r.text64();
    assert!(cmdlines.lines().all(|l| l.split_once(' ').is_some()));
    let ncpus = r.u32() as usize;
    assert_eq!(r.take(10), b"flyrecord\0");
    let mut evs = Vec::new();
    let mut end = 0;
    for cpu in 0..ncpus {
        let (off, size) = (r.u64() as usize, r.u64() as usize);
        assert_eq!(off % 4096, 0);
        assert_eq!(size % 4096, 0);
        assert!(off >= end, "CPU sections overlap");
        end = off + size;
        for page in file[off..off + size].chunks(4096) {
            let mut ts = u64::from_le_bytes(page[0..8].try_into().unwrap());
            let commit = u64::from_le_bytes(page[8..16].try_into().unwrap()) as usize;
            assert!(commit > 0 && commit <= 4080);
            let d = &page[16..16 + commit];
            let mut p = 0;
            let mut first = true;
            while p < commit {
                let h = u32::from_le_bytes(d[p..p + 4].try_into().unwrap());
                let (tl, delta) = (h & 31, (h >> 5) as u64);
                p += 4;
                if first {
                    assert_eq!(delta, 0, "first record of a page is at the page timestamp");
                    first = false;
                }
                match tl {
                    30 => {
                        let hi = u32::from_le_bytes(d[p..p + 4].try_into().unwrap()) as u64;
                        ts += hi << 27 | delta;
                        p += 4;
                        continue;
                    }
                    29 | 31 => panic!("unexpected type_len {tl}"),
                    _ => {}
                }
                ts += delta;
                let len = if tl == 0 {
                    let l = u32::from_le_bytes(d[p..p + 4].try_into().unwrap()) as usize - 4;
                    p += 4;
                    assert!(l > 112);
                    l
                } else {
                    tl as usize * 4
                };
                let pl = &d[p..p + len];
                p += len;
                let id = u16::from_le_bytes(pl[0..2].try_into().unwrap());
                let pid = i32::from_le_bytes(pl[4..8].try_into().unwrap());
                evs.push((cpu, ts, id, pid, pl.to_vec()));
            }
            assert_eq!(p, commit);
        }
    }
    assert_eq!(end, file.len(), "file ends with the last CPU's pages");
    (formats, evs)
}

fn id_of(formats: &[String], name: &str) -> u16 {
    let f = formats
        .iter()
        .find(|f| f.starts_with(&format!("name: {name}\n")))
        .unwrap();
    f.lines()
        .nth(1)
        .unwrap()
        .strip_prefix("ID: ")
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn layout_decodes_back_to_the_records() {
    let b = full_trace();
    let file = dat(&b, 3);
    assert_eq!(file, dat(&b, 3), "deterministic");
    let (formats, evs) = decode(&file);
    assert_eq!(formats.len(), 13);
    let want: Vec<(usize, &Record)> = b
        .bufs
        .cpus
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().map(move |r| (c, r)))
        .collect();
    assert_eq!(evs.len(), want.len());
    let cpu0_pages = b.bufs.cpus[0].len() * 68 / 4080;
    assert!(cpu0_pages >= 5, "the burst spans several pages");
    for ((cpu, ts, id, pid, pl), (c, rec)) in evs.iter().zip(&want) {
        assert_eq!((*cpu, *ts, *pid), (*c, rec.ts, rec.pid));
        assert_eq!(
            *id,
            id_of(
                &formats,
                if rec.event.name() == "print" {
                    "print"
                } else {
                    rec.event.name()
                }
            )
        );
        assert_eq!(pl[3], rec.flags.preempt_count);
        if let schedsim_trace::Event::Switch {
            prev_state,
            next_comm,
            ..
        } = &rec.event
        {
            assert_eq!(pl.len(), 64);
            assert_eq!(
                u64::from_le_bytes(pl[32..40].try_into().unwrap()),
                *prev_state
            );
            assert_eq!(&pl[40..56], &next_comm.raw());
        }
    }
    // Every sched format file has the common fields then the event's, 8-byte header first.
    for f in &formats {
        assert!(f.contains("\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"));
        assert!(f.contains("\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:"));
        assert!(f.contains("\n\nprint fmt: \""));
    }
}

#[test]
fn rejects_time_going_back_and_stray_cpus() {
    let mut b = analyze_scenario();
    let mut out = Vec::new();
    assert!(write_trace_dat(&mut out, &b.bufs, 1).is_err());
    assert!(out.is_empty());
    b.bufs.cpus[1][3].ts = 0;
    assert!(write_trace_dat(&mut out, &b.bufs, 2).is_err());
    assert!(out.is_empty(), "nothing written before the check");
}

/// `trace-cmd report` (the real reader, libtraceevent) prints every record with the fields
/// our ftrace text has. Install with `apt-get update && apt-get install -y trace-cmd`.
#[test]
fn trace_cmd_report_reads_every_event() {
    if Command::new("trace-cmd").arg("--version").output().is_err() {
        eprintln!("skipped: trace-cmd not installed (apt-get install -y trace-cmd)");
        return;
    }
    let b = full_trace();
    let dir = scratch("tracedat");
    let path = dir.join("trace.dat");
    write_atomically(&path, |w| write_trace_dat(w, &b.bufs, 3)).unwrap();

    let check = Command::new("trace-cmd")
        .args(["report", "--check-events", "-i"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "--check-events: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // -N: no plugins (the oracle's reports were taken so), -t: ns timestamps, -l: flags.
    let out = Command::new("trace-cmd")
        .args(["report", "-N", "-t", "-l", "-i"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "trace-cmd report failed: {stderr}");
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("error") && !lower.contains("warn") && !lower.contains("fail"),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("cpus=")).collect();
    let merged = b.bufs.merged();
    assert_eq!(lines.len(), merged.len(), "{stdout}\n{stderr}");
    for (line, rec) in lines.iter().zip(merged) {
        // trace-cmd report -l -t: "<comm>-<pid> <cpu><flags> <secs>.<nsecs>: <event>: <args>",
        // the comm from the file's cmdlines cut to 8 chars, columns padded. Ours, from the
        // same record: "[<cpu>] <flags> <secs>.<usecs>: <event>: <args>".
        let mut text = String::new();
        format_record(&mut text, rec);
        let parsed = parse_line(&text).unwrap();
        assert_eq!(parsed.pid, rec.pid);
        let flags = &text[text.find("] ").unwrap() + 2..][..5];
        let body = &text[text.find(": ").unwrap() + 2..];
        let mut want = format!(
            "{}{} {}.{:09}: ",
            rec.cpu,
            flags,
            rec.ts / SEC,
            rec.ts % SEC
        );
        if let schedsim_trace::Event::Print { .. } = rec.event {
            want.push_str("print: ");
        }
        want.push_str(body);
        let pid_tag = format!("-{} ", rec.pid);
        let at = line
            .find(&pid_tag)
            .unwrap_or_else(|| panic!("no pid in {line}"));
        let got: Vec<&str> = line[at + pid_tag.len()..].split_whitespace().collect();
        let want: Vec<&str> = want.split_whitespace().collect();
        assert_eq!(got, want, "\n got: {line}\nwant: {text}");
    }
    cleanup(dir);
}

/// An empty trace (no records on any CPU) is still a valid file for trace-cmd.
#[test]
fn trace_cmd_reads_an_empty_trace() {
    if Command::new("trace-cmd").arg("--version").output().is_err() {
        eprintln!("skipped: trace-cmd not installed (apt-get install -y trace-cmd)");
        return;
    }
    let dir = scratch("tracedat-empty");
    let path = dir.join("empty.dat");
    let bufs = schedsim_trace::TraceBuffers::new(2, true);
    write_atomically(&path, |w| write_trace_dat(w, &bufs, 2)).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() % 4096,
        0,
        "metadata padded to a page"
    );
    let out = Command::new("trace-cmd")
        .args(["report", "-N", "-i"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().filter(|l| !l.starts_with("cpus=")).count(),
        0,
        "{stdout}"
    );
    cleanup(dir);
}

/// The oracle's pipeline (`trace-cmd report -N` → analyze.py) on our trace.dat measures the
/// same as analyze.py on our ftrace text. Needs trace-cmd, python3 and ../shared.
#[test]
fn analyze_py_agrees_on_trace_cmd_report_and_text() {
    let Some(script) = shared_file("oracle/analyze.py") else {
        eprintln!("skipped: shared/oracle/analyze.py not found");
        return;
    };
    if Command::new("trace-cmd").arg("--version").output().is_err()
        || !have("python3", &["--version"])
    {
        eprintln!("skipped: trace-cmd or python3 missing");
        return;
    }
    let b = analyze_scenario();
    let dir = scratch("tracedat-analyze");
    let (dat, rep, txt) = (
        dir.join("t.dat"),
        dir.join("report.txt"),
        dir.join("trace.txt"),
    );
    write_atomically(&dat, |w| write_trace_dat(w, &b.bufs, 2)).unwrap();
    write_atomically(&txt, |w| schedsim_output::write_ftrace_text(w, &b.bufs, 2)).unwrap();
    let out = Command::new("trace-cmd")
        .args(["report", "-N", "-i"])
        .arg(&dat)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&rep, out.stdout).unwrap();
    let metrics = |p: &std::path::Path| -> serde_json::Value {
        let o = Command::new("python3")
            .arg(&script)
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("trace");
        v
    };
    let (a, t) = (metrics(&rep), metrics(&txt));
    assert_eq!(a, t);
    assert_eq!(a["tasks"]["t-0"]["share"], 0.5);
    cleanup(dir);
}
