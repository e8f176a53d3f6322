//! The process that reads the launcher's output (machine key `reader_run`): the shell or
//! recorder that started the workload, which forked the launcher and waits in `read` on
//! the pipe from its standard error. Each line the launcher or a thread prints (rt-app's
//! `log_notice`, unbuffered: one `write` each) wakes it if it waits (`pipe_write`'s
//! `wake_up_interruptible_sync_poll`, a WF_SYNC wakeup), or waits in the pipe for its next
//! `read`. Each wakeup costs it `reader_run` of CPU time. On the reference VM the oracle's
//! recorder (a Python process) ran so, a few times during rt-app's start-up, on the CPUs
//! where the threads were being created.

use schedsim_workload::Dur;

use super::program::Op;
use super::rng::{stream, Rng};
use super::{Blocked, Thread, Userspace};
use crate::class::wf;
use crate::sched::{Ctx, Sched};
use crate::task::TaskId;

impl Userspace {
    /// Starts the reader on the launcher's CPU, in the launcher's session (its autogroup;
    /// the oracle's recorder started rt-app in a session of its own, which needs the
    /// prologue docs/cost-model.md describes), before the launcher: at the start it has
    /// forked the launcher and goes to `read`. It reads what the launcher printed before the
    /// start, if anything, then waits; the launcher, started after it, goes where the fork
    /// path puts it (on the same CPU, behind the reader, with vCPU packing).
    pub(super) fn boot_reader(&mut self, s: &mut Sched, launcher: TaskId, run: Dur) {
        let cpu = s.task(launcher).cpu;
        let t = s.new_system_task(schedsim_trace::Comm::new("reader"), cpu, 2);
        if let Some(ag) = s.task(launcher).autogroup {
            s.autogroup_move_group(t, ag);
        }
        self.reader_ops = vec![
            Op::LoopStart {
                count: None,
                end: 3,
            },
            Op::ReadOutput,
            Op::Burn(run),
            Op::LoopEnd { start: 0 },
        ];
        self.reader = Some(t);
        // What the launcher printed before the start is in the pipe: the reader reads it
        // before it waits.
        self.output_pending = self.workload.launcher_output.before_start > 0;
        self.threads.insert(
            t,
            Thread {
                rng: Rng::new(s.cfg.cost_seed, stream::READER),
                ..Thread::new(t, None, u32::MAX)
            },
        );
        s.start_boot_task(cpu, t);
    }

    /// A line written to the output: it wakes the reader from its `read`, or waits in the
    /// pipe for the next one.
    pub(super) fn output(&mut self, s: &mut Sched, ctx: Ctx) {
        let Some(r) = self.reader else { return };
        if self.threads[&r].blocked == Some(Blocked::Output) {
            self.wake_flags(s, ctx, r, wf::SYNC);
        } else {
            self.output_pending = true;
        }
    }

    /// The reader's `read`: it takes what the pipe holds, or waits for a line.
    pub(super) fn read_output(&mut self, s: &mut Sched, t: TaskId) {
        if !std::mem::take(&mut self.output_pending) {
            self.block(s, t, Blocked::Output);
        }
    }
}
