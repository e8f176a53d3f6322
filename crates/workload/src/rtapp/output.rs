//! rt-app's own output: `log_notice` lines on its standard error, unbuffered, so one
//! `write` each. Where a recorder reads them through a pipe (the oracle's did), each write
//! wakes the reader; the simulator models that reader when the machine has one
//! (`reader_run`). The lines themselves are not simulated, only the writes.
//!
//! The threads' lines are a control marker in their program (written nowhere); the main
//! thread's are counted in `Workload::launcher_output`.

use super::global::Global;
use crate::model::{LauncherOutput, Markers};

/// The control marker for one line a thread prints.
pub const MARKER: &str = "{rtapp_output}";

/// The main thread's lines (rt-app.c `main`): before its `rtapp_main: event=start` marker
/// (the simulated start), "Log buffer size fixed to N MB" while it parses an integer
/// `log_size` and "configuring ftrace" when ftrace is on; then `pLoad = Nns`, and
/// `thread_data_set_unique_name` in `create_thread`, before each thread it creates.
pub(crate) fn launcher(g: &Global) -> LauncherOutput {
    LauncherOutput {
        before_start: g.log_size_line as u32 + (g.markers != Markers::default()) as u32,
        after_start: 1,
        per_thread: 1,
    }
}
