//! rt-app's per-iteration statistics line (`global.ftrace` category `stats`), written by
//! `thread_body` in rt-app.c right after `rtapp_loop: event=end`:
//!
//! ```text
//! rtapp_stats: period=%d run=%d wu_lat=%d slack=%d c_period=%d c_run=%d
//! ```
//!
//! All values are microseconds of one phase iteration (rt-app resets them at each
//! iteration): `period` its wall time (from just after `rtapp_loop: event=start` to the end
//! of its last event), `run` the wall time spent in its `run`/`runtime` events, `wu_lat` the
//! timers' wakeup latencies, `slack` the time left before the timer's expiry when the
//! thread reached it (negative when late; the last timer's, or the sum of all with
//! `cumulative_slack`), `c_period`/`c_run` the configured timer periods and run durations.
//!
//! `c_period` and `c_run` are known at import and written into the line; the measured ones
//! are placeholders the simulator's user space fills in (`schedsim_kernel::user`). It
//! measures the iteration between two control markers the importer puts in the program:
//! [`BEGIN`] (or [`BEGIN_CUMULATIVE`]) where rt-app takes `t_start`, and the line itself.
//! [`NOT_RUN`] marks the next CPU burst as not a `run` event (`mem`, `iorun`, `memrun` are
//! lowered to CPU work but rt-app does not count them in `run`). Control markers write
//! nothing to the trace.

/// Start of an iteration's measurement (rt-app: `memset(&ldata, 0)`, `t_start`).
pub const BEGIN: &str = "{rtapp_stats:begin}";
/// [`BEGIN`] with `global.cumulative_slack`.
pub const BEGIN_CUMULATIVE: &str = "{rtapp_stats:begin cumulative_slack}";
/// The next `Run` is not a `run`/`runtime` event.
pub const NOT_RUN: &str = "{rtapp_stats:not_run}";

/// Placeholders of the measured values in the line.
pub const PERIOD: &str = "{stats.period}";
pub const RUN: &str = "{stats.run}";
pub const WU_LAT: &str = "{stats.wu_lat}";
pub const SLACK: &str = "{stats.slack}";

/// The line written after each iteration, with the configured sums filled in.
pub(crate) fn line(c_period_us: u64, c_run_us: u64) -> String {
    format!(
        "rtapp_stats: period={PERIOD} run={RUN} wu_lat={WU_LAT} slack={SLACK} \
         c_period={c_period_us} c_run={c_run_us}"
    )
}
