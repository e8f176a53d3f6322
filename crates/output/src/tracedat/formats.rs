//! The event `format` files a trace.dat carries (tracefs `events/<system>/<event>/format`,
//! produced by `f_show` in kernel/trace/trace_events.c), and the `header_page`/`header_event`
//! texts (`ring_buffer_print_page_header`, `ring_buffer_print_entry_header` in
//! kernel/trace/ring_buffer.c). Field offsets and sizes are those of the kernel's
//! `trace_event_raw_<event>` structs for include/trace/events/sched.h on x86_64 (6.18).

use schedsim_trace::Event;

pub(crate) struct FieldDef {
    pub decl: &'static str,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
}

pub(crate) struct EventDef {
    pub name: &'static str,
    pub id: u16,
    pub fields: &'static [FieldDef],
    pub print_fmt: &'static str,
}

const fn f(decl: &'static str, offset: u32, size: u32, signed: bool) -> FieldDef {
    FieldDef {
        decl,
        offset,
        size,
        signed,
    }
}

/// `trace_define_common_fields` (trace_events.c): the 8-byte `struct trace_entry`.
const COMMON: [FieldDef; 4] = [
    f("unsigned short common_type", 0, 2, false),
    f("unsigned char common_flags", 2, 1, false),
    f("unsigned char common_preempt_count", 3, 1, false),
    f("int common_pid", 4, 4, true),
];

/// `TRACE_PRINT` (kernel/trace/trace.h `enum trace_type`): the ftrace `print` event's fixed id.
pub(crate) const PRINT_ID: u16 = 5;

/// Address the `print` records' `ip` points at; the file's kallsyms maps it to
/// `tracing_mark_write` so that `%ps` resolves as on the real machine.
pub(crate) const MARK_WRITE_IP: u64 = 0xffff_ffff_8130_0000;
pub(crate) const KALLSYMS: &str = "ffffffff81300000 T tracing_mark_write\n";

/// ftrace's own `print` event (kernel/trace/trace_entries.h `FTRACE_ENTRY(print, print_entry,
/// …, F_printk("%ps: %s", (void *)__entry->ip, __entry->buf))`).
pub(crate) const PRINT: EventDef = EventDef {
    name: "print",
    id: PRINT_ID,
    fields: &[
        f("unsigned long ip", 8, 8, false),
        f("char buf[]", 16, 0, false),
    ],
    print_fmt: "\"%ps: %s\", (void *)REC->ip, REC->buf",
};

const WAKEUP_FIELDS: &[FieldDef] = &[
    f("char comm[16]", 8, 16, false),
    f("pid_t pid", 24, 4, true),
    f("int prio", 28, 4, true),
    f("int target_cpu", 32, 4, true),
];
const WAKEUP_FMT: &str =
    "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu";

/// The sched events we emit, in `events/sched/` order of this file. Ids are boot-dynamic in
/// the kernel; these are fixed so the output is deterministic.
pub(crate) const SCHED: [EventDef; 9] = [
    EventDef {
        name: "sched_switch",
        id: 316,
        fields: &[
            f("char prev_comm[16]", 8, 16, false),
            f("pid_t prev_pid", 24, 4, true),
            f("int prev_prio", 28, 4, true),
            f("long prev_state", 32, 8, true),
            f("char next_comm[16]", 40, 16, false),
            f("pid_t next_pid", 56, 4, true),
            f("int next_prio", 60, 4, true),
        ],
        // TASK_REPORT_MAX - 1 = 255, TASK_REPORT_MAX = 256 (an equivalent of the kernel's
        // macro expansion).
        print_fmt: "\"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d\", \
REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & 255) ? __print_flags(REC->prev_state & 255, \"|\", \
{ 0x01, \"S\" }, { 0x02, \"D\" }, { 0x04, \"T\" }, { 0x08, \"t\" }, { 0x10, \"X\" }, { 0x20, \"Z\" }, { 0x40, \"P\" }, \
{ 0x80, \"I\" }) : \"R\", REC->prev_state & 256 ? \"+\" : \"\", REC->next_comm, REC->next_pid, REC->next_prio",
    },
    EventDef { name: "sched_waking", id: 317, fields: WAKEUP_FIELDS, print_fmt: WAKEUP_FMT },
    EventDef { name: "sched_wakeup", id: 318, fields: WAKEUP_FIELDS, print_fmt: WAKEUP_FMT },
    EventDef { name: "sched_wakeup_new", id: 319, fields: WAKEUP_FIELDS, print_fmt: WAKEUP_FMT },
    EventDef {
        name: "sched_migrate_task",
        id: 320,
        fields: &[
            f("char comm[16]", 8, 16, false),
            f("pid_t pid", 24, 4, true),
            f("int prio", 28, 4, true),
            f("int orig_cpu", 32, 4, true),
            f("int dest_cpu", 36, 4, true),
        ],
        print_fmt: "\"comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d\", REC->comm, REC->pid, REC->prio, REC->orig_cpu, REC->dest_cpu",
    },
    EventDef {
        name: "sched_process_fork",
        id: 321,
        fields: &[
            f("char parent_comm[16]", 8, 16, false),
            f("pid_t parent_pid", 24, 4, true),
            f("char child_comm[16]", 28, 16, false),
            f("pid_t child_pid", 44, 4, true),
        ],
        print_fmt: "\"comm=%s pid=%d child_comm=%s child_pid=%d\", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid",
    },
    EventDef {
        name: "sched_process_exit",
        id: 322,
        fields: &[
            f("char comm[16]", 8, 16, false),
            f("pid_t pid", 24, 4, true),
            f("int prio", 28, 4, true),
            f("bool group_dead", 32, 1, false),
        ],
        print_fmt: "\"comm=%s pid=%d prio=%d group_dead=%s\", REC->comm, REC->pid, REC->prio, REC->group_dead ? \"true\" : \"false\"",
    },
    EventDef {
        name: "sched_process_free",
        id: 323,
        fields: &[
            f("char comm[16]", 8, 16, false),
            f("pid_t pid", 24, 4, true),
            f("int prio", 28, 4, true),
        ],
        print_fmt: "\"comm=%s pid=%d prio=%d\", REC->comm, REC->pid, REC->prio",
    },
    EventDef {
        name: "sched_pi_setprio",
        id: 324,
        fields: &[
            f("char comm[16]", 8, 16, false),
            f("pid_t pid", 24, 4, true),
            f("int oldprio", 28, 4, true),
            f("int newprio", 32, 4, true),
        ],
        print_fmt: "\"comm=%s pid=%d oldprio=%d newprio=%d\", REC->comm, REC->pid, REC->oldprio, REC->newprio",
    },
];

