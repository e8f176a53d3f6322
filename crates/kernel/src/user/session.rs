//! Named sessions (`session = "build"`): the first thread created in one starts it, as
//! `setsid` would (`sched_autogroup_create_attach`), in an autogroup given the session's
//! nice value first (`/proc/<pid>/autogroup`); the next ones join that autogroup as if
//! its leader had forked them (`autogroup_move_group`). With autogroup off none of this
//! creates or moves anything.

use super::{UserError, Userspace};
use crate::sched::Sched;
use crate::task::TaskId;

impl Userspace {
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
