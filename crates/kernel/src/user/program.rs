//! A thread's behaviour program, flattened from the workload's nested steps into ops with
//! loop jumps, so a thread's position is a program counter and a loop-counter stack.

use schedsim_workload::rtapp::{end, origin, output, start, stats};
use schedsim_workload::{Dur, SchedAttr, Step};

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Run(Dur),
    RunWall(Dur),
    Sleep(Dur),
    Timer {
        timer: usize,
        period: u64,
        absolute: bool,
    },
    SemPost(usize),
    SemWait(usize),
    CondSignal(usize),
    CondBroadcast(usize),
    /// Release `mutex` (if any) and block on the condition.
    CondWait {
        cond: usize,
        mutex: Option<usize>,
        signal_first: bool,
    },
    Lock(usize),
    Unlock(usize),
    Barrier(usize),
    Suspend,
    Resume(usize),
    Yield,
    Fork(usize),
    Exit,
    SetAttr(SchedAttr),
    SetAffinity(Option<Vec<u32>>),
    SetCgroup(String),
    Setsid,
    Mlockall,
    /// CPU time drawn from the distribution, never rt-app loops (the machine's daemon).
    Burn(Dur),
    /// rt-app's `create_thread` before the clone (the thread's data, its log file, the
    /// stack `pthread_create` maps): the machine's `rtapp_create` of CPU time.
    RtappCreate,
    /// rt-app's thread set-up (`thread_body` before its first event): the machine's
    /// `rtapp_setup` of CPU time.
    RtappSetup,
    /// Where an rt-app thread's end starts (`{rtapp_thread_end}`): nothing to do when
    /// reached, the place the shutdown sends the thread to (shutdown.rs).
    RtappThreadEnd,
    /// rt-app's main thread shuts down (`__shutdown`): the threads leave their loops, it
    /// waits for them to exit.
    RtappShutdown,
    /// A thread the launcher created: its way into `threads_barrier` after `t_zero` (the
    /// machine's `rtapp_barrier` of CPU time; nothing for a forked thread).
    RtappBarrierEntry,
    /// rt-app's `threads_barrier`, for a thread the launcher created (a forked thread goes
    /// on): released when every one of them is there.
    RtappBarrier,
    /// A line written to the process's output (rt-app's `log_notice`): wakes the machine's
    /// output reader if it waits for one (`reader_run`).
    Output,
    /// The output reader reads: on at once if a line is there, else it waits for one.
    ReadOutput,
    Marker(String),
    /// rt-app's main thread is done: the run ends (its threads are killed).
    Shutdown,
    /// rt-app's `t_start` of a phase iteration: reset the `rtapp_stats` measurement.
    StatsBegin {
        cumulative_slack: bool,
    },
    /// The next CPU burst is not a `run`/`runtime` event (not counted in `run=`).
    StatsNotRun,
    /// rt-app's `t_first`: the thread's timers start this long after `t_zero` (its delay).
    TimerOrigin(u64),
    /// Enter a loop of `count` iterations (None = forever) whose end is at `end`.
    LoopStart {
        count: Option<u64>,
        end: usize,
    },
    /// Jump back to `start + 1` while iterations remain.
    LoopEnd {
        start: usize,
    },
}

/// Flattens steps into ops. `rtapp_threads[t]`: task `t` is an rt-app thread, whose
/// creation (a `fork` of it) costs `rtapp_create` before the clone.
pub fn compile(steps: &[Step], rtapp_threads: &[bool]) -> Vec<Op> {
    let mut ops = Vec::new();
    emit(steps, rtapp_threads, &mut ops);
    ops
}

/// The task's program opens with rt-app's start marker: rt-app created it.
pub fn is_rtapp_thread(steps: &[Step]) -> bool {
    matches!(steps.first(), Some(Step::Marker(m)) if m == start::MARKER)
}

