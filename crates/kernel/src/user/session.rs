//! `setsid`, and named sessions (`session = "build"`): a named session's autogroup is
//! created (`autogroup_create`) and given the session's nice value
//! (`/proc/<pid>/autogroup`) when its first thread is; every thread naming it joins that
//! autogroup (`autogroup_move_group`) as if the session's leader, none of them, had forked
//! it. With autogroup off none of this creates or moves anything.

use super::{UserError, Userspace};
use crate::sched::Sched;
use crate::task::TaskId;

impl Userspace {
    /// `ksys_setsid`: thread `t` leads a new session with a new autogroup
    /// (`sched_autogroup_create_attach`), unless it already leads one (EPERM). A thread of
    /// a named session does not lead it: the session's (unseen) creator does.
    pub(super) fn setsid(&mut self, s: &mut Sched, t: TaskId) -> Result<(), UserError> {
        let th = self.threads.get_mut(&t).expect("user task has a thread");
        if th.session_leader {
            let msg = "setsid refused: the thread already leads a session (EPERM)".to_string();
            return Err(self.err(s, t, msg));
        }
        th.session_leader = true;
        s.sched_autogroup_create_attach(t);
        Ok(())
    }

    /// New thread `p` joins workload session `i`.
    pub(super) fn join_session(
        &mut self,
        s: &mut Sched,
        p: TaskId,
        i: usize,
    ) -> Result<(), UserError> {
        let Some(decl) = self.workload.sessions.get(i) else {
            let msg = format!("session index {i} is not a session of the workload");
            return Err(self.err(s, p, msg));
        };
        if let Some(ag) = self.sessions[i] {
            s.autogroup_move_group(p, ag);
            return Ok(());
        }
        let (nice, name) = (decl.nice, decl.name.clone());
        let Some(ag) = s.autogroup_create() else {
            return Ok(());
        };
        s.proc_sched_autogroup_set_nice(ag, nice)
            .map_err(|e| self.err(s, p, format!("session `{name}`: {e}")))?;
        self.sessions[i] = Some(ag);
        s.autogroup_move_group(p, ag);
        Ok(())
    }
}
