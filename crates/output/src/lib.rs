//! Output writers: ftrace text, trace.dat, Perfetto, metrics.
//!
//! Every writer takes the simulator's [`schedsim_trace::TraceBuffers`] and a CPU count and
//! writes one file to any `std::io::Write`; the same records always give the same bytes.
//! [`write_atomically`] puts a writer's output at a path without ever leaving a half file.

pub mod atomic;
mod common;
pub mod ftrace;
pub mod perfetto;
pub mod tracedat;

pub use atomic::write_atomically;
pub use ftrace::write_ftrace_text;
pub use perfetto::write_perfetto;
pub use tracedat::write_trace_dat;
