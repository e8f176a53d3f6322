//! Loading inputs: the workload (by extension) and the machine (spec string or TOML file).

use std::path::Path;

use schedsim_kernel::Config;
use schedsim_workload::Workload;

/// Reads a workload: `.toml` is our format; `.json` is rt-app.
pub fn workload(path: &Path) -> Result<Workload, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let name = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => schedsim_workload::parse_toml(&name, &text).map_err(|e| e.to_string()),
        Some("json") => {
            schedsim_workload::rtapp::parse_rtapp(&name, &text).map_err(|e| e.to_string())
        }
        Some(other) => Err(format!(
            "{name}: unknown workload format `.{other}` (expected .toml or rt-app .json)"
        )),
        None => Err(format!(
            "{name}: no file extension (expected .toml or rt-app .json)"
        )),
    }
}

/// `--machine`: a `key=value,...` spec, or a TOML file whose `[machine]` table (or top
/// level) holds the same keys. A bad key or value is named with its line and column.
pub fn machine(spec: &str) -> Result<Config, String> {
    if spec.ends_with(".toml") {
        let text =
            std::fs::read_to_string(spec).map_err(|e| format!("{spec}: cannot read: {e}"))?;
        let keys = machine_keys(&text).map_err(|e| format!("{spec}: {e}"))?;
        let mut c = Config::default();
        for (k, v) in &keys {
            let v = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let (line, col) = line_col(&text, k.span().start);
            c.set_machine_key(k.get_ref(), &v)
                .map_err(|e| format!("{spec}:{line}:{col}: {e}"))?;
        }
        // A rule between keys is placed at the key its message names first.
        c.check_keys().map_err(|e| {
            let named = e.0.split_once("machine `").map(|(_, rest)| {
                rest.split(['`', '='])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            match keys.keys().find(|k| Some(k.get_ref()) == named.as_ref()) {
                Some(k) => {
                    let (line, col) = line_col(&text, k.span().start);
                    format!("{spec}:{line}:{col}: {e}")
                }
                None => format!("{spec}: {e}"),
            }
        })?;
        return Ok(c);
    }
    Config::parse_machine(spec).map_err(|e| format!("--machine: {e}"))
}

/// A machine file's keys with where each is written: the `[machine]` table's, or the top
/// level's when there is none.
type MachineKeys = std::collections::BTreeMap<toml::Spanned<String>, toml::Value>;

fn machine_keys(text: &str) -> Result<MachineKeys, String> {
    #[derive(serde::Deserialize)]
    struct WithTable {
        machine: MachineKeys,
    }
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    if matches!(doc.get("machine"), Some(toml::Value::Table(_))) {
        Ok(toml::from_str::<WithTable>(text)
            .map_err(|e| e.to_string())?
            .machine)
    } else {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// 1-based line and column of byte `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}
