//! rt-app's timer origin of a thread with a `delay`. rt-app.c `thread_body` sets
//! `t_first = t_zero + delay` and sleeps until then; a timer's first expiry is the `t_first`
//! of the first thread that uses it plus one period (`run_event`). The program keeps the
//! delay as a `Step::Sleep`, preceded by a control marker (written nowhere) that tells the
//! simulator's user space the thread's origin: [`marker`]`(delay)`.

const PREFIX: &str = "{rtapp_t_first:+";

/// The control marker for a thread whose timers start `delay_ns` after `t_zero`.
pub fn marker(delay_ns: u64) -> String {
    format!("{PREFIX}{delay_ns}}}")
}

/// The delay (ns) a control marker from [`marker`] carries.
pub fn parse(text: &str) -> Option<u64> {
    text.strip_prefix(PREFIX)?.strip_suffix('}')?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::parse(&super::marker(1_500_000)), Some(1_500_000));
        assert_eq!(super::parse("{rtapp_t_first:+x}"), None);
        assert_eq!(super::parse("rtapp_task: event=start"), None);
    }
}
