//! Output writers: ftrace text, trace.dat, Perfetto, metrics.
//!
//! Every writer takes the simulator's [`schedsim_trace::TraceBuffers`] and a CPU count and
//! writes one file to any `std::io::Write`; the same records always give the same bytes.
//! [`write_atomically`] puts a writer's output at a path without ever leaving a half file.
//! Each writer also takes records one at a time as the run goes ([`TraceWriter`]), and
//! [`FileSink`] streams a run's trace to a file that way, in bounded memory.

pub mod atomic;
mod common;
pub mod ftrace;
pub mod perfetto;
mod spool;
pub mod stream;
pub mod tracedat;

pub use atomic::write_atomically;
pub use ftrace::write_ftrace_text;
pub use perfetto::write_perfetto;
pub use stream::{FileSink, Format, TraceWriter};
pub use tracedat::write_trace_dat;
