//! Every TOML snippet in docs/workload-format.md parses, so the reference cannot drift
//! from the parser.

use schedsim_workload::parse_toml;

const DOC: &str = include_str!("../../../docs/workload-format.md");

/// The ```toml blocks of the document.
fn toml_blocks() -> Vec<&'static str> {
    DOC.split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or(""))
        .collect()
}

/// Make a snippet a whole workload: fragments get a task around or beside them.
fn as_workload(block: &str) -> Vec<String> {
    const HOG: &str = "[[task]]\nname = \"hog\"\nrun = \"10ms\"\n";
    if block.contains("[[task]]") {
        vec![block.to_string()]
    } else if block.starts_with('[') {
        vec![format!("{HOG}{block}")]
    } else if block.starts_with("program") {
        vec![format!(
            "[[task]]\nname = \"x\"\n{block}\n[[task]]\nname = \"partner\"\nprogram = [\"wait pong\", \"post ping\"]\n"
        )]
    } else {
        // Alternatives, one per line (e.g. the forms of `affinity`).
        block
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("[[task]]\nname = \"x\"\nrun = \"1ms\"\n{l}\n"))
            .collect()
    }
}

#[test]
fn doc_snippets_parse() {
    let blocks = toml_blocks();
    assert!(blocks.len() >= 9, "found only {} toml blocks", blocks.len());
    for block in blocks {
        for text in as_workload(block) {
            if let Err(e) = parse_toml("doc.toml", &text) {
                panic!("{e}\nin:\n{text}");
            }
        }
    }
}
