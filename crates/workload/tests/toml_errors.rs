//! One test per class of bad input: the error must name the file, the line (and column)
//! and the key path, say what is wrong, and hint at the fix.

use schedsim_workload::*;

/// Parse `text` as bad.toml, expecting an error at `line:col` on `key`, whose message
/// contains `msg` and whose hint contains `hint`.
#[track_caller]
fn expect(text: &str, line: u32, col: u32, key: &str, msg: &str, hint: &str) -> WorkloadError {
    let e = match parse_toml("bad.toml", text) {
        Ok(w) => panic!("parsed, expected an error: {w:#?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    // Visible with --nocapture, to review the messages as a user sees them.
    eprintln!("{shown}\n");
    assert!(
        shown.starts_with(&format!("bad.toml:{line}:{col}: ")),
        "wrong place in: {shown}"
    );
    if !key.is_empty() {
        assert!(
            shown.contains(&format!("`{key}`")),
            "key `{key}` missing in: {shown}"
        );
    }
    assert_eq!(e.key, key, "{shown}");
    assert!(e.message.contains(msg), "message lacks {msg:?}: {shown}");
    // Every error says how to fix it.
    let h = e.hint.clone().unwrap_or_else(|| panic!("no hint: {shown}"));
    assert!(h.contains(hint), "hint lacks {hint:?}: {shown}");
    e
}

const HOG: &str = "[[task]]\nname = \"hog\"\nrun = \"10ms\"\n";

#[test]
fn toml_syntax_error() {
    expect("[[task]]\nname = hog\n", 2, 8, "", "invalid TOML", "quotes");
}

#[test]
fn unknown_key_near_miss() {
    expect(
        "[[task]]\nname = \"hog\"\nnise = 5\nrun = \"10ms\"\n",
        3,
        1,
        "task[0].nise",
        "unknown key `nise`",
        "did you mean `nice`?",
    );
    // A synonym from another tool.
    expect(
        "[[task]]\nname = \"x\"\npolicy = \"fifo\"\nprio = 5\nrun = \"1ms\"\n",
        4,
        1,
        "task[0].prio",
        "unknown key",
        "did you mean `priority`?",
    );
    expect(
        &format!("durration = \"1s\"\n{HOG}"),
        1,
        1,
        "durration",
        "unknown key",
        "`duration`",
    );
    // Far from everything: list what is accepted.
    expect(
        &format!("zzzzzz = 1\n{HOG}"),
        1,
        1,
        "zzzzzz",
        "unknown key",
        "accepted keys here: duration, task",
    );
    // Inside a loop table.
    expect(
        "[[task]]\nname = \"l\"\nprogram = [{ loop = 2, doo = [\"run 1ms\"] }]\n",
        3,
        24,
        "task[0].program[0].doo",
        "unknown key",
        "did you mean `do`?",
    );
}

#[test]
fn wrong_type() {
    expect(
        "[[task]]\nname = \"a\"\nnice = \"5\"\nrun = \"1ms\"\n",
        3,
        8,
        "task[0].nice",
        "expected an integer",
        "",
    );
    expect(
        "[[task]]\nname = 3\nrun = \"1ms\"\n",
        2,
        8,
        "task[0].name",
        "expected a task name string, found an integer",
        "",
    );
    expect(
        "[[task]]\nname = \"a\"\naffinity = true\nrun = \"1ms\"\n",
        3,
        12,
        "task[0].affinity",
        "found a boolean",
        "[0, 1]",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", 5]\n",
        3,
        23,
        "task[0].program[1]",
        "expected a step, found an integer",
        "\"run 2ms\"",
    );
    expect(
        "[[task]]\nname = \"a\"\ntemplate = 1\nrun = \"1ms\"\n",
        3,
        12,
        "task[0].template",
        "expected true or false",
        "",
    );
    expect(
        &format!("{HOG}[sysctl]\n\"kernel.x\" = 1.5\n"),
        5,
        14,
        "sysctl.\"kernel.x\"",
        "found a float",
        "950000",
    );
}

#[test]
fn bare_number_duration() {
    expect(
        "[[task]]\nname = \"a\"\nrun = 10\n",
        3,
        7,
        "task[0].run",
        "expected a duration string",
        "\"10ms\"",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"sleep 10\"]\n",
        3,
        19,
        "task[0].program[0]",
        "`10` has no unit",
        "\"10ms\"",
    );
}

#[test]
fn negative_duration() {
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"sleep -1ms\"]\n",
        3,
        19,
        "task[0].program[0]",
        "cannot be negative",
        "ns, us",
    );
    expect(
        "duration = \"-5s\"\n[[task]]\nname = \"a\"\nrun = \"1ms\"\n",
        1,
        13,
        "duration",
        "negative",
        "units",
    );
}

#[test]
fn malformed_duration() {
    // The column points at the unit inside the string.
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 2xs\"]\n",
        3,
        18,
        "task[0].program[0]",
        "unknown unit `xs`",
        "accepted units",
    );
    expect(
        "[[task]]\nname = \"a\"\nrun = \"fast\"\n",
        3,
        8,
        "task[0].run",
        "not a duration",
        "accepted units",
    );
    expect(
        "[[task]]\nname = \"a\"\nrun = \"unifrom(1ms, 2ms)\"\n",
        3,
        8,
        "task[0].run",
        "unknown distribution",
        "did you mean `uniform`?",
    );
    expect(
        "[[task]]\nname = \"a\"\nrun = \"uniform(3ms, 1ms)\"\n",
        3,
        15,
        "task[0].run",
        "lo <= hi",
        "smaller",
    );
    expect(
        "[[task]]\nname = \"a\"\ndelay = \"exp(1ms)\"\nrun = \"1ms\"\n",
        3,
        10,
        "task[0].delay",
        "fixed duration",
        "random",
    );
    expect(
        "[[task]]\nname = \"a\"\nrun = \"1.5ns\"\n",
        3,
        8,
        "task[0].run",
        "whole number of nanoseconds",
        "1ns",
    );
}

