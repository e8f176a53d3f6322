//! schedsim workloads: the plain data model the simulator consumes, and the parsers that
//! build it from our TOML format and from rt-app JSON.

pub mod error;
pub mod model;
pub mod rtapp;
pub mod toml;

pub use self::toml::{load_toml, parse_distribution, parse_toml, to_toml};
pub use error::WorkloadError;
pub use model::*;
