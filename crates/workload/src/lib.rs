//! schedsim workloads: the plain data model the simulator consumes, and the parsers that
//! build it from our TOML format and from rt-app JSON.

pub mod error;
pub mod model;

pub use error::WorkloadError;
pub use model::*;
