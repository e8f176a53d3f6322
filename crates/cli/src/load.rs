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
/// level) holds the same keys.
pub fn machine(spec: &str) -> Result<Config, String> {
    if spec.ends_with(".toml") {
        let text =
            std::fs::read_to_string(spec).map_err(|e| format!("{spec}: cannot read: {e}"))?;
        let doc: toml::Table = text.parse().map_err(|e| format!("{spec}: {e}"))?;
        let table = match doc.get("machine") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => doc,
        };
        let mut c = Config::default();
        for (k, v) in &table {
            let v = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            c.set_machine_key(k, &v)
                .map_err(|e| format!("{spec}: {e}"))?;
        }
        c.check_keys().map_err(|e| format!("{spec}: {e}"))?;
        return Ok(c);
    }
    Config::parse_machine(spec).map_err(|e| format!("--machine: {e}"))
}