const IRQ_VECTOR_FIELDS: &[FieldDef] = &[f("int vector", 8, 4, true)];
const IRQ_VECTOR_FMT: &str = "\"vector=%d\", REC->vector";

/// The x86 `irq_vectors` entry events we emit (`DECLARE_EVENT_CLASS(x86_irq_vector)`,
/// arch/x86/include/asm/trace/irq_vectors.h).
pub(crate) const IRQ_VECTORS: [EventDef; 3] = [
    EventDef {
        name: "local_timer_entry",
        id: 60,
        fields: IRQ_VECTOR_FIELDS,
        print_fmt: IRQ_VECTOR_FMT,
    },
    EventDef {
        name: "call_function_single_entry",
        id: 70,
        fields: IRQ_VECTOR_FIELDS,
        print_fmt: IRQ_VECTOR_FMT,
    },
    EventDef {
        name: "reschedule_entry",
        id: 58,
        fields: IRQ_VECTOR_FIELDS,
        print_fmt: IRQ_VECTOR_FMT,
    },
];

/// The `common_type` of an event's records.
pub(crate) fn event_id(ev: &Event) -> u16 {
    let name = ev.name();
    if name == PRINT.name {
        return PRINT_ID;
    }
    SCHED
        .iter()
        .chain(&IRQ_VECTORS)
        .find(|d| d.name == name)
        .map(|d| d.id)
        .expect("every Event has a format")
}

/// `f_show`: `name: …\nID: …\nformat:\n`, the common fields, a blank line, the event's
/// fields, a blank line, `print fmt: …\n`. Field lines: `\tfield:%s;\toffset:%u;\tsize:%u;\tsigned:%d;\n`.
pub(crate) fn format_file(ev: &EventDef) -> String {
    let mut s = format!("name: {}\nID: {}\nformat:\n", ev.name, ev.id);
    let line = |s: &mut String, fd: &FieldDef| {
        s.push_str(&format!(
            "\tfield:{};\toffset:{};\tsize:{};\tsigned:{};\n",
            fd.decl, fd.offset, fd.size, fd.signed as u8
        ));
    };
    for fd in &COMMON {
        line(&mut s, fd);
    }
    s.push('\n');
    for fd in ev.fields {
        line(&mut s, fd);
    }
    s.push_str("\nprint fmt: ");
    s.push_str(ev.print_fmt);
    s.push('\n');
    s
}

/// `ring_buffer_print_page_header` (ring_buffer.c) for 64-bit `local_t`, 4096-byte pages.
/// `data` is `signed:0`: `is_signed_type(char)` is false since the kernel builds with
/// `-funsigned-char` (6.2+).
pub(crate) const HEADER_PAGE: &str = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\
\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

/// `ring_buffer_print_entry_header` (ring_buffer.c).
pub(crate) const HEADER_EVENT: &str = "# compressed entry header\n\
\ttype_len    :    5 bits\n\
\ttime_delta  :   27 bits\n\
\tarray       :   32 bits\n\
\n\
\tpadding     : type == 29\n\
\ttime_extend : type == 30\n\
\ttime_stamp : type == 31\n\
\tdata max type_len  == 28\n";
