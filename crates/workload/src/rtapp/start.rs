//! The start of an rt-app thread (rt-app.c `thread_body`): the thread's own set-up (its
//! name, its log buffer and file, `mlockall` where it applies), then, for a thread created
//! at start (not by `fork`), the wait on `threads_barrier` until every such thread is there;
//! thread 0 takes `t_zero` (the `clock_ref` marker) just before it. The program opens with a
//! control marker (written nowhere) that tells the simulator's user space to do both: the
//! set-up costs the machine's `rtapp_setup`, and the barrier's parties are the threads the
//! launcher creates.

/// The control marker at the head of every rt-app thread's program.
pub const MARKER: &str = "{rtapp_thread_start}";
