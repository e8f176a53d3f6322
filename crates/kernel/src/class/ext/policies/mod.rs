//! The example policies of sched-ext/scx (`scheds/c`), rewritten against `ExtOps`.

pub mod central;
pub mod flatcg;
pub mod simple;

/// `time_before64(a, b)`: `a` is before `b` on the wrapping u64 clock.
pub fn time_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}
