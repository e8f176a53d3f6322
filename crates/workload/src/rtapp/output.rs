//! rt-app's own output: `log_notice` lines on its standard error, unbuffered, so one
//! `write` each. Where a recorder reads them through a pipe (the oracle's did), each write
//! wakes the reader; the simulator models that reader when the machine has one
//! (`reader_run`). The lines themselves are not simulated, only the writes.
//!
//! The threads' lines are a control marker in their program (written nowhere); the main
//! thread's are counted in `Workload::launcher_output`.

use crate::model::LauncherOutput;

/// The control marker for one line a thread prints.
pub const MARKER: &str = "{rtapp_output}";

/// The main thread's lines from its `rtapp_main: event=start` marker on (rt-app.c `main`):
/// `pLoad = Nns`, then `thread_data_set_unique_name` in `create_thread`, before each thread
/// it creates. The lines before the marker (parsing, `configuring ftrace`) are before the
/// simulated start.
pub const LAUNCHER: LauncherOutput = LauncherOutput {
    after_start: 1,
    per_thread: 1,
};
