//! Name resolution: sync objects get indices in the order they are first declared or
//! used; tasks are known up front so `fork`/`resume` can name a task defined later.
//! Uses are recorded so that, once every program is read, we can derive barrier party
//! counts and reject waits that nothing in the file could ever satisfy.

use std::collections::{BTreeSet, HashMap};

use crate::model::{BarrierDecl, MutexDecl, SessionDecl, SyncDecl, TimerDecl};

use super::ctx::{Ctx, Res};

/// Where something was written: byte offset and key path.
#[derive(Clone, Debug)]
pub(crate) struct Site {
    pub at: usize,
    pub key: String,
}

/// One namespace of objects: decls by index, and index by name.
pub(crate) struct Space<T> {
    pub decls: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for Space<T> {
    fn default() -> Self {
        Space {
            decls: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> Space<T> {
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn intern(&mut self, name: &str, make: impl FnOnce() -> T) -> usize {
        if let Some(i) = self.lookup(name) {
            return i;
        }
        self.decls.push(make());
        self.index.insert(name.to_string(), self.decls.len() - 1);
        self.decls.len() - 1
    }
}

/// Per-object facts gathered while reading programs.
#[derive(Default, Clone)]
pub(crate) struct Usage {
    /// Something posts/signals it.
    pub released: bool,
    /// The first place that waits on it.
    pub first_wait: Option<Site>,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub sems: Space<SyncDecl>,
    pub sem_use: Vec<Usage>,
    pub conds: Space<SyncDecl>,
    pub cond_use: Vec<Usage>,
    pub mutexes: Space<MutexDecl>,
    pub barriers: Space<BarrierDecl>,
    /// Parties given in `[barrier]`, else derived from `barrier_users`.
    pub barrier_parties: Vec<Option<u32>>,
    pub barrier_users: Vec<BTreeSet<usize>>,
    pub barrier_first: Vec<Option<Site>>,
    pub timers: Space<TimerDecl>,
    pub sessions: Space<SessionDecl>,
    /// Task name → spec index.
    pub tasks: HashMap<String, usize>,
}

impl Registry {
    pub fn sem(&mut self, name: &str) -> usize {
        let i = self.sems.intern(name, || SyncDecl {
            name: name.to_string(),
            initial: 0,
        });
        self.sem_use.resize(self.sems.decls.len(), Usage::default());
        i
    }

    pub fn cond(&mut self, name: &str) -> usize {
        let i = self.conds.intern(name, || SyncDecl {
            name: name.to_string(),
            initial: 0,
        });
        self.cond_use
            .resize(self.conds.decls.len(), Usage::default());
        i
    }

    pub fn mutex(&mut self, name: &str) -> usize {
        self.mutexes.intern(name, || MutexDecl {
            name: name.to_string(),
            pi: false,
        })
    }

    pub fn barrier(&mut self, name: &str) -> usize {
        let i = self.barriers.intern(name, || BarrierDecl {
            name: name.to_string(),
            parties: 0,
        });
        let n = self.barriers.decls.len();
        self.barrier_parties.resize(n, None);
        self.barrier_users.resize(n, BTreeSet::new());
        self.barrier_first.resize(n, None);
        i
    }

    /// Record that task `task` reaches barrier `b` at `site`.
    pub fn use_barrier(&mut self, b: usize, task: usize, site: Site) {
        self.barrier_users[b].insert(task);
        self.barrier_first[b].get_or_insert(site);
    }

    pub fn timer(&mut self, name: &str, shared: bool) -> usize {
        self.timers.intern(name, || TimerDecl {
            name: name.to_string(),
            shared,
        })
    }

    /// A session, nice 0 unless `[session.NAME]` says otherwise.
    pub fn session(&mut self, name: &str) -> usize {
        self.sessions.intern(name, || SessionDecl {
            name: name.to_string(),
            nice: 0,
        })
    }

    /// Fill in barrier parties and reject waits nothing releases. `counts[i]` is the
    /// instance count of task spec `i`.
    pub fn finish(&mut self, ctx: &Ctx, counts: &[u32]) -> Res<()> {
        // Report the earliest offending wait in the file, whichever kind it is.
        let mut stuck: Vec<(Site, String, String)> = Vec::new();
        for (decl, usage) in self.sems.decls.iter().zip(&self.sem_use) {
            if let (false, 0, Some(site)) = (usage.released, decl.initial, &usage.first_wait) {
                stuck.push((
                    site.clone(),
                    format!("nothing in this file posts semaphore `{}`, so this wait blocks forever", decl.name),
                    format!(
                        "add `post {0}` to a task's program, or give it an initial count: [sem] {0} = 1",
                        decl.name
                    ),
                ));
            }
        }
        for (decl, usage) in self.conds.decls.iter().zip(&self.cond_use) {
            if let (false, Some(site)) = (usage.released, &usage.first_wait) {
                stuck.push((
                    site.clone(),
                    format!(
                        "nothing in this file signals condition `{}`, so this wait blocks forever",
                        decl.name
                    ),
                    format!(
                        "add `signal {0}` or `broadcast {0}` to a task's program",
                        decl.name
                    ),
                ));
            }
        }
        if let Some((site, msg, hint)) = stuck.into_iter().min_by_key(|(s, ..)| s.at) {
            return Err(ctx.err(site.at, &site.key, msg).with_hint(hint));
        }

        for (b, decl) in self.barriers.decls.iter_mut().enumerate() {
            let derived: u64 = self.barrier_users[b]
                .iter()
                .map(|&t| u64::from(counts[t]))
                .sum();
            decl.parties = match self.barrier_parties[b] {
                Some(p) => p,
                None if derived == 0 => {
                    let site = self.barrier_first[b].clone().unwrap_or(Site {
                        at: 0,
                        key: String::new(),
                    });
                    return Err(ctx
                        .err(
                            site.at,
                            &site.key,
                            format!(
                                "barrier `{}` has no parties: only fork templates reach it",
                                decl.name
                            ),
                        )
                        .with_hint(format!(
                            "declare how many threads meet there: [barrier] {} = N",
                            decl.name
                        )));
                }
                None => u32::try_from(derived).unwrap_or(u32::MAX),
            };
        }
        Ok(())
    }
}
