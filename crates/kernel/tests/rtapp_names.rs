//! rt-app's thread names (`thread_data_set_unique_name` in rt-app.c): `<task>-<index>` with
//! the index counting rt-app's threads from 0 (its main thread is not one), forked threads
//! `<task>-<own index>-<nnnn>` (nnnn: threads of that task forked before), and a name of more
//! than 15 characters refused by `pthread_setname_np`, so the creator's comm stays.

mod common;

use schedsim_kernel::Config;
use schedsim_trace::Event;
use schedsim_workload::rtapp::parse_rtapp;

#[test]
fn names_as_rt_app_gives_them() {
    let w = parse_rtapp(
        "t.json",
        r#"{ "global": { "ftrace": "task" },
             "tasks": {
               "a": { "instance": 2, "loop": 1, "run": 100 },
               "b": { "loop": 1, "fork": "c", "fork1": "c", "fork2": "abcdefghijklm", "run": 100 },
               "c": { "instance": 0, "loop": 1, "run": 100 },
               "abcdefghijklm": { "instance": 0, "loop": 1, "run": 100 } } }"#,
    )
    .expect("imports");
    let cfg = Config {
        nr_cpus: 2,
        ..Config::default()
    };
    let res = common::simulate_workload(w, cfg, 1_000_000_000);
    // Each thread writes `rtapp_task: event=start` first: the comms in creation order.
    let mut comms: Vec<String> = Vec::new();
    for r in res.sched.trace.merged() {
        if let Event::Print { text } = &r.event {
            if text == "rtapp_task: event=start" {
                comms.push(r.comm.as_str().to_string());
            }
        }
    }
    comms.sort();
    let mut want = vec!["a-0", "a-1", "b-2", "c-3-0000", "c-4-0001", "b-2"];
    // "abcdefghijklm-5-0000" has 20 characters: the thread keeps its creator's comm (b-2).
    want.sort();
    assert_eq!(comms, want);
}
