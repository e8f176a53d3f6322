//! The lenient JSON reader: json-c non-strict syntax, positions, duplicate keys, errors.

use schedsim_workload::rtapp::json::{parse, Kind};
use schedsim_workload::Loc;

fn loc(line: u32, col: u32) -> Loc {
    Loc { line, col }
}

#[test]
fn accepts_json_c_non_strict_syntax() {
    let text = r#"
/* block comment */ {
  // line comment
  "a": [1, 2, 3,],          // trailing comma in an array
  'b': 'single quoted',     /* single quotes */
  "c": { "x": TRUE, "y": False, "z": Null, },
  "d": -Infinity, "e": NaN,
}
"#;
    let v = parse(text).expect("parses");
    let a = v.get("a").unwrap();
    match &a.kind {
        Kind::Array(items) => assert_eq!(
            items
                .iter()
                .map(|i| i.as_int().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        ),
        k => panic!("{k:?}"),
    }
    assert_eq!(v.get("b").unwrap().as_str(), Some("single quoted"));
    let c = v.get("c").unwrap();
    assert_eq!(c.get("x").unwrap().as_bool(), Some(true));
    assert_eq!(c.get("y").unwrap().as_bool(), Some(false));
    assert_eq!(c.get("z").unwrap().kind, Kind::Null);
    assert!(matches!(v.get("d").unwrap().kind, Kind::Float(f) if f == f64::NEG_INFINITY));
    assert!(matches!(v.get("e").unwrap().kind, Kind::Float(f) if f.is_nan()));
}

#[test]
fn ints_and_doubles_are_distinct_like_json_c() {
    // rt-app refuses 1000.0 where it wants an int, so the reader must keep the difference.
    let v = parse(r#"{"i": 1000, "f": 1000.0, "e": 1e3, "n": -7, "big": 99999999999999999999}"#)
        .unwrap();
    assert_eq!(v.get("i").unwrap().kind, Kind::Int(1000));
    assert_eq!(v.get("f").unwrap().kind, Kind::Float(1000.0));
    assert_eq!(v.get("e").unwrap().kind, Kind::Float(1000.0));
    assert_eq!(v.get("n").unwrap().kind, Kind::Int(-7));
    assert!(matches!(v.get("big").unwrap().kind, Kind::Float(_)));
}

#[test]
fn string_escapes() {
    let v = parse(r#"{"s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", 't': 'it\'s'}"#).unwrap();
    assert_eq!(
        v.get("s").unwrap().as_str(),
        Some("a\"b\\c/d\n\t\u{e9}\u{1F600}")
    );
    assert_eq!(v.get("t").unwrap().as_str(), Some("it's"));
}

#[test]
fn every_value_and_key_has_its_line_and_column() {
    let text = "{\n  \"tasks\": {\n\t\"t\": { \"run\": 10 }\n  }\n}";
    let v = parse(text).unwrap();
    assert_eq!(v.loc, loc(1, 1));
    let members = v.as_object().unwrap();
    assert_eq!(members[0].key_loc, loc(2, 3));
    assert_eq!(members[0].value.loc, loc(2, 12));
    let t = &members[0].value.as_object().unwrap()[0];
    // A tab counts as one column.
    assert_eq!(t.key_loc, loc(3, 2));
    let run = &t.value.as_object().unwrap()[0];
    assert_eq!(run.key_loc, loc(3, 9));
    assert_eq!(run.value.loc, loc(3, 16));
}

#[test]
fn duplicate_keys_are_kept_and_collapsed_like_json_c() {
    let text = r#"{"run": 1, "sleep": 2, "run": 3, "lock": "m", "run": 5}"#;
    let v = parse(text).unwrap();
    // The reader keeps everything, in order.
    let keys: Vec<_> = v
        .as_object()
        .unwrap()
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(keys, ["run", "sleep", "run", "lock", "run"]);
    // json-c's view: first position, last value.
    let e = v.entries();
    let view: Vec<_> = e
        .iter()
        .map(|e| (e.key, e.value.as_int().unwrap_or(-1), e.occurrences))
        .collect();
    assert_eq!(view, [("run", 5, 3), ("sleep", 2, 1), ("lock", -1, 1)]);
    assert_eq!(e[0].key_loc, loc(1, 2));
    assert_eq!(v.get("run").unwrap().as_int(), Some(5));
}

#[test]
fn syntax_errors_say_where_and_in_which_key() {
    let text = "{\n  \"tasks\": {\n    \"t\": { \"run\": 10 \"sleep\": 5 }\n  }\n}";
    let e = parse(text).unwrap_err();
    assert_eq!(e.loc, loc(3, 22));
    assert_eq!(e.path, "tasks.t");
    assert!(e.message.contains("expected `,` or `}`"), "{}", e.message);

    let e = parse("{\"a\": [1, 2\n").unwrap_err();
    assert_eq!(e.loc, loc(1, 7));
    assert!(e.message.contains("unterminated array"), "{}", e.message);

    let e = parse("{\"a\": /* never closed").unwrap_err();
    assert!(
        e.message.contains("unterminated `/*` comment"),
        "{}",
        e.message
    );

    let e = parse("{\"a\": \"no end}").unwrap_err();
    assert!(e.message.contains("unterminated string"), "{}", e.message);

    let e = parse("{\"a\": yes}").unwrap_err();
    assert_eq!(e.loc, loc(1, 7));
    assert!(e.message.contains("`yes`"), "{}", e.message);

    let e = parse("{a: 1}").unwrap_err();
    assert!(e.message.contains("quoted key"), "{}", e.message);

    let e = parse("").unwrap_err();
    assert!(e.message.contains("empty"), "{}", e.message);
}

#[test]
fn key_without_value_gets_a_workgen_hint() {
    // Debian's video-*.json use workgen's shorthand `"suspend",`.
    let e = parse("{\"t\": {\"suspend\",\n \"run\": 1}}").unwrap_err();
    assert_eq!(e.loc, loc(1, 17));
    assert!(e.message.contains("workgen"), "{}", e.message);
}

#[test]
fn text_after_the_value_is_refused() {
    let e = parse("{\"a\": 1}\n{\"b\": 2}").unwrap_err();
    assert_eq!(e.loc, loc(2, 1));
    assert!(e.message.contains("after the end"), "{}", e.message);
    // Comments and blanks after it are fine.
    parse("{\"a\": 1} // done\n/* really */\n").unwrap();
}

#[test]
fn nesting_limit_is_json_c_s() {
    let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
    parse(&ok).unwrap();
    let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("32"), "{}", e.message);
}

#[test]
fn byte_order_mark_is_skipped() {
    parse("\u{feff}{\"a\": 1}").unwrap();
}
