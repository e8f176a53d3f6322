//! "Did you mean ...?" for near-miss keys, verbs and names.

/// Words people reach for from other tools (rt-app, chrt, taskset) that mean one of ours.
/// Only used when the target is accepted where the word was written.
const SYNONYMS: &[(&str, &str)] = &[
    ("prio", "priority"),
    ("rtprio", "priority"),
    ("rt_priority", "priority"),
    ("sched_priority", "priority"),
    ("cpus", "affinity"),
    ("cpu", "affinity"),
    ("pin", "affinity"),
    ("cpuset", "affinity"),
    ("instances", "count"),
    ("threads", "count"),
    ("start", "delay"),
    ("start_delay", "delay"),
    ("offset", "delay"),
    ("steps", "program"),
    ("phases", "program"),
    ("body", "do"),
    ("repeat", "loop"),
    ("loops", "loop"),
    ("tasks", "task"),
    ("sysctls", "sysctl"),
    ("cgroups", "cgroup"),
    ("semaphore", "sem"),
    ("sems", "sem"),
    ("mutexes", "mutex"),
    ("barriers", "barrier"),
    ("sched_policy", "policy"),
    ("sched_runtime", "runtime"),
    ("sched_deadline", "deadline"),
    ("sched_period", "period"),
    ("comm", "name"),
    ("sem_post", "post"),
    ("sem_wait", "wait"),
    ("compute", "run"),
    ("runtime", "runwall"),
    ("sched_yield", "yield"),
    ("signal_cond", "signal"),
    ("setaffinity", "affinity"),
    ("renice", "nice"),
    ("setscheduler", "policy"),
    ("other", "normal"),
    ("dl", "deadline"),
    ("exponential", "exp"),
    ("gaussian", "normal"),
];

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    if let Some(&(_, to)) = SYNONYMS.iter().find(|(from, _)| *from == lower) {
        if let Some(c) = candidates.iter().find(|c| **c == to) {
            return Some(c);
        }
    }
    candidates
        .iter()
        .map(|c| (levenshtein(&lower, &c.to_ascii_lowercase()), *c))
        // One edit per three letters, at least one, and never the whole word:
        // "nise" → "nice", but not "b" → "a".
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) && *d < c.len().min(lower.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses() {
        assert_eq!(did_you_mean("nise", &["name", "nice"]), Some("nice"));
        assert_eq!(
            did_you_mean("prio", &["priority", "policy"]),
            Some("priority")
        );
        assert_eq!(did_you_mean("zzz", &["nice"]), None);
        assert_eq!(did_you_mean("b", &["a"]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
