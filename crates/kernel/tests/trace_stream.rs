//! A streamed trace (`sim::try_run_streamed`: records handed out as the event loop passes
//! their instant) is the kept trace merged at the end (`TraceBuffers::merged`), record for
//! record, and holds no record back.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use schedsim_kernel::sim::{self, SimOptions};
use schedsim_kernel::Config;
use schedsim_trace::{Record, TraceSink};

#[derive(Clone, Default)]
struct Collect(Rc<RefCell<(Vec<Record>, bool)>>);

impl TraceSink for Collect {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        let mut s = self.0.borrow_mut();
        assert!(!s.1, "record after finish");
        s.0.push(rec.clone());
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.borrow_mut().1 = true;
        Ok(())
    }
}

/// Wakeups across CPUs, forks, migrations, same-instant records on several CPUs (ticks in
/// lockstep, wakeups whose wakelist IPI lands at the same nanosecond).
const WORKLOAD: &str = r#"
duration = "300ms"

[sem]
s = 1

[[task]]
name = "hog"
count = 3
run = "7ms"

[[task]]
name = "per"
count = 4
program = ["run 150us", "sleep 1ms"]

[[task]]
name = "pp"
count = 2
program = ["run 20us", "post s", "wait s", "sleep 50us"]

[[task]]
name = "spawner"
program = [{ loop = 50, do = ["fork worker", "sleep 3ms"] }, "exit"]

[[task]]
name = "worker"
template = true
program = ["run 100us", "exit"]
"#;

#[test]
fn streamed_trace_equals_the_end_of_run_merge() {
    for machine in [
        "cpus=1,hz=250,preempt=none",
        "cpus=4,hz=1000,preempt=full",
        "cpus=8,hz=1000,preempt=lazy,ipi_latency=0",
    ] {
        let wl = || schedsim_workload::parse_toml("stream.toml", WORKLOAD).unwrap();
        let cfg = || Config::parse_machine(machine).unwrap();
        let opts = SimOptions {
            trace: true,
            ..SimOptions::default()
        };
        let kept = sim::run(wl(), cfg(), &opts, &mut ()).unwrap();
        let want: Vec<&Record> = kept.sched.trace.merged();
        assert!(want.len() > 1000, "{machine}: {} records", want.len());

        let sink = Collect::default();
        let opts = SimOptions::default(); // the sink turns tracing on
        let mut streamed =
            sim::try_run_streamed(wl(), cfg(), &opts, &mut (), Some(Box::new(sink.clone())))
                .unwrap();
        assert!(
            streamed.sched.trace.is_empty(),
            "nothing kept while streaming"
        );
        assert_eq!(streamed.sched.trace.written(), want.len() as u64);
        let before_finish = sink.0.borrow().0.len();
        streamed.sched.trace.finish().unwrap();
        let got = sink.0.borrow();
        assert!(got.1, "finished");
        assert!(
            got.0.iter().eq(want.iter().copied()),
            "{machine}: order differs"
        );
        // Each record is final as it is written (stamped with the current instant): none
        // was held back.
        assert_eq!(before_finish, want.len(), "{machine}");
    }
}
