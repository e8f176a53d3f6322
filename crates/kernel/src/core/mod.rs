//! The core scheduler (kernel/sched/core.c): `__schedule` and the pick, wakeups, fork and
//! exit, the tick, and the syscalls that change scheduling state. Classes are reached only
//! through `class_of(..)`.

pub mod autogroup;
pub mod cgroup;
pub mod cpuset;
pub mod fork;
pub mod kthreads;
pub mod pi;
pub mod rcu;
pub mod schedule;
pub mod stopper;
pub mod syscalls;
pub mod tick;
pub mod wakeup;
pub mod wasted_idle;