#[test]
fn nice_out_of_range() {
    expect(
        "[[task]]\nname = \"a\"\nnice = 20\nrun = \"1ms\"\n",
        3,
        8,
        "task[0].nice",
        "20 is out of range",
        "-20..=19",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"nice -21\"]\n",
        3,
        29,
        "task[0].program[1]",
        "not a nice value",
        "-20..=19",
    );
    // nice on an RT task is a likely mix-up.
    expect(
        "[[task]]\nname = \"a\"\npolicy = \"fifo\"\npriority = 5\nnice = 1\nrun = \"1ms\"\n",
        5,
        1,
        "task[0].nice",
        "does not apply to policy SCHED_FIFO",
        "normal, batch",
    );
}

#[test]
fn rt_priority_out_of_range() {
    expect(
        "[[task]]\nname = \"a\"\npolicy = \"rr\"\npriority = 100\nrun = \"1ms\"\n",
        4,
        12,
        "task[0].priority",
        "100 is out of range",
        "1..=99",
    );
    expect(
        "[[task]]\nname = \"a\"\npolicy = \"rr\"\npriority = 0\nrun = \"1ms\"\n",
        4,
        12,
        "task[0].priority",
        "out of range",
        "1..=99",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"policy fifo 0\"]\n",
        3,
        36,
        "task[0].program[1]",
        "not a real-time priority",
        "1..=99",
    );
    expect(
        "[[task]]\nname = \"a\"\npolicy = \"fifo\"\nrun = \"1ms\"\n",
        3,
        10,
        "task[0].policy",
        "needs a priority",
        "priority = 1..=99",
    );
    expect(
        "[[task]]\nname = \"a\"\npriority = 5\nrun = \"1ms\"\n",
        3,
        1,
        "task[0].priority",
        "does not apply to policy SCHED_OTHER",
        "fifo and rr",
    );
}

#[test]
fn unknown_policy() {
    expect(
        "[[task]]\nname = \"a\"\npolicy = \"fifp\"\nrun = \"1ms\"\n",
        3,
        10,
        "task[0].policy",
        "unknown policy `fifp`",
        "did you mean `fifo`?",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"policy realtime 5\"]\n",
        3,
        31,
        "task[0].program[1]",
        "unknown policy `realtime`",
        "policies: normal",
    );
}

#[test]
fn bad_deadline_parameters() {
    expect(
        "[[task]]\nname = \"d\"\npolicy = \"deadline\"\nruntime = \"5ms\"\ndeadline = \"2ms\"\nrun = \"1ms\"\n",
        3, 10, "task[0].policy", "runtime <= deadline <= period", "",
    );
    expect(
        "[[task]]\nname = \"d\"\npolicy = \"deadline\"\nrun = \"1ms\"\n",
        3,
        10,
        "task[0].policy",
        "needs a runtime and a deadline",
        "runtime = ",
    );
    expect(
        "[[task]]\nname = \"d\"\nperiod = \"5ms\"\nrun = \"1ms\"\n",
        3,
        1,
        "task[0].period",
        "does not apply",
        "deadline tasks",
    );
    expect(
        "[[task]]\nname = \"d\"\nruntime = \"5ms\"\nrun = \"1ms\"\n",
        3,
        1,
        "task[0].runtime",
        "does not apply",
        "`slice`",
    );
}

