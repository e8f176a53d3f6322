//! User-space synchronisation objects as futexes see them: semaphores, condition variables,
//! mutexes, barriers and rt-app's suspend/resume. Waiters are woken in futex order
//! (`futex_q` plist: priority `min(normal_prio, MAX_RT_PRIO)`, then FIFO).

use std::collections::VecDeque;

use crate::task::TaskId;

/// A futex wait queue.
#[derive(Clone, Debug, Default)]
pub struct WaitQueue {
    /// (priority, deadline, waiter): the deadline orders deadline waiters (priority −1).
    waiters: VecDeque<(i32, u64, TaskId)>,
}

impl WaitQueue {
    /// Queues a waiter with its futex priority (lower first), FIFO among equals.
    pub fn push(&mut self, prio: i32, t: TaskId) {
        self.push_dl(prio, 0, t);
    }

    /// Queues an rt_mutex waiter: by priority, deadline waiters by their deadline
    /// (`rt_waiter_node_less`), FIFO among equals.
    pub fn push_dl(&mut self, prio: i32, deadline: u64, t: TaskId) {
        let key = (prio, if prio < 0 { deadline } else { 0 });
        let pos = self
            .waiters
            .iter()
            .position(|&(p, d, _)| (p, d) > key)
            .unwrap_or(self.waiters.len());
        self.waiters.insert(pos, (key.0, key.1, t));
    }

    pub fn pop(&mut self) -> Option<TaskId> {
        self.waiters.pop_front().map(|(_, _, t)| t)
    }

    pub fn drain(&mut self) -> Vec<TaskId> {
        self.waiters.drain(..).map(|(_, _, t)| t).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// The first waiter (the top waiter of a PI mutex) with the key it was queued with.
    pub fn top(&self) -> Option<((i32, u64), TaskId)> {
        self.waiters.front().map(|&(p, d, t)| ((p, d), t))
    }

    /// Takes a waiter out (to requeue it at a new priority).
    pub fn remove(&mut self, t: TaskId) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|&(_, _, w)| w != t);
        self.waiters.len() != before
    }

    pub fn contains(&self, t: TaskId) -> bool {
        self.waiters.iter().any(|&(_, _, w)| w == t)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Semaphore {
    pub count: u64,
    pub waiters: WaitQueue,
}

#[derive(Clone, Debug, Default)]
pub struct Mutex {
    pub owner: Option<TaskId>,
    pub waiters: WaitQueue,
}

#[derive(Clone, Debug, Default)]
pub struct Barrier {
    pub parties: u32,
    pub arrived: u32,
    pub waiters: WaitQueue,
}

/// Every object of one workload.
#[derive(Clone, Debug, Default)]
pub struct SyncObjects {
    /// rt-app's `threads_barrier`: its parties are the threads the launcher creates.
    pub start_barrier: Barrier,
    pub sems: Vec<Semaphore>,
    pub conds: Vec<WaitQueue>,
    pub mutexes: Vec<Mutex>,
    pub barriers: Vec<Barrier>,
    /// Threads suspended (rt-app `suspend`), by task-spec index of the thread.
    pub suspended: Vec<WaitQueue>,
    /// Shared periodic timers: the next expiry (`t_next`).
    pub timers: Vec<Option<u64>>,
}
