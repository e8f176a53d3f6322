//! User-space synchronisation objects as futexes see them: semaphores, condition variables,
//! mutexes, barriers and rt-app's suspend/resume. Waiters are woken in futex order
//! (`futex_q` plist: priority `min(normal_prio, MAX_RT_PRIO)`, then FIFO).

use std::collections::VecDeque;

use crate::task::TaskId;

/// A futex wait queue.
#[derive(Clone, Debug, Default)]
pub struct WaitQueue {
    waiters: VecDeque<(i32, TaskId)>,
}

impl WaitQueue {
    /// Queues a waiter with its futex priority (lower first), FIFO among equals.
    pub fn push(&mut self, prio: i32, t: TaskId) {
        let pos = self
            .waiters
            .iter()
            .position(|&(p, _)| p > prio)
            .unwrap_or(self.waiters.len());
        self.waiters.insert(pos, (prio, t));
    }

    pub fn pop(&mut self) -> Option<TaskId> {
        self.waiters.pop_front().map(|(_, t)| t)
    }

    pub fn drain(&mut self) -> Vec<TaskId> {
        self.waiters.drain(..).map(|(_, t)| t).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// The priority the first waiter was queued with (the top waiter of a PI mutex).
    pub fn top_prio(&self) -> Option<i32> {
        self.waiters.front().map(|&(p, _)| p)
    }

    /// Takes a waiter out (to requeue it at a new priority).
    pub fn remove(&mut self, t: TaskId) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|&(_, w)| w != t);
        self.waiters.len() != before
    }

    pub fn contains(&self, t: TaskId) -> bool {
        self.waiters.iter().any(|&(_, w)| w == t)
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
    pub sems: Vec<Semaphore>,
    pub conds: Vec<WaitQueue>,
    pub mutexes: Vec<Mutex>,
    pub barriers: Vec<Barrier>,
    /// Threads suspended (rt-app `suspend`), by task-spec index of the thread.
    pub suspended: Vec<WaitQueue>,
    /// Shared periodic timers: the next expiry (`t_next`).
    pub timers: Vec<Option<u64>>,
}
