//! Random valid programs always parse; random garbage and mangled files never panic and
//! always give a located error with a hint.

use proptest::prelude::*;
use schedsim_workload::*;

const NAMES: &[&str] = &["a", "b", "go", "ping"];

fn dur() -> impl Strategy<Value = String> {
    let fixed = (
        0u32..5000,
        prop::sample::select(vec!["ns", "us", "ms", "s"]),
    )
        .prop_map(|(n, u)| format!("{n}{u}"));
    prop_oneof![
        4 => fixed.clone(),
        1 => (1u32..100).prop_map(|n| format!("{}.{}ms", n, n % 10)),
        1 => (0u32..5000, 0u32..5000).prop_map(|(a, b)| format!("uniform({}us, {}us)", a.min(b), a.max(b))),
        1 => (1u32..9).prop_map(|k| format!("exp({k}ms)")),
        1 => (fixed.clone(), fixed.clone()).prop_map(|(m, s)| format!("normal({m},{s})")),
        1 => (fixed.clone(), fixed).prop_map(|(m, s)| format!("lognormal( {m} , {s} )")),
    ]
}

/// One step string that is valid in a file where `poster` posts and signals every name
/// in NAMES, `tmpl` is a template and `pol` a task.
fn leaf_step() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES);
    prop_oneof![
        (prop::sample::select(vec!["run", "runwall", "sleep"]), dur())
            .prop_map(|(v, d)| format!("{v} {d}")),
        (1u32..100, prop::option::of(name.clone()), any::<bool>()).prop_map(|(p, n, rel)| {
            format!(
                "timer {p}ms {} {}",
                n.unwrap_or(""),
                if rel { "relative" } else { "" }
            )
        }),
        (
            prop::sample::select(vec![
                "post",
                "wait",
                "sem_post",
                "sem_wait",
                "signal",
                "broadcast",
                "cond_wait",
                "sync",
                "lock",
                "unlock",
                "barrier"
            ]),
            name.clone()
        )
            .prop_map(|(v, n)| format!("{v} {n}")),
        (name.clone(), name).prop_map(|(c, m)| format!("cond_wait {c} {m}")),
        Just("yield".to_string()),
        Just("fork tmpl".to_string()),
        Just("resume pol".to_string()),
        (-20i32..20).prop_map(|n| format!("nice {n}")),
        (1u32..100).prop_map(|p| format!("policy fifo {p}")),
        (1u32..100).prop_map(|p| format!("policy SCHED_RR {p}")),
        prop::sample::select(vec![
            "policy normal",
            "policy batch",
            "policy idle",
            "policy ext",
            "policy deadline 1ms 5ms 10ms"
        ])
        .prop_map(String::from),
        (0u32..8, 0u32..8).prop_map(|(a, b)| format!("affinity {}-{}", a.min(b), a.max(b))),
        Just("affinity all".to_string()),
        prop::sample::select(vec!["/", "/web", "/a/b"]).prop_map(|p| format!("cgroup {p}")),
        "[a-z ]{1,10}".prop_map(|t| format!("marker x{t}")),
    ]
}

/// A step as TOML: a string or a (nested) loop table.
fn step_toml() -> impl Strategy<Value = String> {
    let leaf = leaf_step().prop_map(|s| format!("{s:?}"));
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            prop::option::of(1u64..5),
            prop::collection::vec(inner, 1..4),
        )
            .prop_map(|(n, body)| {
                let count = n.map_or("\"forever\"".to_string(), |n| n.to_string());
                // A forever loop must let time pass: start it with some work.
                format!(
                    "{{ loop = {count}, do = [\"run 1ms\", {}] }}",
                    body.join(", ")
                )
            })
    })
}

