#!/usr/bin/env python3
"""Decode a Perfetto trace written by schedsim-output and print what it holds, as JSON.

Usage: perfetto_check.py TRACE.pftrace

Schema: the compiled perfetto_trace_pb2 shipped in PyPI's `perfetto` package (the real
field numbers of protos/perfetto/trace/**) when importable, else a hand-built descriptor of
the subset we write (same numbers, taken from that package). Needs `protobuf`
(`pip install protobuf perfetto`); exits 77 (skip) without it.

Output: {"schema", "unknown_fields" (count over every message: a field number or wire
type the schema does not know), "utsname", "num_cpus", "processes": [[pid, ppid, cmdline]],
"events": [[cpu, ts, pid, common_flags, name, {field: value}]] in file order}.
"""
import json
import os
import sys

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    print("google.protobuf not installed", file=sys.stderr)
    sys.exit(77)


def real_schema():
    if os.environ.get("SCHEDSIM_NO_PERFETTO_PKG"):
        return None
    try:
        from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as P
    except Exception:  # noqa: BLE001 - any import problem means "not available"
        return None
    return P.Trace


# (message, [(field name, number, type, label, message type or None, in oneof 'event')])
T = descriptor_pb2.FieldDescriptorProto
OPT, REP = T.LABEL_OPTIONAL, T.LABEL_REPEATED
STR, I32, I64, U32, U64, BOOL, MSG = (T.TYPE_STRING, T.TYPE_INT32, T.TYPE_INT64, T.TYPE_UINT32,
                                      T.TYPE_UINT64, T.TYPE_BOOL, T.TYPE_MESSAGE)
WAKE = [("comm", 1, STR), ("pid", 2, I32), ("prio", 3, I32), ("success", 4, I32), ("target_cpu", 5, I32)]
HAND = {
    "Trace": [("packet", 1, MSG, REP, "TracePacket")],
    "TracePacket": [("ftrace_events", 1, MSG, OPT, "FtraceEventBundle"),
                    ("process_tree", 2, MSG, OPT, "ProcessTree"),
                    ("timestamp", 8, U64), ("trusted_packet_sequence_id", 10, U32),
                    ("system_info", 45, MSG, OPT, "SystemInfo")],
    "SystemInfo": [("utsname", 1, MSG, OPT, "Utsname"), ("page_size", 6, U32), ("num_cpus", 8, U32)],
    "Utsname": [("sysname", 1, STR), ("version", 2, STR), ("release", 3, STR), ("machine", 4, STR)],
    "ProcessTree": [("processes", 1, MSG, REP, "Process")],
    "Process": [("pid", 1, I32), ("ppid", 2, I32), ("cmdline", 3, STR, REP)],
    "FtraceEventBundle": [("cpu", 1, U32), ("event", 2, MSG, REP, "FtraceEvent")],
    "FtraceEvent": [("timestamp", 1, U64), ("pid", 2, U32), ("common_flags", 5, U32),
                    ("print", 3, MSG, OPT, "PrintFtraceEvent", True),
                    ("sched_switch", 4, MSG, OPT, "SchedSwitchFtraceEvent", True),
                    ("sched_wakeup", 17, MSG, OPT, "SchedWakeupFtraceEvent", True),
                    ("sched_waking", 20, MSG, OPT, "SchedWakingFtraceEvent", True),
                    ("sched_wakeup_new", 114, MSG, OPT, "SchedWakeupNewFtraceEvent", True),
                    ("sched_process_exit", 238, MSG, OPT, "SchedProcessExitFtraceEvent", True),
                    ("sched_process_fork", 239, MSG, OPT, "SchedProcessForkFtraceEvent", True),
                    ("sched_process_free", 240, MSG, OPT, "SchedProcessFreeFtraceEvent", True),
                    ("sched_pi_setprio", 353, MSG, OPT, "SchedPiSetprioFtraceEvent", True),
                    ("sched_migrate_task", 491, MSG, OPT, "SchedMigrateTaskFtraceEvent", True),
                    ("generic", 327, MSG, OPT, "GenericFtraceEvent", True)],
    "GenericFtraceEvent": [("event_name", 1, STR), ("field", 2, MSG, REP, "GenericFtraceEventField")],
    "GenericFtraceEventField": [("name", 1, STR), ("str_value", 3, STR), ("int_value", 4, I64),
                                ("uint_value", 5, U64)],
    "PrintFtraceEvent": [("ip", 1, U64), ("buf", 2, STR)],
    "SchedSwitchFtraceEvent": [("prev_comm", 1, STR), ("prev_pid", 2, I32), ("prev_prio", 3, I32),
                               ("prev_state", 4, I64), ("next_comm", 5, STR), ("next_pid", 6, I32),
                               ("next_prio", 7, I32)],
    "SchedWakeupFtraceEvent": WAKE,
    "SchedWakingFtraceEvent": WAKE,
    "SchedWakeupNewFtraceEvent": WAKE,
    "SchedMigrateTaskFtraceEvent": [("comm", 1, STR), ("pid", 2, I32), ("prio", 3, I32),
                                    ("orig_cpu", 4, I32), ("dest_cpu", 5, I32)],
    "SchedProcessForkFtraceEvent": [("parent_comm", 1, STR), ("parent_pid", 2, I32),
                                    ("child_comm", 3, STR), ("child_pid", 4, I32)],
    "SchedProcessExitFtraceEvent": [("comm", 1, STR), ("pid", 2, I32), ("tgid", 3, I32), ("prio", 4, I32)],
    "SchedProcessFreeFtraceEvent": [("comm", 1, STR), ("pid", 2, I32), ("prio", 3, I32)],
    "SchedPiSetprioFtraceEvent": [("comm", 1, STR), ("newprio", 2, I32), ("oldprio", 3, I32), ("pid", 4, I32)],
}


