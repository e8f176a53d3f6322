//! rt-app's per-iteration statistics (`rtapp_stats` trace lines), measured as rt-app.c
//! measures them (`run_event`, `thread_body`); the line's format and the importer's control
//! markers are described in `schedsim_workload::rtapp::stats`.
//!
//! rt-app reads `CLOCK_MONOTONIC` in user space: after a burst of work, after its timer
//! sleep returns. The simulated thread is back in user space when it executes its next op,
//! so a measurement in progress ends there ([`IterStats::resume`]). Each measured interval
//! is rounded to the nearest µs (rt-app's `timespec_to_usec`, `lround`) before it is added.

use schedsim_workload::rtapp::stats::{PERIOD, RUN, SLACK, WU_LAT};

/// The measurement of the current phase iteration of one thread (rt-app's `log_data_t`).
#[derive(Clone, Debug, Default)]
pub struct IterStats {
    /// rt-app's `t_start`.
    start: u64,
    cumulative_slack: bool,
    /// µs: wall time of `run`/`runtime` events, timer wakeup latencies, timer slack.
    run: i64,
    wu_lat: i64,
    slack: i64,
    pending: Pending,
    /// The next burst is `mem`/`iorun`/`memrun` work, not a `run` event.
    not_run: bool,
}

/// What ends when the thread is next back in user space.
#[derive(Clone, Copy, Debug, Default)]
enum Pending {
    #[default]
    Nothing,
    /// A `run`/`runtime` event started at this instant.
    Run(u64),
    /// A timer sleep until this expiry.
    Timer(u64),
}

/// ns to µs, rounded half away from zero (`lround(ns / 1000.0)`).
fn usec(ns: i128) -> i64 {
    let r = (ns.abs() + 500) / 1000;
    (if ns < 0 { -r } else { r }) as i64
}

impl IterStats {
    /// A phase iteration starts at `now` (rt-app: `memset(&ldata, 0)`, `t_start`).
    pub fn begin(now: u64, cumulative_slack: bool) -> IterStats {
        IterStats {
            start: now,
            cumulative_slack,
            ..IterStats::default()
        }
    }

    /// The thread is back in user space at `now`: finish the interval being measured.
    pub fn resume(&mut self, now: u64) {
        match std::mem::take(&mut self.pending) {
            Pending::Nothing => {}
            Pending::Run(t0) => self.run += usec(now as i128 - t0 as i128),
            Pending::Timer(next) => self.wu_lat += usec(now as i128 - next as i128),
        }
    }

    /// The next burst of CPU work is not a `run` event.
    pub fn not_run(&mut self) {
        self.not_run = true;
    }

    /// A burst of CPU work starts at `now`.
    pub fn work(&mut self, now: u64) {
        if !std::mem::take(&mut self.not_run) {
            self.pending = Pending::Run(now);
        }
    }

    /// A timer event at `now` whose next expiry is `next` (before a late relative timer is
    /// reset to now); `late`: no sleep. rt-app's `slack = t_next - t_now`; a late timer
    /// sets the iteration's `wu_lat` to 0, discarding earlier timers' latencies too.
    pub fn timer(&mut self, now: u64, next: u64, late: bool) {
        let slack = usec(next as i128 - now as i128);
        if self.cumulative_slack {
            self.slack += slack;
        } else {
            self.slack = slack;
        }
        if late {
            self.wu_lat = 0;
        } else {
            self.pending = Pending::Timer(next);
        }
    }

    /// `text` with the measured values filled in; the iteration ends at `now`.
    pub fn fill(&self, text: &str, now: u64) -> String {
        text.replace(PERIOD, &usec(now as i128 - self.start as i128).to_string())
            .replace(RUN, &self.run.to_string())
            .replace(WU_LAT, &self.wu_lat.to_string())
            .replace(SLACK, &self.slack.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_lround() {
        assert_eq!(usec(1499), 1);
        assert_eq!(usec(1500), 2);
        assert_eq!(usec(-1500), -2);
        assert_eq!(usec(-1499), -1);
        assert_eq!(usec(0), 0);
    }

    #[test]
    fn one_iteration() {
        let mut st = IterStats::begin(1_000_000, false);
        st.work(1_000_000);
        st.resume(3_000_400); // the run took 2.0004 ms of wall time
        st.not_run();
        st.work(3_000_400); // mem: not counted
        st.resume(3_100_000);
        st.timer(3_100_000, 11_000_000, false);
        st.resume(11_012_600); // woke 12.6 µs late
        let line = st.fill(
            "period={stats.period} run={stats.run} wu_lat={stats.wu_lat} slack={stats.slack}",
            11_012_600,
        );
        assert_eq!(line, "period=10013 run=2000 wu_lat=13 slack=7900");
    }

    #[test]
    fn late_timer_zeroes_wakeup_latency() {
        let mut st = IterStats::begin(0, true);
        st.timer(0, 1_000_000, false);
        st.resume(1_005_000);
        st.timer(2_500_000, 2_000_000, true);
        assert_eq!(st.fill("{stats.wu_lat} {stats.slack}", 2_500_000), "0 500");
    }
}