#[test]
fn fork_of_unknown_template() {
    expect(
        "[[task]]\nname = \"worker\"\ntemplate = true\nprogram = [\"run 1ms\", \"exit\"]\n[[task]]\nname = \"p\"\nprogram = [\"fork wroker\", \"sleep 1ms\"]\n",
        7, 18, "task[1].program[0]", "no task named `wroker`", "did you mean `worker`?",
    );
    expect(
        &format!("{HOG}[[task]]\nname = \"p\"\nprogram = [\"resume nobody\", \"sleep 1ms\"]\n"),
        6,
        20,
        "task[1].program[0]",
        "no task named `nobody`",
        "template = true",
    );
}

#[test]
fn unknown_step_verb() {
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"slep 1ms\"]\n",
        3,
        24,
        "task[0].program[1]",
        "unknown step `slep`",
        "did you mean `sleep`?",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"frobnicate\"]\n",
        3,
        24,
        "task[0].program[1]",
        "unknown step",
        "steps: run, runwall",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"  \"]\n",
        3,
        23,
        "task[0].program[1]",
        "empty step",
        "\"run 2ms\"",
    );
}

#[test]
fn step_arguments() {
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"post\"]\n",
        3,
        24,
        "task[0].program[1]",
        "missing an argument",
        "post NAME",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"yield now\"]\n",
        3,
        30,
        "task[0].program[1]",
        "too many arguments",
        "yield",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run\"]\n",
        3,
        13,
        "task[0].program[0]",
        "needs a duration",
        "run 2ms",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"timer 0ms\"]\n",
        3,
        30,
        "task[0].program[1]",
        "above 0",
        "",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"post a#b\"]\n",
        3,
        29,
        "task[0].program[1]",
        "without `#`",
        "",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"affinity 0,x\"]\n",
        3,
        35,
        "task[0].program[1]",
        "not a CPU number",
        "affinity all",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"cgroup web\"]\n",
        3,
        31,
        "task[0].program[1]",
        "must start with `/`",
        "",
    );
    expect("[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"slice 1ms\"]\npolicy = \"fifo\"\npriority = 1\n", 3, 24, "task[0].program[1]", "custom slice", "");
}

#[test]
fn wait_that_nothing_posts() {
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"wait go\"]\n[[task]]\nname = \"b\"\nprogram = [\"sleep 1ms\", \"post og\"]\n",
        3, 24, "task[0].program[1]", "nothing in this file posts semaphore `go`", "add `post go`",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", \"cond_wait c\"]\n",
        3,
        24,
        "task[0].program[1]",
        "nothing in this file signals condition `c`",
        "`signal c`",
    );
}

#[test]
fn forever_loop_without_time() {
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"yield\"]\n",
        3,
        11,
        "task[0].program",
        "without letting time pass",
        "exit",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"run 1ms\", { loop = \"forever\", do = [\"post x\"] }]\n",
        3, 23, "task[0].program[1]", "without letting time pass", "",
    );
    expect(
        "[[task]]\nname = \"a\"\nloop = 0\nrun = \"1ms\"\n",
        3,
        8,
        "task[0].loop",
        "out of range",
        "a loop count",
    );
}

#[test]
fn task_structure() {
    expect(
        "[[task]]\nrun = \"1ms\"\n",
        1,
        1,
        "task[0]",
        "task without a name",
        "name = ",
    );
    expect(
        &format!("{HOG}{HOG}"),
        5,
        8,
        "task[1].name",
        "already defined",
        "unique",
    );
    expect(
        "[[task]]\nname = \"a\"\n",
        1,
        1,
        "task[0]",
        "has no program",
        "run = ",
    );
    expect(
        "[[task]]\nname = \"a\"\nrun = \"1ms\"\nprogram = [\"run 1ms\"]\n",
        4,
        1,
        "task[0].program",
        "both `run` and `program`",
        "keep one",
    );
    expect(
        "[[task]]\nname = \"a\"\ntemplate = true\ncount = 2\nrun = \"1ms\"\n",
        4,
        9,
        "task[0].count",
        "template",
        "drop",
    );
    expect(
        "[[task]]\nname = \"a\"\ncount = 0\nrun = \"1ms\"\n",
        1,
        3,
        "task",
        "every task is a template",
        "count >= 1",
    );
    expect(
        "[task]\nname = \"a\"\nrun = \"1ms\"\n",
        1,
        2,
        "task",
        "single table",
        "[[task]]",
    );
    expect("duration = \"1s\"\n", 1, 1, "task", "no tasks", "[[task]]");
    expect(
        "[[task]]\nname = \"a\"\nprogram = []\n",
        3,
        11,
        "task[0].program",
        "empty program",
        "",
    );
}