fn emit(steps: &[Step], rtapp_threads: &[bool], ops: &mut Vec<Op>) {
    for s in steps {
        match s {
            Step::Run(d) => ops.push(Op::Run(*d)),
            Step::RunWall(d) => ops.push(Op::RunWall(*d)),
            Step::Sleep(d) => ops.push(Op::Sleep(*d)),
            Step::Timer {
                timer,
                period,
                absolute,
            } => ops.push(Op::Timer {
                timer: *timer,
                period: *period,
                absolute: *absolute,
            }),
            Step::SemPost(i) => ops.push(Op::SemPost(*i)),
            Step::SemWait(i) => ops.push(Op::SemWait(*i)),
            Step::CondSignal(i) => ops.push(Op::CondSignal(*i)),
            Step::CondBroadcast(i) => ops.push(Op::CondBroadcast(*i)),
            Step::CondWait { cond, mutex } | Step::CondSync { cond, mutex } => {
                let signal_first = matches!(s, Step::CondSync { .. });
                ops.push(Op::CondWait {
                    cond: *cond,
                    mutex: *mutex,
                    signal_first,
                });
                // pthread_cond_wait returns with the mutex held again.
                if let Some(m) = mutex {
                    ops.push(Op::Lock(*m));
                }
            }
            Step::Lock(m) => ops.push(Op::Lock(*m)),
            Step::Unlock(m) => ops.push(Op::Unlock(*m)),
            Step::Barrier(b) => ops.push(Op::Barrier(*b)),
            Step::Suspend => ops.push(Op::Suspend),
            Step::Resume(t) => ops.push(Op::Resume(*t)),
            Step::Yield => ops.push(Op::Yield),
            Step::Fork(t) => {
                if rtapp_threads[*t] {
                    ops.push(Op::RtappCreate);
                }
                ops.push(Op::Fork(*t));
            }
            Step::Exit => ops.push(Op::Exit),
            Step::SetAttr(a) => ops.push(Op::SetAttr(*a)),
            Step::SetAffinity(c) => ops.push(Op::SetAffinity(c.clone())),
            Step::SetCgroup(g) => ops.push(Op::SetCgroup(g.clone())),
            Step::Setsid => ops.push(Op::Setsid),
            Step::Mlockall => ops.push(Op::Mlockall),
            Step::Marker(m) if m == output::MARKER => ops.push(Op::Output),
            Step::Marker(m) if m == end::MARKER => ops.push(Op::RtappThreadEnd),
            Step::Marker(m) if m == start::MARKER => {
                ops.push(Op::RtappSetup);
                ops.push(Op::RtappBarrierEntry);
                ops.push(Op::RtappBarrier);
            }
            Step::Marker(m) => ops.push(match m.as_str() {
                // The importer's control markers for rt-app's statistics (they write nothing).
                stats::BEGIN => Op::StatsBegin {
                    cumulative_slack: false,
                },
                stats::BEGIN_CUMULATIVE => Op::StatsBegin {
                    cumulative_slack: true,
                },
                stats::NOT_RUN => Op::StatsNotRun,
                _ => match origin::parse(m) {
                    Some(delay) => Op::TimerOrigin(delay),
                    None => Op::Marker(m.clone()),
                },
            }),
            Step::Loop { count, body } => {
                if *count == Some(0) {
                    continue;
                }
                let start = ops.len();
                ops.push(Op::LoopStart {
                    count: *count,
                    end: 0,
                });
                emit(body, rtapp_threads, ops);
                let end = ops.len();
                ops.push(Op::LoopEnd { start });
                ops[start] = Op::LoopStart { count: *count, end };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_become_jumps() {
        let ops = compile(
            &[
                Step::Loop {
                    count: Some(2),
                    body: vec![Step::Run(Dur::Fixed(5)), Step::Yield],
                },
                Step::Exit,
            ],
            &[],
        );
        assert_eq!(
            ops,
            vec![
                Op::LoopStart {
                    count: Some(2),
                    end: 3
                },
                Op::Run(Dur::Fixed(5)),
                Op::Yield,
                Op::LoopEnd { start: 0 },
                Op::Exit
            ]
        );
    }
}
