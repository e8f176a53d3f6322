//! schedsim-kernel: the simulated Linux 6.18 scheduler.
//!
//! `Sched` holds the kernel state (per-CPU `Rq`s, the task arena, class arenas, the event
//! queue, the trace buffers). `core/` is kernel/sched/core.c: `__schedule`, wakeups, fork,
//! exit, the tick. `class/` holds one module per scheduling class behind `SchedClass`.
//! `user/` models what the workload's threads do in user space (run, sleep, sync objects)
//! and calls into the kernel as syscalls would. `sim` drives the event loop.

pub mod cgroup;
pub mod cgroup_stat;
pub mod check;
pub mod class;
pub mod config;
pub mod core;
pub mod cpumask;
pub mod events;
pub mod ext_stat;
pub mod prio;
pub mod report;
pub mod rq;
pub mod sched;
pub mod schedstat;
pub mod sim;
pub mod stats;
pub mod task;
pub mod topology;
pub mod user;

pub use config::Config;
pub use sched::Sched;
