//! Scheduling classes behind one narrow trait (`struct sched_class`, kernel/sched/sched.h).
//! The core only ever calls a class through `SchedClass`; a new class is a new module, a
//! `ClassId` variant and a line in `class_of`.

pub mod dl;
pub mod ext;
pub mod fair;
pub mod idle;
pub mod rt;
pub mod stop;

use crate::sched::Sched;
use crate::task::TaskId;

/// The classes in priority order (`sched_class_above` is `<` here), as the kernel's:
/// stop > deadline > rt > fair > ext > idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClassId {
    /// The per-CPU stopper kthreads (class/stop.rs).
    Stop,
    Dl,
    Rt,
    Fair,
    /// sched_ext (class/ext): below fair, above idle.
    Ext,
    Idle,
}

impl ClassId {
    /// Highest first: the order `pick_next_task` walks (`for_each_active_class`).
    pub const ALL: [ClassId; 6] = [
        ClassId::Stop,
        ClassId::Dl,
        ClassId::Rt,
        ClassId::Fair,
        ClassId::Ext,
        ClassId::Idle,
    ];
}

/// `ENQUEUE_*` flags.
pub mod enqueue {
    pub const WAKEUP: u32 = 0x01;
    pub const RESTORE: u32 = 0x02;
    pub const MOVE: u32 = 0x04;
    pub const NOCLOCK: u32 = 0x08;
    pub const MIGRATING: u32 = 0x100;
    pub const DELAYED: u32 = 0x200;
    pub const HEAD: u32 = 0x10000;
    pub const REPLENISH: u32 = 0x20000;
    pub const MIGRATED: u32 = 0x40000;
    pub const INITIAL: u32 = 0x80000;
}

/// `DEQUEUE_*` flags.
pub mod dequeue {
    pub const SLEEP: u32 = 0x01;
    pub const SAVE: u32 = 0x02;
    pub const MOVE: u32 = 0x04;
    pub const NOCLOCK: u32 = 0x08;
    pub const SPECIAL: u32 = 0x10;
    pub const MIGRATING: u32 = 0x100;
    pub const DELAYED: u32 = 0x200;
    /// 6.18: a task leaving for the limbo list of its throttled queue.
    pub const THROTTLE: u32 = 0x800;
}

/// `WF_*` wake flags.
pub mod wf {
    pub const EXEC: u32 = 0x02;
    pub const FORK: u32 = 0x04;
    pub const TTWU: u32 = 0x08;
    pub const SYNC: u32 = 0x10;
    pub const MIGRATED: u32 = 0x20;
    pub const CURRENT_CPU: u32 = 0x40;
    pub const RQ_SELECTED: u32 = 0x80;
}

/// `struct sched_class`: the operations the core calls. `cpu` names the rq.
pub trait SchedClass: Sync {
    fn enqueue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32);
    /// Returns false when the class keeps the task queued (fair's delayed dequeue).
    fn dequeue_task(&self, s: &mut Sched, cpu: u32, p: TaskId, flags: u32) -> bool;
    fn yield_task(&self, s: &mut Sched, cpu: u32);
    fn wakeup_preempt(&self, s: &mut Sched, cpu: u32, p: TaskId, wake_flags: u32);
    /// Pull work before a pick (rt/dl pull, newidle balance); true if a higher class has work.
    fn balance(&self, _s: &mut Sched, _cpu: u32, _prev: TaskId) -> bool {
        false
    }
    fn pick_task(&self, s: &mut Sched, cpu: u32) -> Option<TaskId>;
    fn put_prev_task(&self, s: &mut Sched, cpu: u32, prev: TaskId, next: TaskId);
    fn set_next_task(&self, s: &mut Sched, cpu: u32, p: TaskId, first: bool);
    fn select_task_rq(&self, s: &mut Sched, p: TaskId, prev_cpu: u32, wake_flags: u32) -> u32;
    fn task_tick(&self, s: &mut Sched, cpu: u32, p: TaskId);
    fn update_curr(&self, s: &mut Sched, cpu: u32);
    /// After a wakeup activated `p` (rt/dl push).
    fn task_woken(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}
    fn task_fork(&self, _s: &mut Sched, _p: TaskId) {}
    fn task_dead(&self, _s: &mut Sched, _p: TaskId) {}
    /// The task's load weight changes (`reweight_task`, from `set_load_weight`).
    fn reweight_task(&self, _s: &mut Sched, _p: TaskId, _lw: crate::prio::LoadWeight) {}
    /// Priority changed (`prio_changed`).
    fn prio_changed(&self, _s: &mut Sched, _cpu: u32, _p: TaskId, _oldprio: i32) {}
    fn switched_from(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}
    fn switched_to(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}
    /// `migrate_task_rq`: the task is moving to `new_cpu` (called before the move).
    fn migrate_task_rq(&self, _s: &mut Sched, _p: TaskId, _new_cpu: u32) {}
    /// The running task returns to user space after `__schedule` (its pending task work
    /// runs: fair's bandwidth throttle, `throttle_cfs_rq_work`).
    fn return_to_user(&self, _s: &mut Sched, _cpu: u32, _p: TaskId) {}
}

/// The class table (`DEFINE_SCHED_CLASS` and the linker-ordered array).
pub fn class_of(c: ClassId) -> &'static dyn SchedClass {
    match c {
        ClassId::Stop => &stop::StopClass,
        ClassId::Dl => &dl::DlClass,
        ClassId::Rt => &rt::RtClass,
        // Fair and idle with their fair-server hooks (see class/dl.rs).
        ClassId::Fair => &dl::ServedFair,
        ClassId::Ext => &ext::ExtClass,
        ClassId::Idle => &dl::ServedIdle,
    }
}
