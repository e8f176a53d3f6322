//! What rt-app refuses (and what would block forever) is refused, with the file, line,
//! column and key path, and rt-app's rule in the message. One test per class of bad input.

use schedsim_workload::rtapp::parse_rtapp;
use schedsim_workload::WorkloadError;

/// Import `text` as `bad.json`, expecting an error at `line:col` on `key` whose message
/// contains every `needle`.
#[track_caller]
fn refused(text: &str, line: u32, col: u32, key: &str, needles: &[&str]) -> WorkloadError {
    let e = match parse_rtapp("bad.json", text) {
        Ok(w) => panic!("accepted: {w:#?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    assert_eq!(e.file, "bad.json", "{shown}");
    assert_eq!((e.line, e.col), (line, col), "{shown}");
    assert_eq!(e.key, key, "{shown}");
    for n in needles {
        assert!(shown.contains(n), "`{n}` not in: {shown}");
    }
    let prefix = if key.is_empty() {
        format!("bad.json:{line}:{col}: ")
    } else {
        format!("bad.json:{line}:{col}: `{key}`: ")
    };
    assert!(shown.starts_with(&prefix), "{shown}");
    e
}

#[test]
fn json_syntax_error() {
    refused(
        "{\n \"tasks\": {\n  \"t\": { \"run\": 10,, }\n }\n}",
        3,
        20,
        "tasks.t",
        &["JSON syntax error"],
    );
}

#[test]
fn unknown_event_key() {
    let e = refused(
        "{ \"tasks\": { \"t\": { \"phases\": { \"p1\": {\n \"run\": 10,\n \"slep\": 5 } } } } }",
        3,
        2,
        "tasks.t.phases.p1.slep",
        &["unknown key `slep`", "rt-app would silently ignore it"],
    );
    assert!(e.hint.unwrap().contains("sleep"));
    // Unknown keys are refused in `global` and at the top level too.
    refused(
        "{ \"global\": { \"durration\": 3 }, \"tasks\": { \"t\": { \"run\": 1 } } }",
        1,
        15,
        "global.durration",
        &["unknown key"],
    );
    refused("{ \"task\": {} }", 1, 3, "task", &["unknown top-level key"]);
}

#[test]
fn wrong_event_value_type() {
    refused(
        "{ \"tasks\": { \"t\": {\n  \"run\": \"10\" } } }",
        2,
        10,
        "tasks.t.run",
        &["expects an integer", "Unknown or mismatch run event type"],
    );
    // A double is not an int for rt-app either.
    refused(
        "{ \"tasks\": { \"t\": { \"sleep0\": 1.5 } } }",
        1,
        31,
        "tasks.t.sleep0",
        &["found double 1.5"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"lock\": 3 } } }",
        1,
        29,
        "tasks.t.lock",
        &["expects a name"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"run\": -5 } } }",
        1,
        28,
        "tasks.t.run",
        &["must not be negative"],
    );
}

#[test]
fn wrong_attribute_type() {
    refused(
        "{ \"global\": { \"duration\": \"3\" }, \"tasks\": { \"t\": { \"run\": 1 } } }",
        1,
        27,
        "global.duration",
        &["Invalid type for key duration"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"cpus\": 0, \"run\": 1 } } }",
        1,
        29,
        "tasks.t.cpus",
        &["array of CPU numbers"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"priority\": \"high\", \"run\": 1 } } }",
        1,
        33,
        "tasks.t.priority",
        &["expected an integer"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"phases\": [ ] } } }",
        1,
        31,
        "tasks.t.phases",
        &["expected an object"],
    );
    refused(
        "{ \"tasks\": [ ] }",
        1,
        12,
        "tasks",
        &["expected an object"],
    );
}

#[test]
fn timer_without_period() {
    refused(
        "{ \"tasks\": { \"per\": { \"phases\": { \"p1\": {\n  \"run\": 10,\n  \"timer\": { \"ref\": \"tick\" } } } } } }",
        3,
        12,
        "tasks.per.phases.p1.timer.period",
        &["timer without `period`"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"timer\": { \"ref\": \"a\", \"period\": 1, \"mode\": \"abs\" } } } }",
        1,
        65,
        "tasks.t.timer.mode",
        &["unknown timer mode"],
    );
}

#[test]
fn fork_of_unknown_task() {
    refused(
        "{ \"tasks\": { \"t\": {\n  \"run\": 1,\n  \"fork\": \"nobody\" } } }",
        3,
        3,
        "tasks.t.fork",
        &[
            "fork of unknown task `nobody`",
            "Can't fork unknown task nobody",
        ],
    );
}

#[test]
fn wait_on_a_condition_nobody_signals() {
    let e = refused(
        "{ \"tasks\": {\n \"a\": { \"lock\": \"m\", \"wait\": { \"ref\": \"queue\", \"mutex\": \"m\" }, \"unlock\": \"m\" },\n \"b\": { \"run\": 1, \"signal\": \"qeue\" } } }",
        2,
        22,
        "tasks.a.wait",
        &["condition `queue`", "no task wakes", "block forever"],
    );
    assert!(e.hint.unwrap().contains("queue"));
}

#[test]
fn suspend_or_sem_wait_nobody_wakes() {
    refused(
        "{ \"tasks\": { \"a\": { \"run\": 1, \"suspend\": \"a\" } } }",
        1,
        31,
        "tasks.a.suspend",
        &["`suspend` on condition `a`"],
    );
    refused(
        "{ \"tasks\": { \"a\": { \"sem_post\": \"x\" }, \"b\": { \"sem_wait\": \"y\" } } }",
        1,
        47,
        "tasks.b.sem_wait",
        &["semaphore `y`", "sem_post"],
    );
}

#[test]
fn repeated_key_hides_the_waker() {
    // json-c keeps only the last `resume`: nothing resumes `x` any more.
    let e = refused(
        "{ \"tasks\": {\n \"a\": { \"suspend\": \"x\", \"run\": 1 },\n \"b\": { \"resume\": \"x\", \"run\": 1, \"resume\": \"a\" } } }",
        2,
        9,
        "tasks.a.suspend",
        &["no task wakes"],
    );
    assert!(e.hint.unwrap().contains("repeated key"));
}

#[test]
fn barrier_with_fork() {
    refused(
        "{ \"tasks\": {\n \"tmpl\": { \"instance\": 0, \"barrier\": \"B\", \"run\": 1 },\n \"main\": { \"fork\": \"tmpl\", \"barrier\": \"B\" } } }",
        2,
        27,
        "tasks.tmpl.barrier",
        &["barrier `B`", "forked", "cannot be used with fork"],
    );
}

#[test]
fn deadline_without_runtime() {
    refused(
        "{ \"tasks\": { \"dl\": {\n \"policy\": \"SCHED_DEADLINE\", \"run\": 1 } } }",
        1,
        14,
        "tasks.dl.dl-runtime",
        &["SCHED_DEADLINE without runtime"],
    );
    refused(
        "{ \"tasks\": { \"dl\": { \"policy\": \"SCHED_DEADLINE\",\n \"dl-runtime\": 5000, \"dl-deadline\": 2000, \"dl-period\": 10000, \"run\": 1 } } }",
        2,
        16,
        "tasks.dl.dl-runtime",
        &["exceeds the deadline"],
    );
    // A phase switching to SCHED_DEADLINE is checked too.
    refused(
        "{ \"tasks\": { \"t\": { \"phases\": { \"p\": { \"policy\": \"SCHED_DEADLINE\", \"run\": 1 } } } } }",
        1,
        38,
        "tasks.t.phases.p.dl-runtime",
        &["without runtime"],
    );
}

#[test]
fn invalid_policy_and_priority() {
    refused(
        "{ \"tasks\": { \"t\": { \"policy\": \"SCHED_EXT\", \"run\": 1 } } }",
        1,
        31,
        "tasks.t.policy",
        &["Invalid policy SCHED_EXT"],
    );
    refused(
        "{ \"global\": { \"default_policy\": \"FIFO\" }, \"tasks\": { \"t\": { \"run\": 1 } } }",
        1,
        33,
        "global.default_policy",
        &["Invalid policy FIFO"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"priority\": 20, \"run\": 1 } } }",
        1,
        33,
        "tasks.t.priority",
        &["Valid between -20 and 19"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"policy\": \"SCHED_FIFO\", \"priority\": 0, \"run\": 1 } } }",
        1,
        57,
        "tasks.t.priority",
        &["range 1..99", "EINVAL"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"util_min\": 2000, \"run\": 1 } } }",
        1,
        33,
        "tasks.t.util_min",
        &["(>1024)"],
    );
}

#[test]
fn uclamp_is_refused_like_on_the_reference_kernel() {
    let why = &[
        "`util_min` asks for uclamp",
        "SCHED_FLAG_UTIL_CLAMP fails with EOPNOTSUPP",
        "CONFIG_UCLAMP_TASK",
        "schedsim does not model uclamp",
    ];
    // Thread level, applied after the start barrier.
    refused(
        "{ \"tasks\": { \"t\": { \"util_min\": 512, \"run\": 1 } } }",
        1,
        33,
        "tasks.t.util_min",
        why,
    );
    // A phase of a FIFO thread (the policy the phase keeps).
    let e = refused(
        "{ \"tasks\": { \"t\": { \"policy\": \"SCHED_FIFO\", \"phases\": {\n\
         \"a\": { \"run\": 1 },\n\
         \"b\": { \"util_max\": 100, \"run\": 1 } } } } }",
        3,
        20,
        "tasks.t.phases.b.util_max",
        &["`util_max` asks for uclamp", "EOPNOTSUPP"],
    );
    assert!(e.to_string().contains("SCHED_DEADLINE"), "{e}");
    // rt-app does not apply uclamp to SCHED_DEADLINE threads; -1 is "no change".
    for ok in [
        "{ \"tasks\": { \"t\": { \"policy\": \"SCHED_DEADLINE\", \"dl-runtime\": 1000, \
         \"dl-period\": 10000, \"util_min\": 512, \"run\": 1 } } }",
        "{ \"tasks\": { \"t\": { \"util_min\": -1, \"util_max\": -1, \"run\": 1 } } }",
    ] {
        parse_rtapp("ok.json", ok).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn taskgroup_rules() {
    refused(
        "{ \"tasks\": { \"t\": { \"taskgroup\": \"g\", \"run\": 1 } } }",
        1,
        34,
        "tasks.t.taskgroup",
        &["has to start with [/]"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"policy\": \"SCHED_FIFO\",\n \"taskgroup\": \"/g\", \"run\": 1 } } }",
        2,
        15,
        "tasks.t.taskgroup",
        &["no taskgroup support for policy SCHED_FIFO"],
    );
    // Found while walking the phases, as rt-app does.
    refused(
        "{ \"tasks\": { \"t\": { \"taskgroup\": \"/g\", \"phases\": {\n \"a\": { \"run\": 1 },\n \"b\": { \"policy\": \"SCHED_RR\", \"run\": 1 } } } } }",
        1,
        34,
        "tasks.t.taskgroup",
        &["SCHED_RR"],
    );
    let many: Vec<String> = (0..33)
        .map(|i| format!("\"t{i}\": {{ \"taskgroup\": \"/g{i}\", \"run\": 1 }}"))
        .collect();
    let text = format!("{{ \"tasks\": {{ {} }} }}", many.join(", "));
    let e = parse_rtapp("bad.json", &text).unwrap_err();
    assert!(e.message.contains("more than 32 taskgroups"), "{e}");
    assert_eq!(e.key, "tasks.t32");
}

#[test]
fn phase_without_events() {
    refused(
        "{ \"tasks\": { \"t\": { \"phases\": {\n \"p1\": { \"loop\": 3 } } } } }",
        2,
        8,
        "tasks.t.phases.p1",
        &["No events found. Task must have events or it's useless"],
    );
    // The old grammar: refused for the same reason, with a pointer to what it is.
    let e = refused(
        "{ \"tasks\": { \"t\": { \"exec\": 10, \"period\": 100 } } }",
        1,
        19,
        "tasks.t",
        &["No events found"],
    );
    assert!(e.hint.unwrap().contains("pre-1.0"));
}

#[test]
fn missing_or_empty_tasks() {
    refused("{ \"global\": { } }", 1, 1, "tasks", &["no `tasks` object"]);
    refused("{ \"tasks\": { } }", 1, 12, "tasks", &["empty"]);
    refused("[1, 2]", 1, 1, "", &["must be one JSON object"]);
}

#[test]
fn event_outside_phases() {
    refused(
        "{ \"tasks\": { \"t\": { \"run\": 5, \"phases\": { \"p\": { \"sleep\": 1 } } } } }",
        1,
        21,
        "tasks.t.run",
        &[
            "directly in a thread that has `phases`",
            "rt-app ignores it",
        ],
    );
}

#[test]
fn bad_values_of_thread_keys() {
    refused(
        "{ \"tasks\": { \"t\": { \"cpus\": [], \"run\": 1 } } }",
        1,
        29,
        "tasks.t.cpus",
        &["empty `cpus`"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"cpus\": [0, -1], \"run\": 1 } } }",
        1,
        33,
        "tasks.t.cpus[1]",
        &["must not be negative"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"instance\": -1, \"run\": 1 } } }",
        1,
        33,
        "tasks.t.instance",
        &["Invalid num_instances value: -1"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"delay\": -10, \"run\": 1 } } }",
        1,
        30,
        "tasks.t.delay",
        &["must not be negative"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"phases\": { \"p\": { \"period\": 10, \"run\": 1 } } } } }",
        1,
        40,
        "tasks.t.phases.p.period",
        &["unknown key `period`"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"run\": 3000000000 } } }",
        1,
        28,
        "tasks.t.run",
        &["32-bit int"],
    );
}

#[test]
fn bad_global_values() {
    refused(
        "{ \"global\": { \"ftrace\": \"main,loops\" }, \"tasks\": { \"t\": { \"run\": 1 } } }",
        1,
        25,
        "global.ftrace",
        &["Invalid ftrace categories"],
    );
    refused(
        "{ \"global\": { \"calibration\": \"GPU0\" }, \"tasks\": { \"t\": { \"run\": 1 } } }",
        1,
        30,
        "global.calibration",
        &["Invalid calibration"],
    );
    refused(
        "{ \"global\": { \"mem_buffer_size\": 0 }, \"tasks\": { \"t\": { \"mem\": 100 } } }",
        1,
        34,
        "global.mem_buffer_size",
        &["positive mem_buffer_size"],
    );
}

#[test]
fn malformed_event_objects() {
    refused(
        "{ \"tasks\": { \"t\": { \"wait\": \"c\", \"signal\": \"c\" } } }",
        1,
        29,
        "tasks.t.wait",
        &["expects an object with ref, mutex"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"wait\": { \"mutex\": \"m\" }, \"signal\": \"c\" } } }",
        1,
        29,
        "tasks.t.wait.ref",
        &["without `ref`"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"timer\": { \"period\": 10, \"phase\": 2 } } } }",
        1,
        46,
        "tasks.t.timer.phase",
        &["unknown key `phase` in `timer`"],
    );
    refused(
        "{ \"tasks\": { \"t\": { \"memrun\": { \"count\": 2 } } } }",
        1,
        31,
        "tasks.t.memrun.size",
        &["without `size`"],
    );
}