fn valid_file() -> impl Strategy<Value = (String, usize)> {
    (
        prop::collection::vec(step_toml(), 0..8),
        1u32..4,
        any::<bool>(),
    )
        .prop_map(|(steps, count, looped)| {
            let n = steps.len() + 1;
            let poster: Vec<String> = NAMES
                .iter()
                .flat_map(|n| [format!("\"post {n}\""), format!("\"broadcast {n}\"")])
                .collect();
            let text = format!(
                r#"duration = "1s"
[[task]]
name = "t"
count = {count}
{}program = ["run 1ms", {}]

[[task]]
name = "poster"
program = ["sleep 1ms", {}]

[[task]]
name = "tmpl"
template = true
program = ["run 1ms", "exit"]

[[task]]
name = "pol"
policy = "fifo"
priority = 5
run = "1ms"

[sysctl]
"kernel.sched_rt_runtime_us" = 950000
"#,
                if looped { "loop = 3\n" } else { "" },
                steps.join(", "),
                poster.join(", ")
            );
            (text, n)
        })
}

/// Whatever the input, the parser returns; an error is located inside the text.
fn check_no_panic(text: &str) {
    if let Err(e) = parse_toml("fuzz.toml", text) {
        let lines = text.split('\n').count() as u32;
        assert!(
            e.line >= 1 && e.line <= lines,
            "line {} of {lines}: {e}",
            e.line
        );
        assert!(e.col >= 1, "{e}");
        assert!(e.hint.is_some(), "no hint: {e}");
        assert_eq!(e.file, "fuzz.toml");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_valid_programs_parse((text, n) in valid_file()) {
        let w = parse_toml("gen.toml", &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(w.tasks.len(), 4);
        let Step::Loop { body, .. } = &w.tasks[0].program[0] else {
            return Err(TestCaseError::fail("no loop"));
        };
        prop_assert_eq!(body.len(), n);
        // Written back (`schedsim convert`), it is the same model.
        let written = schedsim_workload::toml::to_toml(&w);
        let back = parse_toml("written.toml", &written).map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
        prop_assert_eq!(
            schedsim_workload::toml::without_locations(&back),
            schedsim_workload::toml::without_locations(&w),
            "{}", written
        );
    }

    #[test]
    fn garbage_never_panics(text in "\\PC{0,200}") {
        check_no_panic(&text);
    }

    #[test]
    fn toml_shaped_garbage_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "[[task]]\n", "[task]\n", "name = \"x\"\n", "name = \"y\"\n", "run = \"1ms\"\n", "run = 5\n",
            "program = [", "]\n", "\"wait a\", ", "\"post a\", ", "\"run ", "uniform(", "1ms", ")", "\", ",
            "{ loop = 2, do = [", "{ loop = \"forever\", do = [", "] }, ", "nice = -30\n", "policy = \"fifo\"\n",
            "priority = 0\n", "[sysctl]\n", "\"a.b\" = 1\n", "[cgroup.\"/x\"]\n", "cpu.max = \"1 2\"\n",
            "[sem]\n", "a = 1\n", "[barrier]\n", "[mutex.m]\n", "pi = true\n", "count = 0\n", "template = true\n",
            "affinity = \"0-3\"\n", "\"fork x\", ", "\"barrier b\", ", "\"timer 10ms\", ", "é", "\u{0}", "#", "\n",
        ]), 0..30)
    ) {
        check_no_panic(&parts.concat());
    }

    #[test]
    fn mangled_valid_files_never_panic(
        (text, _) in valid_file(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..4),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len().max(1)).min(chars.len());
            match op {
                0 => chars.insert(i, c),
                1 if i < chars.len() => { chars.remove(i); }
                _ if i < chars.len() => chars[i] = c,
                _ => {}
            }
        }
        check_no_panic(&chars.into_iter().collect::<String>());
    }
}

/// Deeply nested input must be refused, not overflow the stack.
#[test]
fn deep_nesting_does_not_overflow() {
    let deep_array = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    check_no_panic(&deep_array);
    let deep_loops = format!(
        "[[task]]\nname = \"a\"\nprogram = {}\"run 1ms\"{}\n",
        "[{ loop = 2, do = ".repeat(5_000),
        "}]".repeat(5_000)
    );
    check_no_panic(&deep_loops);
    // Deep but legal: 60 nested loops parse.
    let ok = format!(
        "[[task]]\nname = \"a\"\nprogram = {}\"run 1ms\"{}\n",
        "{ loop = 2, do = ".repeat(60),
        " }".repeat(60)
    );
    parse_toml("deep.toml", &ok).unwrap();
}
