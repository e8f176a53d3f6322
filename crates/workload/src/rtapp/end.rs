//! The end of an rt-app thread (rt-app.c `thread_body` after its loop): back to
//! SCHED_OTHER, out of its taskgroup, the `rtapp_task: event=end` marker, "Exiting.", exit.
//! A thread gets there when its loops end, or when rt-app shuts down (`__shutdown`: the
//! main thread clears `continue_running` at the end of the duration and joins the threads):
//! a thread then finishes the event it is in, skips the rest of its phase (but the
//! lock/unlock events while it holds a mutex) and leaves its loop. The program marks where
//! that end starts with a control marker (written nowhere), so that the simulator's user
//! space knows where a thread goes at the shutdown, whether its loops are finite or not.

/// The control marker at the head of every rt-app thread's end.
pub const MARKER: &str = "{rtapp_thread_end}";
