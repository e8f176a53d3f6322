//! Streaming writers: a `FileSink` fed the records one at a time writes the same bytes as
//! the in-memory writer, atomically, and leaves nothing behind when it is not finished.

mod common;

use common::*;
use schedsim_output::{write_ftrace_text, write_perfetto, write_trace_dat, FileSink, Format};
use schedsim_trace::{Event, TraceBuffers, TraceSink};

type Writer = fn(&mut Vec<u8>, &TraceBuffers, usize) -> std::io::Result<()>;

const FORMATS: [(Format, &str, Writer); 3] = [
    (Format::Ftrace, "t.txt", |w, b, n| {
        write_ftrace_text(w, b, n)
    }),
    (Format::TraceDat, "t.dat", |w, b, n| {
        write_trace_dat(w, b, n)
    }),
    (Format::Perfetto, "t.pb", |w, b, n| write_perfetto(w, b, n)),
];

/// A trace bigger than a spool chunk on every CPU, so the spool file is used.
fn big() -> Builder {
    let mut b = analyze_scenario();
    let t = task(300, "big", 120);
    for i in 0..6_000u64 {
        for cpu in 0..2 {
            b.rec(
                cpu,
                10 * SEC + i * 1000,
                "d..2.",
                Event::Wakeup {
                    comm: t.comm,
                    pid: t.pid,
                    prio: t.prio,
                    target_cpu: cpu,
                },
            );
        }
    }
    b
}

#[test]
fn file_sinks_write_what_the_writers_write() {
    let dir = scratch("stream");
    for b in [analyze_scenario(), big(), Builder::new(2)] {
        for (format, name, write) in FORMATS {
            let path = dir.join(name);
            let mut sink = FileSink::create(format, &path, 2).unwrap();
            assert_eq!(sink.path(), path);
            for rec in b.bufs.merged() {
                sink.record(rec).unwrap();
            }
            assert_eq!(entries(&dir), Vec::<String>::new(), "nothing visible yet");
            sink.finish().unwrap();
            let mut want = Vec::new();
            write(&mut want, &b.bufs, 2).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), want, "{format:?}");
            std::fs::remove_file(&path).unwrap();
        }
    }
    cleanup(dir);
}

#[test]
fn unfinished_or_failed_sinks_leave_nothing() {
    let dir = scratch("stream-fail");
    let b = big();
    for (format, name, _) in FORMATS {
        let mut sink = FileSink::create(format, dir.join(name), 2).unwrap();
        for rec in b.bufs.merged() {
            sink.record(rec).unwrap();
        }
        drop(sink); // the run failed
        assert_eq!(entries(&dir), Vec::<String>::new(), "{format:?}");
    }
    // Records on a CPU the machine does not have: the binary formats refuse them, naming
    // the file.
    for (format, name, _) in &FORMATS[1..] {
        let path = dir.join(name);
        let mut sink = FileSink::create(*format, &path, 1).unwrap();
        let err = b
            .bufs
            .merged()
            .into_iter()
            .try_for_each(|r| sink.record(r))
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
        drop(sink);
    }
    assert_eq!(entries(&dir), Vec::<String>::new());
    // No directory for the spool: refused at once, naming the file.
    let missing = dir.join("no/such/t.txt");
    let err = FileSink::create(Format::Ftrace, &missing, 2).err().unwrap();
    assert!(err.to_string().contains("no/such/t.txt"), "{err}");
    cleanup(dir);
}