#[test]
fn bad_affinity_and_cgroup() {
    expect(
        "[[task]]\nname = \"a\"\naffinity = \"3-1\"\nrun = \"1ms\"\n",
        3,
        13,
        "task[0].affinity",
        "backwards",
        "\"0-3\"",
    );
    expect(
        "[[task]]\nname = \"a\"\naffinity = [-1]\nrun = \"1ms\"\n",
        3,
        13,
        "task[0].affinity",
        "out of range",
        "0..=8191",
    );
    expect(
        "[[task]]\nname = \"a\"\naffinity = []\nrun = \"1ms\"\n",
        3,
        12,
        "task[0].affinity",
        "empty CPU list",
        "",
    );
    expect(
        "[[task]]\nname = \"a\"\ncgroup = \"web\"\nrun = \"1ms\"\n",
        3,
        10,
        "task[0].cgroup",
        "must start with `/`",
        "",
    );
    expect(
        &format!("{HOG}[cgroup.web]\n\"cpu.weight\" = 5\n"),
        4,
        9,
        "cgroup.web",
        "must start with `/`",
        "[cgroup.\"/web\"]",
    );
    expect(
        &format!("{HOG}[cgroup.\"/web\"]\n\"cpu.max\" = [1]\n"),
        5,
        13,
        "cgroup.\"/web\".\"cpu.max\"",
        "found an array",
        "",
    );
}

#[test]
fn barrier_only_reached_by_templates() {
    expect(
        "[[task]]\nname = \"c\"\ntemplate = true\nprogram = [\"barrier b\", \"exit\"]\n[[task]]\nname = \"p\"\nprogram = [\"fork c\", \"sleep 1s\"]\n",
        4, 13, "task[0].program[0]", "barrier `b` has no parties", "[barrier] b = N",
    );
}

#[test]
fn bad_declarations() {
    expect(
        &format!("{HOG}[sem]\ngo = -1\n"),
        5,
        6,
        "sem.go",
        "out of range",
        "an initial count",
    );
    expect(
        &format!("{HOG}[mutex.m]\npi = \"yes\"\n"),
        5,
        6,
        "mutex.m.pi",
        "true or false",
        "",
    );
    expect(
        &format!("{HOG}[mutex.m]\npri = true\n"),
        5,
        1,
        "mutex.m.pri",
        "unknown key",
        "did you mean `pi`?",
    );
    expect(
        &format!("{HOG}[barrier]\nb = 0\n"),
        5,
        5,
        "barrier.b",
        "out of range",
        "",
    );
}

#[test]
fn unreadable_file() {
    let e = load_toml(std::path::Path::new("/nonexistent/schedsim.toml")).unwrap_err();
    assert_eq!(e.file, "/nonexistent/schedsim.toml");
    assert!(e.message.contains("cannot read"), "{e}");
}

#[test]
fn calibration_of_zero_or_without_a_unit() {
    expect(
        &format!("calibration = \"0ns\"\n{HOG}"),
        1,
        15,
        "calibration",
        "a busy loop cannot take 0 ns",
        "calibration = \"20ns\"",
    );
    expect(
        &format!("calibration = 20\n{HOG}"),
        1,
        15,
        "calibration",
        "expected a duration string",
        "\"20ns\"",
    );
    let w = parse_toml("ok.toml", &format!("calibration = \"20ns\"\n{HOG}")).unwrap();
    assert_eq!(w.calibration_ns, Some(20));
}

#[test]
fn bad_sessions() {
    expect(
        &format!("{HOG}[session.build]\nnice = 20\n"),
        5,
        8,
        "session.build.nice",
        "20 is out of range",
        "a nice value",
    );
    expect(
        &format!("{HOG}[session.build]\nnic = 5\n"),
        5,
        1,
        "session.build.nic",
        "unknown key",
        "did you mean `nice`?",
    );
    expect(
        &format!("{HOG}[session]\nbuild = 5\n"),
        5,
        9,
        "session.build",
        "a table like { nice = 5 }",
        "docs/workload-format.md",
    );
    expect(
        "[[task]]\nname = \"a\"\nsession = 3\nrun = \"1ms\"\n",
        3,
        11,
        "task[0].session",
        "expected",
        "",
    );
    expect(
        "[[task]]\nname = \"a\"\nprogram = [\"setsid now\", \"run 1ms\"]\n",
        3,
        20,
        "task[0].program[0]",
        "too many arguments",
        "write \"setsid\"",
    );
}
