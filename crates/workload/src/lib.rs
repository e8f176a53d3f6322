//! schedsim workloads: the plain data model the simulator consumes, and the parsers that
//! build it from our TOML format and from rt-app JSON.

pub mod error;
pub mod model;
pub mod rtapp;
pub mod toml;

pub use self::toml::{load_toml, parse_distribution, parse_toml, to_toml};

/// A CPU list in the kernel's cpulist syntax (`0-3,5`), sorted without duplicates; the
/// empty string is the empty list (what `echo > cpuset.cpus` writes).
pub fn parse_cpulist(s: &str) -> Result<Vec<u32>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    self::toml::values::parse_cpus(s).map_err(|(_, m)| m)
}
pub use error::WorkloadError;
pub use model::*;