def hand_schema():
    fdp = descriptor_pb2.FileDescriptorProto(name="schedsim_perfetto_subset.proto",
                                             package="perfetto.protos", syntax="proto2")
    for name, fields in HAND.items():
        m = fdp.message_type.add(name=name)
        if any(len(f) > 5 and f[5] for f in fields):
            m.oneof_decl.add(name="event")
        for f in fields:
            fname, num, typ = f[:3]
            label = f[3] if len(f) > 3 else OPT
            fd = m.field.add(name=fname, number=num, type=typ, label=label)
            if typ == MSG:
                fd.type_name = ".perfetto.protos." + f[4]
            if len(f) > 5 and f[5]:
                fd.oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("perfetto.protos.Trace"))


def count_unknown(msg):
    try:
        from google.protobuf import unknown_fields
        n = len(unknown_fields.UnknownFieldSet(msg))
    except Exception:  # noqa: BLE001 - older protobuf
        n = len(msg.UnknownFields())
    for fd, val in msg.ListFields():
        if fd.type == fd.TYPE_MESSAGE:
            repeated = getattr(fd, "is_repeated", None)
            if repeated is None:  # protobuf < 5
                repeated = fd.label == fd.LABEL_REPEATED
            for sub in (val if repeated else [val]):
                n += count_unknown(sub)
    return n


def plain(v):
    """A field's value as JSON: messages as {name: value}, repeated fields as lists."""
    if hasattr(v, "ListFields"):
        return {fd.name: plain(x) for fd, x in v.ListFields()}
    if isinstance(v, (str, bytes, int, float, bool)):
        return v
    return [plain(x) for x in v]


def main():
    path = sys.argv[1]
    cls = real_schema()
    schema = "perfetto-package"
    if cls is None:
        cls, schema = hand_schema(), "hand-built"
    trace = cls()
    trace.ParseFromString(open(path, "rb").read())
    out = {"schema": schema, "unknown_fields": count_unknown(trace), "utsname": None,
           "num_cpus": None, "processes": [], "events": [], "seq_ids": []}
    for pkt in trace.packet:
        out["seq_ids"].append(pkt.trusted_packet_sequence_id)
        if pkt.HasField("system_info"):
            u = pkt.system_info.utsname
            out["utsname"] = {"sysname": u.sysname, "version": u.version, "release": u.release,
                              "machine": u.machine}
            out["num_cpus"] = pkt.system_info.num_cpus
        if pkt.HasField("process_tree"):
            for p in pkt.process_tree.processes:
                out["processes"].append([p.pid, p.ppid, list(p.cmdline)])
        if pkt.HasField("ftrace_events"):
            b = pkt.ftrace_events
            for e in b.event:
                name = e.WhichOneof("event")
                body = getattr(e, name)
                fields = plain(body)
                out["events"].append([b.cpu, e.timestamp, e.pid, e.common_flags, name, fields])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
